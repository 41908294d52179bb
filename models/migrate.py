"""Apply the Alembic migrations to the configured database (called at start and by the tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    """The project's Alembic configuration, without touching the app's logging."""
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    cfg.attributes["configure_logger"] = False
    return cfg


def _upgrade(connection: Connection, revision: str) -> None:
    """Run Alembic on the given connection."""
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    """Run Alembic downgrades on the given connection."""
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.downgrade(cfg, revision)


async def upgrade_database(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (idempotent)."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade, revision)


async def downgrade_database(engine: AsyncEngine, revision: str = "base") -> None:
    """Take the schema down to `revision` (used by the migration test)."""
    async with engine.begin() as conn:
        await conn.run_sync(_downgrade, revision)
