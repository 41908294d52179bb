"""End to end on Zalo (issue 12): the real bot.py process against the fake Zalo platform over
HTTP, in webhook mode (Zalo posts each event to POST /zalo) and in polling mode beside Telegram.

A person registers in Vietnamese by numbered answers and words typed without diacritics, asks
a question, signs up for a drive announced to their ward by typing the number the announcement
showed, stops the messages with "dừng", comes back, and deletes everything with /forget. A
repeated delivery is answered once and recognised after a restart; a wrong secret is refused;
a SIGKILL mid-registration resumes with the numbers stored; a token Zalo refuses stops the start.
"""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from models import ConsentRecord, DriveBase, HandledEvent, Signup
from models.database import Database
from models.drives import DriveStatus
from services.conversation import offered_store
from services.drives import drive_store
from services.drives.announcement import announcement_message
from services.drives.buttons import SignUp
from services.outreach import notify
from services.outreach.audiences import FOLLOWERS, Audience
from tests.support.e2e import ROOT, BotProcess, Chat, count_rows, donors, register_vietnamese
from tests.support.fakebot import FakeBotApi, FakeUser
from tests.support.fakezalo import TOKEN as ZALO_TOKEN
from tests.support.fakezalo import FakeZaloApi, ZaloUser, zalo_user

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "zK3vQ0_-ZrXw8yT2mN5pL7sA9dF4gH6jK1cB3vN8mQ0w"
HA_DONG = ("01", "09556")


class ZaloChat:
    """One person typing to the bot on Zalo (there is nothing else to do there)."""

    def __init__(self, zalo: FakeZaloApi, user: ZaloUser) -> None:
        self.zalo = zalo
        self.user = user
        self.last: dict[str, Any] = {}

    def say(self, text: str, expect: int = 1) -> str:
        """Type a message; the bot's next `expect` messages, joined."""
        self.last = self.zalo.user_sends_text(self.user, text)
        return self.read(expect)

    def read(self, expect: int = 1) -> str:
        """The bot's next messages, joined."""
        got = self.zalo.wait_for_bot_messages(self.user.id, count=expect)
        return "\n".join(str(m.get("text", "")) for m in got)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def zalo() -> Iterator[FakeZaloApi]:
    with FakeZaloApi() as fake:
        yield fake


@pytest.fixture
def zalo_bot(zalo: FakeZaloApi, database_url: str, tmp_path: Path) -> Iterator[BotProcess]:
    """bot.py --webhook with Zalo alone (no Telegram token), Zalo posting to its /zalo."""
    port = free_port()
    env = {
        "ZALO_WEBHOOK_SECRET": SECRET,
        "ZALO_WEBHOOK_URL": f"http://127.0.0.1:{port}/zalo",  # loopback: no TLS in the test
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
        "QUIET_HOURS_START": "0",  # quiet hours off: the announcement goes at once
        "QUIET_HOURS_END": "0",
    }
    process = BotProcess(
        None, database_url, tmp_path / "bot.log", extra_env=env, args=["--webhook"], zalo=zalo
    )
    process.start()
    yield process
    process.stop()


def number_of(text: str, label: str) -> str:
    """The number a numbered line shows for a choice ("3. ✍️ Đăng ký" → "3")."""
    found = re.search(rf"^(\d+)\. [^\n]*{re.escape(label)}", text, re.MULTILINE)
    assert found, f"no choice {label!r} in {text!r}"
    return found.group(1)


def to_sex_step(chat: ZaloChat) -> None:
    """/start, the language and consent by number and words, the name and birth date."""
    language = chat.say("/start")
    assert "1. Tiếng Việt\n2. English" in language and "Trả lời 1 hoặc 2." in language
    consent = chat.say("1")
    assert "91/2025/QH15" in consent and "1. ✅ Tôi đồng ý" in consent
    assert "Họ và tên" in chat.say("dong y")
    assert "Ngày sinh" in chat.say("Nguyễn Thị Hồng")
    assert "1. Nam\n2. Nữ" in chat.say("5/8/98")


def register(chat: ZaloChat) -> None:
    """The whole registration, typed: numbers, and words without diacritics."""
    to_sex_step(chat)
    phone = chat.say("nu")
    assert "Số điện thoại" in phone and "Zalo không có nút chia sẻ số điện thoại" in phone
    ward = chat.say("0912 345 678")  # one message: "saved" on top of the next question
    assert "Đã lưu: 0912 345 678" in ward and "phường/xã" in ward
    wards = chat.say("ha dong hn")
    assert "1. Phường Hà Đông, TP. Hà Nội" in wards
    assert "Nhóm máu" in chat.say("1")
    assert "hình thức hiến" in chat.say("o+")
    assert "ngày nào" in chat.say("toan phan")
    summary = chat.say("15/03/2026")
    assert "Nguyễn Thị Hồng" in summary and "1. ✅ Xác nhận" in summary
    done = chat.say("xac nhan")
    assert "đăng ký thành công" in done and "1. 🩸 Đợt hiến máu gần tôi" in done


def read_db(database_url: str, model: type) -> list[Any]:
    async def read() -> list[Any]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                return list((await session.exec(select(model))).all())
        finally:
            await db.dispose()

    return asyncio.run(read())


def announce_drive(database_url: str, day: date) -> int:
    """A leader's drive for Hà Đông, published and announced to its followers (as /newdrive
    does), written straight to the database the bot reads; the bot's sender delivers it."""

    async def write() -> int:
        db = Database(database_url)
        try:
            async with db.session() as session:
                start = datetime.combine(day, clock_time(7, 30), tzinfo=TZ)
                fields = DriveBase(
                    campaign="chu_nhat_do",
                    starts_at=start,
                    ends_at=start + timedelta(hours=4),
                    venue_name="Nhà văn hoá phường Hà Đông",
                    address="2 Quang Trung, Hà Đông, Hà Nội",
                    latitude=20.9714,
                    longitude=105.7788,
                    province_code=HA_DONG[0],
                    collector="Viện Huyết học - Truyền máu Trung ương",
                    target_units=150,
                    capacity=20,
                )
                drive = await drive_store.create_drive(
                    session, fields, [HA_DONG[1]], "telegram:700"
                )
                drive.status = DriveStatus.PUBLISHED
                await session.flush()
                assert drive.id is not None
                await notify.announce(
                    session,
                    Audience(FOLLOWERS, {"province": HA_DONG[0], "wards": [HA_DONG[1]]}),
                    announcement_message(drive, [HA_DONG[1]], TZ),
                    kind="drive_announcement",
                    author="telegram:700",
                    drive_id=drive.id,
                )
                return drive.id
        finally:
            await db.dispose()

    return asyncio.run(write())


def post(port_url: str, body: dict[str, Any], secret: str) -> int:
    return httpx.post(
        port_url, json=body, headers={"X-Bot-Api-Secret-Token": secret}, timeout=30
    ).status_code


# ---------------------------------------------------------------- webhook mode


def test_a_person_uses_the_bot_on_zalo_end_to_end(
    zalo: FakeZaloApi, zalo_bot: BotProcess, database_url: str
) -> None:
    [(method, params)] = zalo.webhook_calls
    assert method == "setWebhook" and params["secret_token"] == SECRET
    assert params["url"].endswith("/zalo")
    hong = ZaloChat(zalo, zalo_user(1, "Hồng"))
    register(hong)
    [donor] = donors(database_url)
    assert donor.channel == "zalo" and donor.external_id == hong.user.id
    assert donor.full_name == "Nguyễn Thị Hồng" and donor.sex == "female"
    assert donor.phone_e164 == "+84912345678" and donor.ward_code == HA_DONG[1]
    assert donor.blood_group == "O+" and donor.is_registered
    assert count_rows(database_url, ConsentRecord) == 1

    # A question typed in words: the answer, with what the bot knows of her first.
    answer = hong.say("hien mau xong bao lau thi duoc hien lai")
    assert "12 tuần" in answer or "84 ngày" in answer, answer

    # A drive announced to her ward: "N" (the number the announcement shows) signs her up.
    day = datetime.now(TZ).date() + timedelta(days=12)
    drive_id = announce_drive(database_url, day)
    announcement = hong.read()
    assert "Nhà văn hoá phường Hà Đông" in announcement
    sign_up = number_of(announcement, "Đăng ký")
    assert int(sign_up) > 1  # numbered on after the answer she had just read
    signed = hong.say(sign_up)
    assert "🗓" in signed and day.strftime("%d/%m/%Y") in signed, signed  # the calendar, as text
    [signup] = read_db(database_url, Signup)
    assert signup.drive_id == drive_id and signup.donor_id == donor.id
    stored = offered_store.stored(donors(database_url)[0])
    assert SignUp(drive_id).encode() not in [c.data for c in stored.choices]

    # "dừng" stops every message; /start turns them on again.
    stop = hong.say("dừng")
    assert "/start" in stop and donors(database_url)[0].is_stopped
    back = hong.say("/start")
    assert "bật lại" in back or "trở lại" in back, back
    assert not donors(database_url)[0].is_stopped

    # /forget asks first; "1" deletes everything.
    question = hong.say("/forget")
    assert "1. 🗑" in question
    gone = hong.say(number_of(question, "🗑"))
    assert "đã được xóa" in gone or "đã xóa" in gone, gone
    assert donors(database_url) == [] and count_rows(database_url, ConsentRecord) == 0
    assert count_rows(database_url, Signup) == 0
    # Nothing of the token in what the bot logged.
    assert ZALO_TOKEN not in zalo_bot.log() and ZALO_TOKEN.split(":")[1] not in zalo_bot.log()


def test_a_repeated_delivery_and_a_wrong_secret(
    zalo: FakeZaloApi, zalo_bot: BotProcess, database_url: str
) -> None:
    url = zalo.webhook_calls[-1][1]["url"]
    lan = ZaloChat(zalo, zalo_user(2, "Lan"))
    before = len(zalo.messages_to(lan.user.id))
    body = {
        "event_name": "message.text.received",
        "message": {
            "from": lan.user.as_dict(),
            "chat": lan.user.chat(),
            "message_id": "f" * 20,
            "date": int(time.time() * 1000),
            "text": "/start",
        },
    }
    assert post(url, body, SECRET[:-1] + "x") == 403
    assert post(url, {"ok": True, "result": body}, "") == 403
    time.sleep(0.5)
    assert len(zalo.messages_to(lan.user.id)) == before  # nothing was handled

    to_sex_step(lan)
    birth_date = lan.last  # "5/8/98", applied
    assert birth_date["message"]["text"] == "5/8/98"
    lan.say("2")  # Nữ: now at the phone step
    # Delivered again while the bot runs: answered 200, handled once (nothing sent).
    count = len(zalo.deliveries)
    zalo.deliver_again(birth_date)
    zalo.wait_delivered(count + 1)
    assert zalo.deliveries[-1].status == 200
    time.sleep(0.5)
    assert len(zalo.messages_to(lan.user.id)) == zalo.read_upto[lan.user.id]

    # After a restart the process remembers nothing: the chat service recognises the key, asks
    # the open question again and does not read "5/8/98" as a phone number.
    zalo_bot.stop()
    zalo_bot.start()
    zalo.deliver_again(birth_date)
    again = lan.read()
    assert "Số điện thoại" in again and "không phải" not in again, again
    [donor] = donors(database_url)
    assert donor.sex == "female" and donor.phone_e164 is None
    keys = {e.event_key for e in read_db(database_url, HandledEvent)}
    assert f"message.text.received:{birth_date['message']['message_id']}" in keys


def test_a_sigkill_mid_registration_resumes_with_the_numbers_stored(
    zalo: FakeZaloApi, zalo_bot: BotProcess, database_url: str
) -> None:
    minh = ZaloChat(zalo, zalo_user(3, "Minh"))
    to_sex_step(minh)  # shown "1. Nam  2. Nữ"
    [donor] = donors(database_url)
    assert [c.label for c in offered_store.stored(donor).choices] == ["Nam", "Nữ"]
    zalo_bot.kill()
    zalo_bot.start()  # a new process: nothing in memory
    phone = minh.say("2")
    assert "Số điện thoại" in phone
    [donor] = donors(database_url)
    assert donor.full_name == "Nguyễn Thị Hồng" and donor.sex == "female"


# ---------------------------------------------------------------- polling, beside Telegram


def test_telegram_and_zalo_in_one_process_by_polling(
    zalo: FakeZaloApi, server: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    process = BotProcess(server, database_url, tmp_path / "bot.log", zalo=zalo)
    process.start()
    try:
        register_vietnamese(Chat(server, FakeUser(id=5001, first_name="Hồng", language_code="vi")))
        mai = ZaloChat(zalo, zalo_user(4, "Mai"))
        register(mai)
        people = {(d.channel, d.full_name) for d in donors(database_url)}
        assert people == {("telegram", "Nguyễn Thị Hồng"), ("zalo", "Nguyễn Thị Hồng")}
        assert "/eligibility" in mai.say("tro giup")
    finally:
        process.stop()
    assert process.proc is not None and process.proc.returncode == 0


def test_a_token_zalo_refuses_stops_the_start(
    zalo: FakeZaloApi, database_url: str, tmp_path: Path
) -> None:
    zalo.revoke_token()
    env = {
        "ZALO_BOT_TOKEN": ZALO_TOKEN,
        "ZALO_API_BASE_URL": zalo.root_url,
        "DATABASE_URL": database_url,
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "ZALO_BOT_TOKEN" in done.stderr and "Traceback" not in done.stderr
    assert ZALO_TOKEN.split(":")[1] not in done.stderr + done.stdout
