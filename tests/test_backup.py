"""The backup and restore of docs/deployment.md: a dump restored into an empty database holds
the same people, donations and schema version (PostgreSQL: pg_dump/pg_restore; SQLite: its
online backup)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donation, Donor
from models.database import Database, make_engine
from models.donations import DonationSource
from models.donor import DonationKind
from services.donations import history
from tests.support.desk import make_donor

ROOT = Path(__file__).resolve().parent.parent


def run_script(action: str, file: Path, database_url: str, cwd: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    env["DATABASE_URL"] = database_url
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "backup.py"), action, str(file)],
        check=True,
        cwd=cwd,
        env=env,
        capture_output=True,
    )


async def schema_version(session: AsyncSession) -> str:
    result = await session.connection()
    return str((await result.execute(text("SELECT version_num FROM alembic_version"))).scalar_one())


async def _admin(server_url: str, sql: str) -> None:
    engine = make_engine(server_url)
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text(sql))
    await engine.dispose()


async def test_a_backup_restored_into_an_empty_database_holds_everything(
    db: Database, database_url: str, tmp_path: Path
) -> None:
    donor_id = await make_donor(db, 1)
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        await history.record(
            session,
            donor,
            day=date(2026, 11, 1),
            kind=DonationKind.WHOLE_BLOOD,
            volume_ml=350,
            source=DonationSource.SELF_REPORTED,
            recorded_by="test",
            today=date(2026, 12, 4),
        )
        remind_on = donor.remind_on
    dump = tmp_path / "backups" / "hienmau.dump"
    await asyncio.to_thread(run_script, "backup", dump, database_url, tmp_path)
    assert dump.stat().st_size > 0
    if database_url.startswith("postgresql"):
        name = f"hm_restore_{uuid.uuid4().hex[:10]}"
        await _admin(database_url, f'CREATE DATABASE "{name}"')
        target = make_url(database_url).set(database=name).render_as_string(hide_password=False)
    else:
        name, target = "", f"sqlite+aiosqlite:///{tmp_path / 'restored.db'}"
    try:
        await asyncio.to_thread(run_script, "restore", dump, target, tmp_path)
        restored = Database(target)
        try:
            async with restored.session() as session:
                [person] = (await session.exec(select(Donor))).all()
                [donation] = (await session.exec(select(Donation))).all()
                version = await schema_version(session)
            async with db.session() as session:
                wanted = await schema_version(session)
            assert (person.id, person.full_name) == (donor_id, donor.full_name)
            assert (donation.donor_id, donation.volume_ml) == (donor_id, 350)
            assert remind_on is not None and person.remind_on == remind_on  # the reminder day too
            assert version == wanted
        finally:
            await restored.dispose()
    finally:
        if name:
            await _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
