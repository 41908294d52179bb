"""How incoming events are taken in, whatever the channel: each person's in order of arrival,
different people's side by side, and a delivery repeated while the first is in hand (or lately
done) handled once. Telegram's webhook and polling and Zalo's webhook use these; the stored
repeat check of each turn is services/conversation/repeats.py."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Key = TypeVar("Key", bound=Hashable)
Work = Callable[[], Awaitable[None]]


class RecentKeys(Generic[Key]):
    """The event keys being handled and handled lately, so that each is handled once here."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._done: OrderedDict[Key, None] = OrderedDict()
        self._running: dict[Key, asyncio.Event] = {}

    async def once(self, key: Key, handle: Work) -> bool:
        """Handle it unless it was; a repeat waits for the first delivery to finish. False when
        it had been handled; when the first delivery failed, the repeat handles it."""
        while True:
            if key in self._done:
                return False
            running = self._running.get(key)
            if running is None:
                break
            await running.wait()
        finished = self._running[key] = asyncio.Event()
        try:
            await handle()
            self._done[key] = None
            if len(self._done) > self.size:
                self._done.popitem(last=False)
        finally:
            del self._running[key]
            finished.set()
        return True


@dataclass
class _Turn:
    """One person's lock and how many of their events hold it or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    waiting: int = 0


class PersonalTurns(Generic[Key]):
    """One person's events one at a time, FIFO; different people at once (at most `at_once`,
    a slot taken in the person's turn, so their later events wait without holding one). A
    person's lock exists only while one of their events is handled or waits."""

    def __init__(self, at_once: int | None = None) -> None:
        self._turns: dict[Key, _Turn] = {}
        self._slots = asyncio.Semaphore(at_once) if at_once is not None else None

    def __len__(self) -> int:
        """How many people have an event being handled or waiting (the locks in memory)."""
        return len(self._turns)

    async def run(self, person: Key, handle: Work) -> None:
        """Wait for the person's earlier events, then handle this one."""
        turn = self._turns.get(person)
        if turn is None:
            turn = self._turns[person] = _Turn()
        turn.waiting += 1
        try:
            async with turn.lock:
                if self._slots is None:
                    await handle()
                else:
                    async with self._slots:
                        await handle()
        finally:
            turn.waiting -= 1
            if turn.waiting == 0:
                del self._turns[person]
