"""A Zalo event through the chat service, and its outcome sent back as Zalo messages.

Typed text goes to `chat.text`: the chat service reads a number, a choice's words (with or
without diacritics) and a command typed as a plain word ("dừng", "trợ giúp", "/start") against
the numbers it showed the person last and stored with them. A picture, sticker or anything else
goes to `chat.unsupported`. An image's URL expires on Zalo: nothing here reads it yet.

The outcome's replies are joined into as few messages as fit (dialog.joined: every message
counts against Zalo's monthly quota; Zalo has no keyboards, so a keyboard's removal does not keep
two texts apart), rendered by render.py with the numbers the chat service stored
(`Outcome.offered`), and sent in order. What cannot go now (a network error, a 5xx, a 429) goes
to the outbox (`chat.deliver_later`), whose sender keeps trying; the chat service asks the open
question again if the person writes before it arrives. A chat that blocked the bot gets nothing;
a refused token turns the channel off (the client tells whoever bot.py chose, once).

A failure of the chat service is logged (its type only: the message may quote the person) and
answered with an apology, as on Telegram; what the person had entered before is saved.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from zoneinfo import ZoneInfo

import structlog

from handlers.zalo.client import ZaloClient
from handlers.zalo.events import CHANNEL, Kind, ZaloEvent
from handlers.zalo.render import TEXT_LIMIT, zalo_messages
from services.chat import ChatService
from services.conversation.dialog import Keyboard, Outcome, Reply, Sender, joined
from services.conversation.numbered import Numbering
from services.core.i18n import _, use_locale
from services.outreach.transport import Blocked, RateLimited, Rejected, Transient, Unauthorized
from services.roles.erasure import pseudonym

log = logging.getLogger(__name__)
events_log = structlog.get_logger("update")


class ZaloConversation:
    """Handles one person's event at a time (the webhook and the polling loop keep each
    person's events in order)."""

    def __init__(self, chat: ChatService, client: ZaloClient, *, tz: ZoneInfo) -> None:
        self.chat = chat
        self.client = client
        self.tz = tz

    async def handle(self, event: ZaloEvent) -> None:
        """Answer one event; its structured line says what it was and how it went."""
        if event.from_bot:
            return
        started = time.perf_counter()
        outcome = "ok"
        try:
            outcome = await self._answer(event)
        finally:
            events_log.info(
                "update",
                channel=CHANNEL,
                person=pseudonym(self.chat.pseudonym_key, CHANNEL, event.user_id),
                handler=event.kind.value,
                outcome=outcome,
                ms=round((time.perf_counter() - started) * 1000, 1),
            )

    async def _answer(self, event: ZaloEvent) -> str:
        sender = event.sender()
        try:
            if event.kind is Kind.TEXT and event.text is not None:
                answer = await self.chat.text(sender, event.text)
            else:
                answer = await self.chat.unsupported(sender)
        except Exception as exc:
            # Only the type and traceback: the message may quote what the person typed.
            log.error(
                "Error while handling a Zalo event: %s",
                type(exc).__name__,
                exc_info=(type(exc), exc, exc.__traceback__),
            )
            await self._apologise(sender)
            return "error"
        return await self.send(sender, answer)

    async def send(self, sender: Sender, outcome: Outcome) -> str:
        """The outcome's replies in order; the rest to the outbox when Zalo cannot take them."""
        replies = joined([_without_removal(r) for r in outcome.replies], TEXT_LIMIT)
        numbering = Numbering(planned=outcome.offered)
        for index, reply in enumerate(replies):
            texts = zalo_messages(reply, self.tz, numbering=numbering).texts
            for part, text in enumerate(texts):
                try:
                    await self.client.send_message(sender.chat_id, text)
                except (Transient, RateLimited) as exc:
                    log.warning("Zalo reply not delivered (%s); queued", type(exc).__name__)
                    rest = [Reply("\n\n".join(texts[part:]))] if part else [reply]
                    await self.chat.deliver_later(sender, rest + replies[index + 1 :])
                    return "queued"
                except Blocked:
                    return "blocked"
                except Unauthorized:
                    return "token refused"
                except Rejected as exc:
                    log.error("Zalo refused a reply: %s", exc)
                    return "rejected"
        return "ok"

    async def _apologise(self, sender: Sender) -> None:
        """Never silence: sorry, and try again (what was entered before is saved)."""
        try:
            locale = await self.chat.locale_for(sender)
        except Exception:  # the database may be what failed
            locale = self.chat.default_locale
        with use_locale(locale):
            notice = _(
                "Sorry, something went wrong on our side. Please try again in a moment; "
                "what you entered before is saved."
            )
        try:
            await self.client.send_message(sender.chat_id, notice)
        except Exception as exc:
            log.warning("Could not send the error notice on Zalo (%s)", type(exc).__name__)


def _without_removal(reply: Reply) -> Reply:
    """Zalo shows no keyboard, so none is taken away (and a text may join the next one)."""
    if reply.keyboard is Keyboard.REMOVE:
        return dataclasses.replace(reply, keyboard=None)
    return reply
