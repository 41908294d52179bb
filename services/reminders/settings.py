"""What the donor says about their "you can give again" reminders: later, off, on, at what hour."""

from __future__ import annotations

from datetime import timedelta

from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.core.i18n import _
from services.core.labels import date_label
from services.donors import donor_store
from services.donors.profile import profile_card
from services.donors.reminder_prefs import hour_choice, hour_label, valid_hour
from services.eligibility.donor_status import schedule_reminder
from services.eligibility.rules import RuleOptions
from services.reminders.buttons import SNOOZE_DAYS


def snooze(t: Turn, days: int) -> list[Reply] | None:
    """Remind again in a week or a month (None for a forged number of days)."""
    if days not in SNOOZE_DAYS:
        return None
    day = t.today + timedelta(days=days)
    donor_store.update_donor(t.me, remind_on=day, eligible_reminders=True)
    text = _("All right: I will remind you again on {date} at {hour}.").format(
        date=date_label(day), hour=hour_label(t.me.remind_hour)
    )
    return [Reply(text)]


def switch(t: Turn, on: bool, options: RuleOptions | None = None) -> list[Reply]:
    """Turn the reminders off (none is due any more), or on again (the day from the rules)."""
    if not on:
        donor_store.update_donor(t.me, eligible_reminders=False, remind_on=None)
        title = _(
            "Done: no more reminders when you may give again. You can turn them back on in "
            "/profile. Your profile:"
        )
        return [profile_card(t.me, title)]
    donor_store.update_donor(t.me, eligible_reminders=True)
    schedule_reminder(t.me, t.today, options)
    if t.me.remind_on is not None:
        title = _("Reminders on: the next one is on {date} at {hour}. Your profile:").format(
            date=date_label(t.me.remind_on), hour=hour_label(t.me.remind_hour)
        )
    else:
        title = _(
            "Reminders on. As far as the bot knows you may give blood now; after your next "
            "donation I will remind you when you may give again. Your profile:"
        )
    return [profile_card(t.me, title)]


def set_hour(t: Turn, hour: int) -> list[Reply] | None:
    """Show the hours (0), or keep the chosen one (None for an hour out of range)."""
    if hour == 0:
        return [hour_choice()]
    if not valid_hour(hour):
        return None
    donor_store.update_donor(t.me, remind_hour=hour)
    title = _("Saved: reminders come at {hour}. Your profile:").format(hour=hour_label(hour))
    return [profile_card(t.me, title)]
