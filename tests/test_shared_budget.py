"""The outbox sender and the replies on one budget (bot.py gives both the bot's `SendBudget`).

A broadcast flood does not hold a reply, and a 429 the sender meets holds the replies too. Real
time and a real database (SQLite and PostgreSQL); the transport is a stand-in that notes when
each message went, and the replies are what the PTB limiter does for each sendMessage.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from models import Donor
from models.database import Database
from scheduler.sender import OutboxSender, count_by_status
from services.conversation.dialog import Reply
from services.outreach import outbox
from services.outreach.budget import Priority, SendBudget
from services.outreach.transport import RateLimited

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Noting:
    """A transport that notes when each message went; optionally a 429 first."""

    def __init__(self, fail_first: Exception | None = None) -> None:
        self.sent: list[tuple[str, float]] = []
        self.fail_first = fail_first
        self.failed = asyncio.Event()

    async def send(self, chat_id: str, reply: Reply) -> int:
        if self.fail_first is not None:
            exc, self.fail_first = self.fail_first, None
            self.failed.set()
            raise exc
        self.sent.append((chat_id, time.monotonic()))
        return len(self.sent)

    async def edit(self, chat_id: str, message_id: int, text: str) -> None:
        return None


async def queue_broadcast(db: Database, count: int) -> list[str]:
    """A broadcast to `count` consented donors, due now; their chat ids."""
    chats = [str(5000 + i) for i in range(count)]
    async with db.session() as session:
        donors = [
            Donor(
                channel="telegram",
                external_id=chat,
                chat_id=chat,
                locale="vi",
                consent_version="test",
                consented_at=datetime.now(UTC),
            )
            for chat in chats
        ]
        session.add_all(donors)
        await session.flush()
        broadcast = await outbox.create_broadcast(session, "notice", "test", "01")
        recipients = [outbox.Recipient(d.id, d.chat_id, f"Thông báo #{d.chat_id}") for d in donors]
        await outbox.enqueue(session, broadcast, recipients, datetime.now(UTC))
    return chats


async def drained(db: Database, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        counts = await count_by_status(db)
        if not counts.get("pending") and not counts.get("sending"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"outbox not drained: {await count_by_status(db)}")


def most_in_any_window(times: list[float], window: float) -> int:
    ordered = sorted(times)
    return max((sum(1 for u in ordered if t <= u < t + window) for t in ordered), default=0)


async def test_replies_stay_quick_during_a_broadcast_flood(db: Database) -> None:
    chats = await queue_broadcast(db, 150)
    budget = SendBudget(30)
    transport = Noting()
    sender = OutboxSender(
        db, transport, tz=TZ, budget=budget, in_flight=40, idle_poll=0.05, progress_every=60
    )
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        for _ in range(2000):  # the flood builds up a queue of broadcast messages at the budget
            if budget.waiting(Priority.BULK) >= 20:
                break
            await asyncio.sleep(0.005)
        # A second of even flow: the window then holds the broadcast's steady pace, not its
        # ramp-up (after a quiet moment a full window may take longer to free a slot).
        await asyncio.sleep(1.0)
        waits: list[float] = []
        ahead: list[int] = []
        replied: list[float] = []
        for _ in range(10):  # a person taps ten times in a second
            ahead.append(budget.waiting(Priority.BULK))
            asked = time.monotonic()
            await budget.acquire(Priority.INTERACTIVE)
            replied.append(time.monotonic())
            waits.append(replied[-1] - asked)
            await asyncio.sleep(0.1)
        await drained(db, within=60)
    finally:
        stop.set()
        await running
    assert sorted(chat for chat, _ in transport.sent) == sorted(chats)  # each exactly once
    assert sender.stats.sent == 150
    # First come first served, a reply would have waited behind the queue: at 29 a second,
    # twenty messages are two thirds of a second. Served first, it waits for one slot at most
    # (1/29 s: the oldest send of the window leaving it).
    assert min(ahead) >= 20, ahead
    assert max(waits) < 0.3, waits
    # Replies and broadcast together within 30 a second (a little slack for the moment a
    # granted task resumes; the exact window is tests/test_send_budget.py's).
    assert most_in_any_window([t for _, t in transport.sent] + replied, 0.9) <= 30


async def test_a_429_the_sender_meets_holds_that_chat_and_no_one_else(db: Database) -> None:
    [chat] = await queue_broadcast(db, 1)
    budget = SendBudget(30)
    transport = Noting(fail_first=RateLimited(1.0))
    sender = OutboxSender(db, transport, tz=TZ, budget=budget, idle_poll=0.05)
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop))
    try:
        await asyncio.wait_for(transport.failed.wait(), timeout=30)
        asked = time.monotonic()
        await budget.acquire(Priority.INTERACTIVE)  # a reply to someone else
        waited = time.monotonic() - asked
        held = budget.held_for(chat)  # a reply to that chat would wait
        await drained(db, within=30)
    finally:
        stop.set()
        await running
    assert waited < 0.5 and held >= 0.5  # retry_after (1 s) holds that chat alone
    assert sender.stats.rate_limited == 1
    assert [c for c, _ in transport.sent] == [chat]


async def test_a_sender_alone_paces_itself_at_its_rate(db: Database) -> None:
    alone = OutboxSender(db, Noting(), tz=TZ, rate=15.0)
    assert alone.rate == 15.0 and alone.budget("telegram").bulk_rate == 15.0
    shared = SendBudget(30)
    bots = OutboxSender(db, {"telegram": Noting(), "zalo": Noting()}, tz=TZ, budget=shared)
    assert bots.budget("telegram") is shared
    assert bots.rate == 29.0  # the progress message's estimate: the broadcast's pace
    assert bots.budget("zalo") is not shared  # another platform, another allowance
