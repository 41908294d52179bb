"""The outbox sender with Zalo beside Telegram (issue 12): each channel its own pace and pauses
(a Zalo 429 or used-up quota holds back Zalo's rows only, and they hold no sending slot), a
refused Zalo token stops Zalo's rows and tells the administrators on Telegram, the transport's
own words in the reader's language, and a Zalo author's broadcast summarised once at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from handlers.zalo.client import ZaloClient
from handlers.zalo.quota import MonthlyQuota
from handlers.zalo.transport import ZaloTransport
from models import Donor, OutboxMessage
from models.database import Database
from scheduler.sender import OutboxSender
from services.chat import ChatService
from services.conversation.dialog import Reply
from services.outreach import outbox
from tests.conftest import ADMIN
from tests.support.fakezalo import TOKEN, FakeZaloApi, zalo_user

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Recording:
    """Telegram's transport, recording what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    async def send(self, chat_id: str, reply: Reply) -> int:
        self.sent.append((chat_id, reply.text))
        return len(self.sent)

    async def edit(self, chat_id: str, message_id: int, text: str) -> None:
        self.sent.append((chat_id, f"(edit) {text}"))


@pytest.fixture
def fake() -> Iterator[FakeZaloApi]:
    with FakeZaloApi() as server:
        yield server


async def people(db: Database, channel: str, count: int, locale: str = "vi") -> list[Donor]:
    found = []
    async with db.session() as session:
        for i in range(count):
            chat = zalo_user(500 + i).id if channel == "zalo" else str(8000 + i)
            donor = Donor(
                channel=channel,
                external_id=chat,
                chat_id=chat,
                locale=locale,
                consent_version="v1",
                consented_at=datetime.now(UTC),
            )
            session.add(donor)
            found.append(donor)
    return found


async def queue(
    db: Database,
    donors: list[Donor],
    text: str,
    *,
    author: str = "system",
    progress_chat_id: str | None = None,
    buttons: list[list[dict[str, str]]] | None = None,
) -> None:
    async with db.session() as session:
        broadcast = await outbox.create_broadcast(
            session, "notice", author, progress_chat_id=progress_chat_id
        )
        recipients = [
            outbox.Recipient(d.id, d.chat_id, text, buttons or [], channel=d.channel)
            for d in donors
        ]
        await outbox.enqueue(session, broadcast, recipients, datetime.now(UTC))


async def rows(db: Database, channel: str) -> list[OutboxMessage]:
    async with db.session() as session:
        statement = select(OutboxMessage).where(OutboxMessage.channel == channel)
        return list((await session.exec(statement)).all())


async def run_until(sender: OutboxSender, done: Callable[[], object], within: float = 30.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    try:
        deadline = asyncio.get_running_loop().time() + within
        while not await _holds(done):
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError("timed out")
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)  # a send held up for a month would hang here


async def _holds(done: Callable[[], object]) -> bool:
    value = done()
    if asyncio.iscoroutine(value):
        value = await value
    return bool(value)


async def test_a_zalo_quota_pause_does_not_hold_up_telegram(
    db: Database, fake: FakeZaloApi
) -> None:
    zalo_people = await people(db, "zalo", 6)
    telegram_people = await people(db, "telegram", 6)
    await queue(db, zalo_people, "Thông báo qua Zalo")  # older: read first
    await queue(db, telegram_people, "Thông báo qua Telegram")
    fake.chats.update(d.chat_id for d in zalo_people)
    quota = MonthlyQuota(limit=10, reserve=2)
    quota.restore(quota.month, 7)  # one bulk message left this month
    telegram = Recording()
    async with ZaloClient(TOKEN, base_url=fake.root_url, quota=quota) as zalo:
        sender = OutboxSender(
            db,
            {"telegram": telegram, "zalo": ZaloTransport(zalo, tz=TZ)},
            tz=TZ,
            in_flight=2,  # six Zalo rows waiting for a month would take every slot
            idle_poll=0.05,
            progress_every=60,
        )
        await run_until(sender, lambda: len(telegram.sent) == 6)
    assert sorted(chat for chat, _ in telegram.sent) == sorted(d.chat_id for d in telegram_people)
    assert fake.sent_this_month() == 1  # Zalo was asked once; then its rows waited unasked
    waiting = [r for r in await rows(db, "zalo") if r.status == "pending"]
    assert len(waiting) == 5 and all(r.attempts == 0 for r in waiting)
    assert "zalo" in sender.paused_until and "telegram" not in sender.paused_until


async def test_a_refused_zalo_token_stops_zalo_rows_and_tells_the_admins(
    db: Database, service: ChatService, fake: FakeZaloApi
) -> None:
    zalo_people = await people(db, "zalo", 3)
    telegram_people = await people(db, "telegram", 2)
    await queue(db, zalo_people, "Thông báo qua Zalo")
    await queue(db, telegram_people, "Thông báo qua Telegram")
    fake.revoke_token()
    telegram = Recording()
    refused = lambda: service.token_refused("Zalo", "ZALO_BOT_TOKEN")  # noqa: E731
    async with ZaloClient(TOKEN, base_url=fake.root_url, on_unauthorized=refused) as zalo:
        sender = OutboxSender(
            db,
            {"telegram": telegram, "zalo": ZaloTransport(zalo, tz=TZ)},
            tz=TZ,
            idle_poll=0.05,
            progress_every=60,
        )
        # The two notices, then the alert the refusal queued, all on Telegram.
        await run_until(sender, lambda: len(telegram.sent) == 3)
    assert fake.stats.calls["sendMessage"] == 1  # one try, then Zalo's rows were left alone
    assert sender.refused == {"zalo"}
    [alert] = [text for chat, text in telegram.sent if chat == str(ADMIN)]
    assert "Zalo đã từ chối token" in alert and "ZALO_BOT_TOKEN" in alert
    waiting = await rows(db, "zalo")
    assert [r.status for r in waiting] == ["pending"] * 3
    assert all(r.attempts == 0 for r in waiting)


async def test_the_transports_words_follow_the_readers_language(
    db: Database, fake: FakeZaloApi
) -> None:
    [english] = await people(db, "zalo", 1, locale="en")
    fake.chats.add(english.chat_id)
    await queue(db, [english], "A new drive", buttons=[[{"label": "Sign up", "data": "su:1"}]])
    async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
        sender = OutboxSender(
            db, {"zalo": ZaloTransport(zalo, tz=TZ)}, tz=TZ, idle_poll=0.05, progress_every=60
        )
        await run_until(sender, lambda: fake.messages_to(english.chat_id))
    [text] = fake.texts_to(english.chat_id)
    assert text == "A new drive\n\n1. Sign up\nReply 1 to choose it."


async def test_a_zalo_authors_broadcast_is_summarised_once_at_the_end(
    db: Database, fake: FakeZaloApi
) -> None:
    [author, *donors] = await people(db, "zalo", 4)
    fake.chats.update(d.chat_id for d in (author, *donors))
    await queue(
        db,
        donors,
        "Thông báo",
        author=f"zalo:{author.external_id}",
        progress_chat_id=author.chat_id,
    )
    async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
        sender = OutboxSender(
            db, {"zalo": ZaloTransport(zalo, tz=TZ)}, tz=TZ, idle_poll=0.05, progress_every=0.05
        )
        await run_until(sender, lambda: fake.messages_to(author.chat_id))
        await asyncio.sleep(0.3)  # passes of the progress report: nothing more is sent
    [summary] = fake.texts_to(author.chat_id)
    assert summary.startswith("✅ Đã gửi xong thông báo") and "3 trên 3" in summary
