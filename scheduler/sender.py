"""The outbox sender: delivers queued messages within the platform's limits, exactly once.

One loop reads due rows in batches; for each message it claims the row ("sending", committed),
calls the platform, then records the outcome ("sent", retry later, "blocked", "failed"). At most
`in_flight` messages are between those two commits at any time: after a SIGKILL only those may be
sent again. Telegram's limits are kept by pacing and by obeying retry_after when a 429 still
comes: one message per second per chat here, and the total through the bot's `SendBudget`
(services/outreach/budget.py), which the bot shares with its replies (bot.py) and in which the
outbox waits behind anyone chatting. Alone (python -m scheduler, the tests) the sender makes its
own budget at `rate`.

Each channel keeps its own pace and its own pauses: a 429 or a used-up monthly quota on Zalo
holds back Zalo's rows only (they are not even taken from the outbox meanwhile, so they hold no
sending slot), never Telegram's. A channel whose token is refused (Unauthorized) is not taken
from again by this process; its rows wait, unattempted, for a restart with a good token.

Run it inside bot.py (it starts with the bot) or alone: python -m scheduler.sender
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

# The message kinds are declared where their words live; the sender words every one of them.
import services.drives.announcement  # noqa: F401
import services.outreach.alerts  # noqa: F401
import services.outreach.broadcast  # noqa: F401
import services.reminders.drive_reminders  # noqa: F401
import services.reminders.eligible_again  # noqa: F401
import services.reminders.sweep  # noqa: F401
import services.stats.digest  # noqa: F401
import services.stats.export_jobs  # noqa: F401
from models import Broadcast, Donor, OutboxMessage
from models.database import Database
from models.outbox import BroadcastStatus, DeliveryStatus
from models.types import utcnow
from scheduler.health import Heartbeat
from services.conversation.dialog import Document, Reply
from services.core.i18n import use_locale
from services.outreach import fanout, messages, outbox
from services.outreach.budget import Priority, SendBudget
from services.outreach.progress import progress_text, summary_text
from services.outreach.transport import (
    Blocked,
    DocumentNotSent,
    RateLimited,
    Rejected,
    Transient,
    Transport,
    Unauthorized,
)

log = logging.getLogger(__name__)

# A sender alone (without the bot's budget): Telegram allows about 30 messages per second in
# total; keep a little margin for the bot's replies.
DEFAULT_RATE = 29.0
DEFAULT_IN_FLIGHT = 8
PER_CHAT_INTERVAL = 1.0
PROGRESS_EVERY = 3.0
# Where a broadcast's author watches its progress (authors write to the bot on Telegram).
PROGRESS_CHANNEL = "telegram"


@dataclass
class SenderStats:
    """Counts since the sender started."""

    sent: int = 0
    rate_limited: int = 0
    transient: int = 0
    blocked: int = 0
    failed: int = 0
    recovered_in_flight: int = 0
    started: float = field(default_factory=time.monotonic)


class ChatSpacing:
    """At most one message per `interval` seconds to the same chat."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.next_allowed: dict[str, float] = {}

    def reserve(self, chat_id: str) -> float:
        """Reserve the chat's next turn; returns how long to wait for it."""
        now = time.monotonic()
        if len(self.next_allowed) > 50_000:  # forget chats whose turn is long past
            self.next_allowed = {c: t for c, t in self.next_allowed.items() if t > now}
        turn = max(now, self.next_allowed.get(chat_id, now))
        self.next_allowed[chat_id] = turn + self.interval
        return turn - now


class OutboxSender:
    """Works through the outbox until stopped, one transport per channel."""

    def __init__(
        self,
        db: Database,
        transports: Mapping[str, Transport] | Transport,
        *,
        tz: ZoneInfo,
        rate: float = DEFAULT_RATE,
        in_flight: int = DEFAULT_IN_FLIGHT,
        batch: int = 1000,
        expand_batch: int = fanout.BATCH,
        idle_poll: float = 1.0,
        progress_every: float = PROGRESS_EVERY,
        default_locale: str = "vi",
        chat_ids: Collection[str] | None = None,
        heartbeat: Heartbeat | None = None,
        budget: SendBudget | None = None,
    ) -> None:
        """`budget` is Telegram's, the bot's own (shared with its replies); without it, and for
        any other channel, the sender paces itself at `rate` messages per second."""
        self.db = db
        # A lone transport is Telegram's (the tests, a console).
        self.transports: dict[str, Transport] = (
            dict(transports) if isinstance(transports, Mapping) else {"telegram": transports}
        )
        self.transport = self.transports.get(PROGRESS_CHANNEL) or next(
            iter(self.transports.values())
        )
        self.tz = tz
        self.budgets: dict[str, SendBudget] = {
            channel: budget if budget is not None and channel == "telegram" else own_budget(rate)
            for channel in self.transports
        }
        # The pace of a broadcast, for its progress message's estimate of the end.
        self.rate = self.budget(PROGRESS_CHANNEL).bulk_rate
        # Another channel than Telegram is paused as a whole by its 429s and quota.
        self.paused_until: dict[str, float] = {}  # time.monotonic()
        self.refused: set[str] = set()  # channels whose token was refused
        self.spacing = ChatSpacing(PER_CHAT_INTERVAL)
        self.slots = asyncio.Semaphore(in_flight)
        self.batch = batch
        self.expand_batch = expand_batch
        self.idle_poll = idle_poll
        self.progress_every = progress_every
        self.default_locale = default_locale
        # None: every chat (the bot). A set: only those chats (a console plays one person, and
        # several consoles may share a database).
        self.chat_ids = frozenset(chat_ids) if chat_ids is not None else None
        self.stats = SenderStats()
        # When it last delivered, and since when it fails (for /healthz).
        self.heartbeat = heartbeat if heartbeat is not None else Heartbeat()
        self.wake = asyncio.Event()
        self.expand_wake = asyncio.Event()
        self._last_progress = 0.0

    def budget(self, channel: str) -> SendBudget:
        """The budget a channel's messages take their turns from."""
        budget = self.budgets.get(channel)
        if budget is None:
            budget = self.budgets[channel] = own_budget(DEFAULT_RATE)
        return budget

    def _open_channels(self) -> list[str]:
        """The channels whose rows may be taken now: not paused, token not refused."""
        now = time.monotonic()
        return [
            channel
            for channel in self.transports
            if channel not in self.refused and self.paused_until.get(channel, 0.0) <= now
        ]

    def _pause(self, channel: str, seconds: float, chat_id: str | None) -> None:
        """A 429 or a used-up quota. On Telegram that chat waits (the bot's replies to it too;
        several chats at once, everyone: the shared budget); another channel's rows all wait,
        not taken meanwhile (a pause until the month turns must hold no sending slot)."""
        if channel == PROGRESS_CHANNEL:
            self.budget(channel).rate_limited(chat_id, seconds)
            return
        until = time.monotonic() + seconds
        self.paused_until[channel] = max(self.paused_until.get(channel, 0.0), until)

    def poke(self) -> None:
        """Something was queued: look now rather than at the next idle poll."""
        self.wake.set()
        self.expand_wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; messages in flight then finish, nothing new starts."""
        async with self.db.session() as session:
            self.stats.recovered_in_flight = await outbox.recover_in_flight(session)
        if self.stats.recovered_in_flight:
            log.warning(
                "%d message(s) were in flight when the sender stopped; sending them again",
                self.stats.recovered_in_flight,
            )
        expanding = asyncio.create_task(self._expand(stop))
        try:
            await self._deliver_until(stop)
        finally:
            await expanding

    async def _deliver_until(self, stop: asyncio.Event) -> None:
        """The delivery loop."""
        while not stop.is_set():
            try:
                worked = await self._drain_once(stop)
                await self._report_progress(force=not worked)
            except Exception:  # the database went away for a moment, say: wait, go on
                log.exception("Outbox sender error; retrying in 5 s")
                self.heartbeat.send_failed()
                worked = False
                await _sleep(stop, 5.0)
            if not worked:
                self.wake.clear()
                await _sleep_or(stop, self.wake, self.idle_poll)
        await self._report_progress(force=True)

    async def _expand(self, stop: asyncio.Event) -> None:
        """Write broadcasts' recipient rows, a batch per transaction, beside the delivery loop
        (which sends each batch's rows as soon as they are committed)."""
        while not stop.is_set():
            try:
                worked = await self._expand_once(stop)
            except Exception:
                log.exception("Could not expand a broadcast; retrying in 5 s")
                await _sleep(stop, 5.0)
                continue
            if worked:
                self.wake.set()  # new rows are due: the delivery loop need not wait its poll
                await asyncio.sleep(0)
            else:
                self.expand_wake.clear()
                await _sleep_or(stop, self.expand_wake, self.idle_poll)

    async def _expand_once(self, stop: asyncio.Event) -> bool:
        """One batch of every broadcast being expanded; False when there was none."""
        async with self.db.session() as session:
            waiting = await fanout.expanding(session)
        worked = False
        for broadcast_id in waiting:
            if stop.is_set():
                break
            async with self.db.session() as session:
                written = await fanout.expand_batch(session, broadcast_id, self.expand_batch)
            worked = worked or written is not None
        return worked

    async def _drain_once(self, stop: asyncio.Event) -> bool:
        """Send one batch of due messages; False when nothing was due."""
        channels = self._open_channels()
        if not channels:
            return False
        async with self.db.session() as session:
            batch = await outbox.due(
                session, utcnow(), self.batch, self.chat_ids, channels=channels
            )
            # Worded in each person's language of now (they may have switched since queuing).
            locales = await outbox.current_locales(session, (m.donor_id for m in batch))
        if not batch:
            return False
        tasks: set[asyncio.Task[None]] = set()
        for message in batch:
            if stop.is_set():
                break
            await self.slots.acquire()
            locale = locales.get(message.donor_id or 0) or message.locale or self.default_locale
            task = asyncio.create_task(self._deliver(message, locale))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if time.monotonic() - self._last_progress >= self.progress_every:
                await self._report_progress()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        return True

    async def _deliver(self, message: OutboxMessage, locale: str) -> None:
        """Claim, send, record: one message."""
        try:
            assert message.id is not None
            if message.channel not in self._open_channels():
                return  # its channel paused (or refused) since the batch was read: it waits
            held = self.budget(message.channel).held_for(message.chat_id)
            if held > 0:  # a 429 on this chat: its messages wait it out, no one else's
                async with self.db.session() as session:
                    await outbox.retry_later(
                        session, message, timedelta(seconds=held), "429", count=False
                    )
                return
            await asyncio.sleep(self.spacing.reserve(message.chat_id))
            async with self.db.session() as session:
                if not await outbox.claim(session, message.id):
                    return  # another sender took it, or the person stopped meanwhile
            # The turn is taken after the claim's commit, right before the request: a slow commit
            # would otherwise bunch requests together at the server and draw 429s.
            await self.budget(message.channel).acquire(Priority.BULK)
            async with self.db.session() as session:
                await self._send_and_record(session, message, locale)
        except Exception:
            log.exception("Could not deliver outbox message %s", message.id)
        finally:
            self.slots.release()

    async def _send_and_record(
        self, session: AsyncSession, message: OutboxMessage, locale: str
    ) -> None:
        """Word the message, call the platform and write the outcome in the caller's transaction.

        A message with a file (a drive's .ics) or a picture (a digest's chart) is several
        requests: the text, then each of them in its own paced slot (one message per second to a
        chat). A kind's picture is drawn now, in a worker thread and in the reader's language,
        while the text goes out. When a part fails after the text went out, the row remembers
        how far it got, so the retry sends only the rest.
        """
        assert message.id is not None
        transport = self.transports[message.channel]
        stored = outbox.document_from_payload(message.document)
        worded = messages.wording(message, locale, stored)
        reply = worded.reply
        drawing: asyncio.Task[Document | None] | None = None
        if worded.fresh and reply.image is None and messages.has_picture(message.message_key):
            drawing = asyncio.create_task(
                messages.picture(message.message_key, message.params, locale)
            )
        already = outbox.parts_sent(message)  # 0: nothing; 1: the text; 1 + n: and n parts
        reached = already
        try:
            if already == 0:
                bare = dataclasses.replace(reply, document=None, image=None)
                # The transport's own words (Zalo's "Reply 1 or 2") in the reader's language.
                with use_locale(locale):
                    await transport.send(message.chat_id, bare)
                reached = 1
            image = (await drawing) if drawing is not None else reply.image
            rest = [Reply("", document=reply.document)] if reply.document is not None else []
            rest += [Reply("", image=image)] if image is not None else []
            for part in rest[max(0, reached - 1) :]:
                # A full interval after the last part reached the chat, not after its turn.
                await asyncio.sleep(max(self.spacing.reserve(message.chat_id), PER_CHAT_INTERVAL))
                await self.budget(message.channel).acquire(Priority.BULK)
                with use_locale(locale):
                    await transport.send(message.chat_id, part)
                reached += 1
        except Exception as exc:
            if isinstance(exc, DocumentNotSent):
                exc = exc.outcome
            if reached > already:
                await outbox.mark_text_sent(session, message, reached)
            await self._record_failure(session, message, exc)
        else:
            self.stats.sent += 1
            self.heartbeat.sent()
            await outbox.set_status(session, [message.id], DeliveryStatus.SENT, sent_at=utcnow())
        finally:
            if drawing is not None and not drawing.done():
                drawing.cancel()

    async def _record_failure(
        self, session: AsyncSession, message: OutboxMessage, exc: Exception
    ) -> None:
        """Retry later, stop messaging the person, or give up, by what went wrong."""
        assert message.id is not None
        if not isinstance(exc, Blocked | Rejected):
            self.heartbeat.send_failed()  # the platform's trouble (429, 5xx, network), not theirs
        if isinstance(exc, RateLimited):  # a QuotaExhausted too: that channel alone waits
            self.stats.rate_limited += 1
            self._pause(message.channel, exc.retry_after, message.chat_id)
            delay = timedelta(seconds=exc.retry_after)
            await outbox.retry_later(session, message, delay, "429", count=False)
        elif isinstance(exc, Unauthorized):
            if message.channel not in self.refused:
                log.error("%s: no more %s rows are taken until a restart", exc, message.channel)
            self.refused.add(message.channel)
            await outbox.retry_later(session, message, timedelta(0), "token refused", count=False)
        elif isinstance(exc, Blocked):
            self.stats.blocked += 1
            await outbox.mark_blocked(session, message, str(exc))
        elif isinstance(exc, Rejected):
            self.stats.failed += 1
            await outbox.set_status(session, [message.id], DeliveryStatus.FAILED, error=str(exc))
        else:  # Transient, or an unknown error: retried with backoff
            self.stats.transient += 1
            delay = timedelta(seconds=min(300, 2 ** (message.attempts + 1)))
            if not await outbox.retry_later(session, message, delay, str(exc), count=True):
                self.stats.failed += 1

    async def _report_progress(self, force: bool = False) -> None:
        """Edit each running broadcast's progress message; summarise the finished ones."""
        now = time.monotonic()
        if not force and now - self._last_progress < self.progress_every:
            return
        self._last_progress = now
        async with self.db.session() as session:
            running = await outbox.broadcasts_in_progress(session)
            if self.chat_ids is not None:  # another console's author sees their own progress
                running = [b for b in running if b.progress_chat_id in self.chat_ids]
            updates: list[tuple[Broadcast, outbox.Progress, bool]] = []
            for broadcast in running:
                was_done = broadcast.status == BroadcastStatus.DONE
                state = await outbox.finish_if_done(session, broadcast)
                updates.append(
                    (broadcast, state, not was_done and broadcast.status == BroadcastStatus.DONE)
                )
            locales = await self._author_locales(session, [b for b, _, _ in updates])
        for broadcast, state, finished in updates:
            if broadcast.progress_chat_id is None:
                continue
            channel = _author_channel(broadcast, self.transports)
            with use_locale(locales.get(broadcast.progress_chat_id, self.default_locale)):
                if channel == PROGRESS_CHANNEL:
                    if PROGRESS_CHANNEL in self.transports:  # not a Zalo-only bot's to show
                        await self._show_progress(broadcast, state, finished)
                elif finished:
                    await self._show_summary(channel, broadcast, state)

    async def _author_locales(
        self, session: AsyncSession, broadcasts: list[Broadcast]
    ) -> dict[str, str]:
        """Each progress chat's language."""
        chats = {b.progress_chat_id for b in broadcasts if b.progress_chat_id}
        if not chats:
            return {}
        result = await session.exec(
            select(Donor.chat_id, Donor.locale).where(col(Donor.chat_id).in_(chats))
        )
        return {chat: locale for chat, locale in result.all()}

    async def _show_progress(
        self, broadcast: Broadcast, state: outbox.Progress, finished: bool
    ) -> None:
        """Send or edit the progress message (best effort: it is a view, not a delivery)."""
        chat = broadcast.progress_chat_id
        assert chat is not None and broadcast.id is not None
        text = progress_text(state, datetime.now(UTC), self.rate, self.tz)
        budget = self.budget(PROGRESS_CHANNEL)
        try:
            if broadcast.progress_message_id is None:
                await budget.acquire(Priority.BULK)
                message_id = await self.transport.send(chat, Reply(text))
                async with self.db.session() as session:
                    row = await session.get(Broadcast, broadcast.id)
                    if row is not None:
                        row.progress_message_id = message_id
                        session.add(row)
            else:
                # An edit puts no new message in the chat: it takes no turn (as for replies).
                await self.transport.edit(chat, broadcast.progress_message_id, text)
            if finished:
                await budget.acquire(Priority.BULK)
                end = broadcast.finished_at or utcnow()
                summary = summary_text(state, broadcast.created_at, end)
                await self.transport.send(chat, Reply(summary))
        except RateLimited as exc:
            budget.rate_limited(chat, exc.retry_after)
        except (Blocked, Rejected, Transient) as exc:
            log.info("Progress message for broadcast %s not updated: %s", broadcast.id, exc)

    async def _show_summary(
        self, channel: str, broadcast: Broadcast, state: outbox.Progress
    ) -> None:
        """An author on a channel that cannot edit a message in place (Zalo sends each edit as
        a new message, counted against its quota) gets the summary alone, once, at the end."""
        transport = self.transports.get(channel)
        chat = broadcast.progress_chat_id
        if transport is None or chat is None or channel not in self._open_channels():
            return
        end = broadcast.finished_at or utcnow()
        try:
            await self.budget(channel).acquire(Priority.BULK)
            await transport.send(chat, Reply(summary_text(state, broadcast.created_at, end)))
        except RateLimited as exc:
            self._pause(channel, exc.retry_after, chat)
        except (Blocked, Rejected, Transient, Unauthorized) as exc:
            log.info("Summary of broadcast %s not sent: %s", broadcast.id, exc)


def _author_channel(broadcast: Broadcast, channels: Collection[str]) -> str:
    """The channel the broadcast's author wrote on (an author is "channel:id"; a pseudonymised
    or system one counts as Telegram's, where the progress chats of older rows are)."""
    channel, sep, _rest = broadcast.author.partition(":")
    return channel if sep and channel in channels else PROGRESS_CHANNEL


def own_budget(rate: float) -> SendBudget:
    """A budget for a sender alone: its bulk sends evenly at `rate`, at most as many in a second
    as that spacing lets through."""
    return SendBudget(math.ceil(rate), bulk_rate=rate)


async def _sleep(stop: asyncio.Event, seconds: float) -> None:
    """Wait, but wake up at once when asked to stop."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


async def _sleep_or(stop: asyncio.Event, wake: asyncio.Event, seconds: float) -> None:
    """Wait for `seconds`, a stop, or a poke."""
    waiters = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())}
    _done, pending = await asyncio.wait(
        waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()


async def count_by_status(db: Database) -> dict[str, int]:
    """How many outbox rows are in each status (for the command line and the benchmark)."""
    async with db.session() as session:
        result = await session.exec(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {status: int(n) for status, n in result.all()}
