"""The outbox sender's transport for Zalo (the interface of services/outreach/transport.py).

A reply goes out as handlers/zalo/render.py words it: numbered choices instead of buttons, a
long text in parts of at most 2,000 characters, files said plainly (a calendar entry as its
facts), a picture by URL only. Zalo cannot edit a message, so `edit` sends the new text as a
new message.

Quota (handlers/zalo/quota.py): once the month's bulk share is used, or after a 429, `send`
raises QuotaExhausted (a RateLimited) before asking Zalo, so the row waits without an attempt
counted. A refused token raises Unauthorized (services/outreach/transport.py).

What a message's numbers stand for is handed to `remember(chat_id, offered)`, for the chat
service to keep with the person (services/conversation/offered_store.py): a "2" typed later
picks what this message showed. `next_number(chat_id)` says where its numbers start: after
those of the person's last answer while it is recent, so that both stay answerable.
A picture needs a public URL: `media_link(picture)` makes one (signed media links, later);
without it the text says the picture was not sent.

Sent outside a chat turn, the added sentences follow the locale in force: the sender should send
each row inside `use_locale(row's locale)`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from zoneinfo import ZoneInfo

from handlers.zalo.client import CHANNEL, Sent, ZaloClient
from handlers.zalo.quota import MonthlyQuota
from handlers.zalo.render import zalo_messages
from services.conversation.dialog import Document, Reply
from services.conversation.numbered import Numbering, Offered, split_text
from services.core.i18n import _
from services.outreach.transport import DocumentNotSent, QuotaExhausted

log = logging.getLogger(__name__)

MediaLink = Callable[[Document], Awaitable[str | None]]
Remember = Callable[[str, Offered], Awaitable[None]]
NextNumber = Callable[[str], Awaitable[int]]
_MAX_ID = 2**63 - 1


class ZaloTransport:
    """Sends through the Zalo Bot API; errors arrive already as the sender's outcomes."""

    def __init__(
        self,
        client: ZaloClient,
        *,
        tz: ZoneInfo,
        quota: MonthlyQuota | None = None,
        media_link: MediaLink | None = None,
        remember: Remember | None = None,
        next_number: NextNumber | None = None,
    ) -> None:
        self.client = client
        self.tz = tz
        self.quota = quota if quota is not None else client.quota
        self.media_link = media_link
        self.remember = remember
        self.next_number = next_number

    async def send(self, chat_id: str, reply: Reply) -> int:
        """The reply's texts, then its picture by URL; returns the first message's id (Zalo's
        hex id as a number: ids are only kept, never edited, on Zalo)."""
        self._check_quota()
        start = 1
        if reply.buttons and self.next_number is not None:
            start = await self.next_number(chat_id)
        rendered = zalo_messages(
            reply, self.tz, numbering=Numbering(start), pictures_by_link=self.media_link is not None
        )
        # Kept before the text goes: a person answering at once must find the numbers stored
        # (numbers of a message that then fails are never read, and are replaced soon).
        if rendered.offered and self.remember is not None:
            await self.remember(chat_id, rendered.offered)
        first: Sent | None = None
        for text in rendered.texts:
            sent = await self.client.send_message(chat_id, text)
            first = first or sent
        if rendered.picture is not None:
            shown = await self._picture(chat_id, rendered.picture, went=first is not None)
            first = first or shown
        return message_number(first.message_id) if first is not None else 0

    async def edit(self, chat_id: str, message_id: int, text: str) -> None:
        """Zalo edits nothing: the new text comes as a new message."""
        self._check_quota()
        for part in split_text(text):
            await self.client.send_message(chat_id, part)

    async def _picture(self, chat_id: str, picture: Document, *, went: bool) -> Sent | None:
        """sendPhoto with the picture's public link; when no link can be made, say so."""
        assert self.media_link is not None
        url = await self.media_link(picture)
        if url is None:
            log.warning("No public link for a picture: said so in the chat instead")
            note = _("🖼 Zalo shows pictures only from a web link, so this picture was not sent.")
            return await self.client.send_message(chat_id, note)
        try:
            return await self.client.send_photo(chat_id, url)
        except Exception as exc:
            raise (DocumentNotSent(exc) if went else exc) from exc

    def _check_quota(self) -> None:
        """Bulk messages stop short of the month's quota, and pause after a 429."""
        wait = self.quota.bulk_wait() if self.quota is not None else None
        if wait is not None:
            raise QuotaExhausted(CHANNEL, wait)


def message_number(message_id: str) -> int:
    """Zalo's message id (20 hex digits, or digits) as a positive 63-bit number; 0 if neither."""
    text = message_id.strip().lower()
    if text.isdigit():
        return int(text) & _MAX_ID
    try:
        return int(text[-15:], 16) if text else 0
    except ValueError:
        return 0
