"""Screens shown outside any flow: the main menu, the profile card, the help text."""

from __future__ import annotations

from models import Donor
from services import registration as reg
from services.dialog import Button, Reply
from services.i18n import _
from services.labels import language_label


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


def profile_card(donor: Donor, title: str | None = None) -> Reply:
    """The profile with a button per field, language and deletion."""
    status = (
        _("Messages: off (send /start to turn them on)") if donor.is_stopped else _("Messages: on")
    )
    lines = [
        title or _("Your profile:"),
        "",
        *reg.profile_lines(donor),
        _("🌐 Language: {value}").format(value=language_label(donor.locale)),
        status,
    ]
    buttons = [
        *reg.edit_buttons(),
        [
            Button(_("🌐 Language"), "menu:language"),
            Button(_("🗑 Delete my data"), "forget:ask"),
        ],
    ]
    return Reply("\n".join(lines), buttons)


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
