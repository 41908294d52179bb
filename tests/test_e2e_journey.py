"""End to end through the fake Bot API, the real bot.py: a donor signs up for a drive, gets the
reminder two hours before, is checked in by the leader scanning the donor card, is thanked with
the day they may give again, and on that day (the clock moved by editing the database, the bot
restarted) gets the "you can give again" reminder once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from models import DriveBase
from models.database import Database
from models.drives import DriveStatus
from services.donations.card_token import card_key, make_token
from services.drives import drive_store
from tests.support.e2e import BotProcess, Chat, button_data, donors, register_vietnamese, text_of
from tests.support.fakebot import FakeBotApi, FakeUser

ADMIN, LEADER, DONOR = 900, 700, 5401
KEY = "j" * 64
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def bot_env() -> dict[str, str]:
    """Quiet hours off, so that the test does not depend on the time of day."""
    return {
        "ADMIN_TELEGRAM_IDS": str(ADMIN),
        "QUIET_HOURS_START": "0",
        "QUIET_HOURS_END": "0",
        "PSEUDONYM_KEY": KEY,
    }


def run_sql(database_url: str, statement: str, **values: object) -> None:
    async def run() -> None:
        db = Database(database_url)
        try:
            async with db.engine.begin() as conn:
                await conn.execute(text(statement), values)
        finally:
            await db.dispose()

    asyncio.run(run())


def a_drive_soon(database_url: str, starts_at: datetime) -> int:
    """A published drive for Phường Hà Đông, starting at `starts_at`."""

    async def create() -> int:
        db = Database(database_url)
        try:
            async with db.session() as session:
                fields = DriveBase(
                    campaign="chu_nhat_do",
                    starts_at=starts_at,
                    ends_at=starts_at + timedelta(hours=3),
                    venue_name="Nhà văn hóa phường Hà Đông",
                    address="1 Quang Trung",
                    province_code="01",
                    collector="Viện Huyết học – Truyền máu Trung ương",
                    target_units=100,
                    capacity=50,
                )
                drive = await drive_store.create_drive(session, fields, ["09556"], "test")
                drive.status = DriveStatus.PUBLISHED
                await session.flush()
                assert drive.id is not None
                return drive.id
        finally:
            await db.dispose()

    return asyncio.run(create())


def consent_only(chat: Chat) -> None:
    chat.say("/start")
    chat.tap("English")
    chat.tap("I agree")
    chat.say("/cancel")


def test_sign_up_reminder_card_check_in_thanks_and_the_day_to_give_again(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    now = datetime.now(UTC)
    starts_at = (now + timedelta(hours=1, minutes=40)).replace(second=0, microsecond=0)
    if starts_at.astimezone(TZ).date() != now.astimezone(TZ).date():
        pytest.skip("the drive would start tomorrow: the desk opens the drives of today")
    admin = Chat(server, FakeUser(ADMIN, "Admin", "en"))
    leader = Chat(server, FakeUser(LEADER, "Leader", "en"))
    donor = Chat(server, FakeUser(DONOR, "Hồng", "vi"))
    consent_only(admin)
    consent_only(leader)
    admin.say(f"/grant leader {LEADER} 01 “Hà Đông” CLB Giọt hồng Hà Đông")
    leader.until("CLB Giọt hồng")

    drive_id = a_drive_soon(database_url, starts_at)
    register_vietnamese(donor)
    out = donor.say("/drives")
    assert f"signup:{drive_id}" in button_data(out)
    out = donor.tap(f"signup:{drive_id}")  # the calendar file, the answer its caption
    assert "Bạn đã đăng ký" in text_of(out)
    # The seat was taken yesterday (so that the reminder two hours before is due now).
    run_sql(
        database_url,
        "UPDATE signups SET created_at = :then, updated_at = :then",
        then=now - timedelta(days=1),
    )
    bot.stop()
    bot.start()  # the sweeps run at start
    out = donor.until("Hôm nay là ngày hiến máu của bạn")
    assert "Nhà văn hóa phường Hà Đông" in text_of(out)

    # The donor shows the card; the leader's camera opens its link in the leader's chat.
    donor.say("/card")
    [me] = [d for d in donors(database_url) if d.external_id == str(DONOR)]
    assert me.id is not None
    token = make_token(card_key(KEY.encode()), me.id, 1)
    out = leader.say(f"/start {token}")
    assert "Nguyễn Thị Hồng" in text_of(out) and "ci:kind:0:whole_blood" in button_data(out)
    leader.tap("ci:kind:0:whole_blood")
    out = leader.tap("ci:volume:350")
    assert "Nguyễn Thị Hồng: donated, whole blood 350 ml" in text_of(out)
    assert "Tap a person" in text_of(out)  # in the same message: back at the drive's list
    assert "ci:finish" in button_data(out)
    leader.tap("ci:finish")
    leader.tap("ci:finished")
    again = (now.astimezone(TZ).date() + timedelta(days=84)).strftime("%d/%m/%Y")
    out = donor.until("Giấy chứng nhận")
    assert again in text_of(out) and "350 ml" in text_of(out)

    # 84 days later: the donation and the reminder day moved back as the days would have, and a
    # restart (the sweep catches up at start). The reminder comes once.
    gave = now.astimezone(TZ).date() - timedelta(days=84)
    run_sql(
        database_url,
        "UPDATE donations SET donated_on = :gave WHERE donor_id = :donor",
        gave=gave,
        donor=me.id,
    )
    run_sql(
        database_url,
        "UPDATE donors SET last_donation_date = :gave, remind_on = :due WHERE id = :donor",
        gave=gave,
        due=gave + timedelta(days=83),  # yesterday: it fell due while the bot was down
        donor=me.id,
    )
    bot.stop()
    bot.start()
    out = donor.until("theo quy định bạn có thể hiến máu trở lại")
    assert "signup:" in " ".join(button_data(out)) or "remind" in " ".join(button_data(out))
    bot.stop()
    bot.start()
    said = [str(m.get("text")) for m in server.messages_to(str(DONOR))]
    sent = [t for t in said if "theo quy định bạn có thể hiến máu trở lại" in t]
    assert len(sent) == 1
