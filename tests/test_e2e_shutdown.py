"""SIGTERM, as systemd or docker stop sends it, in the middle of a broadcast and of a person's
registration: the process finishes what it holds and exits cleanly; after the restart the
broadcast goes on where it stopped and the person's answer is kept, nothing sent twice."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

from sqlmodel import select

from models import Donor, OutboxMessage
from models.database import Database
from services.outreach import outbox
from tests.support.e2e import BotProcess, Chat, count_rows, donors, text_of
from tests.support.fakebot import FakeBotApi, FakeUser

RECIPIENTS = 90  # three seconds of sending at Telegram's pace


def queue_broadcast(database_url: str) -> list[str]:
    """Consented donors and one notice to each of them, due now; their chat ids."""

    async def queue() -> list[str]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                people = [
                    Donor(
                        channel="telegram",
                        external_id=str(30_000 + i),
                        chat_id=str(30_000 + i),
                        locale="vi",
                        consent_version="test",
                        consented_at=datetime.now(UTC),
                    )
                    for i in range(RECIPIENTS)
                ]
                session.add_all(people)
                await session.flush()
                broadcast = await outbox.create_broadcast(session, "notice", "test", "01")
                recipients = [
                    outbox.Recipient(p.id, p.chat_id, f"Thông báo #{p.chat_id}", [])
                    for p in people
                ]
                await outbox.enqueue(session, broadcast, recipients, datetime.now(UTC))
            return [p.chat_id for p in people]
        finally:
            await db.dispose()

    return asyncio.run(queue())


def statuses(database_url: str) -> dict[str, int]:
    async def read() -> dict[str, int]:
        db = Database(database_url)
        try:
            async with db.session() as session:
                found: dict[str, int] = {}
                for status in (await session.exec(select(OutboxMessage.status))).all():
                    found[status] = found.get(status, 0) + 1
                return found
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_sigterm_mid_broadcast_and_mid_registration_loses_and_repeats_nothing(
    server: FakeBotApi, bot: BotProcess, database_url: str
) -> None:
    person = Chat(server, FakeUser(id=6101, first_name="Minh", language_code="vi"))
    person.say("/start")
    person.tap("lang:vi")
    person.tap("consent:vi:yes")
    person.say("Trần Văn Minh")
    chats = queue_broadcast(database_url)
    server.wait_until(lambda s: sum(s.stats.delivered[c] for c in chats) >= RECIPIENTS // 3)
    person.send("12/12/1992")  # answered now or, once the bot is back, then: never lost
    bot.stop()  # SIGTERM; BotProcess.stop fails the test unless it exits within 20 s
    assert bot.proc is not None and bot.proc.returncode == 0, bot.log()
    left = statuses(database_url)
    assert "sending" not in left, left  # nothing left half-sent
    assert 0 < left.get("pending", 0) < RECIPIENTS  # stopped mid-way, as intended

    bot.start()
    server.wait_until(lambda s: all(s.stats.delivered[c] >= 1 for c in chats), timeout=30)
    deadline = time.monotonic() + 10
    while statuses(database_url) != {"sent": RECIPIENTS} and time.monotonic() < deadline:
        time.sleep(0.2)  # the last one is recorded just after the server got it
    assert statuses(database_url) == {"sent": RECIPIENTS}
    assert [server.stats.delivered[c] for c in chats] == [1] * RECIPIENTS  # none twice
    asked = person.until("Giới tính")
    assert "Giới tính" in text_of(asked)
    person.tap("sex:male")
    seen = [m for m in server.messages_to(person.user.id) if "Giới tính" in str(m.get("text"))]
    assert len(seen) == 1  # the birth date's answer, once
    [me] = [d for d in donors(database_url) if d.external_id == "6101"]
    assert me.full_name == "Trần Văn Minh" and me.sex == "male"
    assert str(me.date_of_birth) == "1992-12-12"
    assert count_rows(database_url, Donor) == RECIPIENTS + 1
