"""The outbox sender's Zalo transport against the fake Zalo server over HTTP (issue 12): numbered
choices, long texts split, files and pictures said plainly, the calendar entry as text, the quota,
and the real OutboxSender delivering Zalo rows through it (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from handlers.zalo.client import ZaloClient
from handlers.zalo.quota import FIRST_PAUSE, MonthlyQuota
from handlers.zalo.render import zalo_messages
from handlers.zalo.transport import ZaloTransport, message_number
from models import Donor, Drive, OutboxMessage
from models.database import Database
from scheduler.sender import OutboxSender, count_by_status
from services.conversation.calendar_text import read_event
from services.conversation.dialog import Button, Document, Keyboard, Reply, Venue
from services.conversation.numbered import Numbering, Offered
from services.core.i18n import use_locale
from services.core.text import utf16_length
from services.drives.views import calendar_document
from services.outreach import outbox
from services.outreach.transport import (
    DocumentNotSent,
    QuotaExhausted,
    RateLimited,
    Transient,
    Unauthorized,
)
from tests.support.fakezalo import TOKEN, FakeZaloApi, zalo_user

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
USER = zalo_user(42, "Hồng")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def drive(**changes: Any) -> Drive:
    """A drive on Sunday 13 December 2026, 07:30–11:30 in Vietnam."""
    values: dict[str, Any] = {
        "id": 7,
        "campaign": "chu_nhat_do",
        "starts_at": datetime(2026, 12, 13, 0, 30, tzinfo=UTC),
        "ends_at": datetime(2026, 12, 13, 4, 30, tzinfo=UTC),
        "venue_name": "Nhà văn hóa Thanh niên",
        "address": "4 Phạm Ngọc Thạch, Phường Sài Gòn",
        "latitude": 10.7812,
        "longitude": 106.6992,
        "province_code": "79",
        "collector": "Bệnh viện Truyền máu Huyết học",
        "target_units": 300,
        "capacity": 200,
        "created_by": "telegram:1",
    }
    values.update(changes)
    return Drive(**values)


@pytest.fixture
def fake() -> Iterator[FakeZaloApi]:
    with FakeZaloApi() as server:
        server.chats.add(USER.id)  # the person wrote first
        yield server


@pytest.fixture
async def zalo(fake: FakeZaloApi) -> AsyncIterator[ZaloClient]:
    async with ZaloClient(TOKEN, base_url=fake.root_url, quota=MonthlyQuota()) as client:
        yield client


class Remembered:
    """Stands in for the conversation state: what each chat was offered last."""

    def __init__(self) -> None:
        self.offered: dict[str, Offered] = {}

    async def __call__(self, chat_id: str, offered: Offered) -> None:
        self.offered[chat_id] = offered


async def test_buttons_go_as_numbered_lines_and_their_numbers_are_remembered(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    remembered = Remembered()
    transport = ZaloTransport(zalo, tz=TZ, remember=remembered)
    reply = Reply(
        "Đã đến lúc bạn có thể hiến máu lại!",
        [[Button("⏰ Nhắc lại sau 1 tuần", "snooze:7")], [Button("🩸 Xem điểm hiến máu", "m:d")]],
    )
    with use_locale("vi"):
        message_id = await transport.send(USER.id, reply)
    [sent] = fake.messages_to(USER.id)
    assert sent["text"] == (
        "Đã đến lúc bạn có thể hiến máu lại!\n\n"
        "1. ⏰ Nhắc lại sau 1 tuần\n2. 🩸 Xem điểm hiến máu\nTrả lời 1 hoặc 2."
    )
    assert message_id == message_number(sent["message_id"]) > 0
    assert remembered.offered[USER.id].match("2") == "m:d"
    assert remembered.offered[USER.id].match("nhac lai sau 1 tuan") == "snooze:7"


async def test_numbers_start_where_the_chat_service_says(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    remembered = Remembered()
    asked: list[str] = []

    async def next_number(chat_id: str) -> int:
        asked.append(chat_id)
        return 9  # the person's last answer showed 1 to 8

    transport = ZaloTransport(zalo, tz=TZ, remember=remembered, next_number=next_number)
    with use_locale("vi"):
        await transport.send(USER.id, Reply("Đợt hiến máu mới", [[Button("Đăng ký", "su:7")]]))
        await transport.send(USER.id, Reply("Không có lựa chọn"))
    first, second = fake.texts_to(USER.id)
    assert first.endswith("9. Đăng ký\nTrả lời 9 để chọn.")
    assert second == "Không có lựa chọn"
    assert asked == [USER.id]  # a message without choices asks nothing
    assert remembered.offered[USER.id].match("9") == "su:7"


async def test_a_long_text_goes_in_parts_zalo_accepts(zalo: ZaloClient, fake: FakeZaloApi) -> None:
    text = "\n\n".join(f"{i}. " + "Hiến máu cứu người. " * 40 for i in range(8))  # ~6,500
    await ZaloTransport(zalo, tz=TZ).send(USER.id, Reply(text))
    parts = [m["text"] for m in fake.messages_to(USER.id)]
    assert len(parts) == 4 and all(utf16_length(p) <= 2000 for p in parts)
    assert " ".join(parts).split() == text.split()


async def test_the_calendar_file_becomes_its_date_time_place_and_map_link(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    with use_locale("vi"):
        ics = calendar_document(drive(), TZ)
        # As the sender sends it: the text first, then the file as a part of its own.
        transport = ZaloTransport(zalo, tz=TZ)
        await transport.send(USER.id, Reply("✅ Bạn đã đăng ký."))
        await transport.send(USER.id, Reply("", document=ics))
    texts = fake.texts_to(USER.id)
    assert texts[0] == "✅ Bạn đã đăng ký."
    assert texts[1].splitlines() == [
        "🩸 Hiến máu: Chủ nhật Đỏ",
        "🗓 Chủ Nhật, 13/12/2026, 07:30–11:30",
        "📍 Nhà văn hóa Thanh niên, 4 Phạm Ngọc Thạch, Phường Sài Gòn",
        "🗺 Bản đồ: https://www.google.com/maps/search/?api=1&query=10.781200,106.699200",
        "(Zalo không gửi được tệp lịch, nên đây là thông tin của sự kiện.)",
    ]


def test_a_calendar_without_coordinates_links_its_address_and_speaks_english() -> None:
    with use_locale("en"):
        ics = calendar_document(drive(latitude=None, longitude=None), TZ)
        [text] = zalo_messages(Reply("", document=ics), TZ).texts
    assert "🗓 Sunday, 13/12/2026, 07:30–11:30" in text
    assert "query=Nh%C3%A0%20v%C4%83n%20h%C3%B3a" in text
    assert text.endswith("(Zalo cannot carry the calendar file, so here are its details.)")


def test_the_calendar_file_reads_back_what_it_holds() -> None:
    with use_locale("vi"):
        event = read_event(
            calendar_document(drive(venue_name="Hội trường A; tầng 2, phòng 3"), TZ).content
        )
    assert event is not None
    assert event.starts_at == datetime(2026, 12, 13, 0, 30, tzinfo=UTC)
    assert event.location.startswith("Hội trường A; tầng 2, phòng 3, 4 Phạm")  # unescaped
    assert (event.latitude, event.longitude) == (10.7812, 106.6992)
    assert read_event(b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n") is None
    assert read_event(b"\xff\xfe") is None


async def test_another_file_is_said_plainly_not_sent(zalo: ZaloClient, fake: FakeZaloApi) -> None:
    export = Document("dang-ky-7.xlsx", b"PK\x03\x04", "application/vnd.ms-excel")
    with use_locale("vi"):
        await ZaloTransport(zalo, tz=TZ).send(
            USER.id, Reply("📎 Danh sách đăng ký", document=export)
        )
    [text] = fake.texts_to(USER.id)
    assert text == (
        "📎 Danh sách đăng ký\n\n"
        "📎 Zalo không gửi được tệp, nên tệp “dang-ky-7.xlsx” chưa được gửi ở đây."
    )


async def test_a_picture_without_a_public_link_is_said_not_sent(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    with use_locale("en"):
        await ZaloTransport(zalo, tz=TZ).send(
            USER.id, Reply("Your donor card", image=Document("card.png", PNG, "image/png"))
        )
    [text] = fake.texts_to(USER.id)
    assert text.endswith(
        "🖼 Zalo shows pictures only from a web link, so this picture was not sent."
    )
    assert not any("photo" in m for m in fake.messages_to(USER.id))


async def test_a_picture_goes_by_its_public_link_after_the_text(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    links: list[str] = []

    async def media_link(picture: Document) -> str | None:
        links.append(picture.filename)
        return f"https://media.example.org/m/{picture.filename}?sig=abc"

    transport = ZaloTransport(zalo, tz=TZ, media_link=media_link)
    await transport.send(USER.id, Reply("Thẻ người hiến máu", image=Document("card.png", PNG)))
    text, photo = fake.messages_to(USER.id)
    assert text["text"] == "Thẻ người hiến máu"
    assert photo["photo"] == "https://media.example.org/m/card.png?sig=abc" and links == [
        "card.png"
    ]
    # Alone (the sender's second part): the picture, and the id is the photo's.
    message_id = await transport.send(USER.id, Reply("", image=Document("chart.png", PNG)))
    assert message_id == message_number(fake.messages_to(USER.id)[-1]["message_id"])


async def test_a_picture_that_fails_after_its_text_is_document_not_sent(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    async def media_link(picture: Document) -> str | None:
        return "https://media.example.org/m/x.png"

    transport = ZaloTransport(zalo, tz=TZ, media_link=media_link)
    fake.fail_next("sendPhoto", 502, "Bad Gateway")
    with pytest.raises(DocumentNotSent) as failed:
        await transport.send(USER.id, Reply("Biểu đồ tháng", image=Document("x.png", PNG)))
    assert isinstance(failed.value.outcome, Transient)
    assert fake.texts_to(USER.id) == ["Biểu đồ tháng"]
    fake.fail_next("sendPhoto", 502, "Bad Gateway")
    with pytest.raises(Transient):  # the picture alone: its own outcome
        await transport.send(USER.id, Reply("", image=Document("x.png", PNG)))


async def test_no_link_for_a_picture_sent_alone_says_so(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    async def no_link(picture: Document) -> str | None:
        return None

    with use_locale("vi"):
        await ZaloTransport(zalo, tz=TZ, media_link=no_link).send(
            USER.id, Reply("", image=Document("x.png", PNG))
        )
    assert fake.texts_to(USER.id) == [
        "🖼 Zalo chỉ hiển thị ảnh từ một đường liên kết, nên ảnh này chưa được gửi."
    ]


def test_a_pin_becomes_a_map_link_and_share_buttons_a_plain_sentence() -> None:
    venue = Venue(10.7812, 106.6992, "Nhà văn hóa", "4 Phạm Ngọc Thạch")
    with use_locale("vi"):
        [card] = zalo_messages(Reply("📍 Nhà văn hóa, 4 Phạm Ngọc Thạch", venue=venue), TZ).texts
        [bare] = zalo_messages(Reply("Điểm hiến máu", venue=venue), TZ).texts
        [phone] = zalo_messages(
            Reply("Số điện thoại của bạn?", keyboard=Keyboard.CONTACT, keyboard_label="📱"), TZ
        ).texts
        [where] = zalo_messages(Reply("Bạn ở đâu?", keyboard=Keyboard.LOCATION), TZ).texts
        [gone] = zalo_messages(Reply("Xong.", keyboard=Keyboard.REMOVE), TZ).texts
    link = "🗺 Bản đồ: https://www.google.com/maps/search/?api=1&query=10.781200,106.699200"
    assert card == f"📍 Nhà văn hóa, 4 Phạm Ngọc Thạch\n\n{link}"  # the address is not repeated
    assert bare == f"Điểm hiến máu\n\n📍 Nhà văn hóa, 4 Phạm Ngọc Thạch\n{link}"
    assert phone.endswith("(Zalo không có nút chia sẻ số điện thoại: bạn vui lòng gõ số.)")
    assert where.endswith("(Zalo không chia sẻ được vị trí.)")
    assert gone == "Xong."


def test_one_numbering_runs_on_across_an_answers_replies() -> None:
    numbering = Numbering()
    first = zalo_messages(Reply("A", [[Button("Có", "y")]]), TZ, numbering=numbering)
    second = zalo_messages(Reply("B", [[Button("Không", "n")]]), TZ, numbering=numbering)
    assert first.offered.match("1") == "y" and second.offered.match("2") == "n"
    assert numbering.offered.match("1") == "y" and numbering.offered.match("2") == "n"


async def test_edit_sends_the_new_text_as_a_new_message(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    transport = ZaloTransport(zalo, tz=TZ)
    first = await transport.send(USER.id, Reply("Đã gửi 10/100"))
    await transport.edit(USER.id, first, "Đã gửi 50/100")
    assert fake.texts_to(USER.id) == ["Đã gửi 10/100", "Đã gửi 50/100"]


def test_zalos_message_ids_become_positive_numbers() -> None:
    assert message_number("82599fa32f56d00e8941") == int("fa32f56d00e8941", 16)
    assert message_number("123") == 123
    assert message_number("") == 0 and message_number("not-hex!") == 0
    assert 0 < message_number("f" * 20) < 2**63


# ---------------------------------------------------------------- quota and token


async def test_bulk_messages_stop_short_of_the_months_quota_without_asking_zalo(
    fake: FakeZaloApi,
) -> None:
    now = [datetime(2026, 4, 30, 12, 0, tzinfo=UTC)]
    quota = MonthlyQuota(limit=5, reserve=2, clock=lambda: now[0])
    async with ZaloClient(TOKEN, base_url=fake.root_url, quota=quota) as zalo:
        transport = ZaloTransport(zalo, tz=TZ)
        for i in range(3):
            await transport.send(USER.id, Reply(f"Tin {i}"))
        with pytest.raises(QuotaExhausted) as exhausted:
            await transport.send(USER.id, Reply("Tin 3"))
        # 19:00 on 30 April in Vietnam: the quota comes back at midnight, five hours later.
        assert exhausted.value.retry_after == 5 * 3600 and exhausted.value.channel == "zalo"
        assert fake.stats.calls["sendMessage"] == 3
        await zalo.send_message(USER.id, "Trả lời trong cuộc trò chuyện")  # the reserve is theirs
        assert quota.used == 4 and quota.remaining == 1
        now[0] = datetime(2026, 4, 30, 17, 0, tzinfo=UTC)  # 1 May in Vietnam
        await transport.send(USER.id, Reply("Tháng mới"))
        assert quota.month == "2026-05" and quota.used == 1


async def test_a_429_pauses_bulk_messages_until_one_goes_through(fake: FakeZaloApi) -> None:
    now = [datetime(2026, 4, 1, 3, 0, tzinfo=UTC)]
    quota = MonthlyQuota(clock=lambda: now[0])
    async with ZaloClient(TOKEN, base_url=fake.root_url, quota=quota) as zalo:
        transport = ZaloTransport(zalo, tz=TZ)
        fake.fail_next("sendMessage", 429, "Quota exceeded")
        with pytest.raises(RateLimited) as limited:
            await transport.send(USER.id, Reply("Tin 1"))
        assert limited.value.retry_after == FIRST_PAUSE
        calls = fake.stats.calls["sendMessage"]
        with pytest.raises(QuotaExhausted):  # paused: Zalo is not asked
            await transport.send(USER.id, Reply("Tin 1"))
        assert fake.stats.calls["sendMessage"] == calls
        now[0] = datetime(2026, 4, 1, 3, 1, 1, tzinfo=UTC)  # the pause is over
        await transport.send(USER.id, Reply("Tin 1"))
        assert quota.bulk_wait() is None and fake.texts_to(USER.id) == ["Tin 1"]


def test_a_quota_restored_after_a_restart_counts_on() -> None:
    now = datetime(2026, 4, 10, tzinfo=UTC)
    quota = MonthlyQuota(limit=3000, reserve=300, clock=lambda: now)
    quota.restore("2026-04", 2700)
    assert quota.bulk_wait() is not None and quota.remaining == 300
    other = MonthlyQuota(clock=lambda: now)
    other.restore("2026-03", 2999)  # last month's count does not carry over
    assert other.used == 0
    with pytest.raises(ValueError):
        MonthlyQuota(limit=10, reserve=10)


async def test_a_revoked_token_is_unauthorized_through_the_transport(
    zalo: ZaloClient, fake: FakeZaloApi
) -> None:
    fake.revoke_token()
    with pytest.raises(Unauthorized):
        await ZaloTransport(zalo, tz=TZ).send(USER.id, Reply("Chào"))
    assert zalo.disabled


# ---------------------------------------------------------------- the real sender


async def zalo_donors(db: Database, count: int) -> list[Donor]:
    people = [
        Donor(
            channel="zalo",
            external_id=zalo_user(100 + i).id,
            chat_id=zalo_user(100 + i).id,
            locale="vi" if i % 2 == 0 else "en",
            consent_version="test",
            consented_at=datetime.now(UTC),
        )
        for i in range(count)
    ]
    async with db.session() as session:
        session.add_all(people)
    return people


async def run_sender(
    db: Database,
    transport: ZaloTransport,
    until: Callable[[OutboxSender], bool] | None = None,
    within: float = 30.0,
) -> OutboxSender:
    """The real outbox sender with the Zalo transport, until nothing is pending or sending (or
    `until` holds)."""
    sender = OutboxSender(db, {"zalo": transport}, tz=TZ, idle_poll=0.1, progress_every=60)
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while loop.time() < deadline:
            if until is not None:
                if until(sender):
                    break
            else:
                counts = await count_by_status(db)
                if not counts.get("pending") and not counts.get("sending"):
                    break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"outbox not drained: {await count_by_status(db)}")
    finally:
        stop.set()
        await task
    return sender


async def test_the_outbox_sender_delivers_zalo_rows_with_numbers_and_the_calendar_as_text(
    db: Database,
) -> None:
    donors = await zalo_donors(db, 3)
    with use_locale("vi"):
        ics = calendar_document(drive(), TZ)
    async with db.session() as session:
        broadcast = await outbox.create_broadcast(session, "drive_change", "system")
        recipients = [
            outbox.Recipient(
                d.id,
                d.chat_id,
                "ℹ️ Điểm hiến máu bạn đăng ký đã đổi giờ.",
                [[{"label": "Hủy đăng ký của tôi", "data": "cs:7"}]],
                outbox.document_payload(ics),
                channel="zalo",
            )
            for d in donors
        ]
        await outbox.enqueue(session, broadcast, recipients, datetime.now(UTC))
    remembered = Remembered()
    with FakeZaloApi() as fake:
        fake.chats.update(d.chat_id for d in donors)
        async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
            sender = await run_sender(db, ZaloTransport(zalo, tz=TZ, remember=remembered))
        assert sender.stats.sent == 3
        for donor in donors:
            text, calendar = fake.texts_to(donor.chat_id)
            assert text.startswith("ℹ️ Điểm hiến máu bạn đăng ký đã đổi giờ.\n\n1. Hủy đăng ký")
            # The transport's own words in each reader's language (the sender sends each row
            # in its reader's locale).
            day = "Chủ Nhật" if donor.locale == "vi" else "Sunday"
            assert f"🗓 {day}, 13/12/2026, 07:30–11:30" in calendar
            assert remembered.offered[donor.chat_id].match("1") == "cs:7"
    async with db.session() as session:
        rows = (await session.exec(select(OutboxMessage))).all()
    assert [r.status for r in rows] == ["sent"] * 3


async def test_the_outbox_sender_keeps_a_zalo_row_waiting_when_the_quota_is_used(
    db: Database,
) -> None:
    [donor] = await zalo_donors(db, 1)
    async with db.session() as session:
        broadcast = await outbox.create_broadcast(session, "notice", "system")
        await outbox.enqueue(
            session,
            broadcast,
            [outbox.Recipient(donor.id, donor.chat_id, "Thông báo", channel="zalo")],
            datetime.now(UTC),
        )
    quota = MonthlyQuota(limit=10, reserve=2)
    quota.restore(quota.month, 8)
    with FakeZaloApi() as fake:
        fake.chats.add(donor.chat_id)
        async with ZaloClient(TOKEN, base_url=fake.root_url, quota=quota) as zalo:
            transport = ZaloTransport(zalo, tz=TZ)
            sender = await run_sender(db, transport, until=lambda s: s.stats.rate_limited > 0)
        assert fake.stats.calls["sendMessage"] == 0
    assert sender.stats.rate_limited == 1
    async with db.session() as session:
        [row] = (await session.exec(select(OutboxMessage))).all()
    # Waiting for next month, the attempt not counted: it goes when the quota is back.
    assert row.status == "pending" and row.attempts == 0
    next_month = quota.next_month(datetime.now(UTC))
    assert abs((row.not_before - next_month).total_seconds()) < 60
