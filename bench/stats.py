"""Benchmark: /stats on a province with 1,000,000 donors and 3,000,000 donations.

Seeds one province (Quảng Trị, code 44) in SQL (generate_series on PostgreSQL, a recursive CTE on
SQLite): donors, ~15,000 drives over ten years across its wards, a check-in, a donation and a
sign-up for each donation, and a plan of one unit per ward. Then times what staff ask:

- each /stats view: the year, this month, a ward, a campaign, a drive, the progress table;
- each chart (progress by unit, sign-ups of a drive, donations by month), rendered as PNG;
- a 100,000-row export (CSV and XLSX) of a period's donations, with its peak memory.

    .venv/bin/python bench/stats.py                          # 1,000,000 donors, both databases
    .venv/bin/python bench/stats.py --donors 100000 --backend sqlite

PostgreSQL: TEST_DATABASE_URL (or --pg) names a server database; a scratch database is created
next to it and dropped afterwards. Goals: a view < 1 s, a chart < 1.5 s, the export < 10 s and
< 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from models import Drive  # noqa: E402
from models.database import Database, make_engine  # noqa: E402
from models.migrate import upgrade_database  # noqa: E402
from services.core.i18n import use_locale  # noqa: E402
from services.eligibility.rules import add_months  # noqa: E402
from services.knowledge.wards import wards  # noqa: E402
from services.stats import charts  # noqa: E402
from services.stats.export_buttons import ExportFormat  # noqa: E402
from services.stats.export_files import (  # noqa: E402
    Built,
    build_donations,
    count_checkins,
    scope_drives,
)
from services.stats.figures import Period, Scope, figures  # noqa: E402
from services.stats.plan_file import PlannedMonth, PlanRow  # noqa: E402
from services.stats.plan_store import replace_plan  # noqa: E402
from services.stats.progress import standings  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PROVINCE = "44"
DEFAULT_PG = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
DONATIONS_PER_DONOR = 3
DONATIONS_PER_DRIVE = 200
YEARS = 10
TODAY = date(2026, 12, 3)
VOLUMES = (250, 350, 350, 450)


def _series(dialect: str, name: str, count: int) -> str:
    """A CTE `name(i)` of 0 … count-1."""
    if dialect == "postgresql":
        return f"{name}(i) AS (SELECT generate_series(0, {count - 1}))"
    return f"{name}(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM {name} WHERE i + 1 < {count})"


async def seed(url: str, donors: int) -> int:
    """The province's donors, drives, check-ins, donations, sign-ups and plan; the drive count."""
    db = Database(url)
    await upgrade_database(db.engine)
    dialect = db.engine.dialect.name
    codes = [w.code for w in wards(PROVINCE)]
    donations = donors * DONATIONS_PER_DONOR
    drives = donations // DONATIONS_PER_DRIVE
    days = YEARS * 365
    now = datetime.now(UTC).isoformat(sep=" ")
    recursive = "RECURSIVE " if dialect == "sqlite" else ""
    # Drive k: on day k·days/drives of the ten years to today, in ward k mod wards, 07:00 local.
    start = date(TODAY.year - YEARS + 1, 1, 1)
    if dialect == "postgresql":
        day_of = f"DATE '{start}' + (i * {days} / {drives})"
        starts = f"(({day_of}) + TIME '00:00') AT TIME ZONE 'UTC'"
        donated_on = f"DATE '{start}' + ((i % {drives}) * {days} / {drives})"
        ts = f"TIMESTAMPTZ '{now}'"
    else:
        day_of = f"date('{start}', '+' || (i * {days} / {drives}) || ' days')"
        starts = f"({day_of} || ' 00:00:00.000000')"
        donated_on = f"date('{start}', '+' || ((i % {drives}) * {days} / {drives}) || ' days')"
        ts = f"'{now}'"
    volume = "CASE i % 4 WHEN 0 THEN 250 WHEN 3 THEN 450 ELSE 350 END"
    statements = [
        f"""WITH {recursive}{_series(dialect, "n", donors)}
            INSERT INTO donors (id, channel, external_id, chat_id, locale, consent_version,
                consented_at, registered_at, created_at, updated_at, remind_hour,
                eligible_reminders, card_version, province_code, ward_code)
            SELECT i + 1, 'telegram', CAST(20000000 + i AS TEXT), CAST(20000000 + i AS TEXT),
                'vi', 'bench', {ts}, {ts}, {ts}, {ts}, 9, TRUE, 1, '{PROVINCE}', '{codes[0]}'
            FROM n""",
        f"""WITH {recursive}{_series(dialect, "n", drives)}
            INSERT INTO drives (id, campaign, starts_at, ends_at, venue_name, address,
                province_code, collector, target_units, capacity, status, created_by,
                created_at, updated_at)
            SELECT i + 1, CASE i % 3 WHEN 0 THEN 'chu_nhat_do' WHEN 1 THEN 'xuan_hong'
                ELSE 'hanh_trinh_do' END, {starts}, {starts}, 'Nhà văn hóa', 'Số 1',
                '{PROVINCE}', 'Bệnh viện', 200, 250, 'published', 'bench', {ts}, {ts}
            FROM n""",
        *[
            f"""WITH {recursive}{_series(dialect, "n", drives)}
                INSERT INTO drive_wards (drive_id, ward_code)
                SELECT i + 1, '{code}' FROM n WHERE i % {len(codes)} = {k}"""
            for k, code in enumerate(codes)
        ],
        f"""WITH {recursive}{_series(dialect, "n", donations)}
            INSERT INTO donations (id, donor_id, donated_on, kind, volume_ml, source, drive_id,
                recorded_by, created_at)
            SELECT i + 1, (i % {donors}) + 1, {donated_on}, 'whole_blood', {volume}, 'drive',
                (i % {drives}) + 1, 'bench', {ts}
            FROM n""",
        f"""INSERT INTO checkins (drive_id, donor_id, outcome, kind, volume_ml, donation_id,
                recorded_by, recorded_at, updated_at)
            SELECT drive_id, donor_id, 'donated', kind, volume_ml, id, 'bench', {ts}, {ts}
            FROM donations""",
        f"""INSERT INTO signups (drive_id, donor_id, status, created_at, updated_at)
            SELECT drive_id, donor_id, 'confirmed', {ts}, {ts} FROM donations""",
        # As the desk writes it: did the donor give before this donation?
        """UPDATE checkins SET repeat_donor = TRUE WHERE EXISTS (
            SELECT 1 FROM donations this JOIN donations earlier ON earlier.donor_id = this.donor_id
            WHERE this.id = checkins.donation_id AND earlier.donated_on < this.donated_on)""",
    ]
    async with db.engine.begin() as conn:
        for statement in statements:
            await conn.execute(text(statement))
    if dialect == "postgresql":
        async with db.engine.begin() as conn:
            for table in ("donors", "drives", "donations", "checkins", "signups"):
                await conn.execute(
                    text(f"SELECT setval('{table}_id_seq', (SELECT max(id) FROM {table}))")
                )
        # As autovacuum and the checkpointer leave a database that has been up a while: hint
        # bits and visibility maps set, the seed's dirty pages written out (otherwise the first
        # view pays for writing back the whole seed).
        autocommit = await db.engine.connect()
        autocommit = await autocommit.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(text("VACUUM ANALYZE"))
        await autocommit.execute(text("CHECKPOINT"))
        await autocommit.close()
        os.sync()
    else:
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    rows = [
        PlanRow(
            line=i + 2,
            unit=w.name,
            population=20_000 + 100 * i,
            bags=300,
            units=336,
            rounds=3,
            months=(PlannedMonth(TODAY.year, 3), PlannedMonth(TODAY.year, 7)),
        )
        for i, w in enumerate(wards(PROVINCE))
    ]
    async with db.session() as session:
        await replace_plan(session, PROVINCE, TODAY.year, rows, "bench.csv", "bench")
    await db.dispose()
    return drives


def _view(session: Any, scope: Scope, period: Period) -> Callable[[], Awaitable[Any]]:
    return lambda: figures(session, scope, period, TZ)


async def timed(
    label: str, work: Callable[[], Awaitable[Any]], out: list[tuple[str, float]]
) -> Any:
    began = time.perf_counter()
    result = await work()
    out.append((label, time.perf_counter() - began))
    return result


async def measure(url: str) -> list[tuple[str, float]]:
    db = Database(url)
    times: list[tuple[str, float]] = []
    year = Period(date(TODAY.year, 1, 1), date(TODAY.year, 12, 31))
    month = Period(TODAY.replace(day=1), TODAY)
    ward = wards(PROVINCE)[1].code
    async with db.session() as session:
        drive = (
            await session.exec(
                select(Drive.id)
                # The seed's last drive before its fixed day (not before now: days go on).
                .where(col(Drive.starts_at) < datetime.combine(TODAY, datetime.min.time(), TZ))
                .order_by(col(Drive.starts_at).desc())
                .limit(1)
            )
        ).one()
        views: list[tuple[str, Scope, Period]] = [
            ("view: the province, this year", Scope(PROVINCE), year),
            ("view: the province, this month", Scope(PROVINCE), month),
            ("view: a ward, this year", Scope(PROVINCE, frozenset({ward})), year),
            ("view: a campaign, this year", Scope(PROVINCE, campaign="xuan_hong"), year),
            ("view: a drive", Scope(PROVINCE, drive_id=drive), Period(date(2017, 1, 1), TODAY)),
        ]
        for label, scope, period in views:
            result = await timed(label, _view(session, scope, period), times)
        assert result.donated > 0
        table = await timed(
            "view: progress against the plan (one unit per ward)",
            lambda: standings(session, PROVINCE, TODAY.year, TZ, TODAY),
            times,
        )
    with use_locale("vi"):
        progress = [
            charts.UnitProgress(s.unit.unit, s.target_units, s.figures.converted_units)
            for s in table or []
            if s.figures is not None
        ]
        await timed(
            "chart: progress by unit",
            lambda: charts.render_off_loop(charts.progress_chart, "Tiến độ", progress),
            times,
        )
        days = [charts.DayCount(date(2026, 11, d), d * 3) for d in range(1, 29)]
        await timed(
            "chart: sign-ups of a drive",
            lambda: charts.render_off_loop(charts.signups_chart, "Đăng ký", days, 250),
            times,
        )
        months = [charts.MonthFigures(TODAY.year, m, 900.0 + m, 1000.0) for m in range(1, 13)]
        await timed(
            "chart: donations by month",
            lambda: charts.render_off_loop(charts.monthly_chart, "Theo tháng", months),
            times,
        )
    # The export staff get from /stats (services/stats/export_files.py, as the scheduler builds a
    # large one): a period back from today holding at least 100,000 check-ins, names and phones
    # included, written a slice of drives at a time in a worker thread.
    async with db.session() as session:
        back = 1
        while True:
            period = Period(add_months(TODAY, -back), TODAY)
            rows = await count_checkins(session, Scope(PROVINCE), period, TZ)
            if rows >= 100_000 or back >= 120:
                break
            back += 1
        drives = await scope_drives(session, Scope(PROVINCE), period, TZ)
    for fmt in (ExportFormat.CSV, ExportFormat.XLSX):

        async def export(fmt: ExportFormat = fmt) -> Built:
            async with db.session() as session:
                return await build_donations(session, drives, period, fmt, personal=True)

        built = await timed(f"export: {rows:,} check-ins as {fmt.value.upper()}", export, times)
        assert built.rows == rows and len(built.document.content) > 100_000
    await db.dispose()
    return times


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _admin(server_url: str, statement: str) -> None:
    engine = make_engine(server_url)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(statement))
    await engine.dispose()


def run(backend: str, url: str, donors: int) -> tuple[float, list[tuple[str, float]], float]:
    began = time.perf_counter()
    asyncio.run(seed(url, donors))
    seeded = time.perf_counter() - began
    times = asyncio.run(measure(url))
    return seeded, times, _rss_mb()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--donors", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg", default=None)
    args = parser.parse_args()
    import os

    pg = args.pg or os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG
    results: list[tuple[str, float, list[tuple[str, float]], float]] = []
    with tempfile.TemporaryDirectory() as folder:
        if args.backend in ("sqlite", "both"):
            url = f"sqlite+aiosqlite:///{Path(folder) / 'stats.db'}"
            results.append(("sqlite", *run("sqlite", url, args.donors)))
        if args.backend in ("postgresql", "both"):
            name = f"hm_bench_{uuid.uuid4().hex[:10]}"
            asyncio.run(_admin(pg, f'CREATE DATABASE "{name}"'))
            url = make_url(pg).set(database=name).render_as_string(hide_password=False)
            try:
                results.append(("postgresql", *run("postgresql", url, args.donors)))
            finally:
                asyncio.run(_admin(pg, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    donations = args.donors * DONATIONS_PER_DONOR
    print(
        f"\n{args.donors:,} donors, {donations:,} donations, {donations // DONATIONS_PER_DRIVE:,} drives\n"
    )
    labels = [label for label, _t in results[0][2]]
    print("| what | " + " | ".join(r[0] for r in results) + " |")
    print("|---|" + "---|" * len(results))
    print("| seeding (not a goal) | " + " | ".join(f"{r[1]:.1f} s" for r in results) + " |")
    for i, label in enumerate(labels):
        print(f"| {label} | " + " | ".join(f"{r[2][i][1]:.3f} s" for r in results) + " |")
    print("| peak memory of the process | " + " | ".join(f"{r[3]:.0f} MB" for r in results) + " |")


if __name__ == "__main__":
    main()
