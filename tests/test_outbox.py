"""The outbox and its sender against the fake Bot API server: limits, 429, 5xx, 403, crash resume."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select
from telegram import Bot

from handlers.telegram.transport import TelegramTransport
from models import Broadcast, Donor, OutboxMessage
from models.database import Database
from scheduler.sender import OutboxSender, count_by_status
from services.conversation.dialog import Button, Document, Reply
from services.core.i18n import _
from services.outreach import outbox
from services.outreach.messages import message_kind
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


# ------------------------------------------------ message keys, channels, files, several senders


async def test_a_reminder_queued_months_ahead_speaks_the_language_of_the_day(
    db: Database, server: FakeBotApi
) -> None:
    from datetime import date, timedelta

    from services.outreach import messages, notify
    from services.outreach.messages import Message
    from services.reminders import eligible_again
    from tests.support.e2e import button_data

    [donor] = await add_donors(db, 1)  # queued while the person reads English
    day = date.today() + timedelta(days=120)
    async with db.session() as session:  # a row the "remind me" button queued before the sweep
        person = await session.get(Donor, donor.id)
        assert person is not None and person.locale == "en"
        broadcast = await outbox.create_broadcast(session, "reminder", "system", f"reminder:{day}")
        recipient = notify.recipient_for(
            person, Message(eligible_again.ELIGIBLE_AGAIN, {"day": day.isoformat()})
        )
        await outbox.enqueue(session, broadcast, [recipient], datetime.now(UTC) + timedelta(days=120))
    [row] = await rows(db)
    assert row.message_key == eligible_again.ELIGIBLE_AGAIN and row.channel == "telegram"
    assert row.params == {"day": day.isoformat()} and row.locale == "en"
    async with db.session() as session:  # months later they switched to Vietnamese; it is due
        person = await session.get(Donor, donor.id)
        assert person is not None
        person.locale = "vi"
        session.add(person)
        stored = await session.get(OutboxMessage, row.id)
        assert stored is not None
        stored.not_before = datetime.now(UTC)
        session.add(stored)
    await deliver_all(db, server)
    [sent] = server.messages_to(donor.chat_id)
    worded = messages.render(eligible_again.ELIGIBLE_AGAIN, {"day": day.isoformat()}, "vi")
    assert sent["text"] == worded.text != row.text  # worded when sent, not when queued
    assert button_data([sent]) == ["menu:drives"]


async def test_a_kind_no_longer_declared_is_sent_as_worded_at_queue_time(
    db: Database, server: FakeBotApi
) -> None:
    [donor] = await add_donors(db, 1)
    async with db.session() as session:
        broadcast = await outbox.create_broadcast(session, "notice", "test")
        recipient = outbox.Recipient(
            donor.id, donor.chat_id, "Đã soạn sẵn", message_key="gone.kind", params={}
        )
        await outbox.enqueue(session, broadcast, [recipient], datetime.now(UTC))
    await deliver_all(db, server)
    assert [m["text"] for m in server.messages_to(donor.chat_id)] == ["Đã soạn sẵn"]


async def test_a_declared_kind_with_a_file_sends_the_file_right_after_its_text(
    db: Database, server: FakeBotApi
) -> None:
    from services.outreach import notify
    from services.outreach.messages import Message

    donors = await add_donors(db, 2)
    async with db.session() as session:
        people = list((await session.exec(select(Donor))).all())
        await notify.queue(
            session, people, Message("test.with_file", {"n": 7}), kind="notice", author="t"
        )
    assert all(r.document is None for r in await rows(db))  # worded (file too) when sent
    await deliver_all(db, server)
    for donor in donors:
        text, file = server.messages_to(donor.chat_id)
        assert text["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "menu"
        assert file["document"]["file_name"] == "drive-7.ics"
    assert server.stats.too_many_requests == 0


async def test_a_drive_change_notice_keeps_its_calendar_file_to_the_chat(
    db: Database, server: FakeBotApi
) -> None:
    from datetime import timedelta

    from models import Drive
    from services.drives.views import change_notice, drive_snapshot
    from services.outreach import notify

    [donor] = await add_donors(db, 1)
    starts = datetime.now(UTC) + timedelta(days=3)
    drive = Drive(
        campaign="Chủ nhật Đỏ",
        starts_at=starts,
        ends_at=starts + timedelta(hours=4),
        venue_name="Nhà văn hóa",
        address="1 Lê Lợi",
        province_code="01",
        collector="Viện Huyết học",
        target_units=50,
        capacity=10,
        created_by="t",
        id=7,
    )
    before = drive_snapshot(drive)
    drive.starts_at = starts + timedelta(hours=1)
    async with db.session() as session:
        people = list((await session.exec(select(Donor))).all())
        await notify.queue(
            session,
            people,
            lambda _d: change_notice(before, drive, [], TZ, "confirmed"),
            kind="drive_change",
            author="system",
        )
    [row] = await rows(db)
    assert row.document is not None and row.document["filename"].endswith(".ics")
    await deliver_all(db, server)
    text, file = server.messages_to(donor.chat_id)
    assert "unsign:7" in str(text.get("reply_markup"))
    assert "BEGIN:VEVENT" in file["document_content"]


def test_replies_and_outbox_deliveries_share_one_telegram_renderer() -> None:
    import inspect

    import handlers.telegram.render as replies
    import handlers.telegram.transport as deliveries
    from handlers.telegram.markup import markup_for

    assert replies.markup_for is markup_for
    assert deliveries.markup_for is markup_for
    for module in (replies, deliveries):  # no second keyboard builder left behind
        assert "InlineKeyboardButton(" not in inspect.getsource(module)


class Recording:
    """A transport of another channel that records what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, chat_id: str, reply: object) -> int:
        self.sent.append((chat_id, getattr(reply, "text", "")))
        return len(self.sent)

    async def edit(self, chat_id: str, message_id: int, text: str) -> None:
        return None


async def test_each_channel_goes_through_its_own_transport(
    db: Database, server: FakeBotApi
) -> None:
    donors = await add_donors(db, 2)
    async with db.session() as session:
        broadcast = await outbox.create_broadcast(session, "notice", "test")
        await outbox.enqueue(
            session,
            broadcast,
            [
                outbox.Recipient(donors[0].id, donors[0].chat_id, "qua Telegram"),
                outbox.Recipient(donors[1].id, "zalo-1", "qua Zalo", channel="zalo"),
            ],
            datetime.now(UTC),
        )
    zalo = Recording()
    bot = Bot(TOKEN, base_url=server.base_url)
    telegram_only = OutboxSender(db, {"telegram": TelegramTransport(bot)}, tz=TZ, idle_poll=0.1)
    async with bot:
        async with db.session() as session:
            due = await outbox.due(session, datetime.now(UTC), 10, channels=["telegram"])
        assert [m.chat_id for m in due] == [donors[0].chat_id]  # a Zalo row is not its work
        both = OutboxSender(
            db, {"telegram": TelegramTransport(bot), "zalo": zalo}, tz=TZ, idle_poll=0.1
        )
        assert telegram_only.transports.keys() == {"telegram"}
        stop = asyncio.Event()
        task = asyncio.create_task(both.run(stop))
        for _ in range(100):
            if not (await count_by_status(db)).get("pending"):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await task
    assert zalo.sent == [("zalo-1", "qua Zalo")]
    assert [m["text"] for m in server.messages_to(donors[0].chat_id)] == ["qua Telegram"]


async def test_two_senders_share_the_work_and_never_send_a_row_twice(
    db: Database, server: FakeBotApi
) -> None:
    donors = await add_donors(db, 40)
    await queue_to(db, donors)
    bots = [Bot(TOKEN, base_url=server.base_url) for _ in range(2)]
    senders = [
        OutboxSender(db, TelegramTransport(b), tz=TZ, idle_poll=0.1, rate=15.0) for b in bots
    ]
    stop = asyncio.Event()
    async with bots[0], bots[1]:
        tasks = [asyncio.create_task(s.run(stop)) for s in senders]
        for _ in range(300):
            counts = await count_by_status(db)
            if not counts.get("pending") and not counts.get("sending"):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*tasks)
    assert server.stats.delivered == {d.chat_id: 1 for d in donors}
    assert senders[0].stats.sent + senders[1].stats.sent == 40
    assert senders[0].stats.sent > 0 and senders[1].stats.sent > 0  # both took a share


async def test_rows_queued_before_message_keys_are_delivered_after_the_upgrade(
    database_url: str, server: FakeBotApi
) -> None:
    from sqlalchemy import text as sql

    from models.migrate import upgrade_database

    database = Database(database_url)
    try:
        await upgrade_database(database.engine, "0004")
        now = datetime.now(UTC)
        async with database.engine.begin() as conn:
            await conn.execute(
                sql(
                    "INSERT INTO donors (channel, external_id, chat_id, locale, consent_version,"
                    " consented_at, created_at, updated_at) VALUES ('telegram', '4101',"
                    " '4101', 'en', 'v1', :now, :now, :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sql(
                    "INSERT INTO broadcasts (kind, author, scope, total, status, created_at)"
                    " VALUES ('reminder', 'system', 'reminder:2027-01-01', 1, 'queued', :now)"
                ),
                {"now": now},
            )
            await conn.execute(
                sql(
                    "INSERT INTO outbox (broadcast_id, donor_id, chat_id, text, buttons, document,"
                    " status, attempts, not_before) SELECT b.id, d.id, '4101',"
                    " 'Nhắc: hôm nay bạn có thể hiến máu', :buttons, NULL, 'pending', 0, :now"
                    " FROM broadcasts b, donors d"
                ),
                {"now": now, "buttons": '[[{"label": "🩸", "data": "menu:drives"}]]'},
            )
        await upgrade_database(database.engine)
        [row] = await rows(database)
        assert (row.channel, row.message_key, row.params) == ("telegram", "text", None)
        await deliver_all(database, server)
        [sent] = server.messages_to("4101")
        assert sent["text"] == "Nhắc: hôm nay bạn có thể hiến máu"
        assert "menu:drives" in str(sent["reply_markup"])
    finally:
        await database.dispose()


@message_kind("test.with_file")
def with_file(params: dict[str, Any]) -> Reply:
    """A kind declared for the tests: a text with a calendar file (declared once per process)."""
    ics = Document(f"drive-{params['n']}.ics", b"BEGIN:VCALENDAR\r\n", "text/calendar")
    return Reply(_("Nothing changed."), [[Button("OK", "menu")]], document=ics)
