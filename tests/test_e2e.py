"""End to end: the real bot.py process against a fake Telegram Bot API server on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from models import ConsentRecord, ConversationState
from tests.support.e2e import (
    ROOT,
    BotProcess,
    Chat,
    button_data,
    count_rows,
    donors,
    register_vietnamese,
    text_of,
)
from tests.support.fakebot import FakeBotApi, FakeUser


def test_registration_in_vietnamese(server: FakeBotApi, bot: BotProcess, database_url: str) -> None:
    chat = Chat(server, FakeUser(id=5001, first_name="Hồng", language_code="vi"))
    register_vietnamese(chat)
    [donor] = donors(database_url)
    assert donor.full_name == "Nguyễn Thị Hồng" and donor.sex == "female"
    assert donor.phone_e164 == "+84912345678" and donor.ward_code == "09556"
    assert donor.blood_group == "O+" and donor.is_registered
    assert count_rows(database_url, ConsentRecord) == 1
    # The command menu exists in both languages.
    languages = {key[1] for key in server.commands}
    assert {"vi", "en"} <= languages


def test_registration_in_english_with_bad_input_everywhere(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    chat = Chat(server, FakeUser(id=5002, first_name="John", language_code="en"))
    chat.say("/start")
    chat.tap("English")
    chat.tap("I agree")
    assert "does not look like a name" in text_of(chat.say("12345"))
    chat.say("John Smith")
    assert "31/02/1990 is not a date" in text_of(chat.say("31/02/1990"))
    assert "in the future" in text_of(chat.say("01/01/2099"))
    assert "day/month/year" in text_of(chat.say("yesterday"))
    chat.say("1990-02-01")
    assert "Male or Female" in text_of(chat.say("robot"))
    chat.tap("Male")
    assert "not a Vietnamese phone number" in text_of(chat.say("+1 415 555 2671"))
    assert "your own number" in text_of(chat.share_contact("0912000111", own=False))
    chat.say("0912 000 111", expect=2)  # its keyboard goes; the location's comes
    assert "could not find" in text_of(chat.say("zzzzqqq"))
    assert "not seem to be in Vietnam" in text_of(chat.share_location(51.5, -0.12))
    out = chat.say("phuong sai gon")
    chat.tap("ward:79:26740", expect=2)  # the location's keyboard goes; then a question
    assert "Rh sign" in text_of(chat.say("Q"))
    chat.tap("bg:unknown")
    chat.tap("kind:never")
    out = chat.say("/back")
    assert "what kind of donation" in text_of(out)
    out = chat.tap("kind:plasma")
    out = chat.say("2026-11-01")
    assert "Plasma" in text_of(out)
    chat.tap("confirm")
    [donor] = donors(database_url)
    assert donor.locale == "en" and donor.last_donation_kind == "plasma" and donor.is_registered


def test_sigkill_mid_registration_resumes_at_the_same_step(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    chat = Chat(server, FakeUser(id=5003, first_name="Minh", language_code="vi"))
    chat.say("/start")
    chat.tap("lang:vi")
    chat.tap("consent:vi:yes")
    chat.say("Trần Văn Minh")
    chat.say("12/12/1992")
    bot.kill()
    # A message typed while the bot is down waits at Telegram, then is answered.
    server.user_sends_text(chat.user, "/start")
    bot.start()
    out = server.wait_for_bot_messages(chat.user.id, count=1)  # one message: resumed, asked
    assert "tiếp tục" in text_of(out) and "Giới tính" in text_of(out)
    chat.tap("sex:male")
    [donor] = donors(database_url)
    assert donor.full_name == "Trần Văn Minh" and donor.sex == "male"


def test_stop_and_forget(server: FakeBotApi, bot: BotProcess, database_url: str) -> None:
    chat = Chat(server, FakeUser(id=5004, first_name="Lan", language_code="vi"))
    register_vietnamese(chat)
    out = chat.say("dừng")
    assert "/start" in text_of(out)
    assert donors(database_url)[0].is_stopped
    out = chat.say("/start")
    assert "bật lại" in text_of(out) or "trở lại" in text_of(out), text_of(out)
    assert not donors(database_url)[0].is_stopped
    out = chat.say("/forget")
    assert button_data(out) == ["forget:yes", "forget:no"]
    chat.tap("forget:yes")
    assert donors(database_url) == []
    assert count_rows(database_url, ConsentRecord) == 0
    assert count_rows(database_url, ConversationState) == 0


def test_without_a_token_it_explains_and_points_to_the_console(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py")],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "@BotFather" in result.stderr and "--console" in result.stderr


def test_console_mode_registers_without_network(tmp_path: Path) -> None:
    lines = [
        "/start",
        "1",
        "1",
        "Võ Thị Sáu",
        "01/01/2000",
        "2",
        "1",
        "0901234567",
        "phuong ben thanh",
        "1",
        "7",
        "4",
        "1",
        "/profile",
    ]
    result = subprocess.run(
        [sys.executable, str(ROOT / "bot.py"), "--console"],
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"},
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "[1] Tiếng Việt" in out
    assert "Võ Thị Sáu" in out and "0901 234 567" in out and "Bến Thành" in out
    assert "đăng ký thành công" in out
    assert "Traceback" not in out + result.stderr
