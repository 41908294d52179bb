"""The buttons under a "you can give again" reminder (turning them off is the profile's switch,
services/donors/reminder_prefs.py: one kind for both places)."""

from __future__ import annotations

import dataclasses

from services.conversation.buttons import ButtonData

SNOOZE_DAYS = (7, 30)  # a week, a month


@dataclasses.dataclass(frozen=True)
class Snooze(ButtonData, kind="snooze"):
    """ "Remind me again in N days" ("snooze:7", "snooze:30")."""

    days: int
