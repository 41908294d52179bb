"""Reminders from the database, on both databases, with a controllable clock: the "you can give
again" sweep (the day, the hour, quiet hours, catch-up, exactly once under restarts and
concurrency, snooze, off, the hour in /profile) and the drive reminders (queued once, cancelled,
moved)."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from models import Donor, Drive, DriveBase, OutboxMessage, Signup
from models.database import Database
from models.donations import DonationSource
from models.donor import DonationKind
from models.drives import DriveStatus
from models.outbox import DeliveryStatus
from services.chat import ChatService
from services.donations import history
from services.drives import drive_store
from services.outreach import messages
from services.reminders import drive_reminders
from services.reminders.sweep import ELIGIBLE, SweepResult, dedupe_key, sweep_eligible
from tests.support.people import Person, buttons, register, texts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
QUIET = (time(21), time(7))
WARD = "26740"  # phường Sài Gòn, where tests.support.people.register puts everyone


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A local moment, in UTC (the sweep's clock)."""
    return datetime.combine(day, time(hour, minute), TZ).astimezone(UTC)


async def a_donor(service: ChatService, db: Database, user_id: int, lang: str = "en") -> int:
    await register(Person(service, user_id, lang), lang)
    return await donor_id_of(db, user_id)


async def donor_id_of(db: Database, user_id: int) -> int:
    async with db.session() as session:
        donor = (await session.exec(select(Donor).where(Donor.external_id == str(user_id)))).one()
        assert donor.id is not None
        return donor.id


async def set_donor(db: Database, donor_id: int, **fields: object) -> None:
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        for name, value in fields.items():
            setattr(donor, name, value)
        session.add(donor)


async def get_donor(db: Database, donor_id: int) -> Donor:
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        return donor


async def reminders(db: Database, key: str = ELIGIBLE) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).where(col(OutboxMessage.message_key) == key)
        return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


async def sweep(db: Database, now: datetime, quiet: tuple[time, time] = QUIET) -> SweepResult:
    async with db.session() as session:
        return await sweep_eligible(session, now, TZ, quiet)


# ------------------------------------------------------------ the day and the hour


async def test_due_at_the_donors_hour_not_a_minute_before(
    service: ChatService, db: Database
) -> None:
    donor_id = await a_donor(service, db, 1001)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today)
    assert (await sweep(db, local(today, 8, 59))).queued == 0
    assert await reminders(db) == []
    assert (await get_donor(db, donor_id)).remind_on == today  # still due
    assert (await sweep(db, local(today, 9, 0))).queued == 1
    [row] = await reminders(db)
    assert row.dedupe_key == dedupe_key(donor_id, today)
    assert row.status == DeliveryStatus.PENDING and row.chat_id == "1001"
    assert row.params is not None and row.params["day"] == today.isoformat()
    assert (await get_donor(db, donor_id)).remind_on is None  # claimed and cleared together


async def test_a_later_hour_chosen_in_the_profile(service: ChatService, db: Database) -> None:
    person = Person(service, 1002, "en")
    await register(person, "en")
    donor_id = await donor_id_of(db, 1002)
    out = await person.say("/profile")
    assert "on, at 09:00" in texts(out) and "remhour:0" in buttons(out)
    out = await person.tap("remhour:0")
    assert "remhour:7" in buttons(out) and "remhour:20" in buttons(out)
    assert "remhour:6" not in buttons(out) and "remhour:21" not in buttons(out)
    out = await person.tap("remhour:21")  # forged: outside 07:00–20:00
    assert "earlier question" in (out.toast or "")
    out = await person.tap("remhour:18")
    assert "18:00" in texts(out)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today)
    assert (await sweep(db, local(today, 17, 59))).queued == 0
    assert (await sweep(db, local(today, 18, 0))).queued == 1


async def test_never_in_quiet_hours_and_overdue_ones_go_once_after_downtime(
    service: ChatService, db: Database
) -> None:
    donor_id = await a_donor(service, db, 1003)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today, remind_hour=20)
    late = (time(20), time(7))  # quiet from 20:00: the donor's hour falls in them
    assert (await sweep(db, local(today, 20, 30), late)).queued == 0
    tomorrow = today + timedelta(days=1)
    assert (await sweep(db, local(tomorrow, 6, 59), late)).queued == 0
    # At 07:00 the day after, the overdue reminder goes (not waiting for 20:00 again).
    assert (await sweep(db, local(tomorrow, 7, 0), late)).queued == 1
    assert (await sweep(db, local(tomorrow, 7, 1), late)).queued == 0
    [row] = await reminders(db)
    assert row.dedupe_key == dedupe_key(donor_id, today)


async def test_a_reminder_due_while_the_bot_was_down_is_sent_once(
    service: ChatService, db: Database
) -> None:
    donor_id = await a_donor(service, db, 1004)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today - timedelta(days=3), remind_hour=9)
    eligible, _drives = await service.sweep_reminders(local(today, 8, 0))  # back at 08:00
    assert eligible == 1
    assert await service.sweep_reminders(local(today, 9, 0)) == (0, 0)
    [row] = await reminders(db)
    assert row.dedupe_key == dedupe_key(donor_id, today - timedelta(days=3))


async def test_the_message_lists_the_drives_of_the_donors_wards_with_sign_up_buttons(
    service: ChatService, db: Database
) -> None:
    donor_id = await a_donor(service, db, 1005)
    today = service.today()
    drive_id = await a_drive(db, local(today + timedelta(days=5), 7, 30))
    await a_drive(db, local(today + timedelta(days=6), 7, 30), ward="09556")  # another ward
    await set_donor(db, donor_id, remind_on=today)
    await sweep(db, local(today, 9))
    [row] = await reminders(db)
    assert row.params is not None and [d["id"] for d in row.params["drives"]] == [drive_id]
    worded = messages.render(ELIGIBLE, row.params, "vi")  # worded when sent, in Vietnamese
    data = [b.data for line in worded.buttons for b in line]
    assert data == [f"signup:{drive_id}", "snooze:7", "snooze:30", "remsw:0"]
    assert "Nhà văn hoá" in worded.text and today.strftime("%d/%m/%Y") in worded.text
    english = messages.render(ELIGIBLE, row.params, "en")
    assert "allow you to give blood again" in english.text


# ------------------------------------------------------------ exactly once


async def test_the_sweep_run_twice_queues_one_reminder(service: ChatService, db: Database) -> None:
    donor_id = await a_donor(service, db, 1010)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today)
    first = await sweep(db, local(today, 10))
    second = await sweep(db, local(today, 10))
    assert (first.queued, second.queued) == (1, 0)
    # Even were the day put back (a restart after the outbox row but before the mark could not
    # commit one without the other), the key keeps it to one row.
    await set_donor(db, donor_id, remind_on=today)
    third = await sweep(db, local(today, 10))
    assert (third.claimed, third.queued) == (1, 0)
    assert len(await reminders(db)) == 1
    assert (await get_donor(db, donor_id)).remind_on is None


async def test_a_sweep_that_fails_before_commit_leaves_the_reminder_due(
    service: ChatService, db: Database
) -> None:
    donor_id = await a_donor(service, db, 1011)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today)
    try:
        async with db.session() as session:
            result = await sweep_eligible(session, local(today, 10), TZ, QUIET)
            assert result.queued == 1
            raise RuntimeError("killed before the commit")
    except RuntimeError:
        pass
    assert await reminders(db) == []
    assert (await get_donor(db, donor_id)).remind_on == today  # the next pass sends it
    assert (await sweep(db, local(today, 10))).queued == 1


async def test_two_sweeps_at_once_queue_each_reminder_once(
    service: ChatService, db: Database
) -> None:
    ids = [await a_donor(service, db, 1020 + i) for i in range(3)]
    today = service.today()
    for donor_id in ids:
        await set_donor(db, donor_id, remind_on=today)
    now = local(today, 10)
    results = await asyncio.gather(sweep(db, now), sweep(db, now))
    assert sum(r.queued for r in results) == 3
    assert sorted(r.dedupe_key or "" for r in await reminders(db)) == sorted(
        dedupe_key(i, today) for i in ids
    )


async def test_a_second_sweeper_skips_the_donors_the_first_holds(
    service: ChatService, db: Database
) -> None:
    """One sweep claims and holds its transaction open; another runs meanwhile. On PostgreSQL
    the second truly runs while the first holds the rows (SKIP LOCKED: it neither waits nor
    takes them); on SQLite it waits for the first's commit, then finds nothing due."""
    ids = [await a_donor(service, db, 1030 + i) for i in range(2)]
    today = service.today()
    for donor_id in ids:
        await set_donor(db, donor_id, remind_on=today)
    now = local(today, 10)
    postgres = db.engine.dialect.name == "postgresql"
    claimed, release = asyncio.Event(), asyncio.Event()

    async def holder() -> SweepResult:
        async with db.session() as session:
            result = await sweep_eligible(session, now, TZ, QUIET)
            claimed.set()
            await release.wait()
        return result

    async def other() -> SweepResult:
        await claimed.wait()
        if not postgres:
            release.set()  # SQLite: the second waits on the first's write lock
        result = await sweep(db, now)
        release.set()  # PostgreSQL: finished while the first still held its rows
        return result

    first, second = await asyncio.wait_for(asyncio.gather(holder(), other()), timeout=30)
    assert (first.queued, second.queued) == (2, 0)
    assert len(await reminders(db)) == 2


# ------------------------------------------------------------ what replaces or stops it


async def test_a_newer_donation_replaces_the_reminder(service: ChatService, db: Database) -> None:
    donor_id = await a_donor(service, db, 1040)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today)
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        await history.record(
            session,
            donor,
            day=today - timedelta(days=2),
            kind=DonationKind.WHOLE_BLOOD,
            volume_ml=350,
            source=DonationSource.SELF_REPORTED,
            recorded_by="self",
            today=today,
        )
    later = today - timedelta(days=2) + timedelta(days=84)
    assert (await get_donor(db, donor_id)).remind_on == later
    assert (await sweep(db, local(today, 10))).queued == 0
    assert (await sweep(db, local(later, 10))).queued == 1
    [row] = await reminders(db)
    assert row.dedupe_key == dedupe_key(donor_id, later)


async def test_a_deferral_recorded_meanwhile_moves_the_day_without_a_message(
    service: ChatService, db: Database
) -> None:
    donor_id = await a_donor(service, db, 1041)
    today = service.today()
    until = today + timedelta(days=20)
    await set_donor(db, donor_id, remind_on=today, deferred_until=until, deferral_code="tattoo")
    result = await sweep(db, local(today, 10))
    assert (result.queued, result.rescheduled) == (0, 1)
    assert (await get_donor(db, donor_id)).remind_on == until


async def test_a_stopped_donor_gets_nothing(service: ChatService, db: Database) -> None:
    person = Person(service, 1042, "en")
    await register(person, "en")
    donor_id = await donor_id_of(db, 1042)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today)
    await person.say("/stop")
    result = await sweep(db, local(today, 10))
    assert (result.queued, result.dropped) == (0, 1)
    assert await reminders(db) == []
    assert (await get_donor(db, donor_id)).remind_on is None  # not scanned again every minute


async def test_snooze_off_and_on_again_through_the_chat(service: ChatService, db: Database) -> None:
    person = Person(service, 1043, "en")
    await register(person, "en")
    donor_id = await donor_id_of(db, 1043)
    today = service.today()
    await set_donor(db, donor_id, remind_on=today)
    await service.sweep_reminders(local(today, 10))
    [row] = await reminders(db)
    offered = [b["data"] for line in row.buttons for b in line]
    assert {"snooze:7", "snooze:30", "remsw:0"} <= set(offered)

    out = await person.tap("snooze:7")
    week = today + timedelta(days=7)
    assert week.strftime("%d/%m/%Y") in texts(out) and "09:00" in texts(out)
    assert (await get_donor(db, donor_id)).remind_on == week
    out = await person.tap("snooze:30")
    assert (await get_donor(db, donor_id)).remind_on == today + timedelta(days=30)
    out = await person.tap("snooze:3")  # forged
    assert "earlier question" in (out.toast or "")
    assert (await sweep(db, local(week, 10))).queued == 0  # the week's day was replaced
    assert (await sweep(db, local(today + timedelta(days=30), 10))).queued == 1

    out = await person.tap("remsw:0")
    assert "no more reminders" in texts(out) and "remsw:1" in buttons(out)
    me = await get_donor(db, donor_id)
    assert (me.eligible_reminders, me.remind_on) == (False, None)
    await set_donor(db, donor_id, remind_on=today + timedelta(days=31))  # as a donation would
    result = await sweep(db, local(today + timedelta(days=31), 10))
    assert (result.queued, result.dropped) == (0, 1)

    out = await person.say("/profile")
    assert "Reminder when you may give again: off" in texts(out)
    out = await person.tap("remsw:1")
    assert "Reminders on" in texts(out) and "remhour:0" in buttons(out)
    assert (await get_donor(db, donor_id)).eligible_reminders is True


async def test_registration_sets_the_day_from_the_last_donation_stated(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 1050, "en")
    today = service.today()
    donated = today - timedelta(days=30)
    await person.say("/start")
    await person.tap("lang:en")
    await person.tap("consent:en:yes")
    await person.say("Nguyễn Văn An")
    await person.say("25/08/1995")
    await person.tap("sex:male")
    await person.say("0912 345 678")
    await person.say("phuong sai gon")
    await person.tap(f"ward:79:{WARD}")
    await person.tap("bg:O+")
    await person.tap("kind:whole_blood")
    await person.say(donated.strftime("%d/%m/%Y"))
    donor_id = await donor_id_of(db, 1050)
    assert (await get_donor(db, donor_id)).remind_on is None  # not before registering
    await person.tap("confirm")
    assert (await get_donor(db, donor_id)).remind_on == donated + timedelta(days=84)
    # Correcting the last donation in /profile moves it.
    await person.tap("edit:donation")
    await person.tap("kind:platelets")
    await person.say((today - timedelta(days=3)).strftime("%d/%m/%Y"))
    assert (await get_donor(db, donor_id)).remind_on == today - timedelta(days=3) + timedelta(
        days=14
    )


async def test_the_eligibility_button_sets_the_day_the_sweep_sends(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 1051, "en")
    await register(person, "en")
    donor_id = await donor_id_of(db, 1051)
    today = service.today()
    day = today + timedelta(days=40)
    out = await person.tap(f"remind:{day.isoformat()}:tattoo")
    assert day.strftime("%d/%m/%Y") in texts(out) and "09:00" in texts(out)
    me = await get_donor(db, donor_id)
    assert (me.remind_on, me.deferred_until, me.deferral_code) == (day, day, "tattoo")
    assert await reminders(db) == []
    assert (await sweep(db, local(day, 9))).queued == 1


# ------------------------------------------------------------ drive reminders


async def a_drive(db: Database, starts_at: datetime, ward: str = WARD) -> int:
    async with db.session() as session:
        fields = DriveBase(
            campaign="chu_nhat_do",
            starts_at=starts_at,
            ends_at=starts_at + timedelta(hours=4),
            venue_name="Nhà văn hoá phường Sài Gòn",
            address="1 Lê Duẩn, Sài Gòn, TP.HCM",
            province_code="79",
            collector="Bệnh viện Truyền máu Huyết học",
            target_units=100,
            capacity=10,
        )
        drive = await drive_store.create_drive(session, fields, [ward], "leader")
        drive.status = DriveStatus.PUBLISHED
        session.add(drive)
        await session.flush()
        assert drive.id is not None
        return drive.id


async def drive_rows(db: Database) -> list[OutboxMessage]:
    async with db.session() as session:
        query = select(OutboxMessage).where(
            col(OutboxMessage.message_key).in_(drive_reminders.KINDS)
        )
        return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


async def drive_sweep(db: Database, now: datetime) -> drive_reminders.DriveSweepResult:
    async with db.session() as session:
        return await drive_reminders.sweep_drive_reminders(session, now, TZ, QUIET)


async def test_drive_reminders_are_queued_once_the_evening_before_and_before_the_start(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 1060, "en")
    await register(person, "en")
    today = service.today()
    day = today + timedelta(days=2)
    drive_id = await a_drive(db, local(day, 10))
    out = await person.tap(f"signup:{drive_id}")
    assert "signed up" in texts(out)
    assert (await drive_sweep(db, local(day - timedelta(days=2), 9))).queued == 0  # too far
    evening = local(day - timedelta(days=1), 18)
    assert (await drive_sweep(db, evening)).queued == 2
    assert (await drive_sweep(db, evening + timedelta(minutes=1))).queued == 0
    eve, soon = await drive_rows(db)
    assert eve.message_key == drive_reminders.EVE and soon.message_key == drive_reminders.SOON
    assert eve.not_before == local(day - timedelta(days=1), 19)
    assert soon.not_before == local(day, 8)
    assert eve.dedupe_key is not None and eve.dedupe_key.endswith(":eve")
    assert soon.dedupe_key is not None and soon.dedupe_key.endswith(":2h")
    worded = messages.render(drive_reminders.EVE, eve.params or {}, "vi")
    assert "CCCD" in worded.text and "rượu bia" in worded.text and "10:00" in worded.text
    assert [b.data for line in worded.buttons for b in line] == [f"unsign:{drive_id}"]
    english = messages.render(drive_reminders.SOON, soon.params or {}, "en")
    assert "today" in english.text and "10:00" in english.text


async def test_a_cancelled_sign_up_or_drive_cancels_its_reminders(
    service: ChatService, db: Database
) -> None:
    people = [Person(service, 1070 + i, "en") for i in range(2)]
    today = service.today()
    day = today + timedelta(days=2)
    drive_id = await a_drive(db, local(day, 10))
    for person in people:
        await register(person, "en")
        await person.tap(f"signup:{drive_id}")
    evening = local(day - timedelta(days=1), 18)
    assert (await drive_sweep(db, evening)).queued == 4
    await people[0].tap(f"unsign:{drive_id}")  # cancelled at once, not at the next pass
    first = await donor_id_of(db, 1070)
    rows = await drive_rows(db)
    mine = [r for r in rows if r.donor_id == first]
    assert {(r.status, r.error) for r in mine} == {(DeliveryStatus.FAILED, "sign-up cancelled")}
    assert (await drive_sweep(db, evening + timedelta(minutes=1))).queued == 0
    async with db.session() as session:  # the drive is called off (as /mydrives does)
        drive = await session.get(Drive, drive_id)
        assert drive is not None
        drive.status = DriveStatus.CANCELLED
        session.add(drive)
    result = await drive_sweep(db, evening + timedelta(minutes=2))
    assert (result.queued, result.cancelled) == (0, 2)
    assert all(r.status == DeliveryStatus.FAILED for r in await drive_rows(db))


async def test_a_moved_drive_moves_its_reminders(service: ChatService, db: Database) -> None:
    person = Person(service, 1080, "en")
    await register(person, "en")
    today = service.today()
    day = today + timedelta(days=2)
    drive_id = await a_drive(db, local(day, 10))
    await person.tap(f"signup:{drive_id}")
    evening = local(day - timedelta(days=1), 18)
    await drive_sweep(db, evening)
    async with db.session() as session:  # two hours later, the same day
        drive = await session.get(Drive, drive_id)
        assert drive is not None
        drive.starts_at, drive.ends_at = local(day, 12), local(day, 16)
        session.add(drive)
    result = await drive_sweep(db, evening + timedelta(minutes=1))
    assert (result.queued, result.cancelled) == (2, 2)
    rows = await drive_rows(db)
    old = [r for r in rows if r.status == DeliveryStatus.FAILED]
    new = [r for r in rows if r.status == DeliveryStatus.PENDING]
    assert {r.error for r in old} == {"drive moved"}
    assert sorted(r.not_before for r in new) == [local(day - timedelta(days=1), 19), local(day, 10)]
    assert "12:00" in messages.render(drive_reminders.SOON, new[-1].params or {}, "en").text
    assert (await drive_sweep(db, evening + timedelta(minutes=2))).queued == 0


async def test_a_seat_taken_after_the_evening_gets_only_the_reminder_before(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 1090, "en")
    await register(person, "en")
    today = service.today()
    day = today + timedelta(days=2)
    drive_id = await a_drive(db, local(day, 10))
    await person.tap(f"signup:{drive_id}")
    async with db.session() as session:  # as if the seat was taken at 20:00 the evening before
        signup = (await session.exec(select(Signup))).one()
        signup.updated_at = local(day - timedelta(days=1), 20)
        session.add(signup)
    assert (await drive_sweep(db, local(day - timedelta(days=1), 20, 1))).queued == 1
    [row] = await drive_rows(db)
    assert row.message_key == drive_reminders.SOON


async def test_a_row_the_old_button_queued_is_replaced_not_repeated(
    service: ChatService, db: Database
) -> None:
    from services.outreach import notify, outbox
    from services.outreach.messages import Message
    from services.reminders import eligible_again

    donor_id = await a_donor(service, db, 1100)
    today = service.today()
    async with db.session() as session:  # queued months ago, due this morning
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        broadcast = await outbox.create_broadcast(
            session, "reminder", "system", f"reminder:{today}"
        )
        old = Message(eligible_again.ELIGIBLE_AGAIN, {"day": today.isoformat()})
        await outbox.enqueue(
            session, broadcast, [notify.recipient_for(donor, old)], local(today, 9)
        )
    await set_donor(db, donor_id, remind_on=today)
    assert (await sweep(db, local(today, 9))).queued == 1
    [before] = await reminders(db, eligible_again.ELIGIBLE_AGAIN)
    assert (before.status, before.error) == (DeliveryStatus.FAILED, "replaced by a newer reminder")
    assert messages.known(eligible_again.ELIGIBLE_AGAIN)  # rows of the old kind still word
