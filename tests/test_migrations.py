"""The Alembic migrations build the same schema as the models, up and down, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

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


async def test_check_ins_recorded_before_0008_learn_whether_the_donor_had_given_before(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        await upgrade_database(database.engine, "0007")
        now = datetime.now(UTC)
        async with database.engine.begin() as conn:
            for statement in (
                "INSERT INTO donors (id, channel, external_id, chat_id, locale, consent_version,"
                " consented_at, created_at, updated_at) VALUES (1, 'telegram', '1', '1', 'vi',"
                " 'v1', :now, :now, :now)",
                "INSERT INTO drives (id, campaign, starts_at, ends_at, venue_name, address,"
                " province_code, collector, target_units, capacity, status, created_by,"
                " created_at, updated_at) VALUES (1, 'x', :now, :now, 'v', 'a', '01', 'c', 1, 1,"
                " 'published', 't', :now, :now)",
                "INSERT INTO donations (id, donor_id, donated_on, kind, volume_ml, source,"
                " recorded_by, created_at) VALUES (1, 1, '2026-01-05', 'whole_blood', 350,"
                " 'drive', 't', :now), (2, 1, '2026-06-05', 'whole_blood', 350, 'drive', 't',"
                " :now)",
                "INSERT INTO checkins (id, drive_id, donor_id, outcome, donation_id, recorded_by,"
                " recorded_at, updated_at) VALUES (1, 1, 1, 'donated', 2, 't', :now, :now)",
            ):
                await conn.execute(text(statement), {"now": now})
        await upgrade_database(database.engine)
        async with database.engine.connect() as conn:
            repeat = (await conn.execute(text("SELECT repeat_donor FROM checkins"))).scalar_one()
        assert repeat is True or repeat == 1
    finally:
        await database.dispose()


async def test_donors_registered_before_reminders_get_their_day_if_it_is_still_ahead(
    database_url: str,
) -> None:
    database = Database(database_url)
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    recent, long_ago = today - timedelta(days=30), today - timedelta(days=200)
    try:
        await upgrade_database(database.engine, "0008")
        now = datetime.now(UTC)
        donor = (
            "INSERT INTO donors (id, channel, external_id, chat_id, locale, consent_version,"
            " consented_at, registered_at, stopped_at, created_at, updated_at,"
            " date_of_birth, sex, last_donation_kind, last_donation_date, eligible_reminders)"
            " VALUES (:id, 'telegram', :chat, :chat, 'vi', 'v1', :now, :now, :stopped, :now, :now,"
            " '1990-01-01', 'male', 'whole_blood', :last, :on)"
        )
        async with database.engine.begin() as conn:
            for donor_id, last, stopped, reminders in (
                (1, recent, None, True),  # gave a month ago: reminded when the interval ends
                (2, long_ago, None, True),  # could give long ago: not told months late
                (3, recent, now, True),  # asked for no messages
                (4, recent, None, False),  # turned these reminders off
            ):
                await conn.execute(
                    text(donor),
                    {
                        "id": donor_id,
                        "chat": str(donor_id),
                        "now": now,
                        "last": last,
                        "stopped": stopped,
                        "on": reminders,
                    },
                )
        await upgrade_database(database.engine)
        async with database.engine.connect() as conn:
            days: dict[int, object] = dict(
                (await conn.execute(text("SELECT id, remind_on FROM donors ORDER BY id"))).all()
            )
        whole_blood_interval = timedelta(weeks=12)  # Điều 6 khoản 4: 12 weeks after whole blood
        assert [str(d) if d else None for d in days.values()] == [
            str(recent + whole_blood_interval),
            None,
            None,
            None,
        ]
    finally:
        await database.dispose()


async def test_the_last_update_of_each_donor_is_still_recognised_after_0013(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        await upgrade_database(database.engine, "0012")
        async with database.engine.begin() as conn:
            await conn.execute(
                text(
                    "INSERT INTO donors (id, channel, external_id, chat_id, locale,"
                    " consent_version, consented_at, created_at, updated_at, last_event_id)"
                    " VALUES (1, 'telegram', '1', '1', 'vi', 'v1', :now, :now, :now, 9000000001),"
                    " (2, 'telegram', '2', '2', 'vi', 'v1', :now, :now, :now, NULL)"
                ),
                {"now": datetime.now(UTC)},
            )
        await upgrade_database(database.engine)
        async with database.engine.connect() as conn:
            rows = (
                await conn.execute(text("SELECT channel, event_key, donor_id FROM handled_events"))
            ).all()
            columns = await conn.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("donors")}
            )
        assert [tuple(row) for row in rows] == [("telegram", "9000000001", 1)]
        assert "last_event_id" not in columns
    finally:
        await database.dispose()
