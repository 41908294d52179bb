"""The Zalo channel's wiring (issue 12): getUpdates polling through the real chat service, replies
Zalo cannot take now going to the outbox on the Zalo channel (and delivered from there), and a
refused token ending Zalo's part and telling the administrators on Telegram, once a day."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from handlers.zalo import polling
from handlers.zalo.client import ZaloClient
from handlers.zalo.messages import ZaloConversation
from handlers.zalo.transport import ZaloTransport
from models import Donor, OutboxMessage
from models.database import Database
from scheduler.sender import OutboxSender, count_by_status
from services.chat import ChatService
from services.outreach import messages
from services.outreach.alerts import TOKEN_REFUSED
from tests.conftest import ADMIN
from tests.support.fakezalo import TOKEN, FakeZaloApi, zalo_user

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
LAN = zalo_user(11, "Lan")


@pytest.fixture
def fake() -> Iterator[FakeZaloApi]:
    with FakeZaloApi() as server:
        yield server


async def wait_for(predicate: Callable[[], bool], within: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


async def test_polling_answers_each_event_after_taking_the_webhook_down(
    service: ChatService, fake: FakeZaloApi
) -> None:
    fake.webhook = {"url": "https://bot.example.org/zalo", "secret_token": "x" * 32}
    stop = asyncio.Event()
    async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
        conversation = ZaloConversation(service, zalo, tz=TZ)
        task = asyncio.create_task(polling.poll(zalo, conversation.handle, stop))
        await wait_for(lambda: fake.polls_waiting() > 0)
        assert fake.webhook is None and [m for m, _ in fake.webhook_calls] == ["deleteWebhook"]
        fake.user_sends_text(LAN, "/start")
        fake.user_sends_text(LAN, "2")  # English, by its number
        await wait_for(lambda: len(fake.messages_to(LAN.id)) >= 2)
        fake.fail_next("getUpdates", 502, "Bad Gateway")  # the poll after the next one
        fake.user_sends_text(LAN, "1")  # "✅ I agree"
        await wait_for(lambda: fake.stats.errors_returned == 1)
        fake.user_sends_text(LAN, "Lan Nguyen")  # waited out, then polled again
        await wait_for(lambda: len(fake.messages_to(LAN.id)) >= 4, within=30)
        stop.set()
        await asyncio.wait_for(task, 45)
    language, consent, name, born = fake.texts_to(LAN.id)
    assert "1. Tiếng Việt\n2. English" in language
    assert "1. ✅ I agree\n2. I do not agree" in consent
    assert "full name" in name and "date of birth" in born.lower()


async def test_a_reply_zalo_cannot_take_now_goes_out_from_the_outbox(
    service: ChatService, db: Database, fake: FakeZaloApi
) -> None:
    async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
        conversation = ZaloConversation(service, zalo, tz=TZ)
        stop = asyncio.Event()
        task = asyncio.create_task(polling.poll(zalo, conversation.handle, stop))
        for answered, text in enumerate(("/start", "1"), 1):
            fake.user_sends_text(LAN, text)
            await wait_for(partial(lambda n: len(fake.messages_to(LAN.id)) >= n, answered))
        fake.fail_next("sendMessage", 502, "Bad Gateway")
        fake.user_sends_text(LAN, "dong y")
        await wait_for(lambda: fake.stats.errors_returned >= 1)
        stop.set()
        await asyncio.wait_for(task, 45)
        async with db.session() as session:
            [row] = (await session.exec(select(OutboxMessage))).all()
        assert row.channel == "zalo" and row.chat_id == LAN.id and "Họ và tên" in row.text
        transport = ZaloTransport(zalo, tz=TZ)
        sender = OutboxSender(db, {"zalo": transport}, tz=TZ, idle_poll=0.05, progress_every=60)
        stop = asyncio.Event()
        delivering = asyncio.create_task(sender.run(stop))
        await wait_for(lambda: any("Họ và tên" in t for t in fake.texts_to(LAN.id)))
        stop.set()
        await delivering
    assert (await count_by_status(db)) == {"sent": 1}


async def test_a_refused_token_ends_zalo_polling_and_tells_the_admins_once(
    service: ChatService, db: Database, fake: FakeZaloApi
) -> None:
    async with db.session() as session:  # the administrator chose English on Telegram
        session.add(
            Donor(
                channel="telegram",
                external_id=str(ADMIN),
                chat_id=str(ADMIN),
                locale="en",
                consent_version="v1",
                consented_at=datetime.now(UTC),
            )
        )
    refused = lambda: service.token_refused("Zalo", "ZALO_BOT_TOKEN")  # noqa: E731
    async with ZaloClient(TOKEN, base_url=fake.root_url, on_unauthorized=refused) as zalo:
        conversation = ZaloConversation(service, zalo, tz=TZ)
        stop = asyncio.Event()
        task = asyncio.create_task(polling.poll(zalo, conversation.handle, stop))
        await wait_for(lambda: fake.polls_waiting() > 0)
        fake.revoke_token()
        fake.user_sends_text(LAN, "/start")  # the next poll is refused
        await asyncio.wait_for(task, 45)  # Zalo's part ends by itself
        assert zalo.disabled and not stop.is_set()
    assert await service.token_refused("Zalo", "ZALO_BOT_TOKEN") == 0  # once a day
    async with db.session() as session:
        [row] = (await session.exec(select(OutboxMessage))).all()
    assert row.channel == "telegram" and row.chat_id == str(ADMIN)
    assert row.message_key == TOKEN_REFUSED and row.locale == "en"
    text = messages.render(TOKEN_REFUSED, dict(row.params or {}), "vi").text
    assert "Zalo đã từ chối token" in text and "ZALO_BOT_TOKEN" in text
    assert "Zalo refused the bot's token" in row.text
