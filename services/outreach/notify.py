"""Messages to other people than the one chatting, queued in the outbox.

A message is either of a declared kind (`messages.Message`: a key and its parameters, worded when
sent in the person's language of that moment) or a function of the donor worded now (a notice a
flow composes). Queuing happens in the caller's transaction, so a notice is sent if and only if
the change that caused it was saved; the outbox sender delivers it within Telegram's limits.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Broadcast, Donor
from models.types import utcnow
from services.conversation.dialog import Reply
from services.core.i18n import use_locale
from services.outreach import fanout, messages, outbox
from services.outreach.audiences import Audience
from services.outreach.messages import Message

# What to send each donor: a declared kind, or their message worded now.
Content = Message | Callable[[Donor], Reply]


def recipient_for(donor: Donor, content: Content) -> outbox.Recipient:
    """One donor's row. A declared kind keeps its key and parameters (worded again when sent)
    and, as a fallback, its wording now; a function is worded now, file included."""
    assert donor.id is not None
    if isinstance(content, Message):
        reply = messages.render(content.key, content.params, donor.locale)
        return outbox.Recipient(
            donor.id,
            donor.chat_id,
            reply.text,
            messages.button_rows(reply),
            None,  # worded again when sent, file included
            message_key=content.key,
            params=content.params,
            locale=donor.locale,
            channel=donor.channel,
        )
    with use_locale(donor.locale):
        reply = content(donor)
    document = outbox.document_payload(reply.document) if reply.document else None
    return outbox.Recipient(
        donor.id,
        donor.chat_id,
        reply.text,
        messages.button_rows(reply),
        document,
        locale=donor.locale,
        channel=donor.channel,
    )


def private_chat(donor: Donor) -> str:
    """The person's one-to-one chat with the bot: on Telegram its id is the user's id, whatever
    chat they last wrote from."""
    return donor.external_id if donor.channel == "telegram" else donor.chat_id


async def queue_on(
    session: AsyncSession,
    broadcast: Broadcast,
    donors: Iterable[Donor],
    content: Content,
    not_before: datetime | None = None,
) -> int:
    """Queue one message per active donor on a broadcast created beforehand (when the message
    must name the broadcast, e.g. in a button); returns how many were queued."""
    recipients = [recipient_for(d, content) for d in donors if d.stopped_at is None]
    return await outbox.enqueue(session, broadcast, recipients, not_before or utcnow())


async def queue(
    session: AsyncSession,
    donors: Iterable[Donor],
    content: Content,
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
    await queue_on(session, broadcast, donors, content, not_before)
    return broadcast


async def queue_to_chat(
    session: AsyncSession,
    donor: Donor,
    chat_id: str,
    content: Content,
    *,
    kind: str,
    author: str,
) -> Broadcast:
    """Queue one message to a person in a given chat (their private chat, for what only they
    may read), unless they stopped messages."""
    broadcast = await outbox.create_broadcast(session, kind, author)
    recipients = []
    if donor.stopped_at is None:
        recipients.append(dataclasses.replace(recipient_for(donor, content), chat_id=chat_id))
    await outbox.enqueue(session, broadcast, recipients, utcnow())
    return broadcast


async def notify_donors(
    session: AsyncSession,
    donor_ids: list[int],
    content: Content,
    *,
    kind: str,
    author: str,
    drive_id: int | None = None,
) -> Broadcast:
    """Queue a message to donors given by id (changes, cancellations, freed seats: not held
    back by quiet hours, since they are about a drive that may be hours away)."""
    result = await session.exec(select(Donor).where(col(Donor.id).in_(donor_ids)))
    return await queue(session, result.all(), content, kind=kind, author=author, drive_id=drive_id)


async def announce(
    session: AsyncSession,
    audience: Audience,
    message: Message,
    *,
    kind: str,
    author: str,
    scope: str = "",
    drive_id: int | None = None,
    not_before: datetime | None = None,
    progress_chat_id: str | None = None,
) -> Broadcast:
    """A broadcast to an audience, written as one row (its total is the count, from one
    query); the sender expands it into a message per person, outside this transaction."""
    broadcast = await outbox.create_broadcast(
        session, kind, author, scope, drive_id=drive_id, progress_chat_id=progress_chat_id
    )
    await fanout.queue_broadcast(session, broadcast, message, audience, not_before)
    return broadcast
