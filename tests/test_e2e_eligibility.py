"""End to end: "Can I give blood?" and free-text questions, real bot.py against the fake Bot API."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from models import ConversationState
from services.core.labels import date_label
from tests.support.e2e import (
    BotProcess,
    Chat,
    button_data,
    count_rows,
    donors,
    register_vietnamese,
    text_of,
)
from tests.support.fakebot import FakeBotApi, FakeUser

TODAY = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()


def test_guided_check_in_vietnamese_with_bad_input_and_a_reminder(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    chat = Chat(server, FakeUser(id=6001, first_name="Hồng", language_code="vi"))
    register_vietnamese(chat)
    out = chat.say("/eligibility")
    assert button_data(out) == ["ekind:whole_blood", "ekind:platelets", "ekind:plasma"]
    out = chat.tap("ekind:whole_blood")
    assert "kg" in text_of(out)
    assert "500 kg" in text_of(chat.say("500"))  # not a weight: asked again
    assert "52" in text_of(chat.say("abc"))  # "e.g. 52"
    out = chat.say("47")
    assert "ecat:done" in button_data(out)
    chat.tap("ecat:vaccine")
    out = chat.tap("ecode:vaccine_other")
    future = (TODAY + timedelta(days=3)).strftime("%d/%m/%Y")
    assert future in text_of(chat.say(future))  # a date in the future: asked again
    vaccine = TODAY - timedelta(days=1)
    out = chat.say(vaccine.strftime("%d/%m/%Y"))
    assert date_label(vaccine) in text_of(out)
    chat.tap("ecat:done")
    out = chat.tap("ejob:no")
    verdict = text_of(out)
    until = vaccine + timedelta(days=7)
    assert date_label(until) in verdict
    assert "Điều 5 khoản 4 điểm b, Thông tư 26/2013/TT-BYT" in verdict
    assert "bác sĩ" in verdict
    remind = f"remind:{until.isoformat()}:vaccine_other"
    assert remind in button_data(out)
    out = chat.tap(remind)
    assert date_label(until) in text_of(out)
    [donor] = donors(database_url)
    assert donor.deferred_until == until and donor.deferral_code == "vaccine_other"
    assert count_rows(database_url, ConversationState) == 0
    assert donor.remind_on == until  # the sweep sends the reminder that morning


def test_questions_and_the_check_in_english_survive_a_sigkill(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    chat = Chat(server, FakeUser(id=6002, first_name="John", language_code="en"))
    out = chat.say("how long after platelets can I give whole blood?")
    assert "14 days" in text_of(out)  # answered before registering, and invited to start
    assert donors(database_url) == []
    chat.say("/start")
    chat.tap("lang:en")
    chat.tap("consent:en:yes")
    out = chat.say("/eligibility")
    assert "date of birth" in text_of(out)
    chat.say("01/02/1990")
    chat.tap("esex:male")
    chat.tap("ekind:platelets")
    bot.kill()
    server.user_sends_text(chat.user, "62")  # typed while the bot is down
    bot.start()
    out = server.wait_for_bot_messages(chat.user.id, count=1)
    assert "What did you give the last time?" in text_of(out)
    chat.tap("elast:platelets")
    last = TODAY - timedelta(days=10)
    chat.say(last.strftime("%d/%m/%Y"))
    chat.tap("ecat:done")
    out = chat.tap("ejob:no")
    verdict = text_of(out)
    assert f"from {date_label(last + timedelta(days=14))}" in verdict
    assert "needs a gap of 14 days" in verdict
    out = chat.say("I've got a cold, can I donate?")
    assert "7 days" in text_of(out)
    out = chat.say("who won the football match yesterday")
    assert "do not have a good answer" in text_of(out)
    assert "menu:eligibility" in button_data(out)
