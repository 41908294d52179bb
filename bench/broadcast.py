"""Benchmark: one broadcast to 10,000 people through the outbox sender, within Telegram's limits.

The fake Bot API server (tests/support/fakebot) enforces Telegram's limits the way Telegram does: 429 with
retry_after beyond 30 messages per second in total or one per second to a chat. The sender runs
as its own process (python -m scheduler), as in production, on SQLite and on PostgreSQL;
then again with a SIGKILL at about half and a restart.

    .venv/bin/python bench/broadcast.py                       # 10,000 recipients, both databases
    .venv/bin/python bench/broadcast.py --recipients 2000 --backend sqlite

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

from models import Donor  # noqa: E402
from models.database import Database, make_engine  # noqa: E402
from models.migrate import upgrade_database  # noqa: E402
from scheduler.sender import count_by_status  # noqa: E402
from services.outreach import outbox  # noqa: E402
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


def start_sender(url: str, server: FakeBotApi, workdir: Path) -> subprocess.Popen[bytes]:
    """The sender as its own process, configured like production."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "DATABASE_"))}
    env.update(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=server.root_url,
        DATABASE_URL=url,
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(ROOT),
    )
    log = (workdir / "sender.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "scheduler"], cwd=workdir, env=env, stdout=log, stderr=log
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
        gap = max((b - a for a, b in zip(times, times[1:], strict=False)), default=0.0) if kill else 0.0
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


def main() -> None:
    """Run the chosen scenarios and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL runs")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
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
