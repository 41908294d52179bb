"""The outbox and its sender against the fake Bot API server: limits, 429, 5xx, 403, crash resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select
from telegram import Bot

from handlers.telegram.transport import TelegramTransport
from models import Broadcast, Donor, OutboxMessage
from models.database import Database
from scheduler.sender import OutboxSender, count_by_status
from services.outreach import outbox
from tests.support.e2e import TOKEN
from tests.support.fakebot import FakeBotApi

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
async def server() -> AsyncIterator[FakeBotApi]:
    with FakeBotApi(per_chat_burst=1) as fake:
        yield fake


async def add_donors(db: Database, count: int, first_id: int = 1000) -> list[Donor]:
    """Consented donors with chats first_id, first_id+1, …"""
    people = [
        Donor(
            channel="telegram",
            external_id=str(first_id + i),
            chat_id=str(first_id + i),
            locale="vi" if i % 2 else "en",
            consent_version="test",
            consented_at=datetime.now(UTC),
        )
        for i in range(count)
    ]
    async with db.session() as session:
        session.add_all(people)
    return people


async def queue_to(
    db: Database, donors: list[Donor], progress_chat: str | None = None
) -> Broadcast:
    """One broadcast to every donor, due now."""
    async with db.session() as session:
        broadcast = await outbox.create_broadcast(
            session, "notice", "test", "01", progress_chat_id=progress_chat
        )
        recipients = [
            outbox.Recipient(
                d.id, d.chat_id, f"Thông báo #{d.chat_id}", [[{"label": "OK", "data": "menu"}]]
            )
            for d in donors
        ]
        await outbox.enqueue(session, broadcast, recipients, datetime.now(UTC))
    return broadcast


async def deliver_all(db: Database, server: FakeBotApi, within: float = 30.0) -> OutboxSender:
    """Run a sender until nothing is pending or sending, then stop it."""
    bot = Bot(TOKEN, base_url=server.base_url)
    sender = OutboxSender(db, TelegramTransport(bot), tz=TZ, idle_poll=0.1, progress_every=0.5)
    stop = asyncio.Event()
    async with bot:
        task = asyncio.create_task(sender.run(stop))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while loop.time() < deadline:
                counts = await count_by_status(db)
                if not counts.get("pending") and not counts.get("sending"):
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError(f"outbox not drained: {await count_by_status(db)}")
            await asyncio.sleep(0.7)  # let the last progress report go out
        finally:
            stop.set()
            await task
    return sender


async def rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        return list((await session.exec(select(OutboxMessage))).all())


async def test_everyone_gets_the_message_exactly_once_within_limits(
    db: Database, server: FakeBotApi
) -> None:
    donors = await add_donors(db, 60)
    await queue_to(db, donors)
    sender = await deliver_all(db, server)
    assert sender.stats.sent == 60
    assert {chat: n for chat, n in server.stats.delivered.items()} == {
        d.chat_id: 1 for d in donors
    }
    assert all(r.status == "sent" and r.sent_at is not None for r in await rows(db))
    # Paced under 30 per second: the server never had to refuse.
    assert server.stats.too_many_requests == 0
    first, last = server.stats.first_delivery, server.stats.last_delivery
    assert first is not None and last is not None and last - first >= 59 / 30


async def test_429_waits_retry_after_and_delivers_once(db: Database, server: FakeBotApi) -> None:
    donors = await add_donors(db, 5)
    await queue_to(db, donors)
    server.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    sender = await deliver_all(db, server)
    assert sender.stats.rate_limited == 1
    assert sorted(server.stats.delivered.values()) == [1] * 5
    assert all(r.status == "sent" and r.attempts == 0 for r in await rows(db))


async def test_5xx_and_timeouts_are_retried_with_backoff(db: Database, server: FakeBotApi) -> None:
    donors = await add_donors(db, 3)
    await queue_to(db, donors)
    target = donors[0].chat_id
    server.fail_next("sendMessage", 502, "Bad Gateway", chat_id=target, count=2)
    sender = await deliver_all(db, server, within=60)
    assert sender.stats.transient == 2
    assert server.stats.delivered[target] == 1
    [row] = [r for r in await rows(db) if r.chat_id == target]
    assert row.status == "sent" and row.attempts == 2


async def test_403_marks_the_person_stopped_and_never_retries(
    db: Database, server: FakeBotApi
) -> None:
    donors = await add_donors(db, 3)
    blocked = donors[1]
    server.block(blocked.chat_id)
    await queue_to(db, donors)
    await queue_to(db, donors)  # a second notice, queued before the first went out
    sender = await deliver_all(db, server)
    assert sender.stats.blocked == 1  # one refusal, the second row was not even tried
    assert server.stats.delivered.get(blocked.chat_id, 0) == 0
    assert server.stats.delivered[donors[0].chat_id] == 2
    async with db.session() as session:
        person = await session.get(Donor, blocked.id)
        assert person is not None and person.stopped_at is not None
    statuses = {r.status for r in await rows(db) if r.chat_id == blocked.chat_id}
    assert statuses == {"blocked"}


async def test_a_restart_resends_only_what_was_in_flight(db: Database, server: FakeBotApi) -> None:
    donors = await add_donors(db, 10)
    await queue_to(db, donors)
    # As a SIGKILL leaves it: 4 sent, 2 in flight ("sending"), 4 never tried.
    async with db.session() as session:
        result = await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        messages = list(result.all())
        await outbox.set_status(session, [m.id or 0 for m in messages[:4]], "sent")
        await outbox.set_status(session, [m.id or 0 for m in messages[4:6]], "sending")
    sender = await deliver_all(db, server)
    assert sender.stats.recovered_in_flight == 2
    assert sender.stats.sent == 6
    untouched = {m.chat_id for m in messages[:4]}
    assert not untouched & set(server.stats.delivered)


async def test_the_author_watches_progress_then_gets_a_summary(
    db: Database, server: FakeBotApi
) -> None:
    [author] = await add_donors(db, 1, first_id=77)
    donors = await add_donors(db, 40)
    broadcast = await queue_to(db, donors, progress_chat=author.chat_id)
    await deliver_all(db, server)
    to_author = server.messages_to(author.chat_id)
    assert len(to_author) == 2, to_author  # the live progress message, then the summary
    progress, summary = to_author
    assert "40 / 40" in progress["text"]
    assert "40" in summary["text"] and "✅" in summary["text"]
    async with db.session() as session:
        row = await session.get(Broadcast, broadcast.id)
        assert row is not None and row.status == "done" and row.finished_at is not None


async def test_stop_cancels_what_is_queued_for_that_person(db: Database) -> None:
    donors = await add_donors(db, 2)
    await queue_to(db, donors)
    async with db.session() as session:
        await outbox.cancel_pending_for(session, donors[0].id or 0)
    statuses = {r.chat_id: r.status for r in await rows(db)}
    assert statuses == {donors[0].chat_id: "blocked", donors[1].chat_id: "pending"}


@pytest.mark.parametrize(
    ("local", "expected_local"),
    [
        ("2026-11-22 20:59", "2026-11-22 20:59"),  # before the quiet hours: now
        ("2026-11-22 21:00", "2026-11-23 07:00"),  # evening: next morning
        ("2026-11-23 03:15", "2026-11-23 07:00"),  # night: this morning
        ("2026-11-23 07:00", "2026-11-23 07:00"),  # morning: now
    ],
)
def test_quiet_hours_hold_non_urgent_messages_until_morning(
    local: str, expected_local: str
) -> None:
    now = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=TZ).astimezone(UTC)
    due = outbox.quiet_hours_not_before(now, TZ, time(21), time(7))
    assert due.astimezone(TZ).strftime("%Y-%m-%d %H:%M") == expected_local
    assert outbox.quiet_hours_not_before(now, TZ, time(21), time(7), urgent=True) == now


async def queue_with_file(db: Database, donors: list[Donor]) -> Broadcast:
    """A drive change: text, then a calendar file, to every donor."""
    from services.conversation.dialog import Document

    ics = Document("hien-mau-7.ics", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
    async with db.session() as session:
        broadcast = await outbox.create_broadcast(session, "drive_change", "system")
        recipients = [
            outbox.Recipient(
                d.id, d.chat_id, f"Đổi giờ #{d.chat_id}", [], outbox.document_payload(ics)
            )
            for d in donors
        ]
        await outbox.enqueue(session, broadcast, recipients, datetime.now(UTC))
    return broadcast


async def test_a_queued_file_is_delivered_right_after_its_text(
    db: Database, server: FakeBotApi
) -> None:
    donors = await add_donors(db, 3)
    await queue_with_file(db, donors)
    async with db.session() as session:
        stored = (await session.exec(select(OutboxMessage))).first()
    assert stored is not None and stored.document is not None
    assert stored.document["filename"] == "hien-mau-7.ics"  # kept as JSON (base64 bytes)
    await deliver_all(db, server)
    for donor in donors:
        text, file = server.messages_to(donor.chat_id)
        assert text["text"] == f"Đổi giờ #{donor.chat_id}"
        assert file["document"]["file_name"] == "hien-mau-7.ics"
        assert "BEGIN:VCALENDAR" in file["document_content"]
    assert server.stats.too_many_requests == 0  # the file waited its turn in the chat
    assert all(r.status == "sent" for r in await rows(db))


async def test_a_failed_file_is_retried_without_repeating_the_text(
    db: Database, server: FakeBotApi
) -> None:
    [donor] = await add_donors(db, 1)
    await queue_with_file(db, [donor])
    server.fail_next("sendDocument", 502, "Bad Gateway", chat_id=donor.chat_id)
    sender = await deliver_all(db, server, within=60)
    assert sender.stats.transient == 1 and sender.stats.sent == 1
    sent = server.messages_to(donor.chat_id)
    assert [("text" in m, "document" in m) for m in sent] == [(True, False), (False, True)]
    [row] = await rows(db)
    assert row.status == "sent" and row.attempts == 1
    assert row.document is not None and row.document[outbox.TEXT_SENT] is True


def test_a_malformed_file_payload_is_ignored() -> None:
    assert outbox.document_from_payload(None) is None
    assert outbox.document_from_payload({"filename": "x.ics"}) is None
    assert outbox.document_from_payload({"content_b64": "not base64!"}) is None


async def test_a_broadcast_held_by_quiet_hours_shows_no_progress_until_due(
    db: Database,
) -> None:
    from datetime import timedelta

    donors = await add_donors(db, 2)
    async with db.session() as session:
        held = await outbox.create_broadcast(session, "notice", "t", progress_chat_id="77")
        now = await outbox.create_broadcast(session, "notice", "t", progress_chat_id="77")
        later = datetime.now(UTC) + timedelta(hours=8)
        await outbox.enqueue(
            session, held, [outbox.Recipient(d.id, d.chat_id, "x") for d in donors], later
        )
        await outbox.enqueue(
            session,
            now,
            [outbox.Recipient(d.id, d.chat_id, "x") for d in donors],
            datetime.now(UTC),
        )
    async with db.session() as session:
        running = {b.id for b in await outbox.broadcasts_in_progress(session)}
        assert running == {now.id}
        at_wake = await outbox.broadcasts_in_progress(session, later + timedelta(seconds=1))
        assert {b.id for b in at_wake} == {held.id, now.id}
