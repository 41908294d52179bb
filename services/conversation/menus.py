"""Screens shown outside any flow: the main menu and the help text."""

from __future__ import annotations

from services.conversation.dialog import Button, Reply
from services.core.i18n import _


def main_menu(text: str) -> Reply:
    """The main menu: what a registered person can do next."""
    return Reply(
        text,
        [
            [Button(_("🩸 Drives near me"), "menu:drives")],
            [Button(_("✅ Can I give blood?"), "menu:eligibility")],
            [Button(_("👤 My profile"), "menu:profile"), Button(_("🔔 My wards"), "menu:wards")],
            [Button(_("🌐 Language"), "menu:language"), Button(_("❓ Help"), "menu:help")],
        ],
    )


def help_text() -> str:
    """What the bot does and how to use it."""
    return _(
        "I help volunteer blood donors in Vietnam:\n"
        "• register as a volunteer donor in your ward;\n"
        "• check whether and when you may give blood, and how much (/eligibility);\n"
        "• answer your questions: just type them, e.g. “how long after a tattoo can I give?”;\n"
        "• find drives in your ward and sign up (/drives); follow more wards (/wards).\n"
        "\n"
        "Commands:\n"
        "/start – register or open the menu\n"
        "/eligibility – can I give blood?\n"
        "/drives – upcoming drives near you\n"
        "/wards – wards you follow\n"
        "/profile – see and change your details\n"
        "/language – Tiếng Việt / English\n"
        "/stop – no more messages (until /start)\n"
        "/forget – delete all your data\n"
        "/back – one step back while registering\n"
        "/cancel – leave the current question\n"
        "/help – this message"
    )
