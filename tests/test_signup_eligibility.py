"""Sign-up and the waiting list check what the bot knows: a saved deferral, the last donation."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from models import Donor, DriveBase, Follow, Signup
from models.database import Database
from models.drives import DriveStatus
from services.chat import ChatService
from services.core.labels import date_label
from services.drives import drive_store
from services.eligibility.donor_status import eligibility_on
from services.eligibility.rules import DonationKind, RuleOptions
from tests.support.people import Person, buttons, count, register, texts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HOME = ("79", "26740")  # Phường Sài Gòn, where tests.support.people.register puts the donor


@pytest.fixture
def service(db: Database) -> ChatService:
    return ChatService(db, organization="Hội Chữ thập đỏ", tz=TZ)


async def make_drive(db: Database, day: date, ward: str = HOME[1], capacity: int = 5) -> int:
    """A published drive, 07:30–11:30 local time on `day`."""
    start = datetime.combine(day, time(7, 30), tzinfo=TZ)
    fields = DriveBase(
        campaign="chu_nhat_do",
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        venue_name=f"Nhà văn hóa {day.isoformat()}",
        address="1 Lê Lợi",
        province_code=HOME[0],
        collector="Bệnh viện Truyền máu Huyết học",
        target_units=100,
        capacity=capacity,
    )
    async with db.session() as session:
        drive = await drive_store.create_drive(session, fields, [ward], "test")
        drive.status = DriveStatus.PUBLISHED
        await session.flush()
        assert drive.id is not None
        return drive.id


async def set_donor(db: Database, user_id: int, **values: object) -> None:
    async with db.session() as session:
        donor = (await session.exec(select(Donor).where(Donor.external_id == str(user_id)))).one()
        for name, value in values.items():
            setattr(donor, name, value)
        session.add(donor)


def drive_day(service: ChatService) -> date:
    """A drive ten days from now (12/12/2026 in the report, written relative to today)."""
    return service.today() + timedelta(days=10)


async def test_a_saved_deferral_refuses_the_sign_up_with_the_date_and_later_drives(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 301)
    await register(person)
    day = drive_day(service)
    until = day + timedelta(days=111)  # a tattoo: 02/04/2027 against a drive on 12/12/2026
    await set_donor(db, 301, deferred_until=until, deferral_code="tattoo")
    drive = await make_drive(db, day)
    later = await make_drive(db, until + timedelta(days=5))
    on_the_day = await make_drive(db, until)
    elsewhere = await make_drive(db, until + timedelta(days=6), ward="26743")  # not followed
    too_soon = await make_drive(db, until - timedelta(days=1))

    out = await person.tap(f"signup:{drive}")
    said = texts(out)
    assert (
        f"Bạn được hiến lại từ {date_label(until)}, sau ngày hiến máu này ({date_label(day)})"
        in said
    )
    assert "(Xăm hình)" in said  # why: the tattoo of the check
    offered = buttons(out)
    assert f"signup:{on_the_day}" in offered and f"signup:{later}" in offered
    assert offered.index(f"signup:{on_the_day}") < offered.index(f"signup:{later}")
    assert f"signup:{elsewhere}" not in offered and f"signup:{too_soon}" not in offered
    assert f"remind:{until.isoformat()}:tattoo" in offered
    assert all(len(data.encode()) <= 64 for data in offered)
    assert out.replies[0].document is None  # no calendar file
    assert await count(db, Signup) == 0

    out = await person.tap(f"signup:{later}")  # a drive it offered: signed up
    assert out.replies[0].document is not None
    assert await count(db, Signup) == 1


async def test_whole_blood_on_15_11_refuses_a_drive_before_the_84_days(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 302, "en")
    await register(person, "en")
    day = drive_day(service)
    gave = day - timedelta(days=27)  # 15/11/2026 for a drive on 12/12/2026
    await set_donor(db, 302, last_donation_kind="whole_blood", last_donation_date=gave)
    drive = await make_drive(db, day, capacity=0)  # full: the waiting list is checked too
    out = await person.tap(f"waitlist:{drive}")
    said = texts(out)
    again = gave + timedelta(days=84)
    assert (
        f"You may give again from {date_label(again)}, after the day of this drive "
        f"({date_label(day)})"
    ) in said
    assert f"Your last donation (whole blood, {date_label(gave)}) needs a gap of 84 days" in said
    assert "Circular 26/2013/TT-BYT, Article 6(1) and (4)" in said
    assert "No drive in your wards is announced" in said
    assert buttons(out) == [f"remind:{again.isoformat()}:interval_whole_blood"]
    assert await count(db, Signup) == 0
    out = await person.tap(buttons(out)[0])  # "remind me" keeps the date and queues a message
    assert date_label(again) in texts(out)


async def test_an_eligible_donor_signs_up_as_before(service: ChatService, db: Database) -> None:
    person = Person(service, 303, "en")
    await register(person, "en")  # whole blood on 15/03/2026: long enough ago
    await set_donor(db, 303, deferred_until=service.today() - timedelta(days=1))  # over
    drive = await make_drive(db, drive_day(service))
    out = await person.tap(f"signup:{drive}")
    assert "You are signed up" in texts(out)
    assert out.replies[0].document is not None
    out = await person.tap(f"signup:{drive}")  # tapped again: the card, not a refusal
    assert "You may give again" not in texts(out)


async def test_the_gap_follows_the_last_kind_and_the_drive_day(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 304, "en")
    await register(person, "en")
    day = drive_day(service)
    # Platelets 10 days before the drive: whole blood waits 14 days (Điều 6 khoản 4).
    await set_donor(
        db, 304, last_donation_kind="platelets", last_donation_date=day - timedelta(days=10)
    )
    soon, after = await make_drive(db, day), await make_drive(db, day + timedelta(days=4))
    out = await person.tap(f"signup:{soon}")
    assert f"You may give again from {date_label(day + timedelta(days=4))}" in texts(out)
    assert f"signup:{after}" in buttons(out)
    out = await person.tap(f"signup:{after}")  # day 14: allowed on that day
    assert "You are signed up" in texts(out)


async def test_followed_wards_count_as_the_donors_wards(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 305)
    await register(person)
    day = drive_day(service)
    await set_donor(db, 305, deferred_until=day + timedelta(days=30), deferral_code="surgery")
    async with db.session() as session:
        donor = (await session.exec(select(Donor).where(Donor.external_id == "305"))).one()
        session.add(Follow(donor_id=donor.id or 0, province_code="79", ward_code="26743"))
    drive = await make_drive(db, day)
    followed = await make_drive(db, day + timedelta(days=40), ward="26743")
    out = await person.tap(f"signup:{drive}")
    assert f"signup:{followed}" in buttons(out)


def test_eligibility_on_a_day() -> None:
    donor = Donor(
        channel="telegram",
        external_id="1",
        chat_id="1",
        consent_version="v",
        consented_at=datetime(2026, 1, 1, tzinfo=TZ),
        date_of_birth=date(1995, 8, 25),
        sex="male",
        last_donation_kind="whole_blood",
        last_donation_date=date(2026, 11, 15),
    )
    drive = date(2026, 12, 12)
    verdict = eligibility_on(donor, drive)
    assert not verdict.allowed and verdict.earliest == date(2027, 2, 7)
    assert verdict.reason is not None and verdict.reason.code == "interval_whole_blood"
    assert eligibility_on(donor, date(2027, 2, 7)).allowed  # on day 84
    donor.deferred_until, donor.deferral_code = date(2027, 4, 2), "tattoo"
    verdict = eligibility_on(donor, drive)
    assert verdict.earliest == date(2027, 4, 2) and verdict.saved_code == "tattoo"
    assert verdict.reason is None
    donor.deferred_until = None
    donor.last_donation_kind, donor.last_donation_date = "platelets", date(2026, 12, 1)
    nihbt = RuleOptions.preset("nihbt")
    assert eligibility_on(donor, drive, DonationKind.WHOLE_BLOOD).earliest == date(2026, 12, 15)
    assert eligibility_on(donor, drive, options=nihbt).earliest == date(2026, 12, 22)
    donor.date_of_birth = date(1960, 1, 1)  # 66 on the drive's day: no date at all
    verdict = eligibility_on(donor, drive)
    assert verdict.earliest is None and not verdict.allowed
    assert verdict.reason is not None and verdict.reason.code == "age_over_max"


async def test_a_reported_donation_refuses_an_early_sign_up_and_answers_when_again(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 330, "en")
    await register(person, "en")
    gave = service.today() - timedelta(days=5)
    await person.tap("elsewhere")
    await person.say(gave.strftime("%d/%m/%Y"))
    await person.tap("dx:kind:whole_blood")
    await person.tap("dx:volume:350")
    await person.tap("dx:skip")
    await person.tap("dx:save")
    again = gave + timedelta(days=84)
    early = await make_drive(db, drive_day(service))
    after = await make_drive(db, again + timedelta(days=2))
    out = await person.tap(f"signup:{early}")
    assert f"You may give again from {date_label(again)}" in texts(out)
    assert f"signup:{after}" in buttons(out)
    assert await count(db, Signup) == 0
    out = await person.say("when can I give blood again?")
    assert date_label(again) in texts(out)
