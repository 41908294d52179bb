"""Drives: creating, listing for a donor, seats, sign-ups with a waiting list, calendar files."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import case, func, literal, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor, Drive, DriveBase, DriveWard, Follow, OutboxMessage, Signup
from models.drives import DriveStatus, SignupStatus
from models.outbox import DeliveryStatus
from models.types import utcnow


async def create_drive(
    session: AsyncSession, fields: DriveBase, ward_codes: list[str], created_by: str
) -> Drive:
    """A new drive in draft, with the wards it serves."""
    drive = Drive.model_validate(
        fields, update={"created_by": created_by, "status": DriveStatus.DRAFT}
    )
    session.add(drive)
    await session.flush()
    assert drive.id is not None
    for code in dict.fromkeys(ward_codes):
        session.add(DriveWard(drive_id=drive.id, ward_code=code))
    return drive


async def get_drive(session: AsyncSession, drive_id: int) -> Drive | None:
    """A drive by id."""
    return await session.get(Drive, drive_id)


async def drive_wards(session: AsyncSession, drive_id: int) -> list[str]:
    """The ward codes a drive serves."""
    result = await session.exec(
        select(DriveWard.ward_code).where(col(DriveWard.drive_id) == drive_id)
    )
    return list(result.all())


@dataclass(frozen=True)
class DriveSummary:
    """A drive with its wards and sign-up counts, for a leader's list."""

    drive: Drive
    ward_codes: list[str]
    confirmed: int
    waiting: int


async def upcoming_summaries(
    session: AsyncSession, provinces: Collection[str] | None, limit: int
) -> list[DriveSummary]:
    """Published drives not yet over (in these provinces; all when None), soonest first, with
    their wards and counts: three queries whatever the number of drives."""
    query = select(Drive).where(col(Drive.ends_at) > utcnow(), col(Drive.status) == DriveStatus.PUBLISHED)
    if provinces is not None:
        query = query.where(col(Drive.province_code).in_(list(provinces)))
    drives = list((await session.exec(query.order_by(col(Drive.starts_at)).limit(limit))).all())
    ids = [drive.id for drive in drives if drive.id is not None]
    if not ids:
        return []
    wards: dict[int, list[str]] = {}
    rows = await session.exec(
        select(DriveWard.drive_id, DriveWard.ward_code).where(col(DriveWard.drive_id).in_(ids))
    )
    for drive_id, ward_code in rows.all():
        wards.setdefault(drive_id, []).append(ward_code)
    counts: dict[tuple[int, str], int] = {}
    grouped = await session.exec(
        select(Signup.drive_id, Signup.status, func.count())
        .where(col(Signup.drive_id).in_(ids))
        .group_by(col(Signup.drive_id), col(Signup.status))
    )
    for drive_id, status, count in grouped.all():
        counts[(drive_id, status)] = int(count)
    return [
        DriveSummary(
            drive,
            wards.get(drive.id or 0, []),
            counts.get((drive.id or 0, SignupStatus.CONFIRMED), 0),
            counts.get((drive.id or 0, SignupStatus.WAITING), 0),
        )
        for drive in drives
    ]


async def lock_drive(session: AsyncSession, drive_id: int) -> Drive | None:
    """The drive row, locked for this transaction (seat counting must not race)."""
    result = await session.exec(select(Drive).where(col(Drive.id) == drive_id).with_for_update())
    return result.first()


async def count_signups(session: AsyncSession, drive_id: int, status: str) -> int:
    """How many sign-ups of a status a drive has."""
    result = await session.exec(
        select(func.count())
        .select_from(Signup)
        .where(col(Signup.drive_id) == drive_id, col(Signup.status) == status)
    )
    return int(result.one())


async def seats_left(session: AsyncSession, drive: Drive) -> int:
    """Capacity minus confirmed sign-ups."""
    assert drive.id is not None
    return max(0, drive.capacity - await count_signups(session, drive.id, SignupStatus.CONFIRMED))


async def get_signup(session: AsyncSession, drive_id: int, donor_id: int) -> Signup | None:
    """A donor's sign-up at a drive, in any status."""
    result = await session.exec(
        select(Signup).where(col(Signup.drive_id) == drive_id, col(Signup.donor_id) == donor_id)
    )
    return result.first()


@dataclass(frozen=True)
class SignupResult:
    """What happened when a donor tapped "sign up"."""

    status: str  # confirmed | waiting | already_confirmed | already_waiting | closed
    drive: Drive | None


async def sign_up(
    session: AsyncSession,
    drive_id: int,
    donor: Donor,
    *,
    waitlist: bool,
    now: datetime | None = None,
) -> SignupResult:
    """Take a seat, or join the waiting list when full and `waitlist` is asked for."""
    now = now or utcnow()
    drive = await lock_drive(session, drive_id)
    if drive is None or drive.status != DriveStatus.PUBLISHED or drive.ends_at <= now:
        return SignupResult("closed", drive)
    assert donor.id is not None
    existing = await get_signup(session, drive_id, donor.id)
    if existing is not None and existing.status == SignupStatus.CONFIRMED:
        return SignupResult("already_confirmed", drive)
    if existing is not None and existing.status == SignupStatus.WAITING:
        return SignupResult("already_waiting", drive)
    free = await seats_left(session, drive)
    if free <= 0 and not waitlist:
        return SignupResult("full", drive)
    status = SignupStatus.CONFIRMED if free > 0 else SignupStatus.WAITING
    if existing is None:
        session.add(
            Signup(
                drive_id=drive_id, donor_id=donor.id, status=status, created_at=now, updated_at=now
            )
        )
    else:
        existing.status, existing.created_at, existing.updated_at = status, now, now
    return SignupResult(status, drive)


async def cancel_signup(
    session: AsyncSession, drive_id: int, donor_id: int, now: datetime | None = None
) -> tuple[bool, Signup | None]:
    """Cancel a sign-up; a freed seat goes to the first on the waiting list (returned)."""
    now = now or utcnow()
    drive = await lock_drive(session, drive_id)
    signup = await get_signup(session, drive_id, donor_id)
    if drive is None or signup is None or signup.status == SignupStatus.CANCELLED:
        return False, None
    freed = signup.status == SignupStatus.CONFIRMED
    signup.status, signup.updated_at = SignupStatus.CANCELLED, now
    if signup.id is not None:
        await cancel_drive_reminders(session, [signup.id], "sign-up cancelled")
    promoted = await promote_waiting(session, drive, now) if freed else []
    return True, (promoted[0] if promoted else None)


async def promote_waiting(
    session: AsyncSession, drive: Drive, now: datetime | None = None
) -> list[Signup]:
    """Give free seats to the waiting list, first come first served (caller locked the drive)."""
    assert drive.id is not None
    if drive.status != DriveStatus.PUBLISHED:
        return []
    await session.flush()
    free = await seats_left(session, drive)
    if free <= 0:
        return []
    result = await session.exec(
        select(Signup)
        .where(col(Signup.drive_id) == drive.id, col(Signup.status) == SignupStatus.WAITING)
        .order_by(col(Signup.created_at), col(Signup.id))
        .limit(free)
    )
    promoted = list(result.all())
    for signup in promoted:
        signup.status, signup.updated_at = SignupStatus.CONFIRMED, now or utcnow()
    return promoted


async def upcoming_for(
    session: AsyncSession, donor: Donor, now: datetime, offset: int = 0, limit: int = 3
) -> tuple[list[Drive], bool]:
    """Published drives not yet over: those serving the donor's followed wards first, then
    the rest of their province; soonest first. Returns a page and whether more follow."""
    followed = select(Follow.ward_code).where(col(Follow.donor_id) == donor.id)
    own_wards = {donor.ward_code} if donor.ward_code else set()
    in_my_wards = (
        select(DriveWard.drive_id)
        .where(col(DriveWard.ward_code).in_(followed) | col(DriveWard.ward_code).in_(own_wards))
        .scalar_subquery()
    )
    provinces = select(Follow.province_code).where(col(Follow.donor_id) == donor.id)
    rank = case((col(Drive.id).in_(in_my_wards), literal(0)), else_=literal(1))
    query = (
        select(Drive)
        .where(
            col(Drive.status) == DriveStatus.PUBLISHED,
            col(Drive.ends_at) > now,
            col(Drive.id).in_(in_my_wards)
            | (col(Drive.province_code) == (donor.province_code or ""))
            | col(Drive.province_code).in_(provinces),
        )
        .order_by(rank, col(Drive.starts_at), col(Drive.id))
        .offset(offset)
        .limit(limit + 1)
    )
    drives = list((await session.exec(query)).all())
    return drives[:limit], len(drives) > limit


async def drives_by(session: AsyncSession, created_by: str, now: datetime) -> list[Drive]:
    """A leader's drives not yet over (for editing and cancelling)."""
    result = await session.exec(
        select(Drive)
        .where(
            col(Drive.created_by) == created_by,
            col(Drive.ends_at) > now,
            col(Drive.status) != DriveStatus.CANCELLED,
        )
        .order_by(col(Drive.starts_at))
    )
    return list(result.all())


async def signed_up_donors(session: AsyncSession, drive_id: int) -> list[Donor]:
    """Donors with a seat or on the waiting list (told of changes and cancellation)."""
    result = await session.exec(
        select(Donor)
        .join(Signup, col(Signup.donor_id) == col(Donor.id))
        .where(
            col(Signup.drive_id) == drive_id,
            col(Signup.status).in_([SignupStatus.CONFIRMED, SignupStatus.WAITING]),
        )
    )
    return list(result.all())


async def signed_up_with_status(session: AsyncSession, drive_id: int) -> list[tuple[Donor, str]]:
    """Donors with a seat or on the waiting list, and which of the two."""
    result = await session.exec(
        select(Donor, Signup.status)
        .join(Signup, col(Signup.donor_id) == col(Donor.id))
        .where(
            col(Signup.drive_id) == drive_id,
            col(Signup.status).in_([SignupStatus.CONFIRMED, SignupStatus.WAITING]),
        )
        .order_by(col(Donor.id))
    )
    return [(donor, status) for donor, status in result.all()]


# Drive reminders (services/reminders/drive_reminders.py) carry the key
# "drive:<signup id>:<start>:<signed>:<eve|2h>", so a sign-up's pending ones are found without
# knowing the reminders package (which stands to the right of drives).
REMINDER_KEY_PREFIX = "drive:"


def reminder_signup_id(dedupe_key: str | None) -> int | None:
    """The sign-up a drive reminder's key names (None for any other key)."""
    if not dedupe_key or not dedupe_key.startswith(REMINDER_KEY_PREFIX):
        return None
    head = dedupe_key[len(REMINDER_KEY_PREFIX) :].partition(":")[0]
    return int(head) if head.isdigit() else None


async def cancel_drive_reminders(
    session: AsyncSession, signup_ids: Collection[int], reason: str
) -> int:
    """Drop the drive reminders not yet sent for these sign-ups (cancelled, or the drive
    cancelled or moved); returns how many. Pending drive reminders are few (the next 26 hours)."""
    wanted = set(signup_ids)
    if not wanted:
        return 0
    pending = await session.exec(
        select(OutboxMessage.id, OutboxMessage.dedupe_key).where(
            col(OutboxMessage.status) == DeliveryStatus.PENDING,
            col(OutboxMessage.dedupe_key).like(f"{REMINDER_KEY_PREFIX}%"),
        )
    )
    ids = [row_id for row_id, key in pending.all() if reminder_signup_id(key) in wanted]
    if ids:
        await session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == DeliveryStatus.PENDING
            )
            .values(status=DeliveryStatus.FAILED, error=reason[:200])
        )
    return len(ids)


async def signup_ids_of(session: AsyncSession, drive_id: int) -> list[int]:
    """Every sign-up of a drive, whatever its status."""
    result = await session.exec(select(Signup.id).where(col(Signup.drive_id) == drive_id))
    return [i for i in result.all() if i is not None]


def ics_file(drive: Drive, title: str, description: str) -> bytes:
    """An iCalendar event for the drive (RFC 5545), times in UTC."""

    def stamp(moment: datetime) -> str:
        return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

    def escape(text: str) -> str:
        return (
            text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
        )

    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//hienmau-bot//drives//VI",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:drive-{drive.id}@hienmau-bot",
        # A changed drive keeps its UID and gets a higher SEQUENCE, so calendars update the
        # event they already hold instead of adding a second one (RFC 5545 §3.8.7.4).
        f"SEQUENCE:{_sequence(drive)}",
        f"DTSTAMP:{stamp(utcnow())}",
        f"DTSTART:{stamp(drive.starts_at)}",
        f"DTEND:{stamp(drive.ends_at)}",
        f"SUMMARY:{escape(title)}",
        f"LOCATION:{escape(drive.venue_name + ', ' + drive.address)}",
        f"DESCRIPTION:{escape(description)}",
    ]
    if drive.latitude is not None and drive.longitude is not None:
        lines.append(f"GEO:{drive.latitude:.6f};{drive.longitude:.6f}")
    lines += [
        "BEGIN:VALARM",
        "ACTION:DISPLAY",
        "DESCRIPTION:" + escape(title),
        "TRIGGER:-PT12H",
        "END:VALARM",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return ("\r\n".join(_fold(line) for line in lines) + "\r\n").encode("utf-8")


def _sequence(drive: Drive) -> int:
    """The event's revision: seconds between creation and the last change (grows with each)."""
    return max(0, int((drive.updated_at - drive.created_at).total_seconds()))


def _fold(line: str) -> str:
    """Fold content lines at 75 octets as RFC 5545 asks."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts: list[str] = []
    current = b""
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > (75 if not parts else 74):
            parts.append(current.decode("utf-8"))
            current = b""
        current += encoded
    parts.append(current.decode("utf-8"))
    return "\r\n ".join(parts)
