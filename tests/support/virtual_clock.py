"""An asyncio loop on a virtual clock: when nothing is ready, time jumps to the next timer.

For code that only waits on timers and futures (no sockets, no threads): its timing becomes exact
and instant, so a test can assert "granted at 1.0 s" whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class _JumpingSelector(selectors.DefaultSelector):
    """Polls the real selector without waiting; a wait instead moves the virtual clock."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualClockLoop | None = None

    def select(self, timeout: float | None = None) -> list[Any]:
        events: list[Any] = super().select(0)
        if events or timeout == 0:
            return events
        loop = self.loop
        assert loop is not None
        if timeout is None:
            raise RuntimeError("virtual clock: nothing is scheduled, a waiter would sleep forever")
        # Jump exactly to the earliest timer (adding `timeout` could fall an ulp short of it).
        scheduled = loop._scheduled  # type: ignore[attr-defined]
        target = scheduled[0].when() if scheduled else loop.now + timeout
        loop.now = max(loop.now, target)
        loop.jumps += 1
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """loop.time() is `now`, which moves only when every task waits for a timer."""

    def __init__(self) -> None:
        self.now = 0.0
        self.jumps = 0  # how many times the loop slept: a busy loop would make many
        selector = _JumpingSelector()
        super().__init__(selector)
        selector.loop = self

    def time(self) -> float:
        return self.now

    def stall(self, seconds: float) -> None:
        """The loop is blocked for `seconds` (a long synchronous call): call it from a task."""
        self.now += seconds


def run_virtual(main: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to its end on a fresh virtual-clock loop."""
    loop = VirtualClockLoop()
    try:
        return loop.run_until_complete(main)
    finally:
        loop.close()
