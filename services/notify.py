"""Messages to other people than the one chatting: rendered per recipient, queued in the outbox.

Queuing happens in the caller's transaction, so a notice is sent if and only if the change that
caused it was saved; the outbox sender delivers it within Telegram's limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Broadcast, Donor
from models.types import utcnow
from services import outbox
from services.dialog import Reply
from services.i18n import use_locale


def recipient_for(donor: Donor, render: Callable[[Donor], Reply]) -> outbox.Recipient:
    """Render one message in the donor's own language."""
    assert donor.id is not None
    with use_locale(donor.locale):
        reply = render(donor)
    buttons = [[{"label": b.label, "data": b.data} for b in row] for row in reply.buttons]
    return outbox.Recipient(donor.id, donor.chat_id, reply.text, buttons)


async def queue(
    session: AsyncSession,
    donors: Iterable[Donor],
    render: Callable[[Donor], Reply],
    *,
    kind: str,
    author: str,
    scope: str = "",
    drive_id: int | None = None,
    not_before: datetime | None = None,
    progress_chat_id: str | None = None,
) -> Broadcast:
    """Queue one message per active donor; returns the broadcast (its total is the count)."""
    broadcast = await outbox.create_broadcast(
        session, kind, author, scope, drive_id=drive_id, progress_chat_id=progress_chat_id
    )
    recipients = [recipient_for(d, render) for d in donors if d.stopped_at is None]
    await outbox.enqueue(session, broadcast, recipients, not_before or utcnow())
    return broadcast


async def notify_donors(
    session: AsyncSession,
    donor_ids: list[int],
    render: Callable[[Donor], Reply],
    *,
    kind: str,
    author: str,
    drive_id: int | None = None,
) -> Broadcast:
    """Queue a message to donors given by id (changes, cancellations, freed seats: not held
    back by quiet hours, since they are about a drive that may be hours away)."""
    result = await session.exec(select(Donor).where(col(Donor.id).in_(donor_ids)))
    return await queue(session, result.all(), render, kind=kind, author=author, drive_id=drive_id)
