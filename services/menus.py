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
        "• keep your details up to date;\n"
        "• soon: check when you may give again, find drives near you and get reminders.\n"
        "\n"
        "Commands:\n"
        "/start – register or open the menu\n"
        "/profile – see and change your details\n"
        "/language – Tiếng Việt / English\n"
        "/stop – no more messages (until /start)\n"
        "/forget – delete all your data\n"
        "/back – one step back while registering\n"
        "/cancel – leave the current question\n"
        "/help – this message"
    )
