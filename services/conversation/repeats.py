"""Recognising a redelivered event: each applied event's key is stored with the turn it caused,
in the same transaction, so a repeat (after a crash, a timeout, a webhook retry) finds it."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from models import HandledEvent
from models.types import utcnow

# Telegram keeps an unconfirmed update for 24 hours; a key older than this cannot come back.
KEPT_FOR = timedelta(days=3)


async def first_time(session: AsyncSession, channel: str, key: str, donor_id: int) -> bool:
    """Note the event as applied; False when it already was (a repeat: apply nothing).

    A second delivery of the same update while the first is being handled waits on the first's
    uncommitted row (PostgreSQL) or on the write lock (SQLite), then sees it."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(HandledEvent)
        .values(channel=channel, event_key=key, donor_id=donor_id, handled_at=utcnow())
        .on_conflict_do_nothing()
        .returning(col(HandledEvent.donor_id))
    )
    connection = await session.connection()  # Core: the row needs no object
    return (await connection.execute(statement)).first() is not None


async def forget_old(session: AsyncSession, now: datetime | None = None) -> int:
    """Delete the keys no platform will deliver again; how many went."""
    before = (now or utcnow()) - KEPT_FOR
    result = await session.exec(delete(HandledEvent).where(col(HandledEvent.handled_at) < before))
    return int(getattr(result, "rowcount", 0) or 0)
