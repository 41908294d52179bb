"""Shared fixtures: a migrated database on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from models.database import Database, make_engine
from models.migrate import upgrade_database
from services.chat import ChatService
from tests.support.e2e import BotProcess
from tests.support.fakebot import FakeBotApi

PG_URL = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database: a fresh SQLite file, or a fresh PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    assert PG_URL
    name = f"hm_test_{uuid.uuid4().hex[:12]}"
    import asyncio

    admin_url = PG_URL

    async def admin(sql: str) -> None:
        engine = make_engine(admin_url)
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database, disposed after the test."""
    database = Database(database_url)
    await upgrade_database(database.engine)
    yield database
    await database.dispose()


ADMIN = 900  # the administrator's Telegram id in the tests


@pytest.fixture
def service(db: Database) -> ChatService:
    """The chat service on the test database, with one administrator."""
    return ChatService(
        db,
        organization="Hội Chữ thập đỏ",
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        admin_ids=frozenset({str(ADMIN)}),
    )


@pytest.fixture
def server() -> Iterator[FakeBotApi]:
    with FakeBotApi() as fake:
        yield fake


@pytest.fixture
def bot_env() -> dict[str, str]:
    """Settings the real bot runs with in an end-to-end test (a module may override it)."""
    return {}


@pytest.fixture
def bot(
    server: FakeBotApi, database_url: str, tmp_path: Path, bot_env: dict[str, str]
) -> Iterator[BotProcess]:
    """The real bot.py against the fake Bot API, stopped after the test."""
    process = BotProcess(server, database_url, tmp_path / "bot.log", extra_env=bot_env)
    process.start()
    yield process
    process.stop()
