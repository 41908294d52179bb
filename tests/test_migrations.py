"""The Alembic migrations build the same schema as the models, up and down, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import models  # noqa: F401
from models.database import Database
from models.migrate import downgrade_database, upgrade_database


async def tables(db: Database) -> set[str]:
    async with db.engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    db = Database(database_url)
    try:
        await upgrade_database(db.engine)
        expected = set(SQLModel.metadata.tables)
        assert expected <= await tables(db)
        await upgrade_database(db.engine)  # idempotent: applied at every start
        await downgrade_database(db.engine)
        assert not expected & await tables(db)
        await upgrade_database(db.engine)
        assert expected <= await tables(db)
    finally:
        await db.dispose()


async def test_models_match_migrations(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, SQLModel.metadata)

    async with db.engine.connect() as conn:
        changes = await conn.run_sync(diff)
    assert changes == []


async def test_a_donor_reached_in_a_group_goes_back_to_their_private_chat(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        await upgrade_database(database.engine, "0003")
        async with database.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO donors (channel, external_id, chat_id, locale, consent_version,"
                    " consented_at, created_at, updated_at) VALUES ('telegram', '4001',"
                    " '-1009', 'vi', 'v1', :now, :now, :now)"
                ),
                {"now": datetime.now(UTC)},
            )
        await upgrade_database(database.engine)
        async with database.engine.connect() as conn:
            chat = (await conn.execute(text("SELECT chat_id FROM donors"))).scalar_one()
        assert chat == "4001"
    finally:
        await database.dispose()
