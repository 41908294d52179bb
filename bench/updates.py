"""Benchmark: the real bot.py against the fake Telegram Bot API, many people at once.

The bot runs as its own process (python bot.py, polling; or bot.py --webhook, with this script
playing Telegram and POSTing every update to the bot's /telegram on up to --connections
connections at once, 40 being Telegram's default max_connections), on SQLite and on
PostgreSQL. The fake server (tests/support/fakebot) plays the people and, where the scenario
says so, enforces Telegram's 30 messages per second in total with a 429 as Telegram does.

Scenarios (the issue's sizes by default):

- taps (limits on): 200 registered people, each shown "/eligibility"'s first question, tap a
  button at once; goal: every one answered within 7 s (30 sends/s makes 200 take 6.7 s).
- arrivals (limits on): 300 people arriving evenly over 60 s, each: /start, the language, the
  consent, then two registration steps (name, date of birth), ~1 s think time between steps;
  goal: p99 < 500 ms, 0 unanswered, 0 429s.
- capacity (limits off, TELEGRAM_MAX_RATE=1000, its most): 1,000 new people send /start at once, then 200
  registered people tap at once; goal: ≥ 300 updates/s, p99 < 2 s, ≤ 3 ms bot CPU per update.
- broadcast (limits on): a 10,000-recipient broadcast (one row, expanded by the bot's sender)
  goes out while 100 registered people chat (a question every --chat-every seconds each); goal:
  their p99 < 1 s, 0 429s, never more than 30 sends in a sliding second, and the broadcast gets
  ≥ 0.9 of what the budget leaves (30/s less the replies' rate).

    .venv/bin/python bench/updates.py                                  # everything (long)
    .venv/bin/python bench/updates.py --quick                          # small sizes, a smoke run
    .venv/bin/python bench/updates.py --mode polling --backend sqlite --scenario taps,arrivals

A reply is the first new message the bot sends to that chat after the update was made (for a
webhook: made, not posted; its wait for a connection counts). The edit that closes a tapped
keyboard comes before it and is not counted as the answer; a step waits for all the
messages it expects before the person thinks and goes on. updates/s = the phase's updates / the
time from its first update to its last reply. Bot CPU is the bot process's utime + stime
(/proc/<pid>/stat) over the phase ("bot %": of one core over the phase's time, "sys": the kernel's
share of it; in the broadcast row it includes the sender's work); bench CPU is this process's
(the fake server and the players), to tell when the fake server is the bottleneck
(--fake-capacity measures it alone). msg/u, edit/u, calls/u: the bot's new messages, text edits
and Bot API calls per update. Peak MB is the bot's VmHWM.

PostgreSQL: TEST_DATABASE_URL (or --pg) names a server database; a scratch database is created
next to it for each run and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import select  # noqa: E402

import services.outreach.broadcast  # noqa: E402, F401  (declares the notice's message kind)
from models import Donor, Follow  # noqa: E402
from models.database import Database, make_engine  # noqa: E402
from models.migrate import upgrade_database  # noqa: E402
from services.donors.consent import CONSENT_VERSION  # noqa: E402
from services.outreach import notify  # noqa: E402
from services.outreach.audiences import FOLLOWERS, Audience  # noqa: E402
from services.outreach.messages import Message  # noqa: E402
from tests.support.e2e import BotProcess  # noqa: E402
from tests.support.fakebot import FakeBotApi, FakeUser  # noqa: E402

DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
TELEGRAM_RATE = 30  # messages per second in total: Telegram's limit, the fake server's when on
WEBHOOK_PATH = "/telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Each scenario's people have ids of their own (they are also their chat ids).
TAPPERS = 7_000_000
ARRIVING = 7_100_000
STARTING = 7_200_000
CHATTERS = 7_400_000
FOLLOWERS_FROM = 10_000_000
WARD = ("01", "09556")  # Phường Hà Đông, Hà Nội: the broadcast's followers'
HOME = ("01", "00004")  # Phường Ba Đình: the other registered people's (not in the audience)
NOTICE = Message(
    "outreach.broadcast",
    {
        "data": {"text": "🩸 Chủ nhật Đỏ: hiến máu tại Nhà văn hoá phường, 7:30–11:30."},
        "broadcast_id": 0,
    },
)
# What the chatting people ask: questions the FAQ answers, and small talk.
CHAT_LINES = (
    "Hiến máu có đau không?",
    "Sau khi hiến tiểu cầu bao lâu thì được hiến máu toàn phần?",
    "Bao nhiêu tuổi thì được hiến máu?",
    "Hiến máu xong nên ăn gì?",
    "cảm ơn",
    "Nặng bao nhiêu kg thì được hiến máu?",
)


# -- measuring the bot process ---------------------------------------------------------------


def cpu_seconds(pid: int) -> tuple[float, float]:
    """utime and stime of a process (all its threads), from /proc/<pid>/stat."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0, 0.0
    fields = stat.rsplit(")", 1)[1].split()
    # After the command: state is field 3; utime and stime are fields 14 and 15.
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident memory so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (0 when there are none)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def max_in_a_second(times: list[float]) -> int:
    """The most timestamps that fall in any sliding window of one second."""
    ordered = sorted(times)
    most = start = 0
    for end, t in enumerate(ordered):
        while t - ordered[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


# -- databases ---------------------------------------------------------------------------------


async def _admin(url: str, sql: str) -> None:
    engine = make_engine(url)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


@contextmanager
def database(backend: str, pg: str, workdir: Path) -> Iterator[str]:
    """A fresh database for one run: a file in the run's folder, or a scratch PostgreSQL one."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        return
    name = f"hm_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _donor_row(person: int, now: datetime, profile: bool) -> dict[str, Any]:
    """A registered donor; with `profile`, every field registration asks for (else as
    bench/broadcast.py's followers: only what a broadcast reads)."""
    row: dict[str, Any] = {
        "channel": "telegram",
        "external_id": str(person),
        "chat_id": str(person),
        "locale": "vi",
        "consent_version": CONSENT_VERSION,
        "consented_at": now,
        "registered_at": now,
        "created_at": now,
        "updated_at": now,
    }
    if profile:
        row.update(
            full_name=f"Người Thử {person % 100_000}",
            date_of_birth=date(1990 + person % 15, 1 + person % 12, 1 + person % 28),
            sex="female" if person % 2 else "male",
            phone_e164=f"+8491{person % 10_000_000:07d}",
            province_code=HOME[0],
            ward_code=HOME[1],
            blood_group="O+",
            last_donation_kind="never",
        )
    return row


async def seed(url: str, registered: list[int], followers: list[int]) -> None:
    """Migrate; add registered people (Ba Đình), and followers of Hà Đông (bulk inserts)."""
    db = Database(url)
    try:
        await upgrade_database(db.engine)
        now = datetime.now(UTC)
        async with db.session() as session:
            for group, profile in ((registered, True), (followers, False)):
                for start in range(0, len(group), 5000):
                    rows = [_donor_row(p, now, profile) for p in group[start : start + 5000]]
                    await session.exec(insert(Donor), params=rows)
            if followers:
                found = (await session.exec(select(Donor.id, Donor.external_id))).all()
                ids = [i for i, person in found if int(person) >= FOLLOWERS_FROM]
                for start in range(0, len(ids), 5000):
                    follows = [
                        {"donor_id": i, "province_code": WARD[0], "ward_code": WARD[1]}
                        for i in ids[start : start + 5000]
                    ]
                    await session.exec(insert(Follow), params=follows)
    finally:
        await db.dispose()


async def announce(url: str) -> int:
    """The broadcast to the ward's followers, queued as an author's transaction does."""
    db = Database(url)
    try:
        async with db.session() as session:
            audience = Audience(FOLLOWERS, {"province": WARD[0], "wards": [WARD[1]]})
            broadcast = await notify.announce(
                session, audience, NOTICE, kind="broadcast", author="bench", scope="bench"
            )
            return broadcast.total
    finally:
        await db.dispose()


# -- playing the people ------------------------------------------------------------------------


@dataclass
class Waiting:
    """A person waiting for the bot's answer to their update."""

    since: float
    expect: int
    done: asyncio.Future[None]
    times: list[float] = field(default_factory=list)


@dataclass
class Counter:
    """What a phase measured."""

    latencies: list[float] = field(default_factory=list)
    updates: int = 0
    unanswered: int = 0
    first: float | None = None
    last: float | None = None

    def note(self, since: float, answered: float | None) -> None:
        self.updates += 1
        self.first = since if self.first is None else min(self.first, since)
        if answered is None:
            self.unanswered += 1
            return
        self.latencies.append(answered - since)
        self.last = answered if self.last is None else max(self.last, answered)


class Players:
    """Makes people's updates, hands them to the bot (polling or webhook) and times the replies."""

    def __init__(
        self,
        server: FakeBotApi,
        loop: asyncio.AbstractEventLoop,
        timeout: float,
        webhook: tuple[str, int, str, str] | None,
        connections: int,
    ) -> None:
        self.server = server
        self.loop = loop
        self.timeout = timeout
        self.waiting: dict[str, Waiting] = {}
        self.webhook = webhook
        self.connections = connections
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.webhook_errors = 0
        self._posters: list[asyncio.Task[None]] = []
        server.on_send = self._sent_elsewhere

    def _sent_elsewhere(self, now: float, chat: str, kind: str) -> None:
        """The fake server's threads: hand each new message to the event loop (cheaply).

        Text edits are not answers: after a tap the bot edits the question to close its
        keyboard (showing the choice) before it sends the answer."""
        if kind == "message" and chat in self.waiting:
            self.loop.call_soon_threadsafe(self._arrived, now, chat)

    def _arrived(self, now: float, chat: str) -> None:
        waiting = self.waiting.get(chat)
        if waiting is None or now < waiting.since or waiting.done.done():
            return
        waiting.times.append(now)
        if len(waiting.times) >= waiting.expect:
            waiting.done.set_result(None)

    async def __aenter__(self) -> Players:
        if self.webhook is not None:
            self.server.on_update = self._made
            self._posters = [
                asyncio.create_task(self._post_updates()) for _ in range(self.connections)
            ]
        return self

    def _made(self, update: dict[str, Any]) -> None:
        """A person's update, in webhook mode: queued for Telegram's connections."""
        self.loop.call_soon_threadsafe(self.queue.put_nowait, update)

    async def __aexit__(self, *exc: object) -> None:
        self.server.on_update = None
        for task in self._posters:
            task.cancel()
        await asyncio.gather(*self._posters, return_exceptions=True)

    async def _post_updates(self) -> None:
        """One of Telegram's connections: POST an update, wait for the bot's answer, repeat.

        Plain HTTP/1.1 with keep-alive on asyncio streams: an HTTP client library would cost
        this process more CPU per update than the fake server does, at hundreds a second."""
        assert self.webhook is not None
        host, port, path, secret = self.webhook
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\n{SECRET_HEADER}: {secret}\r\n"
        )
        connection: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        while True:
            update = await self.queue.get()
            body = json.dumps(update, ensure_ascii=False).encode()
            request = f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body
            attempts = 0
            while attempts < 3:  # Telegram tries again when the answer is not a 200
                reused = connection is not None
                try:
                    if connection is None:
                        connection = await asyncio.open_connection(host, port)
                    status, keep = await _exchange(*connection, request)
                    if not keep:
                        connection[1].close()
                        connection = None
                    if status == 200:
                        break
                except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
                    if connection is not None:
                        connection[1].close()
                    connection = None
                    if reused:
                        continue  # the bot closed an idle keep-alive connection: a new one, now
                attempts += 1
                self.webhook_errors += 1
                await asyncio.sleep(0.5 * attempts)

    async def step(
        self, user: FakeUser, action: str, value: str, expect: int, counter: Counter
    ) -> bool:
        """One update (typed text or a tap), then wait for `expect` messages; False if none."""
        chat = str(user.id)
        waiting = Waiting(time.monotonic(), expect, self.loop.create_future())
        self.waiting[chat] = waiting
        try:
            if action == "tap":
                self.server.user_presses(user, value, timeout=0.0)
            else:
                self.server.user_sends_text(user, value)
        except AssertionError:  # the button to tap is not on screen
            del self.waiting[chat]
            counter.note(waiting.since, None)
            return False
        try:
            await asyncio.wait_for(waiting.done, self.timeout)
        except TimeoutError:
            pass
        finally:
            del self.waiting[chat]
        counter.note(waiting.since, waiting.times[0] if waiting.times else None)
        return len(waiting.times) >= expect


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bool]:
    """Send one request; read the answer. Returns its status and whether the connection stays."""
    writer.write(request)
    await writer.drain()
    status = int((await reader.readline()).split()[1])
    length, keep = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
        elif name.strip().lower() == "connection" and value.strip().lower() == "close":
            keep = False
    if length:
        await reader.readexactly(length)
    return status, keep


def has_button(server: FakeBotApi, chat: int, data: str) -> bool:
    """Whether the bot's messages to a chat show an inline button with this callback data."""
    with server.lock:
        for message in server.sent[str(chat)]:
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                if any(b.get("callback_data") == data for b in row):
                    return True
    return False


async def settle(server: FakeBotApi, quiet: float = 1.0, longest: float = 60.0) -> None:
    """Wait until the bot sent nothing for `quiet` seconds (what it queued went out)."""
    deadline = time.monotonic() + longest
    while time.monotonic() < deadline:
        with server.lock:
            last = server.stats.sends[-1][0] if server.stats.sends else 0.0
        if time.monotonic() - last >= quiet:
            return
        await asyncio.sleep(0.2)


# -- one run: a bot process, a fake server, one scenario ------------------------------------


@dataclass
class Row:
    """One line of a table."""

    scenario: str
    mode: str
    backend: str
    step: str
    counter: Counter
    too_many: int
    bot_cpu: float
    bench_cpu: float
    peak_mb: float
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        c = self.counter
        return (c.last - c.first) if c.first is not None and c.last is not None else 0.0

    @property
    def rate(self) -> float:
        return self.counter.updates / self.seconds if self.seconds else 0.0

    def p(self, q: float) -> float:
        return percentile(self.counter.latencies, q) * 1000


@dataclass
class Sizes:
    """How many of everything (the issue's numbers unless told)."""

    taps: int
    arrivals: int
    arrival_seconds: float
    think: float
    starts: int
    capacity_taps: int
    recipients: int
    chatters: int
    chat_every: float
    chat_seconds: float


def merged(counters: list[Counter]) -> Counter:
    """Several steps' counters as one."""
    firsts = [c.first for c in counters if c.first is not None]
    lasts = [c.last for c in counters if c.last is not None]
    return Counter(
        latencies=[x for c in counters for x in c.latencies],
        updates=sum(c.updates for c in counters),
        unanswered=sum(c.unanswered for c in counters),
        first=min(firsts) if firsts else None,
        last=max(lasts) if lasts else None,
    )


Play = Callable[[dict[str, Counter]], Awaitable[dict[str, float] | None]]


@dataclass
class Live:
    """One run's fake server, bot.py and players, inside the event loop."""

    scenario: str
    mode: str
    backend: str
    server: FakeBotApi
    bot: BotProcess
    players: Players

    async def measure(self, label: str, play: Play) -> list[Row]:
        """Run `play` with the bot's and this process's CPU and the 429s read around it: a row
        for the whole phase (`label`), then one per step when it has several."""
        assert self.bot.proc is not None
        pid = self.bot.proc.pid
        counters: dict[str, Counter] = {}
        too_many = self.server.stats.too_many_requests
        cpu, mine = cpu_seconds(pid), time.process_time()
        refused = self.players.webhook_errors
        with self.server.lock:
            seen = len(self.server.stats.sends)
            calls = sum(self.server.stats.calls.values())
        extra = await play(counters) or {}
        (user, system), bench_cpu = cpu_seconds(pid), time.process_time() - mine
        bot_user, bot_system = user - cpu[0], system - cpu[1]
        bot_cpu = bot_user + bot_system
        extra["webhook errors"] = float(self.players.webhook_errors - refused)
        whole = merged(list(counters.values()))
        n = max(whole.updates, 1)
        # What each update cost of Telegram's budget: new messages and edits to the people who
        # spoke (a broadcast's are left out), both of which PTB's AIORateLimiter counts.
        with self.server.lock:
            sends = self.server.stats.sends[seen:]
            extra["calls/u"] = (sum(self.server.stats.calls.values()) - calls) / n
        extra["bot cpu s"], extra["bench cpu s"] = bot_cpu, bench_cpu
        extra["bot sys"] = bot_system / bot_cpu if bot_cpu else 0.0
        ours = [kind for _t, chat, kind in sends if int(chat) < FOLLOWERS_FROM]
        extra["msg/u"] = ours.count("message") / n
        extra["edit/u"] = ours.count("edit") / n
        row = Row(
            self.scenario,
            self.mode,
            self.backend,
            label,
            whole,
            self.server.stats.too_many_requests - too_many,
            bot_cpu * 1000 / n,
            bench_cpu * 1000 / n,
            peak_rss_mb(pid),
            extra,
        )
        rows = [row]
        if len(counters) > 1:
            for step, counter in counters.items():
                rows.append(
                    Row(
                        self.scenario, self.mode, self.backend, f"  {step}", counter, -1, -1, -1, -1
                    )
                )
        return rows


@asynccontextmanager
async def live(
    args: argparse.Namespace,
    scenario: str,
    mode: str,
    backend: str,
    url: str,
    workdir: Path,
    extra_env: dict[str, str] | None = None,
) -> AsyncIterator[Live]:
    """The fake server (limits off until the scenario turns them on) and bot.py against it."""
    env = {"PSEUDONYM_KEY": "bench-" + "k" * 32, "LOG_LEVEL": args.log_level, **(extra_env or {})}
    webhook: tuple[str, int, str, str] | None = None
    if mode == "webhook":
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        secret = secrets.token_urlsafe(32)
        env.update(
            WEBHOOK_URL="https://bench.invalid/telegram",  # the fake server never posts to it
            WEBHOOK_SECRET=secret,
            WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        )
        webhook = ("127.0.0.1", port, WEBHOOK_PATH, secret)
    with FakeBotApi(rate_limits=False) as server:
        bot = BotProcess(
            server,
            url,
            workdir / f"bot-{scenario}-{mode}-{backend}.log",
            extra_env=env,
            args=["--webhook"] if mode == "webhook" else [],
        )
        await asyncio.to_thread(bot.start)
        try:
            loop = asyncio.get_running_loop()
            async with Players(server, loop, args.timeout, webhook, args.connections) as players:
                yield Live(scenario, mode, backend, server, bot, players)
        finally:
            await asyncio.to_thread(bot.stop)


async def show_first_question(players: Players, people: list[FakeUser]) -> None:
    """Each registered person opens /eligibility (not measured): its buttons are on screen."""
    ignored = Counter()
    await asyncio.gather(*(players.step(u, "text", "/eligibility", 2, ignored) for u in people))
    missing = [u.id for u in people if not has_button(players.server, u.id, "ekind:whole_blood")]
    if missing:
        raise SystemExit(f"/eligibility showed no ekind:whole_blood button to {missing[:5]}")


def taps_at_once(players: Players, people: list[FakeUser], step: str) -> Play:
    """Everyone taps "whole blood" at the same moment; the answer is one message each."""

    async def play(counters: dict[str, Counter]) -> None:
        counter = counters.setdefault(step, Counter())
        await asyncio.gather(
            *(players.step(u, "tap", "ekind:whole_blood", 1, counter) for u in people)
        )

    return play


def starts_at_once(players: Players, people: list[FakeUser], step: str) -> Play:
    """Everyone new sends /start at the same moment; the answer is the language question."""

    async def play(counters: dict[str, Counter]) -> None:
        counter = counters.setdefault(step, Counter())
        await asyncio.gather(*(players.step(u, "text", "/start", 1, counter) for u in people))

    return play


# name, what the person does, with what, how many messages the bot answers with
REGISTRATION = (
    ("/start", "text", "/start", 1),
    ("language", "tap", "lang:vi", 1),
    ("consent", "tap", "consent:vi:yes", 2),
    ("name", "text", "Nguyễn Thị Hồng", 1),
    ("birth date", "text", "5/8/98", 1),
)


def arriving(players: Players, sizes: Sizes) -> Play:
    """People arrive evenly over the period and start registering, thinking between steps."""
    rng = random.Random(11)

    async def person(index: int, counters: dict[str, Counter]) -> None:
        user = FakeUser(ARRIVING + index, "Hồng")
        await asyncio.sleep(index * sizes.arrival_seconds / sizes.arrivals)
        for name, action, value, expect in REGISTRATION:
            if not await players.step(user, action, value, expect, counters[name]):
                return  # unanswered: this person waits no more (their later steps never come)
            await asyncio.sleep(sizes.think * rng.uniform(0.7, 1.3))

    async def play(counters: dict[str, Counter]) -> None:
        for name, *_ in REGISTRATION:
            counters[name] = Counter()
        await asyncio.gather(*(person(i, counters) for i in range(sizes.arrivals)))

    return play


def chatting_during_broadcast(live_run: Live, sizes: Sizes, recipients: int) -> Play:
    """Registered people ask questions every `chat_every` seconds while the broadcast goes
    out; afterwards the sends of that window are counted from the fake server's record."""
    players, server = live_run.players, live_run.server
    rng = random.Random(11)

    async def person(index: int, counter: Counter, until: float) -> None:
        user = FakeUser(CHATTERS + index, "Lan")
        planned = time.monotonic() + index * sizes.chat_every / sizes.chatters
        while True:
            await asyncio.sleep(max(0.0, planned - time.monotonic()))
            if time.monotonic() >= until:
                return
            await players.step(user, "text", rng.choice(CHAT_LINES), 1, counter)
            planned += sizes.chat_every * rng.uniform(0.8, 1.2)

    async def play(counters: dict[str, Counter]) -> dict[str, float]:
        counter = counters.setdefault("chat", Counter())
        started = time.monotonic()
        until = started + sizes.chat_seconds
        await asyncio.gather(*(person(i, counter, until) for i in range(sizes.chatters)))
        ended = time.monotonic()
        with server.lock:
            sends = [s for s in server.stats.sends if started <= s[0] < ended]
            delivered = sum(
                n for chat, n in server.stats.delivered.items() if int(chat) >= FOLLOWERS_FROM
            )
        messages = [t for t, _chat, kind in sends if kind == "message"]
        to_followers = sum(1 for _t, chat, _k in sends if int(chat) >= FOLLOWERS_FROM)
        replies = sum(1 for _t, chat, _k in sends if int(chat) < FOLLOWERS_FROM)
        seconds = ended - started
        left = max(TELEGRAM_RATE - replies / seconds, 0.0)
        return {
            "replies/s": replies / seconds,
            "broadcast/s": to_followers / seconds,
            "share": (to_followers / seconds) / left if left else 0.0,
            "max/1s": float(max_in_a_second(messages)),
            "delivered": float(delivered),
            "recipients": float(recipients),
        }

    return play


async def wait_for(condition: Callable[[], bool], longest: float, what: str) -> None:
    deadline = time.monotonic() + longest
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


# -- the scenarios -----------------------------------------------------------------------------


async def run_taps(args: argparse.Namespace, sizes: Sizes, where: Where) -> list[Row]:
    people = [FakeUser(TAPPERS + i, "Thử") for i in range(sizes.taps)]
    await seed(where.url, [u.id for u in people], [])
    async with live(args, "taps", where.mode, where.backend, where.url, where.workdir) as run:
        await show_first_question(run.players, people)
        await settle(run.server)
        run.server.set_limits(True, TELEGRAM_RATE)
        return await run.measure(f"tap ×{len(people)}", taps_at_once(run.players, people, "tap"))


async def run_arrivals(args: argparse.Namespace, sizes: Sizes, where: Where) -> list[Row]:
    await seed(where.url, [], [])
    async with live(args, "arrivals", where.mode, where.backend, where.url, where.workdir) as run:
        run.server.set_limits(True, TELEGRAM_RATE)
        label = f"{sizes.arrivals} over {sizes.arrival_seconds:.0f} s"
        return await run.measure(label, arriving(run.players, sizes))


async def run_capacity(args: argparse.Namespace, sizes: Sizes, where: Where) -> list[Row]:
    tappers = [FakeUser(TAPPERS + i, "Thử") for i in range(sizes.capacity_taps)]
    starters = [FakeUser(STARTING + i, "Mới") for i in range(sizes.starts)]
    await seed(where.url, [u.id for u in tappers], [])
    env = {"TELEGRAM_MAX_RATE": str(args.max_rate)}
    async with live(
        args, "capacity", where.mode, where.backend, where.url, where.workdir, env
    ) as run:
        rows = await run.measure(
            f"/start ×{len(starters)}", starts_at_once(run.players, starters, "/start")
        )
        await show_first_question(run.players, tappers)
        await settle(run.server)
        rows += await run.measure(f"tap ×{len(tappers)}", taps_at_once(run.players, tappers, "tap"))
        return rows


async def run_broadcast(args: argparse.Namespace, sizes: Sizes, where: Where) -> list[Row]:
    chatters = [CHATTERS + i for i in range(sizes.chatters)]
    followers = [FOLLOWERS_FROM + i for i in range(sizes.recipients)]
    await seed(where.url, chatters, followers)
    async with live(args, "broadcast", where.mode, where.backend, where.url, where.workdir) as run:
        run.server.set_limits(True, TELEGRAM_RATE)
        total = await announce(where.url)
        # The bot's sender expands the broadcast and starts sending: then the people chat.
        await wait_for(lambda: bool(run.server.stats.delivered), 300, "the broadcast to start")
        await asyncio.sleep(2.0)  # past the first second's burst, into the steady pace
        label = f"{sizes.chatters} chat, {total:,} bcast"
        return await run.measure(label, chatting_during_broadcast(run, sizes, total))


# -- the fake server's own capacity -----------------------------------------------------------


async def _load(url: str, seconds: float, connections: int) -> int:
    """sendMessage as fast as `connections` keep-alive connections allow; how many went."""
    parts = httpx_free_split(url)
    host, port, path = parts
    deadline = time.monotonic() + seconds
    done = 0

    async def connection(index: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection(host, port)
        n = 0
        while time.monotonic() < deadline:
            body = json.dumps({"chat_id": 9_000_000 + index * 100_000 + n, "text": "x"}).encode()
            head = (
                f"POST {path}/sendMessage HTTP/1.1\r\nHost: {host}:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            )
            status, _keep = await _exchange(reader, writer, head.encode() + body)
            if status != 200:
                raise SystemExit(f"sendMessage answered {status}")
            n += 1
        done += n
        writer.close()

    await asyncio.gather(*(connection(i) for i in range(connections)))
    return done


def httpx_free_split(url: str) -> tuple[str, int, str]:
    """http://host:port/path → (host, port, path)."""
    rest = url.removeprefix("http://")
    address, _, path = rest.partition("/")
    host, _, port = address.partition(":")
    return host, int(port), "/" + path


def fake_capacity(seconds: float, connections: int) -> None:
    """How many calls a second the fake server answers, from a client in another process (so
    that the two do not share one interpreter lock), and its CPU per call."""
    print(f"\nbench/updates: the fake server alone ({connections} connections, sendMessage)")
    header = f"{'record':<9}{'calls':>8}{'calls/s':>9}{'server ms/call':>16}{'server CPU %':>14}"
    print(header)
    print("-" * len(header))
    for record in (True, False):
        with FakeBotApi(rate_limits=False, record_messages=record) as server:
            url = server.base_url + "123456789:AAHbenchTokenForTheFakeBotApiServer000"
            mine = time.process_time()
            started = time.monotonic()
            client = subprocess.run(
                [sys.executable, __file__, "--load-fake", url, str(seconds), str(connections)],
                capture_output=True,
                text=True,
                check=True,
            )
            wall = time.monotonic() - started
            used = time.process_time() - mine
            calls = int(client.stdout.strip().splitlines()[-1])
            print(
                f"{'on' if record else 'off':<9}{calls:>8,}{calls / seconds:>9.0f}"
                f"{used * 1000 / max(calls, 1):>16.3f}{100 * used / wall:>14.0f}"
            )
    print("(the bot's calls per update are the tables' calls/u: the fake carries calls/s ÷ that)")
    sys.stdout.flush()


SCENARIOS: dict[
    str, Callable[[argparse.Namespace, Sizes, Where], Coroutine[Any, Any, list[Row]]]
] = {
    "taps": run_taps,
    "arrivals": run_arrivals,
    "capacity": run_capacity,
    "broadcast": run_broadcast,
}


@dataclass
class Where:
    """Where a run happens: the bot's mode, its database, the run's folder."""

    mode: str
    backend: str
    url: str
    workdir: Path


# -- the tables --------------------------------------------------------------------------------

GOALS = {
    "taps": "every tap answered within 7 s (max), 0 unanswered; 429s shown",
    "arrivals": "p99 < 500 ms, 0 unanswered, 0 429s",
    "capacity": "≥ 300 updates/s, p99 < 2 s, ≤ 3 ms bot CPU per update",
    "broadcast": "chat p99 < 1 s, 0 429s, ≤ 30 sends in any second, broadcast ≥ 0.9 of what is left",
}
TITLES = {
    "taps": "taps at once, Telegram's limits on",
    "arrivals": "people arriving and registering, Telegram's limits on",
    "capacity": "own capacity: the fake server's limits off, TELEGRAM_MAX_RATE high",
    "broadcast": "people chatting while a broadcast goes out, Telegram's limits on",
}


def met(row: Row) -> bool:
    """Whether a phase's row meets its scenario's goal."""
    c = row.counter
    if row.scenario == "taps":
        return c.unanswered == 0 and row.p(100) < 7000
    if row.scenario == "arrivals":
        return row.p(99) < 500 and c.unanswered == 0 and row.too_many == 0
    if row.scenario == "capacity":
        return row.rate >= 300 and row.p(99) < 2000 and row.bot_cpu <= 3
    x = row.extra
    return (
        row.p(99) < 1000
        and c.unanswered == 0
        and row.too_many == 0
        and x.get("max/1s", 99) <= TELEGRAM_RATE
        and x.get("share", 0) >= 0.9
    )


def print_tables(rows: list[Row], final: bool = False) -> None:
    """One table per scenario (after each run, so a long benchmark shows progress)."""
    if final:
        print("\nbench/updates: final")
    for scenario in SCENARIOS:
        mine = [r for r in rows if r.scenario == scenario]
        if not mine:
            continue
        wide = scenario == "broadcast"
        header = (
            f"{'mode':<9}{'db':<12}{'phase / step':<24}{'updates':>8}{'upd/s':>8}{'p50 ms':>8}"
            f"{'p99 ms':>8}{'max ms':>8}{'unans':>6}{'429s':>6}{'bot ms/u':>9}{'bench ms/u':>11}"
            f"{'peak MB':>8}{'msg/u':>6}{'edit/u':>7}{'calls/u':>8}{'bot %':>6}{'sys':>5}{'bench %':>8}"
            + (f"{'reply/s':>8}{'bcast/s':>8}{'share':>6}{'max/1s':>7}" if wide else "")
            + f"{'goal':>9}"
        )
        print(f"\nbench/updates: {TITLES[scenario]}")
        print(header)
        print("-" * len(header))
        for r in mine:
            c = r.counter
            whole = r.too_many >= 0
            line = (
                f"{r.mode:<9}{r.backend:<12}{r.step:<24}{c.updates:>8,}{r.rate:>8.1f}"
                f"{r.p(50):>8.0f}{r.p(99):>8.0f}{r.p(100):>8.0f}{c.unanswered:>6}"
            )
            if whole:
                line += f"{r.too_many:>6}{r.bot_cpu:>9.2f}{r.bench_cpu:>11.2f}{r.peak_mb:>8.0f}"
                line += f"{r.extra.get('msg/u', 0):>6.2f}{r.extra.get('edit/u', 0):>7.2f}"
                line += f"{r.extra.get('calls/u', 0):>8.2f}"
                wall = r.seconds or 1.0
                line += f"{100 * r.extra.get('bot cpu s', 0) / wall:>6.0f}"
                line += f"{r.extra.get('bot sys', 0):>5.0%}"
                line += f"{100 * r.extra.get('bench cpu s', 0) / wall:>8.0f}"
                if wide:
                    x = r.extra
                    line += (
                        f"{x.get('replies/s', 0):>8.1f}{x.get('broadcast/s', 0):>8.1f}"
                        f"{x.get('share', 0):>6.2f}{x.get('max/1s', 0):>7.0f}"
                    )
                line += f"{'MET' if met(r) else 'NOT MET':>9}"
            print(line)
        print(f"goal: {GOALS[scenario]}")
        refused = sum(r.extra.get("webhook errors", 0) for r in mine)
        if refused:
            print(
                f"webhook: {refused:.0f} POST(s) not answered 200 (posted again, as Telegram does)"
            )
    sys.stdout.flush()


# -- main --------------------------------------------------------------------------------------


def sizes_from(args: argparse.Namespace) -> Sizes:
    quick = args.quick

    def pick(value: Any, normal: Any, small: Any) -> Any:
        return value if value is not None else (small if quick else normal)

    return Sizes(
        taps=pick(args.taps, 200, 30),
        arrivals=pick(args.arrivals, 300, 30),
        arrival_seconds=pick(args.arrival_seconds, 60.0, 10.0),
        think=args.think,
        starts=pick(args.starts, 1000, 100),
        capacity_taps=pick(args.capacity_taps, 200, 30),
        recipients=pick(args.recipients, 10_000, 1000),
        chatters=pick(args.chatters, 100, 20),
        chat_every=args.chat_every,
        chat_seconds=pick(args.chat_seconds, 60.0, 15.0),
    )


def main() -> None:
    """Run the chosen scenarios in each mode on each database and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["polling", "webhook", "both"], default="both")
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--scenario",
        default=",".join(SCENARIOS),
        help=f"a comma-separated list of {', '.join(SCENARIOS)}",
    )
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--taps", type=int, help="people tapping at once (200)")
    parser.add_argument("--arrivals", type=int, help="people arriving (300)")
    parser.add_argument("--arrival-seconds", type=float, help="over how long they arrive (60)")
    parser.add_argument("--think", type=float, default=1.0, help="think time between steps, s")
    parser.add_argument("--starts", type=int, help="capacity: /start at once (1000)")
    parser.add_argument("--capacity-taps", type=int, help="capacity: taps at once (200)")
    parser.add_argument("--recipients", type=int, help="broadcast recipients (10000)")
    parser.add_argument("--chatters", type=int, help="people chatting meanwhile (100)")
    parser.add_argument(
        "--chat-every",
        type=float,
        default=5.0,
        help="seconds between one person's messages (5: 100 people ask for 20 replies/s, "
        "leaving 10/s of the 30 for the broadcast; at 2 they would ask for 50/s, over the budget)",
    )
    parser.add_argument("--chat-seconds", type=float, help="how long they chat (60)")
    parser.add_argument(
        "--connections", type=int, default=40, help="webhook: Telegram's max_connections"
    )
    parser.add_argument(
        "--max-rate", type=int, default=1000, help="capacity: the bot's TELEGRAM_MAX_RATE (its most)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="a reply later is unanswered")
    parser.add_argument(
        "--log-level", default="INFO", help="the bot's LOG_LEVEL (production: INFO)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the run folders (the bot's logs)")
    parser.add_argument(
        "--fake-capacity", action="store_true", help="measure the fake server alone, first"
    )
    parser.add_argument("--load-fake", nargs=3, help=argparse.SUPPRESS)  # the load's process
    args = parser.parse_args()
    if args.load_fake:
        url, seconds, connections = args.load_fake
        print(asyncio.run(_load(url, float(seconds), int(connections))))
        return
    if args.fake_capacity:
        fake_capacity(10.0 if not args.quick else 3.0, 16)
    scenarios = [s.strip() for s in args.scenario.split(",") if s.strip()]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(unknown)}")
    modes = ["polling", "webhook"] if args.mode == "both" else [args.mode]
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    sizes = sizes_from(args)
    rows: list[Row] = []
    for scenario in scenarios:
        for backend in backends:
            for mode in modes:
                folder = Path(tempfile.mkdtemp(prefix="bench-updates-"))
                with database(backend, args.pg, folder) as url:
                    where = Where(mode, backend, url, folder)
                    rows += asyncio.run(SCENARIOS[scenario](args, sizes, where))
                if args.keep:
                    print(f"(bot logs in {folder})")
                else:
                    shutil.rmtree(folder, ignore_errors=True)
                print_tables(rows)
    print_tables(rows, final=True)


if __name__ == "__main__":
    main()
