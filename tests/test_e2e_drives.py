"""End to end: an admin names a leader, the leader publishes a drive, citizens sign up, a waiting
list moves, the drive is cancelled; every notice goes out through the outbox sender of bot.py."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.support.e2e import BotProcess, Chat, button_data, register_vietnamese, text_of
from tests.support.fakebot import FakeBotApi, FakeUser

ADMIN, LEADER = 900, 700


@pytest.fixture
def bot_env() -> dict[str, str]:
    """Quiet hours off (start = end), so that the test does not depend on the time of day."""
    return {"ADMIN_TELEGRAM_IDS": str(ADMIN), "QUIET_HOURS_START": "0", "QUIET_HOURS_END": "0"}


def consent_only(chat: Chat, language: str = "English") -> None:
    """Agree to the terms, then leave the registration for later."""
    chat.say("/start")
    chat.tap(language)
    chat.tap("I agree")
    chat.say("/cancel")


def register_english(chat: Chat) -> None:
    """A citizen of Hà Đông registers in English, typing everything."""
    consent_only(chat)
    chat.say("/start")
    fill_registration(chat)
    chat.tap("confirm")


def fill_registration(chat: Chat) -> None:
    """Answer every registration question, up to the summary."""
    chat.say("Tran Thi Mai")
    chat.say("02/03/1990")
    chat.tap("sex:female")
    chat.say("0913 111 222", expect=2)  # its keyboard goes; the location's comes
    chat.say("ha dong hn")
    chat.tap("ward:01:09556", expect=2)  # the location's keyboard goes; then a question
    chat.tap("bg:A+")
    chat.tap("kind:never")


def test_drive_from_announcement_to_cancellation(server: FakeBotApi, bot: BotProcess) -> None:
    admin = Chat(server, FakeUser(ADMIN, "Admin", "en"))
    leader = Chat(server, FakeUser(LEADER, "Leader", "en"))
    citizen = Chat(server, FakeUser(5101, "Hồng", "vi"))
    second = Chat(server, FakeUser(5102, "Mai", "en"))
    stranger = Chat(server, FakeUser(5103, "Nam", "en"))

    # The admin names a club leader for Hà Đông; a citizen cannot.
    consent_only(admin)
    consent_only(leader)
    consent_only(stranger)
    out = stranger.say(f"/grant leader {LEADER} 01 “Hà Đông” CLB Giọt hồng")
    assert "Done" not in text_of(out)
    out = admin.say(f"/grant leader {LEADER} 01 “Hà Đông” CLB Giọt hồng Hà Đông")
    assert "Done" in text_of(out), text_of(out)
    assert "CLB Giọt hồng" in text_of(leader.until("🎖"))  # told of the new role (item 19)
    assert "CLB Giọt hồng" in text_of(leader.say("/whoami"))

    # Two citizens of Hà Đông register: they follow their ward.
    register_vietnamese(citizen)
    register_english(second)

    # The leader creates a drive with one seat, bad input on the way.
    day = (datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")) + timedelta(days=20)).strftime("%d/%m/%Y")
    leader.send("/newdrive")
    leader.until("campaign")
    leader.press("nd:campaign:chu_nhat_do")
    leader.until("what day")  # synchronised: the role notice arrives on its own time
    assert "not a date" in text_of(leader.say("31/02/2026"))
    assert "past" in text_of(leader.say("01/01/2020"))
    assert "year" in text_of(leader.say("14/12/2099"))
    leader.send(day)
    leader.until("what time")  # the day, read back with its weekday, then the time question
    assert "after" in text_of(leader.say("11:30-7:30"))
    leader.say("7:30-11:30")
    leader.send("Nhà văn hoá phường Hà Đông")
    leader.until("address")
    leader.send("2 Quang Trung, Hà Đông, Hà Nội")
    leader.until("location")
    server.user_sends_location(leader.user, 20.9714, 105.7788)
    leader.press("nd:ward:01:09556")
    leader.until("Chosen")
    leader.press("nd:wards_done")
    leader.until("hospital")
    leader.send("Viện Huyết học - Truyền máu Trung ương")
    leader.until("Target")
    leader.send("0")
    leader.until("at least 1")
    leader.send("150")
    leader.until("seats")
    leader.send("1")
    out = leader.until("Chủ nhật Đỏ")
    assert "nd:publish" in button_data(out), text_of(out)
    # The sender may show the progress before the bot's reply arrives: read in either order.
    leader.press("nd:publish")
    published = text_of(leader.until("Share this link"))

    # The announcement reaches both followers, each with the sign-up button.
    announcement = citizen.until("Chủ nhật Đỏ")
    signup = next(d for d in button_data(announcement) if d.startswith("signup:"))
    drive_id = signup.split(":")[1]
    assert signup in button_data(second.until("Chủ nhật Đỏ"))
    # The leader watches the progress (one message, edited live), then gets a summary.
    server.wait_until(
        lambda fake: any("2 / 2" in str(m.get("text")) for m in fake.messages_to(LEADER))
    )
    leader.until("finished")

    # The shared link opens the drive for a newcomer, after registration.
    link = f"https://t.me/hienmau_test_bot?start=drive_{drive_id}"
    assert link in published, published
    newcomer = Chat(server, FakeUser(5104, "Lan", "en"))
    newcomer.say(f"/start drive_{drive_id}")
    newcomer.tap("English")
    newcomer.tap("I agree")
    fill_registration(newcomer)
    newcomer.press("confirm")
    assert signup in button_data(newcomer.until("Chủ nhật Đỏ"))

    # The first takes the only seat and gets a calendar file; the second joins the waiting list.
    citizen.press(signup)
    files = citizen.until("")  # the .ics file, the confirmation its caption
    documents = [m for m in files if "document" in m]
    assert documents and documents[0]["document"]["file_name"].endswith(".ics")
    assert "BEGIN:VEVENT" in documents[0]["document_content"]
    second.press(signup)
    assert "last seat" in text_of(second.until("last seat"))
    second.until("Full")  # the drive's card that follows
    second.press(f"waitlist:{drive_id}")
    # The answer itself (updates of different people are handled at once: reading the card's
    # "join the waiting list" instead would let the first's cancellation below overtake it).
    second.until("You are on the waiting list")

    # The first cancels: the seat goes to the second, who is told.
    citizen.tap(f"unsign:{drive_id}")
    freed = second.until("seat")
    assert f"unsign:{drive_id}" in button_data(freed)

    # The leader cancels the drive: whoever holds a seat is told, and only them.
    before = len(server.messages_to(citizen.user.id))
    out = leader.say("/mydrives")
    assert f"md:cancel:{drive_id}" in button_data(out)
    leader.tap(f"md:cancel:{drive_id}")
    leader.tap(f"md:cancelyes:{drive_id}")
    notice = text_of(second.until("cancel"))
    assert day in notice or "Chủ nhật Đỏ" in notice, notice
    assert len(server.messages_to(citizen.user.id)) == before
