"""A broadcast to many, written as one row and expanded into outbox rows by the sender.

The author's transaction writes the broadcast with its message and audience and counts the
recipients with one query; the sender (scheduler/sender.py) then writes the rows a batch at a
time, each batch its own transaction, resuming after the last donor id written. Several senders
on PostgreSQL take a broadcast's next batch with FOR UPDATE SKIP LOCKED, one at a time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Broadcast, OutboxMessage
from models.outbox import BroadcastStatus, DeliveryStatus
from models.types import utcnow
from services.conversation.dialog import Reply
from services.outreach import messages
from services.outreach.audiences import Audience, count, page
from services.outreach.messages import Message

BATCH = 1000  # recipient rows written per transaction


async def queue_broadcast(
    session: AsyncSession,
    broadcast: Broadcast,
    message: Message,
    audience: Audience,
    not_before: datetime | None = None,
) -> int:
    """Keep the message and audience on the broadcast; returns how many it reaches now."""
    total = await count(session, audience)
    broadcast.message_key, broadcast.params = message.key, message.params
    broadcast.audience = audience.as_json()
    broadcast.not_before = not_before or utcnow()
    broadcast.expanded_through = 0
    broadcast.total = total
    if total:
        broadcast.status = BroadcastStatus.EXPANDING
    else:
        broadcast.status, broadcast.finished_at = BroadcastStatus.DONE, utcnow()
    session.add(broadcast)
    await session.flush()
    return total


async def expanding(session: AsyncSession) -> list[int]:
    """The broadcasts whose rows are still being written, oldest first."""
    result = await session.exec(
        select(Broadcast.id).where(col(Broadcast.status) == BroadcastStatus.EXPANDING).order_by(col(Broadcast.id))
    )
    return [i for i in result.all() if i is not None]


async def expand_batch(session: AsyncSession, broadcast_id: int, limit: int = BATCH) -> int | None:
    """Write the broadcast's next `limit` rows; None when it is not expanding (or another
    sender holds it). The last batch sets the total to the rows written and hands it over."""
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = select(Broadcast).where(
        col(Broadcast.id) == broadcast_id, col(Broadcast.status) == BroadcastStatus.EXPANDING
    )
    if postgres:
        statement = statement.with_for_update(skip_locked=True)
    broadcast = (await session.exec(statement)).first()
    if broadcast is None or broadcast.audience is None or broadcast.message_key is None:
        return None
    audience = Audience.from_json(broadcast.audience)
    people = await page(session, audience, broadcast.expanded_through or 0, limit)
    message = Message(broadcast.message_key, dict(broadcast.params or {}))
    worded: dict[str, Reply] = {}  # one message for all: worded once per language
    rows: list[dict[str, Any]] = []
    for donor in people:
        if donor.locale not in worded:
            worded[donor.locale] = messages.render(message.key, message.params, donor.locale)
        reply = worded[donor.locale]
        rows.append(
            {
                "broadcast_id": broadcast_id,
                "donor_id": donor.id,
                "channel": donor.channel,
                "chat_id": donor.chat_id,
                "message_key": message.key,
                "params": message.params,
                "locale": donor.locale,
                "text": reply.text,
                "buttons": messages.button_rows(reply),
                "document": None,  # worded again when sent, file included
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "not_before": broadcast.not_before or utcnow(),
            }
        )
    if rows:
        dialect = postgresql if postgres else sqlite
        # Two people sharing a chat get one message (as enqueue does), across batches too.
        insert = dialect.insert(OutboxMessage).on_conflict_do_nothing()
        await session.exec(insert, params=rows)
    if len(people) < limit:
        written = select(func.count()).where(col(OutboxMessage.broadcast_id) == broadcast_id)
        broadcast.total = int((await session.exec(written)).one())
        broadcast.status = BroadcastStatus.QUEUED if broadcast.total else BroadcastStatus.DONE
        if not broadcast.total:
            broadcast.finished_at = utcnow()
    elif people[-1].id is not None:
        broadcast.expanded_through = people[-1].id
    session.add(broadcast)
    return len(rows)


async def expand_all(session: AsyncSession, limit: int = BATCH) -> int:
    """Expand every waiting broadcast to the end in this transaction (tools and tests; the
    sender writes a batch per transaction); returns the rows written."""
    written = 0
    for broadcast_id in await expanding(session):
        while (rows := await expand_batch(session, broadcast_id, limit)) is not None:
            written += rows
            await session.flush()
    return written
