"""POST /zalo (issue 12): the fake Zalo platform posting events over real HTTP to the route in a
uvicorn-served app; the secret, the body checks, repeated deliveries, each person's order; and a
conversation with the real chat service whose repeated event after a restart is recognised."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select

from handlers.telegram.webhook import bind, create_app, serve
from handlers.zalo import webhook
from handlers.zalo.client import ZaloClient
from handlers.zalo.events import Kind, ZaloEvent
from handlers.zalo.messages import ZaloConversation
from models import Donor, HandledEvent
from models.database import Database
from services.chat import ChatService
from tests.support.fakezalo import TOKEN, FakeZaloApi, zalo_user

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "zK3vQ0_-ZrXw8yT2mN5pL7sA9dF4gH6jK1cB3vN8mQ0w"
HEADERS = {webhook.SECRET_HEADER: SECRET}
LAN = zalo_user(1, "Lan")
MINH = zalo_user(2, "Minh")


class Seen:
    """A handler recording the events it was given."""

    def __init__(self, delay: float = 0.0) -> None:
        self.events: list[ZaloEvent] = []
        self.delay = delay

    async def __call__(self, event: ZaloEvent) -> None:
        if self.delay:
            await asyncio.sleep(self.delay)
        self.events.append(event)


@asynccontextmanager
async def served(handle: webhook.Handle, **options: Any) -> AsyncIterator[str]:
    """The ASGI app with the Zalo route, served by uvicorn on 127.0.0.1; yields the route's URL."""
    listening = bind("127.0.0.1", 0)
    port = listening.getsockname()[1]
    stop = asyncio.Event()
    task = asyncio.create_task(
        serve(create_app(webhook.zalo_route(handle, SECRET, **options)), listening, stop, grace=2)
    )
    try:
        yield f"http://127.0.0.1:{port}{webhook.PATH}"
    finally:
        stop.set()
        await task


async def wait_for(predicate: Callable[[], bool], within: float = 20.0) -> None:
    """Poll until the platform's thread has done its part."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.05)


def asgi_client(handle: webhook.Handle, **options: Any) -> httpx.AsyncClient:
    """An in-process client of the route (for what the platform would never send)."""
    app = create_app(webhook.zalo_route(handle, SECRET, **options))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bot")


def event_body(user: Any, text: str, message_id: str, *, wrapped: bool = True) -> dict[str, Any]:
    event = {
        "event_name": "message.text.received",
        "message": {
            "from": user.as_dict(),
            "chat": user.chat(),
            "text": text,
            "message_id": message_id,
            "date": int(time.time() * 1000),
        },
    }
    return {"ok": True, "result": event} if wrapped else event


# ---------------------------------------------------------------- from the platform


@pytest.mark.parametrize("wrapped", [True, False], ids=["wrapped", "bare"])
async def test_the_platform_posts_each_event_with_the_secret_and_it_is_handled(
    wrapped: bool,
) -> None:
    seen = Seen()
    with FakeZaloApi(wrapped=wrapped) as fake:
        async with (
            served(seen) as url,
            ZaloClient(TOKEN, base_url=fake.root_url) as zalo,
        ):
            await zalo.set_webhook(url, SECRET)
            fake.user_sends_text(LAN, "Chào bot")
            fake.user_sends_image(LAN, "https://photo.example.vn/cccd.jpg")
            fake.user_sends_sticker(MINH)
            fake.user_sends_unsupported(MINH)
            deliveries = await asyncio.to_thread(fake.wait_delivered, 4)
    assert [d.status for d in deliveries] == [200] * 4
    assert all(("result" in d.body) is wrapped for d in deliveries)
    assert [e.kind for e in seen.events] == [Kind.TEXT, Kind.IMAGE, Kind.STICKER, Kind.UNSUPPORTED]
    assert seen.events[0].text == "Chào bot" and seen.events[0].display_name == "Lan"
    assert seen.events[1].photo_url == "https://photo.example.vn/cccd.jpg"


async def test_an_event_delivered_again_is_answered_200_and_handled_once() -> None:
    seen = Seen()
    with FakeZaloApi() as fake:
        async with served(seen) as url, ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
            await zalo.set_webhook(url, SECRET)
            event = fake.user_sends_text(LAN, "Xin chào")
            await asyncio.to_thread(fake.wait_delivered, 1)
            fake.deliver_again(event)
            deliveries = await asyncio.to_thread(fake.wait_delivered, 2)
    assert [d.status for d in deliveries] == [200, 200]
    assert len(seen.events) == 1


async def test_a_failed_handling_is_a_500_and_the_platforms_retry_is_handled() -> None:
    handled: list[str] = []

    async def flaky(event: ZaloEvent) -> None:
        if not handled:
            handled.append("failed")
            raise RuntimeError("the database went away")
        handled.append(event.message_id)

    with FakeZaloApi(webhook_retries=1) as fake:
        async with served(flaky) as url, ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
            await zalo.set_webhook(url, SECRET)
            event = fake.user_sends_text(LAN, "Đăng ký")
            deliveries = await asyncio.to_thread(fake.wait_delivered, 2)
    assert [d.status for d in deliveries] == [500, 200]
    assert handled == ["failed", event["message"]["message_id"]]


# ---------------------------------------------------------------- refusals


async def test_without_the_secret_nothing_is_handled() -> None:
    seen = Seen()
    async with asgi_client(seen) as client:
        body = event_body(LAN, "Chào", "m1")
        assert (await client.post(webhook.PATH, json=body)).status_code == 403
        assert seen.events == []
        assert (await client.post(webhook.PATH, json=body, headers=HEADERS)).status_code == 200
    assert len(seen.events) == 1


@pytest.mark.parametrize(
    "given",
    [SECRET[:-1], SECRET + "x", SECRET.upper(), "", "Bí mật"],
    ids=["shorter", "longer", "case", "empty", "not ascii"],
)
async def test_a_wrong_secret_is_refused(given: str) -> None:
    seen = Seen()
    async with asgi_client(seen) as client:
        headers = {webhook.SECRET_HEADER.encode(): given.encode("utf-8")}
        answer = await client.post(
            webhook.PATH, json=event_body(LAN, "Chào", "m1"), headers=headers
        )
    assert answer.status_code == 403 and seen.events == []


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[1, 2]",
        b'{"ok": true, "result": {"event_name": "message.text.received"}}',
        b'{"message": {"text": "x"}}',
        "😀".encode(),
    ],
    ids=["broken", "a list", "no message", "no event_name", "not json at all"],
)
async def test_a_body_that_is_no_event_is_a_400(body: bytes) -> None:
    seen = Seen()
    async with asgi_client(seen) as client:
        answer = await client.post(
            webhook.PATH, content=body, headers={**HEADERS, "content-type": "application/json"}
        )
    assert answer.status_code == 400 and seen.events == []


async def test_a_body_over_the_limit_is_a_413_even_without_its_length() -> None:
    seen = Seen()
    body = event_body(LAN, "x", "m1")
    body["padding"] = "x" * (3 * webhook.MAX_BODY)
    data = json.dumps(body).encode()
    read: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(data), 16 * 1024):
            read.append(start)
            yield data[start : start + 16 * 1024]

    async with asgi_client(seen) as client:
        assert (await client.post(webhook.PATH, content=data, headers=HEADERS)).status_code == 413
        answer = await client.post(webhook.PATH, content=chunks(), headers=HEADERS)
    assert answer.status_code == 413 and seen.events == []
    assert len(read) <= webhook.MAX_BODY // (16 * 1024) + 1 < len(data) // (16 * 1024)


async def test_a_bots_own_message_is_answered_without_handling() -> None:
    seen = Seen()
    body = event_body(LAN, "x", "m1")
    body["result"]["message"]["from"]["is_bot"] = True
    async with asgi_client(seen) as client:
        assert (await client.post(webhook.PATH, json=body, headers=HEADERS)).status_code == 200
    assert seen.events == []


def test_the_route_needs_its_secret() -> None:
    with pytest.raises(ValueError):
        webhook.zalo_route(Seen(), "")


# ---------------------------------------------------------------- order


async def test_one_persons_events_go_one_at_a_time_in_order_others_alongside() -> None:
    running: dict[str, int] = {LAN.id: 0, MINH.id: 0}
    overlap = {"same person": False, "two people": False}
    order: list[str] = []

    async def slow(event: ZaloEvent) -> None:
        running[event.user_id] += 1
        overlap["same person"] |= running[event.user_id] > 1
        overlap["two people"] |= all(running.values())
        await asyncio.sleep(0.05)
        order.append(event.text or "")
        running[event.user_id] -= 1

    route = webhook.ZaloWebhook(slow, SECRET)
    app = create_app(webhook.Route(webhook.PATH, route.receive, methods=["POST"]))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bot"
    ) as client:
        posts = [
            client.post(
                webhook.PATH,
                json=event_body(user, f"{user.display_name} {i}", f"{user.id}-{i}"),
                headers=HEADERS,
            )
            for i in range(5)
            for user in (LAN, MINH)
        ]
        answers = await asyncio.gather(*posts)
    assert [a.status_code for a in answers] == [200] * 10
    assert [t for t in order if t.startswith("Lan")] == [f"Lan {i}" for i in range(5)]
    assert [t for t in order if t.startswith("Minh")] == [f"Minh {i}" for i in range(5)]
    assert overlap == {"same person": False, "two people": True}
    assert len(route.turns) == 0  # no lock is kept once nobody waits


async def test_at_once_bounds_the_people_handled_together() -> None:
    running = [0]
    most = [0]

    async def slow(event: ZaloEvent) -> None:
        running[0] += 1
        most[0] = max(most[0], running[0])
        await asyncio.sleep(0.02)
        running[0] -= 1

    async with asgi_client(slow, at_once=1) as client:
        people = [zalo_user(10 + i) for i in range(6)]
        answers = await asyncio.gather(
            *(
                client.post(webhook.PATH, json=event_body(p, "x", p.id), headers=HEADERS)
                for p in people
            )
        )
    assert [a.status_code for a in answers] == [200] * 6 and most == [1]


# ---------------------------------------------------------------- with the chat service


async def talk(fake: FakeZaloApi, say: Callable[[], dict[str, Any]], replies: int = 1) -> list[str]:
    """One event from the person; the bot's texts it answered with."""
    before = len(fake.messages_to(LAN.id))
    say()
    await wait_for(lambda: len(fake.messages_to(LAN.id)) >= before + replies)
    return fake.texts_to(LAN.id)[before:]


async def test_a_conversation_by_numbers_and_a_repeat_after_a_restart_is_recognised(
    service: ChatService, db: Database
) -> None:
    """Numbers pick the buttons' choices; after a restart (a new process remembers no event)
    the chat service recognises the repeated event by its key: the open question is asked again
    and the answer is not applied twice."""
    with FakeZaloApi() as fake:
        async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
            chat = ZaloConversation(service, zalo, tz=TZ).handle
            async with served(chat) as url:
                await zalo.set_webhook(url, SECRET)
                [language] = await talk(fake, lambda: fake.user_sends_text(LAN, "/start"))
                assert "1. Tiếng Việt\n2. English" in language and language.endswith(
                    "Trả lời 1 hoặc 2."
                )
                said = await talk(fake, lambda: fake.user_sends_text(LAN, "1"))
                assert any("Tôi đồng ý" in s for s in said)
                said = await talk(fake, lambda: fake.user_sends_text(LAN, "tôi đồng ý"))
                name = fake.user_sends_text(LAN, "Nguyễn Thị Lan")
                await wait_for(lambda: len(fake.deliveries) == 4)
                after_name = fake.texts_to(LAN.id)[-1]
            next_process = ZaloConversation(service, zalo, tz=TZ).handle
            async with served(next_process) as url:
                await zalo.set_webhook(url, SECRET)
                count = len(fake.messages_to(LAN.id))
                fake.deliver_again(name)
                await wait_for(lambda: len(fake.messages_to(LAN.id)) > count)
                again = fake.texts_to(LAN.id)[-1]
    assert "Ngày sinh" in after_name and "Ngày sinh" in again  # asked again, nothing else
    assert [d.status for d in fake.deliveries] == [200] * 5
    async with db.session() as session:
        [donor] = (await session.exec(select(Donor))).all()
    assert donor.channel == "zalo" and donor.external_id == LAN.id and donor.chat_id == LAN.id
    assert donor.full_name == "Nguyễn Thị Lan"
    async with db.session() as session:
        keys = set((await session.exec(select(HandledEvent.event_key))).all())
    assert f"message.text.received:{name['message']['message_id']}" in keys


async def test_a_picture_is_answered_with_what_the_bot_reads(
    service: ChatService,
) -> None:
    with FakeZaloApi() as fake:
        async with ZaloClient(TOKEN, base_url=fake.root_url) as zalo:
            chat = ZaloConversation(service, zalo, tz=TZ).handle
            async with served(chat) as url:
                await zalo.set_webhook(url, SECRET)
                [said] = await talk(fake, lambda: fake.user_sends_image(LAN))
    # One message (each counts against the month's quota): what the bot reads, and for someone
    # new the language question under it.
    assert "chỉ đọc được tin nhắn chữ" in said and "số của lựa chọn" in said
    assert said.index("chỉ đọc được") < said.index("1. Tiếng Việt")
