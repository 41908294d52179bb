"""End to end: an admin names a staff member, who uploads the year's plan as a file through the
fake Bot API (getFile and the file download), then reads the progress and its chart; and a
large export, built by the bot's scheduler and sent once as a file, also across restarts."""

from __future__ import annotations

import asyncio
import time
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from models.database import Database
from models.donations import CheckinOutcome
from scheduler.sender import count_by_status
from services.donors import donor_store
from services.stats import export_jobs
from services.stats.export_buttons import ExportFormat
from services.stats.figures import Period, Scope
from tests.support.desk import QUANG_TRI_PLAN, check_in, make_donor, make_drive
from tests.support.e2e import BotProcess, Chat, button_data, text_of
from tests.support.fakebot import FakeBotApi, FakeUser

ADMIN, STAFF = 900, 950


@pytest.fixture
def bot_env() -> dict[str, str]:
    # Exports of more than two rows go through the scheduler's jobs.
    return {"ADMIN_TELEGRAM_IDS": str(ADMIN), "EXPORT_INLINE_ROWS": "2"}


def consent_only(chat: Chat) -> None:
    chat.say("/start")
    chat.tap("English")
    chat.tap("I agree")
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
    out = staff.tap("st:chart")
    assert out[0]["photo_name"] == "progress.png"


TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def a_desk_day(database_url: str) -> None:
    """Three donations today at a drive of Đông Hà (Quảng Trị)."""

    async def seed() -> None:
        db = Database(database_url)
        try:
            today = datetime.now(TZ).date()
            drive = await make_drive(db, today, "19333")
            for n, volume in enumerate([350, 450, 250]):
                donor = await make_donor(db, n)
                await check_in(db, drive, donor, CheckinOutcome.DONATED, volume, day=today)
        finally:
            await db.dispose()

    asyncio.run(seed())


def queue_behind_the_bots_back(database_url: str, user_id: int) -> None:
    """A job as the chat turn writes it, as if the bot died right after answering."""

    async def queue() -> None:
        db = Database(database_url)
        try:
            year = datetime.now(TZ).year
            period = Period(date(year, 1, 1), date(year, 12, 31))
            request = export_jobs.DonationsRequest(Scope("44"), period, ExportFormat.XLSX, True)
            async with db.session() as session:
                donor = await donor_store.get_donor(session, "telegram", str(user_id))
                assert donor is not None
                await export_jobs.queue(session, donor, str(user_id), request)
        finally:
            await db.dispose()

    asyncio.run(queue())


def wait_until_sent(database_url: str) -> None:
    """Until the sender recorded every row as sent (a SIGKILL between the request and that
    record sends the row again: Telegram has no idempotency key)."""

    async def left() -> int:
        db = Database(database_url)
        try:
            counts = await count_by_status(db)
            return counts.get("pending", 0) + counts.get("sending", 0)
        finally:
            await db.dispose()

    deadline = time.monotonic() + 20
    while asyncio.run(left()) and time.monotonic() < deadline:
        time.sleep(0.1)


def documents(server: FakeBotApi, user_id: int) -> list[dict[str, object]]:
    return [m for m in server.messages_to(str(user_id)) if "document" in m]


def test_a_large_export_arrives_as_a_file_once_across_restarts(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    a_desk_day(database_url)
    admin = Chat(server, FakeUser(ADMIN, "Admin", "en"))
    staff = Chat(server, FakeUser(STAFF, "Lan", "en"))
    consent_only(admin)
    consent_only(staff)
    admin.say(f"/grant staff {STAFF} 44")
    staff.until("steering-committee staff")

    out = staff.say("/stats")
    [data] = [d for d in button_data(out) if d.startswith("stx:d:csv:")]
    out = staff.tap(data)
    assert "(3 rows) is being prepared; it will arrive here as a file" in text_of(out)
    staff.until("Your export is ready: 3 rows.")
    [file] = server.wait_for_bot_messages(STAFF, count=1)
    assert str(file["document"]["file_name"]).startswith("hien-mau-")
    content = str(file["document_content"])
    assert content.startswith("\ufeffDate,Drive no.,Venue")  # the BOM, headers in English
    assert "Người 0" in content and ",1.4," in content and ",1.8," in content

    # The bot dies after a job was queued: it is built when the bot is back, and sent once.
    wait_until_sent(database_url)
    bot.kill()
    queue_behind_the_bots_back(database_url, STAFF)
    bot.start()
    staff.until("Your export is ready: 3 rows.", timeout=30)
    [file] = server.wait_for_bot_messages(STAFF, count=1)
    assert str(file["document"]["file_name"]).endswith(".xlsx")
    wait_until_sent(database_url)
    bot.kill()
    bot.start()
    time.sleep(8)  # a scheduler pass and the sender's: nothing is built or sent again
    assert len(documents(server, STAFF)) == 2
    assert "Người 0" not in bot.log() and "0912" not in bot.log()
