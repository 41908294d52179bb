"""Replies that could not be delivered during the chat turn: queued in the outbox, and never
followed by an answer to a question the person has not seen.

A reply that fails (a 5xx, a dropped connection, a long 429) after its answer was saved is written
here as outbox rows of no broadcast; the sender delivers them when the platform recovers. If the
person writes before that, the chat service drops those rows and asks the open question again.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, insert, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import OutboxMessage
from models.outbox import DeliveryStatus
from models.types import utcnow
from services.conversation.dialog import Reply
from services.outreach.outbox import document_payload

# Rows that have not reached the person ("sending" is in flight: it may still arrive).
NOT_DELIVERED = (DeliveryStatus.PENDING, DeliveryStatus.FAILED)


async def queue(
    session: AsyncSession,
    donor_id: int | None,
    chat_id: str,
    replies: Sequence[Reply],
    *,
    channel: str = "telegram",
) -> None:
    """Queue what was not delivered, in order, due now, on the channel it was meant for."""
    now = utcnow()
    rows = [
        {
            "broadcast_id": None,
            "donor_id": donor_id,
            "channel": channel,
            "chat_id": chat_id,
            "text": reply.text,
            "buttons": [[{"label": b.label, "data": b.data} for b in row] for row in reply.buttons],
            "document": document_payload(reply.document) if reply.document else None,
            "status": DeliveryStatus.PENDING,
            "attempts": 0,
            "not_before": now,
        }
        for reply in replies
        if reply.text
    ]
    if rows:
        await session.exec(insert(OutboxMessage), params=rows)


def _undelivered(donor_id: int) -> tuple[ColumnElement[bool], ...]:
    """This person's replies of no broadcast that have not reached them (a row with a dedupe
    key is a scheduled message, such as a reminder, not a reply)."""
    return (col(OutboxMessage.donor_id) == donor_id, *_waiting_replies())


def _waiting_replies() -> tuple[ColumnElement[bool], ...]:
    """Replies (no broadcast, no scheduled message's key) that have not reached their chat."""
    return (
        col(OutboxMessage.broadcast_id).is_(None),
        col(OutboxMessage.dedupe_key).is_(None),
        col(OutboxMessage.status).in_(NOT_DELIVERED),
    )


async def people_waiting(session: AsyncSession) -> set[int]:
    """The people with a reply of ours still waiting to be delivered."""
    statement = (
        select(col(OutboxMessage.donor_id))
        .where(col(OutboxMessage.donor_id).is_not(None), *_waiting_replies())
        .distinct()
    )
    return {int(donor) for donor in (await session.exec(statement)).all() if donor is not None}


async def has_unseen(session: AsyncSession, donor_id: int) -> bool:
    """Is a reply to this person still waiting to be delivered?"""
    statement = select(func.count()).select_from(OutboxMessage).where(*_undelivered(donor_id))
    return int((await session.exec(statement)).one()) > 0


async def drop_unseen(session: AsyncSession, donor_id: int) -> None:
    """The person wrote again: the open question is asked afresh, so the queued copy is dropped."""
    await session.exec(
        update(OutboxMessage)
        .where(*_undelivered(donor_id))
        .values(status=DeliveryStatus.SUPERSEDED, error="asked again in the chat")
    )
