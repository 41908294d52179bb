"""The async engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

POOL_SIZE = 10  # PostgreSQL connections kept open (and as many more at a peak)


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores ON DELETE CASCADE unless asked on every connection."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> AsyncEngine:
    """Create the engine; for SQLite, make sure the file's folder exists.

    Bound parameters are hidden from error messages: they hold ids, names and notice texts."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, hide_parameters=True)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_foreign_keys)
        return engine
    return create_async_engine(
        url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=10, hide_parameters=True
    )


class Database:
    """Owns the engine; hands out sessions that keep objects usable after commit."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session whose transaction commits on success and rolls back on error."""
        async with self._sessions() as session, session.begin():
            yield session

    @property
    def writers_at_once(self) -> int:
        """How many write transactions may usefully run at once.

        SQLite has one writer: a second transaction that reads, then writes while another one
        committed fails with "database is locked" at once, whatever the busy timeout. PostgreSQL:
        the pool's steady size, which leaves the overflow to the sender and the sweeps."""
        return 1 if self.engine.dialect.name == "sqlite" else POOL_SIZE

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
