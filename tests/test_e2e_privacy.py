"""End to end, through the fake Bot API: groups, failed replies, edits and logs (issue 7, 1–9)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.support.e2e import TOKEN, BotProcess, Chat, donors, register_vietnamese, text_of
from tests.support.fakebot import FakeBotApi, FakeUser

GROUP_ID = -1001234567890
GROUP = {"id": GROUP_ID, "type": "supergroup", "title": "CLB Hiến máu Hà Đông"}


@pytest.fixture
def bot_env() -> dict[str, str]:
    """DEBUG: the most talkative level must still keep personal data out of the log."""
    return {"LOG_LEVEL": "DEBUG"}


def in_group(server: FakeBotApi, user: FakeUser, text: str) -> dict[str, Any]:
    """The user writes in the supergroup the bot was added to."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    with server.lock:
        message_id = next(server.message_ids[str(GROUP_ID)])
    message = {
        "message_id": message_id,
        "from": user.as_dict(),
        "chat": GROUP,
        "date": int(time.time()),
        **content,
    }
    return server._push({"message": message})


def edit(server: FakeBotApi, user: FakeUser, text: str) -> None:
    """The user edits one of their earlier messages in the private chat."""
    message = {
        "message_id": 1,
        "from": user.as_dict(),
        "chat": user.chat(),
        "date": int(time.time()) - 60,
        "edit_date": int(time.time()),
        "text": text,
    }
    server._push({"edited_message": message})


def test_a_group_gets_one_line_and_never_a_profile(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    user = FakeUser(id=7001, first_name="Hồng", language_code="vi")
    # Before registering: no registration in a group, nothing stored.
    in_group(server, user, "/start")
    [invite] = server.wait_for_bot_messages(GROUP_ID)
    assert "t.me/" in invite["text"] and "\n" not in invite["text"].strip()
    assert donors(database_url) == []
    register_vietnamese(Chat(server, user))
    for command in ("/profile", "/start", "/drives", "/forget"):
        in_group(server, user, command)
        [line] = server.wait_for_bot_messages(GROUP_ID)
        assert "t.me/" in line["text"]
        for private in ("Nguyễn Thị Hồng", "0912", "O+", "1998"):
            assert private not in line["text"]
    # Ordinary chatter in the group is left alone.
    in_group(server, user, "mọi người ơi chủ nhật này đi hiến máu nhé")
    server.wait_confirmed()
    assert len(server.messages_to(GROUP_ID)) == 5
    [donor] = donors(database_url)
    assert donor.chat_id == str(user.id)  # notices still go to the private chat
    assert "Nguyễn Thị Hồng" not in bot.log() and "912345678" not in bot.log()
    assert TOKEN.split(":")[1] not in bot.log()
    # One structured line per update: the person as a keyed hash, the handler, outcome, time.
    lines = [line for line in bot.log().splitlines() if "[update" in line and "handler=" in line]
    assert any("handler=command:start" in line and "outcome=ok" in line for line in lines)
    assert any("handler=group" in line for line in lines)
    assert any("handler=text" in line for line in lines)
    assert all("person=anon:" in line and " ms=" in line for line in lines), lines[:3]
    assert str(user.id) not in "\n".join(lines) and "chủ nhật" not in bot.log()


def test_a_failed_reply_is_delivered_when_telegram_recovers(
    server: FakeBotApi, bot: BotProcess
) -> None:
    chat = Chat(server, FakeUser(id=7002, first_name="An", language_code="vi"))
    chat.say("/start")
    chat.tap("lang:vi")
    chat.tap("consent:vi:yes")
    # The reply carrying the next question fails more often than the reply retries: 502s.
    server.fail_next("sendMessage", 502, "Bad Gateway", count=4, chat_id=7002)
    chat.send("Nguyễn Văn An")
    [question] = server.wait_for_bot_messages(7002, timeout=30)
    assert "Ngày sinh" in question["text"]  # the outbox delivered it once the server recovered
    assert "thử lại" not in question["text"]
    assert "Giới tính" in text_of(chat.say("25/08/1995"))


def test_an_answer_to_an_unseen_question_is_not_applied(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    chat = Chat(server, FakeUser(id=7003, first_name="Lan", language_code="en"))
    chat.say("/start")
    chat.tap("lang:en")
    chat.tap("consent:en:yes")
    # A 429 storm on the reply: the question goes to the outbox, which waits out retry_after.
    # The bot's replies to this chat wait it out too (the budget holds that chat alone): longer
    # than a reply waits inline (render.py's 5 s), shorter than the wait for the answers below.
    server.fail_next("sendMessage", 429, "Too Many Requests", count=20, chat_id=7003, retry_after=8)
    chat.send("Lan Nguyen")
    server.wait_confirmed()
    server.failures.clear()
    # Someone else chatting meanwhile is answered at once: a 429 on one chat holds no one else.
    other = Chat(server, FakeUser(id=7013, first_name="Hà", language_code="en"))
    began = time.monotonic()
    assert "lang:en" in str(other.say("/start"))
    assert time.monotonic() - began < 4  # not after Lan's 8 s
    # Typed before the birth-date question arrived: it is asked again, not answered.
    out = chat.say("0912 345 678")
    assert "did not reach you" in text_of(out) and "date of birth" in text_of(out).lower()
    [donor] = donors(database_url)
    assert donor.full_name == "Lan Nguyen" and donor.date_of_birth is None
    assert donor.phone_e164 is None


def test_a_stale_button_answer_failing_does_not_lose_the_next_question(
    server: FakeBotApi, bot: BotProcess
) -> None:
    chat = Chat(server, FakeUser(id=7004, first_name="Minh", language_code="vi"))
    chat.say("/start")
    chat.tap("lang:vi")
    server.fail_next("answerCallbackQuery", 400, "Bad Request: query is too old", count=1)
    out = chat.tap("consent:vi:yes")
    assert "Họ và tên" in text_of(out)


def test_an_edited_message_is_not_an_answer(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    user = FakeUser(id=7005, first_name="Mai", language_code="vi")
    chat = Chat(server, user)
    chat.say("/start")
    chat.tap("lang:vi")
    chat.tap("consent:vi:yes")
    chat.say("Lê Thị Mai")
    edit(server, user, "01/01/1990")
    out = server.wait_for_bot_messages(user.id, count=1)
    assert "chỉnh sửa" in text_of(out) and "Ngày sinh" in text_of(out)
    [donor] = donors(database_url)
    assert donor.date_of_birth is None


def test_the_apology_is_in_the_language_the_person_chose(
    server: FakeBotApi, bot: BotProcess
) -> None:
    # The Telegram app is in Vietnamese, the person chose English in the bot.
    chat = Chat(server, FakeUser(id=7006, first_name="Tom", language_code="vi"))
    chat.say("/start")
    chat.tap("lang:en")
    chat.tap("consent:en:yes")
    # Every attempt at the reply is refused as malformed: the error handler apologises.
    server.fail_next("sendMessage", 400, "Bad Request: can't parse entities", count=1, chat_id=7006)
    out = chat.say("Tom Tran")
    assert "Sorry, something went wrong" in text_of(out)
