"""The figures of a scope and period, from what the drives' desks recorded."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models import CheckIn, Donor, DriveBase, Signup
from models.database import Database
from models.donations import CheckinOutcome, DonationSource
from models.donor import DonationKind
from models.drives import DriveStatus, SignupStatus
from models.types import utcnow
from services.donations import history
from services.drives import drive_store
from services.stats.figures import Figures, Period, Scope, figures

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2027, 1, 10)


async def make_drive(db: Database, day: date, ward: str, campaign: str = "chu_nhat_do") -> int:
    start = datetime.combine(day, time(6, 0), tzinfo=TZ)  # before 07:00: the UTC day is earlier
    fields = DriveBase(
        campaign=campaign,
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        venue_name="Nhà văn hóa",
        address="1 Lê Duẩn",
        province_code="44",
        collector="Bệnh viện",
        target_units=100,
        capacity=50,
    )
    async with db.session() as session:
        drive = await drive_store.create_drive(session, fields, [ward], "test")
        drive.status = DriveStatus.PUBLISHED
        await session.flush()
        assert drive.id is not None
        return drive.id


async def make_donor(db: Database, n: int) -> int:
    async with db.session() as session:
        donor = Donor(
            channel="telegram",
            external_id=str(7000 + n),
            chat_id=str(7000 + n),
            consent_version="v1",
            consented_at=utcnow(),
            registered_at=utcnow(),
            full_name=f"Người {n}",
        )
        session.add(donor)
        await session.flush()
        assert donor.id is not None
        return donor.id


async def check_in(
    db: Database,
    drive_id: int,
    donor_id: int | None,
    outcome: CheckinOutcome,
    volume: int | None = None,
    signed_up: bool = True,
) -> None:
    async with db.session() as session:
        donation_id = None
        if donor_id is not None:
            if signed_up:
                session.add(
                    Signup(drive_id=drive_id, donor_id=donor_id, status=SignupStatus.CONFIRMED)
                )
            if outcome is CheckinOutcome.DONATED:
                donor = await session.get(Donor, donor_id)
                assert donor is not None and volume is not None
                donation = await history.record(
                    session,
                    donor,
                    day=DAY,
                    kind=DonationKind.WHOLE_BLOOD,
                    volume_ml=volume,
                    source=DonationSource.DRIVE,
                    recorded_by="leader",
                    today=DAY,
                    drive_id=drive_id,
                )
                donation_id = donation.id
        session.add(
            CheckIn(
                drive_id=drive_id,
                donor_id=donor_id,
                walk_in_name=None if donor_id else "Khách vãng lai",
                walk_in_phone=None if donor_id else "+84900000001",
                outcome=outcome,
                kind=DonationKind.WHOLE_BLOOD if volume else None,
                volume_ml=volume,
                donation_id=donation_id,
                recorded_by="leader",
            )
        )


async def test_a_drives_figures_with_repeat_donors_walk_ins_and_units(db: Database) -> None:
    drive = await make_drive(db, DAY, "19333")
    other = await make_drive(db, DAY, "18880", campaign="xuan_hong")  # another ward
    donors = [await make_donor(db, n) for n in range(6)]
    async with db.session() as session:  # donor 0 gave a year before: a repeat donor
        first = await session.get(Donor, donors[0])
        assert first is not None
        await history.record(
            session,
            first,
            day=DAY - timedelta(days=365),
            kind=DonationKind.WHOLE_BLOOD,
            volume_ml=250,
            source=DonationSource.SELF_REPORTED,
            recorded_by=history.SELF,
            today=DAY,
        )
    await check_in(db, drive, donors[0], CheckinOutcome.DONATED, 350)
    await check_in(db, drive, donors[1], CheckinOutcome.DONATED, 450)
    await check_in(db, drive, donors[2], CheckinOutcome.DONATED, 250)
    await check_in(db, drive, donors[3], CheckinOutcome.DEFERRED)
    await check_in(db, drive, donors[4], CheckinOutcome.NO_SHOW)
    await check_in(db, drive, None, CheckinOutcome.DONATED, 350, signed_up=False)
    await check_in(db, other, donors[5], CheckinOutcome.DONATED, 450)

    january = Period(date(2027, 1, 1), date(2027, 1, 31))
    ward = await _figures(db, Scope("44", frozenset({"19333"})), january)
    assert (ward.drives, ward.signups, ward.checkins) == (1, 5, 6)
    assert (ward.donated, ward.deferred, ward.no_shows, ward.walk_ins) == (4, 1, 1, 1)
    assert ward.bags == {250: 1, 350: 2, 450: 1}
    assert ward.converted_units == 1 + 1.4 * 2 + 1.8
    assert ward.share_350_or_more == 75.0
    assert (ward.repeat_donors, ward.new_donors, ward.repeat_share) == (1, 3, 25.0)

    province = await _figures(db, Scope("44"), january)
    assert (province.drives, province.donated) == (2, 5)
    spring = await _figures(db, Scope("44", campaign="xuan_hong"), january)
    assert (spring.drives, spring.donated, spring.bags) == (1, 1, {450: 1})
    one = await _figures(db, Scope("44", drive_id=drive), january)
    assert one.donated == 4
    december = await _figures(db, Scope("44"), Period(date(2026, 12, 1), date(2026, 12, 31)))
    assert (december.drives, december.donated, december.share_350_or_more) == (0, 0, None)
    elsewhere = await _figures(db, Scope("01"), january)
    assert elsewhere.drives == 0


async def _figures(db: Database, scope: Scope, period: Period) -> Figures:
    async with db.session() as session:
        return await figures(session, scope, period, TZ)
