"""The Zalo Bot Platform's free plan, counted: messages per calendar month, and pauses after a 429.

The free plan allows about 3,000 messages a month (../shared/reference/next-capabilities.md;
sources differ on whether the person's messages count too, so only ours are counted here). Bulk
messages (the outbox) stop `reserve` messages short of the limit, so that conversations keep
their answers until the month turns. A 429 ("quota exceeded") pauses bulk messages for a while,
longer each time it repeats, until a message goes through again.

The count is kept in memory: a restart starts it again from what `restore` is given (the lead's
wiring stores it). Months are counted in Vietnam's time zone, as Zalo's plan is sold there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

FREE_PLAN_MESSAGES = 3000
RESERVE = 300  # kept for conversation replies once bulk messages stop
FIRST_PAUSE = 60.0  # seconds bulk messages wait after a first 429
LONGEST_PAUSE = 3600.0  # the pause doubles with each 429 in a row, up to this
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class MonthlyQuota:
    """Messages sent this month and whether bulk messages may go now."""

    def __init__(
        self,
        limit: int = FREE_PLAN_MESSAGES,
        *,
        reserve: int = RESERVE,
        tz: ZoneInfo = ZONE,
        clock: Clock = _now,
    ) -> None:
        if not 0 <= reserve < limit:
            raise ValueError("the reserve must be smaller than the limit")
        self.limit = limit
        self.reserve = reserve
        self.tz = tz
        self.clock = clock
        self.month = self._month_of(clock())
        self.used = 0
        self._pause = 0.0  # the last pause after a 429 (0: none in a row)
        self._paused_until: datetime | None = None

    def _month_of(self, moment: datetime) -> str:
        return moment.astimezone(self.tz).strftime("%Y-%m")

    def _roll(self, now: datetime) -> None:
        """A new month starts from nothing (and forgets the last month's 429s)."""
        month = self._month_of(now)
        if month != self.month:
            self.month, self.used = month, 0
            self._pause, self._paused_until = 0.0, None

    def restore(self, month: str, used: int) -> None:
        """Continue a count kept elsewhere (after a restart); another month's count is ignored."""
        now = self.clock()
        self._roll(now)
        if month == self.month:
            self.used = max(self.used, used)

    @property
    def remaining(self) -> int:
        """Messages left this month (0 when the limit is reached)."""
        self._roll(self.clock())
        return max(0, self.limit - self.used)

    def note_sent(self, count: int = 1) -> None:
        """Messages Zalo accepted; a success also ends a run of 429s."""
        now = self.clock()
        self._roll(now)
        self.used += count
        self._pause, self._paused_until = 0.0, None

    def note_refused(self) -> float:
        """Zalo answered 429: bulk messages pause, longer each time in a row. Returns the pause."""
        now = self.clock()
        self._roll(now)
        self._pause = min(LONGEST_PAUSE, self._pause * 2 if self._pause else FIRST_PAUSE)
        self._paused_until = now + timedelta(seconds=self._pause)
        return self._pause

    def bulk_wait(self) -> float | None:
        """Seconds bulk messages must wait before the next one, or None when one may go now."""
        now = self.clock()
        self._roll(now)
        if self.used >= self.limit - self.reserve:
            return max(1.0, (self.next_month(now) - now).total_seconds())
        if self._paused_until is not None and now < self._paused_until:
            return (self._paused_until - now).total_seconds()
        return None

    def next_month(self, now: datetime) -> datetime:
        """The first moment of the next month, in the quota's time zone."""
        local = now.astimezone(self.tz)
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return datetime(year, month, 1, tzinfo=self.tz)
