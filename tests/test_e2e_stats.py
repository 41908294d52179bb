"""End to end: an admin names a staff member, who uploads the year's plan as a file through the
fake Bot API (getFile and the file download), then reads the progress and its chart."""

from __future__ import annotations

from datetime import date

import pytest

from tests.support.desk import QUANG_TRI_PLAN
from tests.support.e2e import BotProcess, Chat, button_data, text_of
from tests.support.fakebot import FakeBotApi, FakeUser

ADMIN, STAFF = 900, 950


@pytest.fixture
def bot_env() -> dict[str, str]:
    return {"ADMIN_TELEGRAM_IDS": str(ADMIN)}


def consent_only(chat: Chat) -> None:
    chat.say("/start")
    chat.tap("English")
    chat.tap("I agree", expect=2)
    chat.say("/cancel")


def test_staff_upload_the_plan_and_see_where_they_stand(
    server: FakeBotApi, bot: BotProcess
) -> None:
    admin = Chat(server, FakeUser(ADMIN, "Admin", "en"))
    staff = Chat(server, FakeUser(STAFF, "Lan", "en"))
    consent_only(admin)
    consent_only(staff)
    out = admin.say(f"/grant staff {STAFF} 44")
    staff.until("steering-committee staff")  # they are told in the bot
    assert "Quảng Trị" in text_of(out)

    year = date.today().year
    out = staff.say(f"/plan {year}")
    assert f"plantpl:{year}" in button_data(out)
    server.user_sends_document(staff.user, "bad.csv", "Đơn vị,Dân số\nA,1\n".encode())
    out = server.wait_for_bot_messages(staff.user.id, count=1)
    assert "Missing columns" in text_of(out)
    server.user_sends_document(staff.user, "ke-hoach.tsv", QUANG_TRI_PLAN.read_bytes())
    out = server.wait_for_bot_messages(staff.user.id, count=1)
    assert "is in place: 16 units" in text_of(out)

    out = staff.say("/stats")
    assert "st:progress" in button_data(out)
    out = staff.tap("st:progress")
    assert "TP. Đông Hà: 0 / 1,141" in text_of(out)
    out = staff.tap("st:chart", expect=2)
    assert out[1]["photo_name"] == "progress.png"
