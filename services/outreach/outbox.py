"""The outbox: recipients are written to the database before anything is sent.

A sender (scheduler/sender.py) works through the due rows. Each row goes pending → sending → sent
(or failed / blocked); "sending" is committed before the call to the chat platform and "sent" after
it, so after a crash the rows still "sending" are exactly the messages that were in flight.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, String, bindparam, case, cast, func, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Broadcast, Donor, OutboxMessage
from models.outbox import BroadcastStatus, DeliveryStatus
from models.types import utcnow
from services.conversation.dialog import Document

# Give up on a message after this many transient failures (network errors, 5xx).
MAX_ATTEMPTS = 8


INSERT_ROWS = 1000  # rows per INSERT: well within both databases' parameter limits


@dataclass(frozen=True)
class Recipient:
    """One message for one chat: its key and parameters, and its wording at queue time (the
    whole message for key "text"; for other keys, what is sent if the key cannot be worded)."""

    donor_id: int | None
    chat_id: str
    text: str
    buttons: list[list[dict[str, str]]] = field(default_factory=list)
    document: dict[str, Any] | None = None
    message_key: str = "text"
    params: dict[str, Any] | None = None
    locale: str | None = None
    channel: str = "telegram"


@dataclass(frozen=True)
class Progress:
    """Counts of one broadcast's messages by status."""

    total: int
    sent: int
    failed: int
    blocked: int
    pending: int

    @property
    def done(self) -> int:
        """Messages that reached a final state."""
        return self.sent + self.failed + self.blocked


# Set in a row's document once its text went out, so a retry sends only the file.
TEXT_SENT = "text_sent"
# How many parts of a row reached the chat: the text (1), then its file and its picture, each
# its own request; a retry sends only the parts after them.
PARTS_SENT = "parts_sent"


def document_payload(document: Document) -> dict[str, Any]:
    """A file as the outbox row's JSON keeps it (the bytes in base64)."""
    return {
        "filename": document.filename,
        "mime_type": document.mime_type,
        "content_b64": base64.b64encode(document.content).decode("ascii"),
    }


def document_from_payload(payload: dict[str, Any] | None) -> Document | None:
    """The file of an outbox row, if it has one (None for a malformed payload)."""
    if not payload or "content_b64" not in payload:
        return None
    try:
        content = base64.b64decode(str(payload["content_b64"]), validate=True)
    except (binascii.Error, ValueError):
        return None
    return Document(
        str(payload.get("filename") or "file"),
        content,
        str(payload.get("mime_type") or "application/octet-stream"),
    )


def quiet_hours_not_before(
    now_utc: datetime, tz: ZoneInfo, start: time, end: time, urgent: bool = False
) -> datetime:
    """The earliest moment a non-urgent message may go: now, or the end of the quiet hours."""
    if urgent or start == end:
        return now_utc
    local = now_utc.astimezone(tz)
    here = local.time()
    # Quiet hours may cross midnight, e.g. 21:00–07:00.
    quiet = start <= here < end if start < end else here >= start or here < end
    if not quiet:
        return now_utc
    wake = datetime.combine(local.date(), end, tzinfo=tz)
    if wake <= local:
        wake += timedelta(days=1)
    return wake.astimezone(UTC)


async def create_broadcast(
    session: AsyncSession,
    kind: str,
    author: str,
    scope: str = "",
    *,
    drive_id: int | None = None,
    progress_chat_id: str | None = None,
) -> Broadcast:
    """Create the broadcast row its messages hang on."""
    broadcast = Broadcast(
        kind=kind,
        author=author,
        scope=scope[:200],
        drive_id=drive_id,
        progress_chat_id=progress_chat_id,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def enqueue(
    session: AsyncSession,
    broadcast: Broadcast,
    recipients: Iterable[Recipient],
    not_before: datetime,
) -> int:
    """Write one pending row per distinct chat; returns how many were queued."""
    assert broadcast.id is not None
    seen: set[str] = set()
    rows: list[dict[str, Any]] = []
    for r in recipients:
        if r.chat_id in seen:
            continue
        seen.add(r.chat_id)
        rows.append(
            {
                "broadcast_id": broadcast.id,
                "donor_id": r.donor_id,
                "chat_id": r.chat_id,
                "text": r.text,
                "buttons": r.buttons,
                "document": r.document,
                "channel": r.channel,
                "message_key": r.message_key,
                "params": r.params,
                "locale": r.locale,
                "status": DeliveryStatus.PENDING,
                "attempts": 0,
                "not_before": not_before,
            }
        )
    # Bulk inserts in slices keep a 100,000-follower announcement within parameter limits.
    for start in range(0, len(rows), 2000):
        await session.exec(insert(OutboxMessage), params=rows[start : start + 2000])
    broadcast.total += len(rows)
    if not rows:
        broadcast.status = BroadcastStatus.DONE
        broadcast.finished_at = utcnow()
    session.add(broadcast)
    await session.flush()
    return len(rows)


async def recover_in_flight(session: AsyncSession) -> int:
    """After a crash: put the messages that were in flight back in the queue; returns how many.

    Telegram has no idempotency key, so each of them may reach its chat a second time.
    """
    result = await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == DeliveryStatus.SENDING)
        .values(status=DeliveryStatus.PENDING, error="in flight at a restart")
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def due(
    session: AsyncSession,
    now: datetime,
    limit: int,
    chat_ids: Iterable[str] | None = None,
    *,
    channels: Iterable[str] | None = None,
) -> list[OutboxMessage]:
    """The oldest due pending messages (not yet claimed: see `claim`).

    With `chat_ids`, only those chats' messages: a console delivers to its own person only.
    With `channels`, only the channels a sender has a transport for."""
    statement = select(OutboxMessage).where(
        col(OutboxMessage.status) == DeliveryStatus.PENDING, col(OutboxMessage.not_before) <= now
    )
    if channels is not None:
        statement = statement.where(col(OutboxMessage.channel).in_(list(channels)))
    if chat_ids is not None:
        statement = statement.where(col(OutboxMessage.chat_id).in_(list(chat_ids)))
    statement = statement.order_by(col(OutboxMessage.not_before), col(OutboxMessage.id)).limit(
        limit
    )
    return list((await session.exec(statement)).all())


async def claim(session: AsyncSession, message_id: int) -> bool:
    """Mark one message "sending" if it is still pending; False when someone else took it.

    The conditional update makes the claim atomic, so several senders never send the same row
    twice. On PostgreSQL the row is taken with FOR UPDATE SKIP LOCKED: a row another sender is
    claiming at this moment is passed over at once rather than waited for.
    """
    target = col(OutboxMessage.id) == message_id
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        free = (
            select(OutboxMessage.id)
            .where(
                col(OutboxMessage.id) == message_id,
                col(OutboxMessage.status) == DeliveryStatus.PENDING,
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        target = col(OutboxMessage.id) == free
    result = await session.exec(
        update(OutboxMessage)
        .where(target, col(OutboxMessage.status) == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SENDING)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def text_was_sent(message: OutboxMessage) -> bool:
    """Did this row's text already reach the chat (only its file is left)?"""
    return bool(message.document and message.document.get(TEXT_SENT))


def parts_sent(message: OutboxMessage) -> int:
    """How many parts of this row reached the chat: 0, 1 (the text), 1 + the files after it."""
    marks = message.document or {}
    try:
        counted = int(marks.get(PARTS_SENT) or 0)
    except (TypeError, ValueError):
        counted = 0
    return max(counted, 1 if marks.get(TEXT_SENT) else 0)


async def current_locales(session: AsyncSession, donor_ids: Iterable[int | None]) -> dict[int, str]:
    """The language each of these people uses now (a message is worded in it when sent)."""
    ids = sorted({i for i in donor_ids if i is not None})
    if not ids:
        return {}
    result = await session.exec(select(Donor.id, Donor.locale).where(col(Donor.id).in_(ids)))
    return {int(donor_id): locale for donor_id, locale in result.all() if donor_id is not None}


async def cancel_pending_for(session: AsyncSession, donor_id: int) -> None:
    """The person sent /stop: what is still queued for them is not sent."""
    await session.exec(
        update(OutboxMessage)
        .where(
            col(OutboxMessage.donor_id) == donor_id,
            col(OutboxMessage.status) == DeliveryStatus.PENDING,
        )
        .values(status=DeliveryStatus.BLOCKED, error="recipient stopped")
    )


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest pending message becomes due, if any."""
    result = await session.exec(
        select(func.min(OutboxMessage.not_before)).where(
            col(OutboxMessage.status) == DeliveryStatus.PENDING
        )
    )
    return result.one()


async def set_status(
    session: AsyncSession,
    message_ids: Sequence[int],
    status: str,
    *,
    error: str | None = None,
    sent_at: datetime | None = None,
) -> None:
    """Move messages to a status (no commit: the caller decides the transaction)."""
    if not message_ids:
        return
    values: dict[str, Any] = {"status": status}
    if error is not None:
        values["error"] = error[:200]
    if sent_at is not None:
        values["sent_at"] = sent_at
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id).in_(list(message_ids))).values(**values)
    )


async def retry_later(
    session: AsyncSession, message: OutboxMessage, delay: timedelta, error: str, count: bool
) -> bool:
    """Put a message back in the queue after a delay; False when it has failed too often."""
    attempts = message.attempts + (1 if count else 0)
    if attempts >= MAX_ATTEMPTS:
        await session.exec(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == message.id)
            .values(status=DeliveryStatus.FAILED, attempts=attempts, error=error[:200])
        )
        return False
    await session.exec(
        update(OutboxMessage)
        .where(col(OutboxMessage.id) == message.id)
        .values(
            status=DeliveryStatus.PENDING,
            attempts=attempts,
            error=error[:200],
            not_before=utcnow() + delay,
        )
    )
    return True


async def mark_blocked(session: AsyncSession, message: OutboxMessage, error: str) -> None:
    """The person blocked the bot or left: stop messaging them until they send /start."""
    await set_status(session, [message.id or 0], DeliveryStatus.BLOCKED, error=error)
    if message.donor_id is not None:
        await session.exec(
            update(Donor)
            .where(col(Donor.id) == message.donor_id, col(Donor.stopped_at).is_(None))
            .values(stopped_at=utcnow())
        )
        # Whatever else is queued for them would fail the same way.
        await session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.donor_id) == message.donor_id,
                col(OutboxMessage.status) == DeliveryStatus.PENDING,
            )
            .values(status=DeliveryStatus.BLOCKED, error="recipient stopped")
        )


async def progress(session: AsyncSession, broadcast_id: int) -> Progress:
    """Count one broadcast's messages by status."""
    result = await session.exec(
        select(OutboxMessage.status, func.count())
        .where(col(OutboxMessage.broadcast_id) == broadcast_id)
        .group_by(OutboxMessage.status)
    )
    counts = {status: int(n) for status, n in result.all()}
    total = sum(counts.values())
    return Progress(
        total=total,
        sent=counts.get(DeliveryStatus.SENT, 0),
        failed=counts.get(DeliveryStatus.FAILED, 0),
        blocked=counts.get(DeliveryStatus.BLOCKED, 0),
        pending=counts.get(DeliveryStatus.PENDING, 0) + counts.get(DeliveryStatus.SENDING, 0),
    )


async def mark_text_sent(session: AsyncSession, message: OutboxMessage, parts: int = 1) -> None:
    """The text (and the first `parts` - 1 files after it) reached the chat but the rest did
    not: a retry must not repeat what went.

    (A row worded when sent has no stored file; the mark alone is kept.)"""
    document = {**(message.document or {}), TEXT_SENT: True, PARTS_SENT: parts}
    message.document = document
    await session.exec(
        update(OutboxMessage).where(col(OutboxMessage.id) == message.id).values(document=document)
    )


async def broadcasts_in_progress(
    session: AsyncSession, now: datetime | None = None
) -> list[Broadcast]:
    """Broadcasts not yet finished, except those held back whole (quiet hours): their author
    hears nothing until the first message is due, rather than a "0 sent" that does not move."""
    running = list(
        (
            await session.exec(
                select(Broadcast).where(col(Broadcast.status) != BroadcastStatus.DONE)
            )
        ).all()
    )
    if not running:
        return []
    held = await session.exec(
        select(OutboxMessage.broadcast_id)
        .where(col(OutboxMessage.broadcast_id).in_([b.id for b in running]))
        .group_by(col(OutboxMessage.broadcast_id))
        .having(
            func.min(OutboxMessage.not_before) > (now or utcnow()),
            func.sum(case((col(OutboxMessage.status) != DeliveryStatus.PENDING, 1), else_=0)) == 0,
        )
    )
    waiting = set(held.all())
    now = now or utcnow()
    # A broadcast still being expanded for later (quiet hours) is held back the same way.
    return [
        b
        for b in running
        if b.id not in waiting
        and not (
            b.status == BroadcastStatus.EXPANDING
            and b.not_before is not None
            and b.not_before > now
        )
    ]


async def finish_if_done(session: AsyncSession, broadcast: Broadcast) -> Progress:
    """Update a broadcast's status from its messages; returns its progress."""
    assert broadcast.id is not None
    state = await progress(session, broadcast.id)
    if broadcast.status == BroadcastStatus.EXPANDING:  # the rows not written yet are pending too
        missing = max(0, broadcast.total - state.total)
        return dataclasses.replace(
            state, total=state.total + missing, pending=state.pending + missing
        )
    if state.pending == 0 and broadcast.status != BroadcastStatus.DONE:
        broadcast.status = BroadcastStatus.DONE
        broadcast.finished_at = utcnow()
    elif state.done > 0 and broadcast.status == BroadcastStatus.QUEUED:
        broadcast.status = BroadcastStatus.SENDING
    session.add(broadcast)
    return state


async def enqueue_once(
    session: AsyncSession,
    broadcast: Broadcast,
    recipient: Recipient,
    not_before: datetime,
    dedupe_key: str,
) -> bool:
    """Queue one message that must exist at most once (the outbox's unique `dedupe_key`);
    False when a row with that key was queued before, also by a concurrent transaction."""
    row = once_row(recipient, recipient.chat_id, dedupe_key, not_before, broadcast.id)
    if not await insert_once(session, [row]):
        return False
    broadcast.total += 1
    session.add(broadcast)
    return True


def once_row(
    recipient: Recipient,
    chat_id: str,
    key: str,
    not_before: datetime,
    broadcast_id: int | None = None,
) -> dict[str, Any]:
    """The values of an outbox row that must exist at most once (its unique `dedupe_key`)."""
    return {
        "broadcast_id": broadcast_id,
        "donor_id": recipient.donor_id,
        "channel": recipient.channel,
        "chat_id": chat_id,
        "message_key": recipient.message_key,
        "params": recipient.params,
        "locale": recipient.locale,
        "text": recipient.text,
        "buttons": recipient.buttons,
        "document": recipient.document,
        "status": DeliveryStatus.PENDING,
        "attempts": 0,
        "not_before": not_before,
        "dedupe_key": key[:80],
    }


# The JSON columns of a row, serialized here rather than by the column type: rows of a sweep share
# their buttons and often their parameters, and one object is serialized once, not per row.
JSON_COLUMNS = ("params", "buttons", "document")


def _serialized(batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with their JSON columns as text, each distinct object encoded once."""
    done: dict[int, str] = {}
    rows = []
    for row in batch:
        encoded = dict(row)
        for name in JSON_COLUMNS:
            value = row[name]
            text = done.get(id(value))
            if text is None:
                text = done[id(value)] = json.dumps(value)
            encoded[name] = text
        rows.append(encoded)
    return rows


async def insert_once(session: AsyncSession, rows: Iterable[dict[str, Any]]) -> int:
    """INSERT … ON CONFLICT DO NOTHING, in slices; returns how many rows were new."""
    batch = list(rows)
    if not batch:
        return 0
    postgres = session.get_bind().dialect.name == "postgresql"
    dialect = postgresql if postgres else sqlite
    # The JSON columns arrive as text: PostgreSQL casts it; SQLite stores it as it is.
    as_text = {
        name: cast(bindparam(name, type_=String), JSON)
        if postgres
        else bindparam(name, type_=String)
        for name in JSON_COLUMNS
    }
    # One compiled statement run over many parameter sets (SQLAlchemy's "insertmanyvalues"
    # batches them and returns the ids of the rows actually written).
    statement = (
        dialect.insert(OutboxMessage)
        .values(as_text)
        .on_conflict_do_nothing()
        .returning(col(OutboxMessage.id))
    )
    connection = await session.connection()  # Core, not the ORM's bulk path: no objects needed
    written = 0
    encoded = _serialized(batch)
    for start in range(0, len(encoded), INSERT_ROWS):
        result = await connection.execute(statement, encoded[start : start + INSERT_ROWS])
        written += len(result.all())
    return written


@dataclass(frozen=True)
class Backlog:
    """How much waits in the outbox (for /healthz): counts and an age, nobody's data."""

    pending: int  # every pending row, due or waiting for later (quiet hours, a retry's backoff)
    due: int  # of them, those whose time has come
    oldest_due: datetime | None  # the earliest time among the due ones


async def backlog(session: AsyncSession, now: datetime) -> Backlog:
    """One aggregate over the pending rows (the (status, not_before) index serves it)."""
    not_before = col(OutboxMessage.not_before)
    is_due = not_before <= now
    statement = select(
        func.count(),
        func.coalesce(func.sum(case((is_due, 1), else_=0)), 0),
        func.min(case((is_due, not_before), else_=None)),
    ).where(col(OutboxMessage.status) == DeliveryStatus.PENDING)
    pending, due, oldest = (await session.exec(statement)).one()
    return Backlog(int(pending), int(due), oldest)
