"""Who wants the weekly digest of /stats: the switch under /stats, and when the next one is due.

A digest reports a week, Monday to Sunday, and falls due the Monday after at 08:00 local time.
The subscription row holds that moment (`due_at`); services/stats/digest.py sweeps the rows
whose moment has come.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from models import DigestSubscription, Donor, OutboxMessage
from models.outbox import DeliveryStatus
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Button
from services.core.i18n import _

DIGEST = "stats.digest"  # the outbox message kind (worded by services/stats/digest.py)
DIGEST_HOUR = time(8)  # Monday, local time


@dataclasses.dataclass(frozen=True)
class DigestSwitch(ButtonData, kind="digest"):
    """Turn the weekly digest on ("digest:1") or off ("digest:0"); under /stats and each digest."""

    on: bool


def monday_of(day: date) -> date:
    """The Monday of a day's week."""
    return day - timedelta(days=day.weekday())


def next_due(now: datetime, tz: ZoneInfo) -> datetime:
    """The first Monday 08:00 (local) after `now`, in UTC."""
    local = now.astimezone(tz)
    due = datetime.combine(monday_of(local.date()), DIGEST_HOUR, tzinfo=tz)
    if due <= local:
        due += timedelta(days=7)
    return due.astimezone(UTC)


async def subscribed(session: AsyncSession, donor_id: int) -> bool:
    """Does this person get the weekly digest?"""
    return await session.get(DigestSubscription, donor_id) is not None


async def subscribe(session: AsyncSession, donor_id: int, now: datetime, tz: ZoneInfo) -> bool:
    """Turn it on (the first digest: the next Monday 08:00); False when it already was."""
    if await subscribed(session, donor_id):
        return False
    session.add(DigestSubscription(donor_id=donor_id, due_at=next_due(now, tz)))
    await session.flush()
    return True


async def unsubscribe(session: AsyncSession, donor_id: int) -> None:
    """Turn it off: the row goes, and a digest queued but not yet sent is not sent."""
    await session.exec(
        delete(DigestSubscription).where(col(DigestSubscription.donor_id) == donor_id)
    )
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.donor_id) == donor_id,
            col(OutboxMessage.message_key) == DIGEST,
            col(OutboxMessage.status) == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.SUPERSEDED, error="digest turned off")
    )


def switch_button(on: bool) -> Button:
    """The button that turns the digest on (when `on`) or off."""
    if on:
        return DigestSwitch(True).button(_("📬 Weekly digest every Monday"))
    return DigestSwitch(False).button(_("🔕 No more weekly digests"))


async def switch_row(session: AsyncSession, donor: Donor) -> list[Button]:
    """The row under /stats: turn the digest on, or off when it is on."""
    assert donor.id is not None
    return [switch_button(not await subscribed(session, donor.id))]
