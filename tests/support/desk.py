"""Drives, donors and what their desks recorded, written straight to the database (for the
statistics tests, which read what check-in writes)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from models import CheckIn, Donor, DriveBase, Signup
from models.database import Database
from models.donations import CheckinOutcome, DonationSource
from models.donor import DonationKind
from models.drives import DriveStatus, SignupStatus
from models.types import utcnow
from services.donations import history
from services.drives import drive_store

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DAY = date(2027, 1, 10)
PROVINCE = "44"  # Quảng Trị
# The Quảng Trị 2021 plan table of ../shared/seeds/002, as staff copy it out of the document.
QUANG_TRI_PLAN = Path(__file__).resolve().parent.parent / "data" / "quang_tri_2021_plan.tsv"


async def make_drive(db: Database, day: date, ward: str, campaign: str = "chu_nhat_do") -> int:
    start = datetime.combine(day, time(6, 0), tzinfo=TZ)  # before 07:00: the UTC day is earlier
    fields = DriveBase(
        campaign=campaign,
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        venue_name="Nhà văn hóa",
        address="1 Lê Duẩn",
        province_code=PROVINCE,
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
    day: date = DAY,
) -> None:
    async with db.session() as session:
        donation_id, repeat = None, False
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
                    day=day,
                    kind=DonationKind.WHOLE_BLOOD,
                    volume_ml=volume,
                    source=DonationSource.DRIVE,
                    recorded_by="leader",
                    today=max(day, DAY),
                    drive_id=drive_id,
                )
                donation_id = donation.id
                assert donor.id is not None
                repeat = await history.gave_before(session, donor.id, day)
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
                repeat_donor=repeat,
                recorded_by="leader",
            )
        )
