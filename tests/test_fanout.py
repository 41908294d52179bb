"""A broadcast is one row in the author's transaction; the sender expands it in batches."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select
from telegram import Bot

from handlers.telegram.transport import TelegramTransport
from models import Broadcast, Donor, Follow, OutboxMessage
from models.database import Database
from models.outbox import BroadcastStatus
from scheduler.sender import OutboxSender, count_by_status
from services.drives.announcement import ANNOUNCEMENT
from services.outreach import fanout, notify, outbox
from services.outreach.audiences import DONORS, FOLLOWERS, Audience
from services.outreach.messages import Message
from tests.support.e2e import TOKEN, button_data
from tests.support.fakebot import FakeBotApi
from tests.test_outbox import TZ

HANOI, HA_DONG = "01", "09556"


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    with FakeBotApi(per_chat_burst=1) as fake:
        yield fake


async def followers(db: Database, count: int, first_id: int = 5000) -> list[Donor]:
    """Registered donors following Hà Đông, half of them reading English."""
    now = datetime.now(UTC)
    people = [
        Donor(
            channel="telegram",
            external_id=str(first_id + i),
            chat_id=str(first_id + i),
            locale="en" if i % 2 else "vi",
            consent_version="test",
            consented_at=now,
            registered_at=now,
            full_name=f"Người {i}",
        )
        for i in range(count)
    ]
    async with db.session() as session:
        session.add_all(people)
        await session.flush()
        session.add_all(
            Follow(donor_id=p.id or 0, province_code=HANOI, ward_code=HA_DONG) for p in people
        )
    return people


def notice(broadcast_id: int = 0) -> Message:
    return Message("outreach.broadcast", {"data": {"text": "Chủ nhật Đỏ"}, "broadcast_id": 1})


async def announce(db: Database, *, not_before: datetime | None = None, author: str = "77") -> int:
    async with db.session() as session:
        broadcast = await notify.announce(
            session,
            Audience(FOLLOWERS, {"province": HANOI, "wards": [HA_DONG]}),
            notice(),
            kind="broadcast",
            author="leader",
            not_before=not_before,
            progress_chat_id=author,
        )
        assert broadcast.id is not None
        return broadcast.id


async def row_count(db: Database) -> int:
    async with db.session() as session:
        return int((await session.exec(select(func.count()).select_from(OutboxMessage))).one())


async def run_senders(db: Database, server: FakeBotApi, senders: int = 1, **options: object):
    bots = [Bot(TOKEN, base_url=server.base_url) for _ in range(senders)]
    workers = [
        OutboxSender(
            db,
            {"telegram": TelegramTransport(b)},
            tz=TZ,
            idle_poll=0.1,
            progress_every=0.5,
            **options,  # type: ignore[arg-type]
        )
        for b in bots
    ]
    stop = asyncio.Event()
    for bot in bots:
        await bot.initialize()
    tasks = [asyncio.create_task(w.run(stop)) for w in workers]
    try:
        for _ in range(600):
            await asyncio.sleep(0.1)
            async with db.session() as session:
                left = await fanout.expanding(session)
            counts = await count_by_status(db)
            if not left and not counts.get("pending") and not counts.get("sending"):
                break
        await asyncio.sleep(0.7)  # the last progress report
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        for bot in bots:
            await bot.shutdown()
    return workers


async def test_the_author_transaction_writes_one_row_and_the_count(db: Database) -> None:
    await followers(db, 25)
    broadcast_id = await announce(db)
    async with db.session() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        assert broadcast.total == 25 and broadcast.status == BroadcastStatus.EXPANDING
        assert broadcast.audience == {
            "kind": FOLLOWERS,
            "params": {"province": HANOI, "wards": [HA_DONG]},
        }
    assert await row_count(db) == 0  # nobody's row is written in the author's transaction


async def test_the_sender_expands_in_batches_and_everyone_gets_it_once(
    db: Database, server: FakeBotApi
) -> None:
    people = await followers(db, 60)  # two seconds of sending: progress, then the summary
    async with db.session() as session:  # the author (chat 77) watches the progress
        assert (
            await fanout.queue_broadcast(
                session,
                await outbox.create_broadcast(session, "broadcast", "l", progress_chat_id="77"),
                notice(),
                Audience(FOLLOWERS, {"province": HANOI, "wards": [HA_DONG]}),
            )
            == 60
        )
    [sender] = await run_senders(db, server, expand_batch=7)  # nine transactions of rows
    assert server.stats.delivered == {p.chat_id: 1 for p in people} | {"77": 2}
    assert sender.stats.sent == 60
    to_author = [m["text"] for m in server.messages_to("77")]
    assert any("60 / 60" in t for t in to_author) and "✅" in to_author[-1]
    async with db.session() as session:
        [broadcast] = (await session.exec(select(Broadcast))).all()
        assert broadcast.status == "done" and broadcast.total == 60
    english = [m for m in server.messages_to(people[1].chat_id)]
    vietnamese = [m for m in server.messages_to(people[0].chat_id)]
    assert english[0]["text"] != vietnamese[0]["text"]  # each worded in their own language


async def test_who_stopped_before_the_expansion_is_left_out(db: Database) -> None:
    people = await followers(db, 6)
    broadcast_id = await announce(db)
    async with db.session() as session:
        stopped = await session.get(Donor, people[2].id)
        assert stopped is not None
        stopped.stopped_at = datetime.now(UTC)
        session.add(stopped)
    async with db.session() as session:
        assert await fanout.expand_all(session, limit=4) == 5
    async with db.session() as session:
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None and broadcast.total == 5 and broadcast.status == "queued"
        chats = set((await session.exec(select(OutboxMessage.chat_id))).all())
    assert people[2].chat_id not in chats and len(chats) == 5


async def test_an_expansion_resumes_where_it_stopped_without_duplicates(db: Database) -> None:
    await followers(db, 10)
    broadcast_id = await announce(db)
    async with db.session() as session:
        assert await fanout.expand_batch(session, broadcast_id, 4) == 4
    async with db.session() as session:  # as after a crash: the cursor was rolled back once
        broadcast = await session.get(Broadcast, broadcast_id)
        assert broadcast is not None
        broadcast.expanded_through = 0
        session.add(broadcast)
    async with db.session() as session:
        await fanout.expand_all(session, limit=4)
    assert await row_count(db) == 10


async def test_a_broadcast_for_the_morning_shows_no_progress_until_due(db: Database) -> None:
    await followers(db, 3)
    later = datetime.now(UTC) + timedelta(hours=8)
    broadcast_id = await announce(db, not_before=later)
    async with db.session() as session:
        assert await outbox.broadcasts_in_progress(session) == []
        await fanout.expand_all(session)
    async with db.session() as session:
        assert await outbox.broadcasts_in_progress(session) == []
        rows = (await session.exec(select(OutboxMessage))).all()
        assert {r.not_before for r in rows} == {later}
        at_wake = await outbox.broadcasts_in_progress(session, later + timedelta(seconds=1))
        assert [b.id for b in at_wake] == [broadcast_id]


async def test_an_empty_audience_is_done_at_once(db: Database) -> None:
    async with db.session() as session:
        broadcast = await notify.announce(
            session, Audience(DONORS, {"ids": []}), notice(), kind="urgent", author="l"
        )
        assert broadcast.total == 0 and broadcast.status == "done"


async def test_two_senders_expand_and_send_a_broadcast_once(
    db: Database, server: FakeBotApi
) -> None:
    people = await followers(db, 30)
    await announce(db, author="")
    senders = await run_senders(db, server, senders=2, expand_batch=3, rate=15.0)
    assert server.stats.delivered == {p.chat_id: 1 for p in people}
    assert sum(s.stats.sent for s in senders) == 30
    assert await row_count(db) == 30


async def test_a_drive_announcement_is_worded_when_sent(db: Database) -> None:
    from models import Drive
    from services.drives.announcement import announcement_message
    from services.outreach import messages

    starts = datetime.now(UTC) + timedelta(days=5)
    drive = Drive(
        campaign="Chủ nhật Đỏ",
        starts_at=starts,
        ends_at=starts + timedelta(hours=4),
        venue_name="Nhà văn hóa",
        address="1 Lê Lợi",
        province_code=HANOI,
        collector="Viện Huyết học",
        target_units=50,
        capacity=10,
        created_by="t",
        id=9,
        status="published",
    )
    message = announcement_message(drive, [HA_DONG], TZ)
    assert message.key == ANNOUNCEMENT
    vi = messages.render(message.key, message.params, "vi")
    en = messages.render(message.key, message.params, "en")
    assert vi.text != en.text and "Chủ nhật Đỏ" in vi.text
    assert "signup:9" in button_data(
        [
            {
                "reply_markup": {
                    "inline_keyboard": [
                        [{"callback_data": b.data} for b in row] for row in en.buttons
                    ]
                }
            }
        ]
    )
