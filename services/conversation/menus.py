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


def help_text(command_lines: list[str]) -> str:
    """What the bot does, then its commands ("/name – what it does", from the registry)."""
    intro = _(
        "I help volunteer blood donors in Vietnam:\n"
        "• register as a volunteer donor in your ward;\n"
        "• check whether and when you may give blood, and how much (/eligibility);\n"
        "• answer your questions: just type them, e.g. “how long after a tattoo can I give?”;\n"
        "• find drives in your ward and sign up (/drives); follow more wards (/wards).\n"
        "\n"
        "Commands:"
    )
    return "\n".join([intro, *command_lines])
