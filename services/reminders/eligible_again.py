"""The reminder of the /eligibility "remind me" button, and the rows it used to queue.

The button now sets the donor's reminder day (`Donor.remind_on`), which the sweep
(services/reminders/sweep.py) turns into an outbox row on the day, at the donor's hour. Rows the
button queued before (months ahead, in a per-day broadcast) stay deliverable: their message kind
is still declared here, and the button cancels them when it sets a newer day.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Broadcast, OutboxMessage
from models.outbox import BroadcastStatus, DeliveryStatus
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.conversation.menus import MenuItem, OpenMenu
from services.core.i18n import _
from services.core.labels import date_label
from services.donors import donor_store
from services.donors.reminder_prefs import hour_label
from services.eligibility.donor_status import schedule_reminder
from services.eligibility.rules import RuleOptions
from services.eligibility.texts import RemindMe
from services.outreach.messages import message_kind

REMINDER = "reminder"
ELIGIBLE_AGAIN = "reminder.eligible_again"


def _reminder(day: date) -> Reply:
    """The reminder, in the donor's language (rendered per recipient by services/notify)."""
    text = _(
        "🩸 Good news: from today, {date}, the rules allow you to give blood again. The doctor "
        "at the drive makes the final decision. See the drives near you, or check again with "
        "/eligibility."
    ).format(date=date_label(day))
    return Reply(text, [[OpenMenu(MenuItem.DRIVES).button(_("🩸 Drives near me"))]])


@message_kind(ELIGIBLE_AGAIN)
def eligible_again(params: dict[str, Any]) -> Reply:
    """The reminder of a day ({"day": "2027-03-01"}), worded when it is sent."""
    return _reminder(date.fromisoformat(params["day"]))


async def cancel_pending(session: AsyncSession, donor_id: int | list[int]) -> None:
    """Drop the donor's (or donors') reminders queued the old way that have not gone yet."""
    ids = donor_id if isinstance(donor_id, list) else [donor_id]
    # The few old per-day broadcasts still going, looked up first: the outbox is searched by
    # broadcast (indexed), and not at all once the last of them is done.
    open_days = list(
        (
            await session.exec(
                select(Broadcast.id).where(
                    col(Broadcast.kind) == REMINDER, col(Broadcast.status) != BroadcastStatus.DONE
                )
            )
        ).all()
    )
    if not open_days or not ids:
        return
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.broadcast_id).in_(open_days),
            col(OutboxMessage.donor_id).in_(ids),
            col(OutboxMessage.status) == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.FAILED, error="replaced by a newer reminder")
    )


async def pending_for(session: AsyncSession, donor_id: int) -> list[OutboxMessage]:
    """The donor's reminders still to be sent."""
    statement = (
        select(OutboxMessage)
        .join(Broadcast, col(Broadcast.id) == col(OutboxMessage.broadcast_id))
        .where(
            col(OutboxMessage.donor_id) == donor_id,
            col(OutboxMessage.status) == DeliveryStatus.PENDING,
            col(Broadcast.kind) == REMINDER,
        )
    )
    return list((await session.exec(statement)).all())


async def remind(t: Turn, button: RemindMe, options: RuleOptions | None = None) -> list[Reply]:
    """The "remind me" tap: keep the date and reason code, and set the reminder day (the first
    day the rules allow, with that date kept; the sweep sends it that day at the donor's hour)."""
    day, code = button.day, button.code
    if day <= t.today:
        return [Reply(_("That day has come: you can check again with /eligibility."))]
    donor_store.update_donor(
        t.me, deferred_until=day, deferral_code=code[:32], eligible_reminders=True
    )
    await cancel_pending(t.session, t.me.id or 0)  # one queued the old way, months ahead
    schedule_reminder(t.me, t.today, options)
    if t.me.remind_on is None:  # no later date from the rules (e.g. the age limit): that day
        t.me.remind_on = day
    t.session.add(t.me)
    text = _(
        "Done: I will remind you on {date} at {hour}. /profile changes the hour or turns these "
        "reminders off; /stop turns all messages off."
    ).format(date=date_label(t.me.remind_on), hour=hour_label(t.me.remind_hour))
    return [Reply(text)]
