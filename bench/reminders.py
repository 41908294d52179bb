"""Benchmark: the "you can give again" sweep that finds and enqueues what is due.

Seeds N donors (registered, with a last donation spread over the past year; most have their
reminder day later in the year, some none, some stopped or with reminders off) who follow one of
a few hundred wards with upcoming drives, `--due` of them due today at 09:00. Then, in a fresh
process (so the peak memory is the sweep's, not the seeding's), runs the scheduler's pass at
09:00 local (`sweep_all_due`): batch after batch, each one transaction (claim and clear, the
rules, the outbox insert), two at once on PostgreSQL. Goal (issue 9): all due in < 1 s and < 200 MB, and the
time at 100,000 donors within 1.5× of the time at 1,000,000 with the same number due.

`--deliver` then sends a full day's reminders (10,000 donors due) through the outbox sender
(`python -m scheduler`, as in production) to the fake Bot API with Telegram's limits (30/s in
total, 1/s per chat): the rate against 30/s, and how many were lost or sent twice.

    .venv/bin/python bench/reminders.py                                   # 1,000,000, both
    .venv/bin/python bench/reminders.py --donors 10000 --due 1000 --backend sqlite
    .venv/bin/python bench/reminders.py --donors 100000,1000000          # the scaling pair
    .venv/bin/python bench/reminders.py --deliver --backend sqlite       # a day's delivery

PostgreSQL: TEST_DATABASE_URL (or --pg) names a server database; a scratch database is created
next to it and dropped afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import insert, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlmodel import col, func, select  # noqa: E402

from models import Donor, Drive, DriveWard, Follow, OutboxMessage  # noqa: E402
from models.database import Database, make_engine  # noqa: E402
from models.drives import DriveStatus  # noqa: E402
from models.migrate import upgrade_database  # noqa: E402
from services.outreach import messages  # noqa: E402
from services.reminders.sweep import (  # noqa: E402
    BATCH,
    ELIGIBLE,
    POSTGRES_WORKERS,
    sweep_all_due,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
QUIET = (clock_time(21), clock_time(7))
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
WARDS = 300
DRIVES = 120
CHUNK = 5_000  # rows per INSERT while seeding


@dataclass
class Result:
    """One run's figures."""

    backend: str
    donors: int
    due: int
    batch: int
    workers: int
    all_due_s: float
    queued: int
    peak_rss_mb: float


def sweep_moment() -> datetime:
    """09:00 local today, in UTC: when the due donors' hour comes."""
    today = datetime.now(TZ).date()
    return datetime.combine(today, clock_time(9), TZ).astimezone(UTC)


async def seed(url: str, donors: int, due: int) -> None:
    """Migrate and write the donors, their follows and the drives, in bulk."""
    db = Database(url)
    await upgrade_database(db.engine)
    rng = random.Random(7)
    now = datetime.now(UTC)
    today = now.astimezone(TZ).date()
    due_ids = set(rng.sample(range(donors), due))
    async with db.session() as session:
        for start in range(0, donors, CHUNK):
            rows = [
                _donor(i, i in due_ids, today, now, rng)
                for i in range(start, min(start + CHUNK, donors))
            ]
            await session.exec(insert(Donor), params=rows)
    async with db.session() as session:
        first_id = (await session.exec(select(func.min(Donor.id)))).one() or 1
        for start in range(0, donors, CHUNK):
            follows = [
                {"donor_id": first_id + i, "province_code": "79", "ward_code": f"W{i % WARDS:05d}"}
                for i in range(start, min(start + CHUNK, donors))
            ]
            await session.exec(insert(Follow), params=follows)
        for n in range(DRIVES):
            starts = now + timedelta(days=1 + n % 50, hours=n % 5)
            drive = Drive(
                campaign="chu_nhat_do",
                starts_at=starts,
                ends_at=starts + timedelta(hours=4),
                venue_name=f"Nhà văn hoá khu phố {n}",
                address="1 Lê Duẩn, TP.HCM",
                province_code="79",
                collector="Bệnh viện Truyền máu Huyết học",
                target_units=100,
                capacity=100,
                status=DriveStatus.PUBLISHED,
                created_by="bench",
            )
            session.add(drive)
            await session.flush()
            session.add(DriveWard(drive_id=drive.id or 0, ward_code=f"W{(n * 7) % WARDS:05d}"))
    await db.dispose()


def _donor(i: int, due: bool, today: date, now: datetime, rng: random.Random) -> dict[str, object]:
    """One donor row: due today, or a realistic later (or no) reminder day."""
    last = today - timedelta(days=rng.randint(90, 400) if due else rng.randint(1, 400))
    if due:
        remind_on: date | None = today
    elif rng.random() < 0.7:
        remind_on = today + timedelta(days=rng.randint(1, 365))  # a donation this year
    else:
        remind_on = None  # reminded already, never gave, or reminders off
    return {
        "channel": "telegram",
        "external_id": str(20_000_000 + i),
        "chat_id": str(20_000_000 + i),
        "locale": "vi" if i % 4 else "en",
        "consent_version": "bench",
        "consented_at": now,
        "registered_at": now,
        "full_name": "Nguyễn Văn An",
        "date_of_birth": date(1970, 1, 1) + timedelta(days=i % 10000),
        "sex": "male" if i % 2 else "female",
        "province_code": "79",
        "ward_code": f"W{i % WARDS:05d}",
        "blood_group": "O+",
        "last_donation_kind": "whole_blood",
        "last_donation_date": last,
        "remind_on": remind_on,
        "remind_hour": 9 if due else rng.choice((7, 9, 9, 9, 18)),
        "eligible_reminders": True,
        "card_version": 1,
        "created_at": now,
        "updated_at": now,
    }


async def measure(url: str, batch: int) -> dict[str, float]:
    """The sweep at 09:00: one batch, then the rest of what is due (run in its own process)."""
    db = Database(url)
    moment = sweep_moment()
    async with db.session() as session:  # warm the connection and the catalog, not the rows
        await session.exec(select(func.count()).select_from(OutboxMessage))
    for locale in ("vi", "en"):  # the bot has its language catalogs loaded long before 09:00
        messages.render(ELIGIBLE, {"day": "2027-01-01", "drives": []}, locale)
    started = time.perf_counter()
    queued = await sweep_all_due(db, moment, TZ, QUIET, batch=batch)
    all_s = time.perf_counter() - started
    async with db.session() as session:
        rows = (await session.exec(select(func.count()).select_from(OutboxMessage))).one()
        left = (
            await session.exec(
                select(func.count())
                .select_from(Donor)
                .where(col(Donor.remind_on) <= moment.astimezone(TZ).date())
            )
        ).one()
    await db.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "all": all_s,
        "queued": queued,
        "rows": rows,
        "left": left,
        "peak": peak,
    }


def run_measure(url: str, batch: int) -> dict[str, float]:
    """`measure` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, __file__, "--measure", url, "--batch", str(batch)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


async def _admin(server_url: str, sql: str) -> None:
    engine = make_engine(server_url)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


def one_run(backend: str, pg: str, donors: int, due: int, batch: int) -> Result:
    """Seed a scratch database, measure, drop it."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
            asyncio.run(seed(url, donors, due))
            os.sync()  # the seeding's writes reach the disk before, not during, the sweep
            figures = run_measure(url, batch)
    else:
        name = f"hm_bench_{uuid.uuid4().hex[:10]}"
        asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
        try:
            url = make_url(pg).set(database=name).render_as_string(hide_password=False)
            asyncio.run(seed(url, donors, due))
            # As autovacuum and the checkpointer leave a database that has been up a while:
            # statistics and visibility maps made, the seeding's dirty pages written out.
            asyncio.run(_admin(url, "VACUUM ANALYZE"))
            asyncio.run(_admin(url, "CHECKPOINT"))
            os.sync()
            figures = run_measure(url, batch)
        finally:
            asyncio.run(_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    assert figures["queued"] == figures["rows"] == due, figures  # every due donor, once
    assert figures["left"] == 0, figures
    return Result(
        backend,
        donors,
        due,
        batch,
        POSTGRES_WORKERS if backend == "postgresql" else 1,
        figures["all"],
        int(figures["queued"]),
        figures["peak"],
    )


def deliver(backend: str, pg: str, due: int) -> dict[str, float]:
    """Queue a day's reminders (the sweep at 09:00), then deliver them through the sender."""
    sys.path.insert(0, str(ROOT / "bench"))
    from broadcast import peak_rss_mb, start_sender  # the broadcast bench's sender process

    from tests.support.fakebot import FakeBotApi

    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        name = f"hm_bench_{uuid.uuid4().hex[:10]}"
        if backend == "sqlite":
            url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
        else:
            asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
            url = make_url(pg).set(database=name).render_as_string(hide_password=False)
        try:
            asyncio.run(seed(url, due, due))
            queued = run_measure(url, BATCH)["queued"]
            # The sweep ran at 09:00 of the local day; deliver them now, whatever the hour.
            asyncio.run(_admin(url, "UPDATE outbox SET not_before = CURRENT_TIMESTAMP"))
            with FakeBotApi(per_chat_burst=1, record_messages=False) as server:
                sender = start_sender(url, server, workdir)
                peak, started = 0.0, time.monotonic()
                while sum(server.stats.delivered.values()) < queued:
                    time.sleep(0.25)
                    peak = max(peak, peak_rss_mb(sender.pid))
                    if sender.poll() is not None or time.monotonic() - started > 3600:
                        raise SystemExit(f"the sender stopped; see {workdir / 'sender.log'}")
                time.sleep(2)  # anything sent twice would arrive now
                sender.terminate()
                sender.wait(30)
                delivered = server.stats.delivered
                seconds = (server.stats.last_delivery or 0) - (server.stats.first_delivery or 0)
                total = sum(delivered.values())
                return {
                    "queued": queued,
                    "rate": (total - 1) / seconds if seconds else 0.0,
                    "too_many": server.stats.too_many_requests,
                    "lost": sum(1 for i in range(due) if str(20_000_000 + i) not in delivered),
                    "twice": sum(n - 1 for n in delivered.values() if n > 1),
                    "peak": peak,
                    "seconds": seconds,
                }
        finally:
            if backend != "sqlite":
                asyncio.run(_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    """Parse the options, run, print the table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--donors", default="1000000", help="one count, or several: 100000,1000000")
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=BATCH)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg", default=os.environ.get("TEST_DATABASE_URL", DEFAULT_PG))
    parser.add_argument("--deliver", action="store_true", help="deliver a day's reminders")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # the child process's database
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(asyncio.run(measure(args.measure, args.batch))))
        return
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    if args.deliver:
        print(
            "\nbench/reminders --deliver: a day's reminders through the sender, Telegram's limits"
        )
        print(
            "| database | due | delivered in | msg/s | share of 30/s | 429s | lost | sent twice | sender peak MB |"
        )
        print("|---|---|---|---|---|---|---|---|---|")
        for backend in backends:
            day = deliver(backend, args.pg, args.due)
            print(
                f"| {backend} | {int(day['queued']):,} | {day['seconds']:.0f} s | {day['rate']:.2f} | "
                f"{day['rate'] / 30:.3f} | {int(day['too_many'])} | {int(day['lost'])} | "
                f"{int(day['twice'])} | {day['peak']:.0f} |"
            )
        return
    counts = [int(n) for n in str(args.donors).split(",")]
    results = [
        one_run(b, args.pg, n, min(args.due, n), args.batch) for b in backends for n in counts
    ]
    header = (
        f"{'backend':<11} {'donors':>10} {'due':>7} {'batch':>6} {'workers':>7} "
        f"{'all due s':>9} {'queued':>7} {'peak MB':>8}"
    )
    print(
        "\nbench/reminders: the sweep at 09:00 (claim + outbox insert + mark, one transaction a batch)"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.backend:<11} {r.donors:>10,} {r.due:>7,} {r.batch:>6,} {r.workers:>7} "
            f"{r.all_due_s:>9.3f} {r.queued:>7,} {r.peak_rss_mb:>8.0f}"
        )
    for backend in backends:
        mine = sorted((r for r in results if r.backend == backend), key=lambda r: r.donors)
        if len(mine) >= 2 and mine[-1].all_due_s > 0:
            ratio = mine[0].all_due_s / mine[-1].all_due_s
            print(
                f"{backend}: time at {mine[0].donors:,} / at {mine[-1].donors:,} donors = {ratio:.2f}"
            )
    ok = all(r.all_due_s < 1.0 and r.peak_rss_mb < 200 for r in results)
    print("goal (all due < 1 s, < 200 MB):", "MET" if ok else "NOT MET")


if __name__ == "__main__":
    main()
