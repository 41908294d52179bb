"""The profile card: what the bot holds about a person, with a button per field."""

from __future__ import annotations

from models import Donor
from services.conversation.dialog import Reply
from services.conversation.menus import MenuItem, OpenMenu
from services.core.i18n import _
from services.core.labels import language_label
from services.donors import questions, reminder_prefs
from services.donors.consent import ForgetAnswer


def profile_card(donor: Donor, title: str | None = None) -> Reply:
    """The profile with a button per field, language and deletion."""
    status = (
        _("Messages: off (send /start to turn them on)") if donor.is_stopped else _("Messages: on")
    )
    lines = [
        title or _("Your profile:"),
        "",
        *questions.profile_lines(donor),
        _("🌐 Language: {value}").format(value=language_label(donor.locale)),
        reminder_prefs.profile_line(donor),
        status,
    ]
    buttons = [
        *questions.edit_buttons(),
        reminder_prefs.profile_buttons(donor),
        [
            OpenMenu(MenuItem.LANGUAGE).button(_("🌐 Language")),
            ForgetAnswer("ask").button(_("🗑 Delete my data")),
        ],
    ]
    return Reply("\n".join(lines), buttons)
