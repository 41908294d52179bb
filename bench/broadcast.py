"""Benchmark: one broadcast to 10,000 people through the outbox sender, within Telegram's limits.

The fake Bot API server (tests/support/fakebot) enforces Telegram's limits the way Telegram does: 429 with
retry_after beyond 30 messages per second in total or one per second to a chat. The sender runs
as its own process (python -m scheduler), as in production, on SQLite and on PostgreSQL;
then again with a SIGKILL at about half and a restart. Then two more scenarios:

- two sender processes on PostgreSQL sharing one broadcast (written as one row, expanded by the
  senders; each paced at half the rate): every row sent once;
- a 100,000-recipient broadcast: how long the author's transaction takes to queue it (one row and
  a count), and how long the sender takes to expand it into recipient rows.

    .venv/bin/python bench/broadcast.py                       # 10,000 recipients, both databases
    .venv/bin/python bench/broadcast.py --recipients 2000 --backend sqlite
    .venv/bin/python bench/broadcast.py --only scale          # just the two new scenarios

PostgreSQL: TEST_DATABASE_URL (or --pg) names a server database; a scratch database is created
next to it and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import col, func, select  # noqa: E402

import services.outreach.broadcast  # noqa: E402, F401  (declares the notice's message kind)
from models import Broadcast, Donor, Follow, OutboxMessage  # noqa: E402
from models.database import Database, make_engine  # noqa: E402
from models.migrate import upgrade_database  # noqa: E402
from scheduler.sender import DEFAULT_RATE, count_by_status  # noqa: E402
from services.outreach import fanout, notify, outbox  # noqa: E402
from services.outreach.audiences import FOLLOWERS, Audience  # noqa: E402
from services.outreach.messages import Message  # noqa: E402
from tests.support.fakebot import FakeBotApi  # noqa: E402

TOKEN = "123456789:AAHbenchTokenForTheFakeBotApiServer000"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


@dataclass
class Result:
    """One run's figures."""

    backend: str
    kill: bool
    recipients: int
    seconds: float
    restart_gap: float
    rate: float
    too_many: int
    lost: int
    duplicated: int
    in_flight_at_kill: int | None
    peak_rss_mb: float


async def seed(url: str, recipients: int) -> None:
    """Migrate, add the donors, queue one broadcast to all of them."""
    db = Database(url)
    await upgrade_database(db.engine)
    now = datetime.now(UTC)
    async with db.session() as session:
        donors = [
            Donor(
                channel="telegram",
                external_id=str(10_000_000 + i),
                chat_id=str(10_000_000 + i),
                locale="vi" if i % 3 else "en",
                consent_version="bench",
                consented_at=now,
            )
            for i in range(recipients)
        ]
        session.add_all(donors)
        await session.flush()
        broadcast = await outbox.create_broadcast(session, "notice", "bench", "bench")
        await outbox.enqueue(
            session,
            broadcast,
            (
                outbox.Recipient(
                    d.id,
                    d.chat_id,
                    "🩸 Chủ nhật Đỏ: hiến máu tại Nhà văn hoá phường, 7:30–11:30 ngày 30/11.",
                    [[{"label": "Đăng ký", "data": "signup:1"}]],
                )
                for d in donors
            ),
            now,
        )
    await db.dispose()


async def outbox_counts(url: str) -> dict[str, int]:
    """Rows by status."""
    db = Database(url)
    try:
        return await count_by_status(db)
    finally:
        await db.dispose()


def start_sender(
    url: str,
    server: FakeBotApi,
    workdir: Path,
    rate: float | None = None,
    log_level: str = "WARNING",
) -> subprocess.Popen[bytes]:
    """The sender as its own process, configured like production."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=server.root_url,
        DATABASE_URL=url,
        LOG_LEVEL=log_level,
        PYTHONPATH=str(ROOT),
    )
    log = (workdir / "sender.log").open("ab")
    pacing = [] if rate is None else ["--rate", str(rate)]
    return subprocess.Popen(
        [sys.executable, "-m", "scheduler", *pacing], cwd=workdir, env=env, stdout=log, stderr=log
    )


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the process's peak resident memory so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run(backend: str, url: str, recipients: int, kill: bool, workdir: Path) -> Result:
    """One broadcast, start to finish."""
    asyncio.run(seed(url, recipients))
    peak = 0.0
    in_flight: int | None = None
    with FakeBotApi(per_chat_burst=1, record_messages=False) as server:
        sender = start_sender(url, server, workdir)
        started = time.monotonic()
        killed = not kill
        while True:
            time.sleep(0.25)
            peak = max(peak, peak_rss_mb(sender.pid))
            delivered = sum(server.stats.delivered.values())
            if not killed and delivered >= recipients // 2:
                sender.send_signal(signal.SIGKILL)
                sender.wait()
                in_flight = asyncio.run(outbox_counts(url)).get("sending", 0)
                killed = True
                sender = start_sender(url, server, workdir)
                continue
            if delivered >= recipients or time.monotonic() - started > 3 * 3600:
                counts = asyncio.run(outbox_counts(url))
                if not counts.get("pending") and not counts.get("sending"):
                    break
            if sender.poll() is not None:
                raise SystemExit(f"the sender exited; see {workdir / 'sender.log'}")
        sender.send_signal(signal.SIGTERM)
        sender.wait(30)
        first, last = server.stats.first_delivery, server.stats.last_delivery
        delivered_chats = server.stats.delivered
        seconds = (last or 0.0) - (first or 0.0)
        total = sum(delivered_chats.values())
        times = server.stats.delivery_times
        # With a kill, the sustained rate leaves out the pause while the sender was down.
        gap = (
            max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0)
            if kill
            else 0.0
        )
        return Result(
            backend=backend,
            kill=kill,
            recipients=recipients,
            seconds=seconds,
            restart_gap=gap,
            rate=(total - 1) / (seconds - gap) if seconds > gap else 0.0,
            too_many=server.stats.too_many_requests,
            lost=sum(1 for i in range(recipients) if str(10_000_000 + i) not in delivered_chats),
            duplicated=sum(n - 1 for n in delivered_chats.values() if n > 1),
            in_flight_at_kill=in_flight,
            peak_rss_mb=peak,
        )


async def _admin(url: str, sql: str) -> None:
    engine = make_engine(url)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


def run_on_postgresql(server_url: str, recipients: int, kill: bool, workdir: Path) -> Result:
    """One run in a scratch PostgreSQL database, dropped afterwards."""
    name = f"hm_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        return run("postgresql", url, recipients, kill, workdir)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


FIRST_CHAT = 10_000_000
NOTICE = Message(
    "outreach.broadcast",
    {
        "data": {"text": "🩸 Chủ nhật Đỏ: hiến máu tại Nhà văn hoá phường, 7:30–11:30."},
        "broadcast_id": 0,
    },
)
AUDIENCE = Audience(FOLLOWERS, {"province": "01", "wards": ["09556"]})


async def seed_followers(url: str, recipients: int) -> None:
    """Migrate and add `recipients` registered followers of one ward (bulk inserts)."""
    db = Database(url)
    await upgrade_database(db.engine)
    now = datetime.now(UTC)
    async with db.session() as session:
        for start in range(0, recipients, 5000):
            people = [
                {
                    "channel": "telegram",
                    "external_id": str(FIRST_CHAT + i),
                    "chat_id": str(FIRST_CHAT + i),
                    "locale": "vi" if i % 3 else "en",
                    "consent_version": "bench",
                    "consented_at": now,
                    "registered_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(start, min(recipients, start + 5000))
            ]
            await session.exec(insert(Donor), params=people)
        ids = (await session.exec(select(Donor.id))).all()
        for start in range(0, len(ids), 5000):
            follows = [
                {"donor_id": i, "province_code": "01", "ward_code": "09556"}
                for i in ids[start : start + 5000]
            ]
            await session.exec(insert(Follow), params=follows)
    await db.dispose()


async def queue_as_the_author(url: str) -> tuple[float, int]:
    """The author's transaction (as a drive's publication runs it): the broadcast row, its
    count, the commit. Returns its seconds and the count the author is told."""
    db = Database(url)
    try:
        started = time.perf_counter()
        async with db.session() as session:
            broadcast = await notify.announce(
                session, AUDIENCE, NOTICE, kind="broadcast", author="bench", scope="bench"
            )
            total = broadcast.total
        return time.perf_counter() - started, total
    finally:
        await db.dispose()


async def fanout_state(url: str) -> tuple[bool, int]:
    """Is a broadcast still expanding, and how many rows are written."""
    db = Database(url)
    try:
        async with db.session() as session:
            left = await fanout.expanding(session)
            rows = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
        return bool(left), int(rows)
    finally:
        await db.dispose()


async def rows_sent_twice(url: str) -> tuple[int, int]:
    """Rows per chat beyond one (the expansion wrote one row per person), and the total."""
    db = Database(url)
    try:
        async with db.session() as session:
            per_chat = (
                await session.exec(
                    select(OutboxMessage.chat_id, func.count()).group_by(col(OutboxMessage.chat_id))
                )
            ).all()
            [broadcast] = (await session.exec(select(Broadcast))).all()
        return sum(n - 1 for _c, n in per_chat), broadcast.total
    finally:
        await db.dispose()


@dataclass
class TwoSenders:
    """Two sender processes on one PostgreSQL database."""

    recipients: int
    seconds: float
    rate: float
    too_many: int
    lost: int
    sent_twice: int
    rows_twice: int
    shares: tuple[int, int]


def run_two_senders(server_url: str, recipients: int, workdir: Path) -> TwoSenders:
    """One broadcast (one row, expanded by the senders) shared by two senders."""
    name = f"hm_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        asyncio.run(seed_followers(url, recipients))
        asyncio.run(queue_as_the_author(url))
        with FakeBotApi(per_chat_burst=1, record_messages=False) as server:
            senders = [
                start_sender(url, server, workdir / str(n), DEFAULT_RATE / 2, "INFO")
                for n in (1, 2)
            ]
            started = time.monotonic()
            while True:
                time.sleep(0.5)
                if any(p.poll() is not None for p in senders):
                    raise SystemExit(f"a sender exited; see {workdir}/*/sender.log")
                expanding, _rows = asyncio.run(fanout_state(url))
                counts = asyncio.run(outbox_counts(url))
                done = not expanding and not counts.get("pending") and not counts.get("sending")
                if done or time.monotonic() - started > 3600:
                    break
            for p in senders:
                p.send_signal(signal.SIGTERM)
            for p in senders:
                p.wait(30)
            delivered = server.stats.delivered
            first, last = server.stats.first_delivery or 0.0, server.stats.last_delivery or 0.0
            total = sum(delivered.values())
            rows_twice, _total = asyncio.run(rows_sent_twice(url))
            shares = tuple(_sent_by(workdir / str(n) / "sender.log") for n in (1, 2))
            return TwoSenders(
                recipients=recipients,
                seconds=last - first,
                rate=(total - 1) / (last - first) if last > first else 0.0,
                too_many=server.stats.too_many_requests,
                lost=sum(1 for i in range(recipients) if str(FIRST_CHAT + i) not in delivered),
                sent_twice=sum(n - 1 for n in delivered.values() if n > 1),
                rows_twice=rows_twice,
                shares=(shares[0], shares[1]),
            )
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _sent_by(log: Path) -> int:
    """How many messages one sender delivered (its closing log line: "Sender stopped: …")."""
    import re

    found = re.findall(r"Sender stopped: SenderStats\(sent=(\d+)", log.read_text(errors="replace"))
    return int(found[-1]) if found else -1


@dataclass
class Scale:
    """A 100,000-recipient broadcast: queuing and expansion (from its first rows to its last)."""

    backend: str
    recipients: int
    told: int
    queued_seconds: float
    fanout_seconds: float
    rows: int
    delivered_meanwhile: int


def run_scale(backend: str, url: str, recipients: int, workdir: Path) -> Scale:
    """Queue as the author, then time the sender's expansion (the sending itself is left out:
    at 29 messages per second it would take an hour)."""
    asyncio.run(seed_followers(url, recipients))
    queued, told = asyncio.run(queue_as_the_author(url))
    with FakeBotApi(per_chat_burst=1, record_messages=False) as server:
        sender = start_sender(url, server, workdir)
        started = time.monotonic()
        first_rows: float | None = None  # the sender process's start-up is left out
        while True:
            time.sleep(0.1)
            if sender.poll() is not None:
                raise SystemExit(f"the sender exited; see {workdir / 'sender.log'}")
            expanding, rows = asyncio.run(fanout_state(url))
            if rows and first_rows is None:
                first_rows = time.monotonic()
            if not expanding or time.monotonic() - started > 1800:
                break
        took = time.monotonic() - (first_rows or started)
        sender.send_signal(signal.SIGTERM)
        sender.wait(30)
        meanwhile = sum(server.stats.delivered.values())
    return Scale(backend, recipients, told, queued, took, rows, meanwhile)


def run_scale_on(backend: str, pg: str, recipients: int, workdir: Path) -> Scale:
    """The 100,000-recipient scenario on one database."""
    if backend == "sqlite":
        return run_scale(
            backend, f"sqlite+aiosqlite:///{workdir / 'scale.db'}", recipients, workdir
        )
    name = f"hm_bench_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
    url = make_url(pg).set(database=name).render_as_string(hide_password=False)
    try:
        return run_scale(backend, url, recipients, workdir)
    finally:
        asyncio.run(_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def print_scale(two: list[TwoSenders], scale: list[Scale]) -> None:
    """The two new scenarios' tables."""
    if two:
        header = (
            f"{'senders':<9}{'recipients':>11}{'seconds':>9}{'msg/s':>8}{'429s':>6}{'lost':>6}"
            f"{'sent twice':>12}{'rows twice':>12}{'shares':>14}"
        )
        print("\nbench/broadcast: two senders on PostgreSQL (one broadcast row, expanded by them)")
        print(header)
        print("-" * len(header))
        for t in two:
            print(
                f"{2:<9}{t.recipients:>11,}{t.seconds:>9.1f}{t.rate:>8.2f}{t.too_many:>6}"
                f"{t.lost:>6}{t.sent_twice:>12}{t.rows_twice:>12}"
                f"{f'{t.shares[0]:,} + {t.shares[1]:,}':>14}"
            )
        print(
            "goal (0 sent twice, 0 lost):",
            "MET"
            if all(t.sent_twice == 0 and t.rows_twice == 0 and t.lost == 0 for t in two)
            else "NOT MET",
        )
    if scale:
        header = (
            f"{'database':<11}{'recipients':>11}{'told':>9}{'queued s':>10}{'fan-out s':>11}"
            f"{'rows/s':>9}{'rows':>9}{'sent meanwhile':>16}"
        )
        print(
            "\nbench/broadcast: a 100,000-recipient broadcast (the author's transaction, then the fan-out)"
        )
        print(header)
        print("-" * len(header))
        for c in scale:
            print(
                f"{c.backend:<11}{c.recipients:>11,}{c.told:>9,}{c.queued_seconds:>10.3f}"
                f"{c.fanout_seconds:>11.1f}{c.rows / c.fanout_seconds if c.fanout_seconds else 0:>9.0f}"
                f"{c.rows:>9,}{c.delivered_meanwhile:>16,}"
            )
        print(
            'goal (the author\'s "queued" within 1 s, every row written):',
            "MET"
            if all(c.queued_seconds < 1.0 and c.rows == c.recipients == c.told for c in scale)
            else "NOT MET",
        )
    sys.stdout.flush()


def main() -> None:
    """Run the chosen scenarios and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL runs")
    parser.add_argument(
        "--only",
        choices=["all", "rate", "scale"],
        default="all",
        help="rate: the 10,000 runs; scale: two senders and the 100,000-recipient broadcast",
    )
    parser.add_argument("--scale-recipients", type=int, default=100_000)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.only in ("all", "scale"):
        two: list[TwoSenders] = []
        scale: list[Scale] = []
        if "postgresql" in backends:
            with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
                for n in (1, 2):
                    (Path(tmp) / str(n)).mkdir()
                two.append(run_two_senders(args.pg, args.recipients, Path(tmp)))
            print_scale(two, scale)
        for backend in backends:
            with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
                scale.append(run_scale_on(backend, args.pg, args.scale_recipients, Path(tmp)))
            print_scale([], scale[-1:])
        print_scale(two, scale)
        if args.only == "scale":
            return
    results: list[Result] = []
    for backend in backends:
        for kill in [False] if args.no_kill else [False, True]:
            with tempfile.TemporaryDirectory(prefix="bench-broadcast-") as tmp:
                workdir = Path(tmp)
                if backend == "sqlite":
                    url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
                    results.append(run(backend, url, args.recipients, kill, workdir))
                else:
                    results.append(run_on_postgresql(args.pg, args.recipients, kill, workdir))
            print_table(results)
    print_table(results, final=True)


def print_table(results: list[Result], final: bool = False) -> None:
    """The table (after each run, so a long benchmark shows progress)."""
    header = (
        f"{'database':<11}{'SIGKILL':<9}{'recipients':>11}{'seconds':>9}{'down s':>8}{'msg/s':>8}"
        f"{'429s':>6}{'lost':>6}{'dup':>5}{'in flight':>10}{'peak MB':>9}"
    )
    print(("\nbench/broadcast: final\n" if final else "\n") + header)
    print("-" * len(header))
    for r in results:
        flight = "-" if r.in_flight_at_kill is None else str(r.in_flight_at_kill)
        print(
            f"{r.backend:<11}{'at half' if r.kill else 'no':<9}{r.recipients:>11,}"
            f"{r.seconds:>9.1f}{r.restart_gap:>8.1f}{r.rate:>8.2f}{r.too_many:>6}{r.lost:>6}{r.duplicated:>5}"
            f"{flight:>10}{r.peak_rss_mb:>9.1f}"
        )
    if final:
        ok = all(
            r.rate >= 28.5
            and r.lost == 0
            and (r.duplicated == 0 if not r.kill else r.duplicated <= (r.in_flight_at_kill or 0))
            for r in results
        )
        goal = "goal (≥ 28.5 msg/s sustained, 0 lost, 0 dup; with the kill dup ≤ in flight):"
        print(goal, "MET" if ok else "NOT MET")
        print("msg/s = (delivered − 1) / (last − first delivery − time the sender was down)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
