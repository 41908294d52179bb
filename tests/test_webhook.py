"""Webhook mode (issue 11): the ASGI app against the real application, chat service and database,
replies going to the fake Bot API over HTTP; /healthz; and bot.py --webhook as a process."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlmodel import select
from telegram import Bot, Update
from telegram.ext import Application, ChatMemberHandler, MessageHandler, filters
from telegram.request import HTTPXRequest

import bot
from handlers.telegram import webhook
from handlers.telegram.personal_order import PersonalOrder
from handlers.telegram.polling import poll
from handlers.telegram.transport import TelegramTransport
from handlers.telegram.update_types import update_types
from models import Donor, OutboxMessage
from models.database import Database
from models.types import utcnow
from scheduler import health, jobs
from scheduler.sender import OutboxSender
from services.chat import ChatService
from services.config import Settings, SettingsError
from tests.support.e2e import TOKEN, BotProcess, donors
from tests.support.fakebot import BOT_USER, FakeBotApi, FakeUser

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
SECRET = "k3Vq0_-ZrXw8yT2mN5pL7sA9dF4gH6jK1cB3vN8mQ0w"
HEADERS = {webhook.SECRET_HEADER: SECRET}


# ---------------------------------------------------------------- building updates


class Updates:
    """Telegram updates as JSON, with increasing ids, from people in private chats."""

    def __init__(self) -> None:
        self.ids = itertools.count(1)

    def _update(self, user: FakeUser, **content: Any) -> dict[str, Any]:
        update_id = next(self.ids)
        message = {
            "message_id": update_id,
            "from": user.as_dict(),
            "chat": user.chat(),
            "date": int(time.time()),
            **content,
        }
        return {"update_id": update_id, "message": message}

    def text(self, user: FakeUser, text: str) -> dict[str, Any]:
        content: dict[str, Any] = {"text": text}
        if text.startswith("/"):
            content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return self._update(user, **content)

    def contact(self, user: FakeUser, phone: str) -> dict[str, Any]:
        card = {"phone_number": phone, "first_name": user.first_name, "user_id": user.id}
        return self._update(user, contact=card)

    def location(self, user: FakeUser, lat: float, lon: float) -> dict[str, Any]:
        return self._update(user, location={"latitude": lat, "longitude": lon})

    def tap(self, user: FakeUser, data: str) -> dict[str, Any]:
        update_id = next(self.ids)
        shown = {  # the message with the buttons (not in the fake's record: it stays as it is)
            "message_id": 999_999,
            "from": BOT_USER,
            "chat": user.chat(),
            "date": int(time.time()),
            "text": "…",
        }
        query = {
            "id": str(update_id),
            "from": user.as_dict(),
            "message": shown,
            "chat_instance": f"ci{user.id}",
            "data": data,
        }
        return {"update_id": update_id, "callback_query": query}


def texts(server: FakeBotApi, user: FakeUser) -> list[str]:
    return [str(m.get("text", "")) for m in server.messages_to(user.id)]


# ---------------------------------------------------------------- fixtures


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    """The fake Bot API without Telegram's limits (a thousand replies in a few seconds)."""
    with FakeBotApi(rate_limits=False) as server:
        yield server


@pytest.fixture
async def telegram(fake: FakeBotApi, service: ChatService) -> AsyncIterator[Application]:
    """The real application (every handler), talking to the fake server, with the chat service."""
    settings = Settings(_env_file=None, telegram_api_base_url=fake.root_url)  # type: ignore[call-arg]
    request = HTTPXRequest(connection_pool_size=128)
    app = bot.build_application(settings, token=TOKEN, request=request)
    async with app:
        app.bot_data["chat"] = service
        yield app


@pytest.fixture
async def client(telegram: Application, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the ASGI app (POST /telegram, GET /healthz), in this process."""
    beat = health.Heartbeat()
    beat.swept()
    order = PersonalOrder(at_once=db.writers_at_once)  # as bot.py has it
    web = webhook.create_app(
        webhook.telegram_route(telegram, SECRET, order=order),
        webhook.health_route(partial(health.check, db, beat)),
    )
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot", timeout=60) as c:
        yield c


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return len((await session.exec(select(model))).all())


# ---------------------------------------------------------------- refusals


async def test_without_the_secret_nothing_is_handled(
    client: httpx.AsyncClient, fake: FakeBotApi, db: Database
) -> None:
    user = FakeUser(id=501)
    consent = Updates().tap(user, "consent:vi:yes")  # would create the donor's row
    answer = await client.post(webhook.PATH, json=consent)
    assert answer.status_code == 403
    assert await count(db, Donor) == 0 and fake.messages_to(user.id) == []
    # The same update with the secret: handled (so the refusal above was the secret's doing).
    assert (await client.post(webhook.PATH, json=consent, headers=HEADERS)).status_code == 200
    assert await count(db, Donor) == 1


@pytest.mark.parametrize(
    "given",
    [SECRET[:-1], SECRET + "x", SECRET.upper(), "", "Bí mật"],
    ids=["shorter", "longer", "case", "empty", "not ascii"],
)
async def test_a_wrong_secret_is_refused(
    client: httpx.AsyncClient, fake: FakeBotApi, given: str
) -> None:
    user = FakeUser(id=502)
    headers = {webhook.SECRET_HEADER.encode(): given.encode("utf-8")}
    answer = await client.post(webhook.PATH, json=Updates().text(user, "/start"), headers=headers)
    assert answer.status_code == 403
    assert fake.messages_to(user.id) == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", b'{"message": {}}', b'{"update_id": "7"}', "😀".encode()],
    ids=["broken", "a list", "no update_id", "id not a number", "not json at all"],
)
async def test_a_body_that_is_no_update_is_a_400(client: httpx.AsyncClient, body: bytes) -> None:
    answer = await client.post(
        webhook.PATH, content=body, headers={**HEADERS, "content-type": "application/json"}
    )
    assert answer.status_code == 400


async def test_a_body_over_a_megabyte_is_a_413(client: httpx.AsyncClient, fake: FakeBotApi) -> None:
    user = FakeUser(id=503)
    update = Updates().text(user, "/start")
    update["padding"] = "x" * (3 * webhook.MAX_BODY)  # three times the limit
    body = json.dumps(update).encode()
    answer = await client.post(webhook.PATH, content=body, headers=HEADERS)
    assert answer.status_code == 413

    # Without a Content-Length (chunked): the reading stops past the limit.
    read: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            read.append(start)
            yield body[start : start + 64 * 1024]

    answer = await client.post(webhook.PATH, content=chunks(), headers=HEADERS)
    assert answer.status_code == 413
    assert len(read) <= webhook.MAX_BODY // (64 * 1024) + 1 < len(body) // (64 * 1024)
    assert fake.messages_to(user.id) == []


# ---------------------------------------------------------------- handling


async def test_start_is_answered_before_the_200(
    client: httpx.AsyncClient, fake: FakeBotApi
) -> None:
    user = FakeUser(id=504)
    answer = await client.post(webhook.PATH, json=Updates().text(user, "/start"), headers=HEADERS)
    assert answer.status_code == 200
    # The reply is at Telegram by the time the 200 is sent: nothing is left to lose.
    [question] = fake.messages_to(user.id)
    buttons = [b["callback_data"] for b in question["reply_markup"]["inline_keyboard"][0]]
    assert buttons == ["lang:vi", "lang:en"]


async def test_a_repeated_delivery_is_answered_once(
    client: httpx.AsyncClient, fake: FakeBotApi
) -> None:
    user = FakeUser(id=505)
    updates = Updates()
    start = updates.text(user, "/start")
    for _ in range(2):
        assert (await client.post(webhook.PATH, json=start, headers=HEADERS)).status_code == 200
    assert len(fake.messages_to(user.id)) == 1
    # Delivered again while the first delivery is being handled: one answer too.
    tap = updates.tap(user, "lang:vi")
    answers = await asyncio.gather(
        *(client.post(webhook.PATH, json=tap, headers=HEADERS) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert len(fake.messages_to(user.id)) == 2


async def test_a_repeat_after_a_restart_is_recognised_by_the_chat_service(
    telegram: Application, fake: FakeBotApi, db: Database
) -> None:
    """A new process remembers no update id: the donor's last handled id makes the repeat
    harmless (the open question is asked again, the answer is not applied twice)."""
    user = FakeUser(id=506)
    updates = Updates()
    flow = [updates.text(user, "/start"), updates.tap(user, "lang:vi")]
    flow += [updates.tap(user, "consent:vi:yes"), name := updates.text(user, "Nguyễn Thị Hồng")]
    for process in range(2):  # the first process, then "after a restart" the repeat of the name
        web = webhook.create_app(webhook.telegram_route(telegram, SECRET))
        transport = httpx.ASGITransport(app=web)
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as c:
            for update in flow if process == 0 else [name]:
                assert (await c.post(webhook.PATH, json=update, headers=HEADERS)).status_code == 200
    said = texts(fake, user)
    assert "Ngày sinh" in said[-2] and "Ngày sinh" in said[-1]  # asked again, nothing else
    assert await count(db, Donor) == 1


async def all_donors(db: Database) -> list[Donor]:
    async with db.session() as session:
        return list((await session.exec(select(Donor))).all())


def registration(updates: Updates, user: FakeUser) -> list[dict[str, Any]]:
    """Ten updates that walk a person from /start to the blood group question."""
    return [
        updates.text(user, "/start"),
        updates.tap(user, "lang:vi"),
        updates.tap(user, "consent:vi:yes"),
        updates.text(user, "Nguyễn Thị Hồng"),
        updates.text(user, "5/8/98"),
        updates.tap(user, "sex:female"),
        updates.contact(user, f"849{user.id:08d}"),
        updates.location(user, 21.0285, 105.8542),
        updates.text(user, "ha dong hn"),
        updates.tap(user, "ward:01:09556"),
    ]


# What each person must see, in this order (a marker of each step's question).
STEPS = [
    "chọn ngôn ngữ",  # the language question
    "91/2025/QH15",  # the consent text
    "Họ và tên",
    "Ngày sinh",
    "Giới tính",
    '"request_location": true',  # after the phone: where do you live?
    "ward:01:",  # the wards near the shared location
    "ward:01:09556",  # the wards matching "ha dong hn"
    "Nhóm máu",  # after the ward: the blood group
]


def in_order(messages: list[dict[str, Any]]) -> bool:
    """Whether the step markers appear one after the other in the person's messages."""
    shown = [json.dumps(m, ensure_ascii=False) for m in messages]
    position = 0
    for marker in STEPS:
        while position < len(shown) and marker not in shown[position]:
            position += 1
        if position == len(shown):
            return False
        position += 1
    return True


async def test_a_hundred_people_ten_updates_each_all_at_once(
    client: httpx.AsyncClient, fake: FakeBotApi, db: Database
) -> None:
    updates = Updates()
    people = [FakeUser(id=10_000 + i, first_name="Hồng") for i in range(100)]
    walks = [registration(updates, person) for person in people]
    # Interleaved: everyone's first update, then everyone's second…, all in flight at once.
    posts = [
        client.post(webhook.PATH, json=walk[step], headers=HEADERS)
        for step in range(10)
        for walk in walks
    ]
    answers = await asyncio.gather(*posts)
    assert {a.status_code for a in answers} == {200}
    # Twelve messages each (the phone and the ward are answered with two: a reply keyboard goes
    # with the first, the next question's buttons come with the second), every step's in place.
    wrong = [
        p.id
        for p in people
        if len(fake.messages_to(p.id)) != 12 or not in_order(fake.messages_to(p.id))
    ]
    assert wrong == []
    assert await count(db, Donor) == 100


async def test_polling_too_handles_a_hundred_people_at_once_each_in_order(
    telegram: Application, fake: FakeBotApi, db: Database
) -> None:
    updates = Updates()
    people = [FakeUser(id=20_000 + i, first_name="Hồng") for i in range(100)]
    walks = [registration(updates, person) for person in people]
    for step in range(10):  # interleaved in Telegram's queue, as they would arrive
        for walk in walks:
            fake._push({k: v for k, v in walk[step].items() if k != "update_id"})
    stop = asyncio.Event()
    polling = asyncio.create_task(poll(telegram, stop, PersonalOrder(at_once=db.writers_at_once)))
    deadline = time.monotonic() + 120
    for _ in range(600):  # the replies arrive at the fake server's thread: look every 0.2 s
        if sum(len(fake.messages_to(p.id)) for p in people) >= 1200 or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    stop.set()
    await polling
    wrong = [
        p.id
        for p in people
        if len(fake.messages_to(p.id)) != 12 or not in_order(fake.messages_to(p.id))
    ]
    assert wrong == []
    assert await count(db, Donor) == 100


class _Slow:
    """A stand-in application whose handling of an update takes a while and is recorded."""

    def __init__(self) -> None:
        self.running: dict[int, int] = {}
        self.overlap_same_person = False
        self.most_at_once = 0
        self.seen: list[tuple[int, int]] = []

    async def process_update(self, update: Update) -> None:
        assert update.effective_user is not None
        who = update.effective_user.id
        self.running[who] = self.running.get(who, 0) + 1
        self.overlap_same_person |= self.running[who] > 1
        self.most_at_once = max(self.most_at_once, sum(self.running.values()))
        await asyncio.sleep(0.01)
        self.seen.append((who, update.update_id))
        self.running[who] -= 1


async def test_personal_order_keeps_each_person_in_line_and_forgets_idle_locks() -> None:
    order = PersonalOrder()
    slow = _Slow()
    updates = Updates()
    people = [FakeUser(id=i) for i in range(1, 21)]
    batch = [
        Update.de_json(updates.text(person, f"m{step}"), None)
        for step in range(5)
        for person in people
    ]
    app = cast(Application, slow)
    await asyncio.gather(*(order.process(app, update) for update in batch))
    assert not slow.overlap_same_person and slow.most_at_once > 1  # people ran side by side
    for person in people:
        mine = [uid for who, uid in slow.seen if who == person.id]
        assert mine == sorted(mine)
    assert len(order) == 0  # nobody waits: no lock is kept

    # Bounded (SQLite: one at a time), the order per person holds all the same.
    bounded, slow = PersonalOrder(at_once=3), _Slow()
    await asyncio.gather(*(bounded.process(cast(Application, slow), u) for u in batch))
    assert slow.most_at_once == 3 and not slow.overlap_same_person
    for person in people:
        mine = [uid for who, uid in slow.seen if who == person.id]
        assert mine == sorted(mine)


# ---------------------------------------------------------------- update types


async def test_telegram_is_asked_for_what_the_handlers_take(telegram: Application) -> None:
    assert update_types(telegram) == ["callback_query", "edited_message", "message"]
    # The list follows the handlers: one taking any text would take channel posts too.
    telegram.add_handler(MessageHandler(filters.TEXT, lambda u, c: None), group=5)  # type: ignore[arg-type, return-value]
    assert {"channel_post", "business_message"} <= set(update_types(telegram))
    telegram.add_handler(ChatMemberHandler(lambda u, c: None), group=6)  # type: ignore[arg-type, return-value]
    with pytest.raises(TypeError, match="ChatMemberHandler"):
        update_types(telegram)


# ---------------------------------------------------------------- /healthz


async def test_healthz_is_200_when_all_is_well(client: httpx.AsyncClient) -> None:
    answer = await client.get(webhook.HEALTH_PATH)
    assert answer.status_code == 200
    body = answer.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["outbox"] == {
        "ok": True,
        "pending": 0,
        "due": 0,
        "oldest_due_seconds": None,
    }


async def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    gone = Database(f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/nothing")
    beat = health.Heartbeat()
    beat.swept()
    web = webhook.create_app(webhook.health_route(partial(health.check, gone, beat)))
    transport = httpx.ASGITransport(app=web)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as c:
        answer = await c.get(webhook.HEALTH_PATH)
    await gone.dispose()
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert checks["database"]["ok"] is False and "error" in checks["database"]
    assert checks["outbox"]["ok"] is False


async def queue(db: Database, waited: timedelta, n: int = 1) -> None:
    async with db.session() as session:
        for i in range(n):
            session.add(OutboxMessage(chat_id=str(i), text="…", not_before=utcnow() - waited))


async def test_healthz_judges_the_sweeps_and_the_sender(db: Database) -> None:
    beat = health.Heartbeat()
    assert (await health.check(db, beat)).ok  # just started: nothing is late yet

    beat.started_at = utcnow() - timedelta(minutes=4)  # no reminder pass in four minutes
    report = await health.check(db, beat)
    assert not report.ok and not report.checks["sweeps"]["ok"]
    beat.swept()
    assert (await health.check(db, beat)).ok

    # A message waiting for ten minutes while the sender, up for longer, sent nothing: stuck.
    beat.started_at = utcnow() - timedelta(minutes=20)
    beat.swept()
    await queue(db, timedelta(minutes=10), n=3)
    report = await health.check(db, beat)
    assert not report.checks["sender"]["ok"]
    assert report.checks["outbox"]["pending"] == 3 and report.checks["outbox"]["due"] == 3
    assert report.checks["outbox"]["oldest_due_seconds"] >= 600
    # A long broadcast that is moving: the oldest row is old, but messages go out.
    beat.sent()
    assert (await health.check(db, beat)).ok
    # Failing for six minutes (Telegram answers 5xx), messages waiting: failing.
    beat.sent_at = utcnow() - timedelta(minutes=6)
    beat.failing_since = utcnow() - timedelta(minutes=6)
    report = await health.check(db, beat)
    assert not report.ok and report.checks["sender"]["failing_for_seconds"] >= 360
    body = json.dumps(report.as_json())
    assert "…" not in body and '"chat' not in body  # counts and ages only


async def test_messages_waiting_for_later_are_no_backlog(db: Database) -> None:
    """Rows held for the quiet hours are pending but not due: no alarm."""
    await queue(db, -timedelta(hours=8), n=2)
    beat = health.Heartbeat(started_at=utcnow() - timedelta(hours=1))
    beat.swept()
    report = await health.check(db, beat)
    assert report.ok
    assert report.checks["outbox"]["pending"] == 2 and report.checks["outbox"]["due"] == 0


class _Noted(health.Heartbeat):
    """A heartbeat that also lists what it was told."""

    def __init__(self) -> None:
        super().__init__()
        self.events: list[str] = []

    def swept(self) -> None:
        self.events.append("swept")
        super().swept()

    def sent(self) -> None:
        self.events.append("sent")
        super().sent()

    def send_failed(self) -> None:
        self.events.append("failed")
        super().send_failed()


async def test_the_sweep_and_the_sender_beat(
    service: ChatService, db: Database, fake: FakeBotApi
) -> None:
    beat = _Noted()
    await jobs.sweep_reminders(service, beat)
    assert beat.events == ["swept"] and beat.swept_at is not None

    # A 502, then the retry goes through: failing from the first failure until the success.
    async with db.session() as session:
        session.add(OutboxMessage(chat_id="77", text="Thông báo"))
    fake.fail_next("sendMessage", 502, "Bad Gateway")
    sender_bot = Bot(TOKEN, base_url=fake.base_url)
    sender = OutboxSender(db, TelegramTransport(sender_bot), tz=TZ, idle_poll=0.1, heartbeat=beat)
    stop = asyncio.Event()
    async with sender_bot:
        running = asyncio.create_task(sender.run(stop))
        for _ in range(100):
            if beat.sent_at is not None:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await running
    assert beat.events[1:] == ["failed", "sent"] and beat.failing_since is None
    assert [m["text"] for m in fake.messages_to(77)] == ["Thông báo"]


# ---------------------------------------------------------------- settings


def test_webhook_settings_are_checked() -> None:
    ok = Settings(
        _env_file=None,  # type: ignore[call-arg]
        webhook_url="https://bot.example.org/telegram",
        webhook_secret=SECRET,
        telegram_bot_token=TOKEN,
    )
    assert ok.require_webhook() == ("https://bot.example.org/telegram", SECRET)
    assert ok.listen_address == ("127.0.0.1", 8080)
    assert Settings(_env_file=None, webhook_listen="[::1]:9000").listen_address == ("::1", 9000)  # type: ignore[call-arg]
    with pytest.raises(SettingsError, match="WEBHOOK_SECRET"):
        Settings(
            _env_file=None, telegram_bot_token=TOKEN, webhook_url="https://a.org/t"
        ).require_webhook()  # type: ignore[call-arg]
    bad: list[dict[str, str]] = [
        {"webhook_url": "http://bot.example.org/telegram"},  # Telegram posts only to https
        {"webhook_url": "https://bot.example.org:8080/telegram"},  # nor to that port
        {"webhook_secret": "short"},
        {"webhook_secret": "x" * 40 + "!"},
        {"webhook_listen": "8080"},
        {"webhook_listen": "127.0.0.1:99999"},
    ]
    for values in bad:
        with pytest.raises(ValueError):
            Settings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


# ---------------------------------------------------------------- bot.py --webhook


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def webhook_bot(
    fake: FakeBotApi, database_url: str, tmp_path: Path
) -> Iterator[tuple[BotProcess, str]]:
    port = free_port()
    env = {
        "WEBHOOK_URL": "https://bot.example.org/telegram",
        "WEBHOOK_SECRET": SECRET,
        "WEBHOOK_LISTEN": f"127.0.0.1:{port}",
    }
    process = BotProcess(
        fake, database_url, tmp_path / "bot.log", extra_env=env, args=["--webhook"]
    )
    process.start()
    yield process, f"http://127.0.0.1:{port}"
    process.stop()


def post(base: str, update: dict[str, Any], headers: dict[str, str] = HEADERS) -> int:
    """POST an update to the bot, waiting for its port to accept connections."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return httpx.post(
                f"{base}{webhook.PATH}", json=update, headers=headers, timeout=30
            ).status_code
        except httpx.ConnectError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_bot_py_webhook_end_to_end(
    webhook_bot: tuple[BotProcess, str], fake: FakeBotApi, database_url: str
) -> None:
    process, base = webhook_bot
    [(method, params)] = fake.webhook_calls
    assert method == "setWebhook" and params["url"] == "https://bot.example.org/telegram"
    assert params["secret_token"] == SECRET
    assert params["allowed_updates"] == ["callback_query", "edited_message", "message"]
    assert params["drop_pending_updates"] is False

    user = FakeUser(id=601)
    updates = Updates()
    assert post(base, updates.text(user, "/start"), headers={}) == 403
    assert post(base, updates.text(user, "/start")) == 200
    [question] = fake.messages_to(user.id)
    assert "lang:vi" in json.dumps(question)
    assert post(base, updates.tap(user, "lang:vi")) == 200
    assert post(base, updates.tap(user, "consent:vi:yes")) == 200
    assert "Họ và tên" in texts(fake, user)[-1]
    assert len(donors(database_url)) == 1

    healthz = httpx.get(f"{base}{webhook.HEALTH_PATH}", timeout=10)
    assert healthz.status_code == 200 and healthz.json()["status"] == "ok"

    # SIGTERM while an update is being handled (Telegram answers slowly): it finishes, gets
    # its 200, and the process exits cleanly without deleting the webhook.
    fake.latency = 1.0
    statuses: list[int] = []
    name = updates.text(user, "Nguyễn Thị Hồng")
    sending = threading.Thread(target=lambda: statuses.append(post(base, name)))
    sending.start()
    fake.wait_until(lambda s: s.stats.calls["sendMessage"] >= 4, timeout=10)  # the name's
    process.stop()
    sending.join(30)
    assert statuses == [200]
    assert "Ngày sinh" in texts(fake, user)[-1]
    assert process.proc is not None and process.proc.returncode == 0
    assert [m for m, _ in fake.webhook_calls] == ["setWebhook"]  # no deleteWebhook on the way out
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}{webhook.HEALTH_PATH}", timeout=5)


def test_webhook_mode_without_its_settings_says_what_is_missing(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": TOKEN, "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, str(Path(bot.__file__)), "--webhook"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "WEBHOOK_URL" in done.stderr and "WEBHOOK_SECRET" in done.stderr
    assert "secrets.token_urlsafe" in done.stderr


def test_polling_after_webhook_mode_takes_the_webhook_down(
    fake: FakeBotApi, database_url: str, tmp_path: Path
) -> None:
    """Telegram refuses getUpdates while a webhook is set; the polling runner removes it first
    (keeping the updates Telegram holds)."""
    fake.webhook = {"url": "https://bot.example.org/telegram"}
    process = BotProcess(fake, database_url, tmp_path / "bot.log")
    process.start()
    try:
        assert fake.webhook is None
        assert fake.webhook_calls == [("deleteWebhook", {"drop_pending_updates": False})]
    finally:
        process.stop()
