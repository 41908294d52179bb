"""Reminders on the day a donor may give again: one outbox row, due that morning.

What is due lives in the database (the outbox), so a restart loses nothing and the sender delivers
it once. Asking again replaces the earlier reminder. The row names the message kind and the day,
and is worded on the morning it goes, in the language the person uses then.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Broadcast, Donor, OutboxMessage
from models.outbox import BroadcastStatus, DeliveryStatus
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.conversation.menus import MenuItem, OpenMenu
from services.core.i18n import _
from services.core.labels import date_label
from services.donors import donor_store
from services.eligibility.texts import RemindMe
from services.outreach import notify, outbox
from services.outreach.messages import Message, message_kind

REMINDER = "reminder"
ELIGIBLE_AGAIN = "reminder.eligible_again"
REMIND_AT = time(9)  # local time on the day, after the quiet hours


def due_at(day: date, tz: ZoneInfo) -> datetime:
    """9:00 local time on the day, in UTC."""
    return datetime.combine(day, REMIND_AT, tzinfo=tz).astimezone(UTC)


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


async def cancel_pending(session: AsyncSession, donor_id: int) -> None:
    """Drop the donor's reminders that have not gone yet."""
    reminders = select(Broadcast.id).where(col(Broadcast.kind) == REMINDER)
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.donor_id) == donor_id,
            col(OutboxMessage.status) == DeliveryStatus.PENDING,
            col(OutboxMessage.broadcast_id).in_(reminders),
        )
        .values(status=DeliveryStatus.FAILED, error="replaced by a newer reminder")
    )


async def _day_broadcast(session: AsyncSession, day: date) -> Broadcast:
    """The one broadcast that holds every reminder due on a day (few open broadcasts, not one
    per donor, so the sender's progress pass stays cheap at a million donors)."""
    scope = f"{REMINDER}:{day.isoformat()}"
    found = (
        await session.exec(
            select(Broadcast).where(col(Broadcast.kind) == REMINDER, col(Broadcast.scope) == scope)
        )
    ).first()
    if found is not None:
        return found
    return await outbox.create_broadcast(session, REMINDER, "system", scope)


async def schedule(
    session: AsyncSession, donor: Donor, day: date, reason_code: str, tz: ZoneInfo
) -> None:
    """Keep the date and reason code (nothing else of the check) and queue the reminder."""
    assert donor.id is not None
    donor_store.update_donor(donor, deferred_until=day, deferral_code=reason_code[:32])
    await cancel_pending(session, donor.id)
    broadcast = await _day_broadcast(session, day)
    recipient = notify.recipient_for(donor, Message(ELIGIBLE_AGAIN, {"day": day.isoformat()}))
    existing = (
        await session.exec(
            select(OutboxMessage).where(
                col(OutboxMessage.broadcast_id) == broadcast.id,
                col(OutboxMessage.chat_id) == donor.chat_id,
            )
        )
    ).first()
    if existing is None:
        await outbox.enqueue(session, broadcast, [recipient], due_at(day, tz))
    elif existing.status != DeliveryStatus.SENT:  # asked again for the same day: the same row, pending again
        existing.text, existing.buttons = recipient.text, recipient.buttons
        existing.message_key, existing.params = recipient.message_key, recipient.params
        existing.locale, existing.document = recipient.locale, None
        existing.status, existing.error, existing.attempts = DeliveryStatus.PENDING, None, 0
        existing.not_before = due_at(day, tz)
        session.add(existing)
    broadcast.status, broadcast.finished_at = BroadcastStatus.QUEUED, None
    session.add(broadcast)


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


async def remind(t: Turn, button: RemindMe, tz: ZoneInfo) -> list[Reply]:
    """The "remind me" tap: keep the date and reason code, queue the reminder for that morning."""
    day, code = button.day, button.code
    if day <= t.today:
        return [Reply(_("That day has come: you can check again with /eligibility."))]
    await schedule(t.session, t.me, day, code, tz)
    text = _(
        "Done: I will remind you on {date} in the morning. /stop turns all messages off."
    ).format(date=date_label(day))
    return [Reply(text)]
