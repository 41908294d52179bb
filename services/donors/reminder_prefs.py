"""The donor's "you can give again" reminders in /profile: on or off, and the hour.

The buttons are declared here, beside the profile that shows them; services/chat.py answers them
(turning reminders back on sets the reminder day, which needs the eligibility rules).
"""

from __future__ import annotations

import dataclasses

from models import Donor
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Button, Reply
from services.core.i18n import _

EARLIEST_HOUR, LATEST_HOUR = 7, 20  # local hours a donor may choose, outside the quiet hours
DEFAULT_HOUR = 9
HOURS_PER_ROW = 5


@dataclasses.dataclass(frozen=True)
class ReminderSwitch(ButtonData, kind="remsw"):
    """Turn the reminders on ("remsw:1") or off ("remsw:0"); also under each reminder."""

    on: bool


@dataclasses.dataclass(frozen=True)
class ReminderHour(ButtonData, kind="remhour"):
    """Choose the hour ("remhour:9"); "remhour:0" shows the choice."""

    hour: int


def valid_hour(hour: int) -> bool:
    """An hour a donor may choose."""
    return EARLIEST_HOUR <= hour <= LATEST_HOUR


def hour_label(hour: int) -> str:
    """09:00."""
    return f"{hour:02d}:00"


def profile_line(donor: Donor) -> str:
    """The reminders' line of the profile card."""
    if not donor.eligible_reminders:
        return _("🔔 Reminder when you may give again: off")
    return _("🔔 Reminder when you may give again: on, at {hour}").format(
        hour=hour_label(donor.remind_hour)
    )


def profile_buttons(donor: Donor) -> list[Button]:
    """Switch the reminders, and (when on) change their hour."""
    if not donor.eligible_reminders:
        return [ReminderSwitch(True).button(_("🔔 Turn reminders on"))]
    return [
        ReminderHour(0).button(_("🕘 Reminder hour")),
        ReminderSwitch(False).button(_("🔕 Turn reminders off")),
    ]


def hour_choice() -> Reply:
    """The hours from 07:00 to 20:00."""
    hours = [ReminderHour(h).button(hour_label(h)) for h in range(EARLIEST_HOUR, LATEST_HOUR + 1)]
    rows = [hours[i : i + HOURS_PER_ROW] for i in range(0, len(hours), HOURS_PER_ROW)]
    return Reply(_("At what time of day should I remind you? (local time)"), rows)
