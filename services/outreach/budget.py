"""One sending budget per bot, shared by the replies to people chatting and the outbox.

A platform allows so many messages a second to a bot in all (Telegram: 30). Replies and the
outbox's broadcasts draw on that one allowance, so they take their turns from one `SendBudget`:

- at most `rate` sends in any sliding `window` (1 s): the time of each of the last sends is kept,
  and a send waits until the oldest of them is a full window old;
- INTERACTIVE acquirers (a reply to someone chatting) are served before any waiting BULK one
  (the outbox), first come first served within a priority; BULK sends are also spaced evenly at
  `bulk_rate` a second, and take no more turns of a window than that (by default one less than
  `rate`: a slot each second stays free for a reply, and a request that reaches the server a
  little late does not make it count one too many);
- a 429 (`rate_limited(chat, seconds)`) holds that chat alone: its replies and its queued
  messages wait out retry_after while everyone else goes on, because a 429 on one person's chat
  is their flood limit and must never hold up anyone else. 429s from several chats within a
  window mean the bot's own total, and `pause(seconds)` then holds every send of both
  priorities.

Waiters sleep on futures; one timer wakes the budget when the next slot frees, and it wakes as
many waiters as there are free slots. A grant is stamped with the time it is given, so after a
stall of the event loop at most `rate` go at once (the window is counted again, not caught up).
Times are the event loop's clock (time.monotonic in asyncio's loops).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections import deque
from enum import IntEnum


class Priority(IntEnum):
    """Who is waiting: a person in a conversation, or the outbox."""

    INTERACTIVE = 0
    BULK = 1


# 429s from this many different chats within a window: the bot's total, not a person's limit.
BOT_WIDE_CHATS = 3
HELD_CHATS_KEPT = 10_000  # past this many held chats, those whose hold is over are forgotten


class SendBudget:
    """A sliding window of at most `rate` sends per `window` seconds, with two priorities."""

    # Lateness of a BULK grant absorbed without moving the even schedule (timer resolution),
    # so that the bulk rate does not drift below its target.
    TOLERANCE = 0.005

    def __init__(
        self,
        rate: float,
        *,
        bulk_rate: float | None = None,
        window: float = 1.0,
        even: bool = False,
    ) -> None:
        """`even`: replies too are spaced (window / rate apart) rather than let out in a burst:
        a burst of 30 reaches the platform spread over tens of milliseconds, and the next
        second's burst then overlaps its tail in the platform's count (429s)."""
        if rate < 1 or window <= 0:
            raise ValueError("a budget needs at least one send per window")
        self.limit = math.floor(rate)  # "never more than rate": a count, so whole sends
        self.window = window
        default_bulk = (self.limit - 1 if self.limit > 1 else self.limit) / window
        self.bulk_rate = default_bulk if bulk_rate is None else bulk_rate
        if self.bulk_rate <= 0:
            raise ValueError("bulk_rate must be positive")
        self.bulk_interval = 1.0 / self.bulk_rate
        # Nor more BULK turns in a window than that pace makes (the spacing alone could let one
        # more in when the clock's rounding falls a hair short).
        self.bulk_limit = min(self.limit, math.ceil(self.bulk_rate * window - 1e-9))
        self._stamps: deque[float] = deque()  # grant times within the window, oldest first
        self._waiting: dict[Priority, deque[asyncio.Future[float]]] = {
            priority: deque() for priority in Priority
        }
        self._paused_until = -math.inf
        self._held: dict[str, float] = {}  # chat → the end of its 429's retry_after
        self._recent_429s: deque[tuple[float, str]] = deque()  # (when, chat), within a window
        self._next_bulk = -math.inf
        self.spacing = window / self.limit if even else 0.0
        self._next_any = -math.inf  # with `even`: the earliest next grant of either priority
        self._timer: asyncio.TimerHandle | None = None

    def __repr__(self) -> str:
        return (
            f"SendBudget(rate={self.limit}, bulk_rate={self.bulk_rate:g}, window={self.window:g})"
        )

    async def acquire(self, priority: Priority) -> None:
        """Wait for a turn to send one message; returns right before the request goes out.

        Cancelled while waiting, the place is given up; cancelled after the turn was granted but
        before it was taken, the turn is handed back (nothing was sent on it)."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[priority].append(waiter)
        self._dispatch()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                with contextlib.suppress(ValueError):  # unless it already left the window
                    self._stamps.remove(waiter.result())
            else:
                waiter.cancel()
                self._discard(priority, waiter)
            self._dispatch()  # its turn (or its place ahead of the bulk) is someone else's
            raise

    def pause(self, seconds: float) -> None:
        """Nothing goes out for `seconds` (the platform said retry_after); a shorter pause than
        one in force changes nothing."""
        until = asyncio.get_running_loop().time() + max(0.0, seconds)
        self._paused_until = max(self._paused_until, until)

    def rate_limited(self, chat_id: str | None, seconds: float) -> None:
        """The platform answered 429 with retry_after `seconds` to a message for `chat_id`.

        That chat is held; when several chats got one within a window (or the chat is unknown),
        the whole budget pauses."""
        now = asyncio.get_running_loop().time()
        if chat_id is None:
            self.pause(seconds)
            return
        if len(self._held) > HELD_CHATS_KEPT:
            self._held = {chat: end for chat, end in self._held.items() if end > now}
        self._held[chat_id] = max(self._held.get(chat_id, -math.inf), now + max(0.0, seconds))
        self._recent_429s.append((now, chat_id))
        while self._recent_429s and self._recent_429s[0][0] + self.window <= now:
            self._recent_429s.popleft()
        if len({chat for _when, chat in self._recent_429s}) >= BOT_WIDE_CHATS:
            self.pause(seconds)

    def held_for(self, chat_id: str) -> float:
        """Seconds before a message may go to this chat: its own 429's wait, or the pause."""
        end = self._held.get(chat_id, -math.inf)
        left = max(0.0, end - asyncio.get_running_loop().time())
        if left == 0.0:
            self._held.pop(chat_id, None)
        return max(left, self.paused_for())

    def paused_for(self) -> float:
        """Seconds left of the pause in force (0 when there is none)."""
        return max(0.0, self._paused_until - asyncio.get_running_loop().time())

    def in_window(self) -> int:
        """Sends granted in the last window."""
        self._expire(asyncio.get_running_loop().time())
        return len(self._stamps)

    def waiting(self, priority: Priority) -> int:
        """Acquirers of that priority waiting for a turn."""
        return sum(1 for waiter in self._waiting[priority] if not waiter.done())

    # -- inside ------------------------------------------------------------------------------

    def _expire(self, now: float) -> None:
        """Forget the sends that left the window (compared as scheduled: stamp + window)."""
        while self._stamps and self._stamps[0] + self.window <= now:
            self._stamps.popleft()

    def _discard(self, priority: Priority, waiter: asyncio.Future[float]) -> None:
        with contextlib.suppress(ValueError):  # unless the dispatch took it off already
            self._waiting[priority].remove(waiter)

    def _grant(self, priority: Priority, waiter: asyncio.Future[float], now: float) -> None:
        self._stamps.append(now)
        if self.spacing:
            planned = self._next_any
            base = planned if 0 <= now - planned <= self.TOLERANCE else now
            self._next_any = base + self.spacing
        if priority is Priority.BULK:
            planned = self._next_bulk
            base = planned if 0 <= now - planned <= self.TOLERANCE else now
            self._next_bulk = base + self.bulk_interval
        waiter.set_result(now)

    def _dispatch(self) -> None:
        """Grant every turn that is free now, in priority order, and set the timer for the next."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        loop = asyncio.get_running_loop()
        now = loop.time()
        interactive, bulk = self._waiting[Priority.INTERACTIVE], self._waiting[Priority.BULK]
        for queue in (interactive, bulk):
            while queue and queue[0].done():  # cancelled meanwhile
                queue.popleft()
        if not interactive and not bulk:
            return
        if now < self._paused_until:
            self._timer = loop.call_at(self._paused_until, self._dispatch)
            return
        self._expire(now)
        while interactive and len(self._stamps) < self.limit and now >= self._next_any:
            waiter = interactive.popleft()
            if not waiter.done():
                self._grant(Priority.INTERACTIVE, waiter, now)
        # BULK only when no person is waiting (then the window is full anyway).
        while (
            bulk
            and not interactive
            and len(self._stamps) < self.bulk_limit
            and now >= max(self._next_bulk, self._next_any)
        ):
            waiter = bulk.popleft()
            if not waiter.done():
                self._grant(Priority.BULK, waiter, now)
        while bulk and bulk[0].done():
            bulk.popleft()
        if not interactive and not bulk:
            return
        if interactive:  # the window is full (until its oldest send leaves it), or spaced
            full = len(self._stamps) >= self.limit
            at = max(self._stamps[0] + self.window if full else now, self._next_any)
        else:  # the bulk's next even slot, once the window has room for it
            at = max(self._next_bulk, self._next_any)
            over = len(self._stamps) - self.bulk_limit
            if over >= 0:
                at = max(at, self._stamps[over] + self.window)
        self._timer = loop.call_at(at, self._dispatch)
