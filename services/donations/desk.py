"""A drive's desk: the drives a leader may check donors in at, who is expected, and what happened.

Every outcome goes through `record_outcome`, which keeps the donation history (services/donations/
history) and the donor row right, rewrites an earlier check-in of the same person at the same
drive (a correction), and writes the audit entry, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CheckIn, Donor, Drive, DriveWard, Signup
from models.donations import CheckinOutcome, DonationSource
from models.donor import DonationKind
from models.drives import DriveStatus, SignupStatus
from models.types import utcnow
from services.conversation.actor import Actor
from services.core.text import fold
from services.core.validation import normalize_vn_phone
from services.donations import history
from services.drives import drive_store
from services.eligibility.onsite import is_onsite
from services.eligibility.rules import RuleOptions
from services.roles import access

# A drive stays open at the desk until a day after it ended: a mistake is corrected the same day.
CORRECTION_WINDOW = timedelta(hours=24)
MAX_DRIVES = 20  # drives offered at once


@dataclass(frozen=True)
class DeskDrive:
    """A drive of the day and the wards it serves."""

    drive: Drive
    ward_codes: list[str]

    @property
    def id(self) -> int:
        assert self.drive.id is not None
        return self.drive.id


def day_of(drive: Drive, tz: ZoneInfo) -> date:
    """The local day of a drive (the day its donations are recorded on)."""
    return drive.starts_at.astimezone(tz).date()


async def _with_wards(session: AsyncSession, drives: list[Drive]) -> list[DeskDrive]:
    """Drives with their wards, in one query."""
    ids = [d.id for d in drives if d.id is not None]
    wards: dict[int, list[str]] = {}
    if ids:
        rows = await session.exec(
            select(DriveWard.drive_id, DriveWard.ward_code).where(col(DriveWard.drive_id).in_(ids))
        )
        for drive_id, ward_code in rows.all():
            wards.setdefault(drive_id, []).append(ward_code)
    return [DeskDrive(d, sorted(wards.get(d.id or 0, []))) for d in drives]


async def drives_in_scope(
    session: AsyncSession,
    actor: Actor,
    action: access.Action,
    *,
    ending_after: datetime,
    starting_before: datetime | None = None,
) -> list[DeskDrive]:
    """Published drives in the time range on which `actor` may do `action`, soonest first."""
    query = select(Drive).where(
        col(Drive.status) == DriveStatus.PUBLISHED, col(Drive.ends_at) > ending_after
    )
    if starting_before is not None:
        query = query.where(col(Drive.starts_at) < starting_before)
    provinces = access.provinces_in_scope(actor)
    if provinces is not None:
        query = query.where(col(Drive.province_code).in_(sorted(provinces)))
    drives = list((await session.exec(query.order_by(col(Drive.starts_at), col(Drive.id)))).all())
    found = [
        d
        for d in await _with_wards(session, drives)
        if access.allowed(actor, action, d.drive.province_code, d.ward_codes)
    ]
    return found[:MAX_DRIVES]


async def drives_of_the_day(
    session: AsyncSession, actor: Actor, tz: ZoneInfo, now: datetime | None = None
) -> list[DeskDrive]:
    """The drives of today (and those that ended within a day) the actor may check donors in at."""
    now = now or utcnow()
    tomorrow = datetime.combine(now.astimezone(tz).date() + timedelta(days=1), time(0), tz)
    return await drives_in_scope(
        session,
        actor,
        access.Action.CHECK_IN,
        ending_after=now - CORRECTION_WINDOW,
        starting_before=tomorrow,
    )


async def desk_drive(
    session: AsyncSession, actor: Actor, drive_id: int, tz: ZoneInfo, now: datetime | None = None
) -> DeskDrive | None:
    """One drive of the day in the actor's scope, or None (over, elsewhere, another's)."""
    for found in await drives_of_the_day(session, actor, tz, now):
        if found.id == drive_id:
            return found
    return None


# --- who is expected -------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """A person at the desk: signed up (a seat or the waiting list), or a walk-in."""

    donor: Donor | None  # None: not registered (recorded by name and phone)
    signup_status: str | None  # a SignupStatus, None for a walk-in
    checkin: CheckIn | None

    @property
    def name(self) -> str:
        if self.donor is not None:
            return self.donor.full_name or "—"
        return (self.checkin.walk_in_name if self.checkin else None) or "—"

    @property
    def phone(self) -> str | None:
        if self.donor is not None:
            return self.donor.phone_e164
        return self.checkin.walk_in_phone if self.checkin else None

    @property
    def blood_group(self) -> str | None:
        return self.donor.blood_group if self.donor is not None else None

    @property
    def outcome(self) -> str | None:
        return self.checkin.outcome if self.checkin is not None else None


async def checkins_of(session: AsyncSession, drive_id: int) -> list[CheckIn]:
    """Every check-in of a drive, in the order they were first recorded."""
    result = await session.exec(
        select(CheckIn).where(col(CheckIn.drive_id) == drive_id).order_by(col(CheckIn.id))
    )
    return list(result.all())


async def roster(session: AsyncSession, drive_id: int) -> list[Entry]:
    """Seats first, then the waiting list (in sign-up order), then walk-ins."""
    rows = await session.exec(
        select(Donor, Signup)
        .join(Signup, col(Signup.donor_id) == col(Donor.id))
        .where(
            col(Signup.drive_id) == drive_id,
            col(Signup.status).in_([SignupStatus.CONFIRMED, SignupStatus.WAITING]),
        )
        .order_by(col(Signup.status), col(Signup.created_at), col(Signup.id))
    )
    signed = list(rows.all())
    checkins = await checkins_of(session, drive_id)
    by_donor = {c.donor_id: c for c in checkins if c.donor_id is not None}
    entries = [Entry(d, signup.status, by_donor.get(d.id or 0)) for d, signup in signed]
    listed = {donor.id for donor, _signup in signed}
    walk_in_ids = [
        c.donor_id for c in checkins if c.donor_id is not None and c.donor_id not in listed
    ]
    walk_ins: dict[int, Donor] = {}
    if walk_in_ids:
        found = await session.exec(select(Donor).where(col(Donor.id).in_(walk_in_ids)))
        walk_ins = {d.id or 0: d for d in found.all()}
    for checkin in checkins:
        if checkin.donor_id is None:
            entries.append(Entry(None, None, checkin))
        elif checkin.donor_id in walk_ins:
            entries.append(Entry(walk_ins[checkin.donor_id], None, checkin))
    return entries


def search(entries: Iterable[Entry], query: str) -> list[Entry]:
    """The entries whose phone is the one typed, or whose name holds every typed word."""
    phone = normalize_vn_phone(query)
    if phone is not None:
        return [e for e in entries if e.phone == phone]
    words = fold(query).split()
    if not words:
        return list(entries)
    return [e for e in entries if all(w in fold(e.name) for w in words)]


async def registered_by_phone(session: AsyncSession, phone_e164: str) -> list[Donor]:
    """Registered donors with this phone number (a walk-in the bot knows)."""
    result = await session.exec(
        select(Donor)
        .where(col(Donor.phone_e164) == phone_e164, col(Donor.registered_at).is_not(None))
        .order_by(col(Donor.id))
    )
    return list(result.all())


async def checkin_of(
    session: AsyncSession, drive_id: int, donor_id: int | None, walk_in_phone: str | None = None
) -> CheckIn | None:
    """The check-in of a person at a drive, if any (by donor, or by a walk-in's phone)."""
    query = select(CheckIn).where(col(CheckIn.drive_id) == drive_id)
    if donor_id is not None:
        query = query.where(col(CheckIn.donor_id) == donor_id)
    else:
        query = query.where(
            col(CheckIn.donor_id).is_(None), col(CheckIn.walk_in_phone) == walk_in_phone
        )
    return (await session.exec(query)).first()


# --- recording -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What happened to one person at the desk."""

    outcome: CheckinOutcome
    kind: DonationKind | None = None
    volume_ml: int | None = None
    deferred_until: date | None = None
    deferral_code: str | None = None


@dataclass(frozen=True)
class WalkIn:
    """Someone not registered, recorded by name and phone (E.164)."""

    name: str
    phone: str


async def record_outcome(
    session: AsyncSession,
    actor: Actor,
    desk: DeskDrive,
    person: Donor | WalkIn,
    outcome: Outcome,
    *,
    tz: ZoneInfo,
    today: date,
    options: RuleOptions | None = None,
) -> tuple[CheckIn, bool]:
    """Record (or correct) one person's outcome at a drive; returns the row and whether it
    rewrote an earlier one. The caller checked the actor's scope on `desk`."""
    if outcome.outcome is CheckinOutcome.DONATED:
        assert outcome.kind is not None and outcome.volume_ml is not None
        history.check_volume(outcome.kind, outcome.volume_ml)  # before anything is changed
    await drive_store.lock_drive(session, desk.id)  # two desks at one drive take turns
    donor = person if isinstance(person, Donor) else None
    walk_in = person if isinstance(person, WalkIn) else None
    existing = await checkin_of(
        session, desk.id, donor.id if donor else None, walk_in.phone if walk_in else None
    )
    previous = existing.outcome if existing is not None else None
    if donor is not None and existing is not None:
        await _undo(session, donor, existing, today, options)
    checkin = existing or CheckIn(drive_id=desk.id, outcome=outcome.outcome, recorded_by="")
    checkin.donor_id = donor.id if donor is not None else None
    if walk_in is not None:
        checkin.walk_in_name, checkin.walk_in_phone = walk_in.name, walk_in.phone
    checkin.outcome = outcome.outcome
    donated = outcome.outcome is CheckinOutcome.DONATED
    checkin.kind = outcome.kind if donated else None
    checkin.volume_ml = outcome.volume_ml if donated else None
    deferred = outcome.outcome is CheckinOutcome.DEFERRED
    checkin.deferred_until = outcome.deferred_until if deferred else None
    checkin.deferral_code = outcome.deferral_code if deferred else None
    checkin.donation_id = None
    checkin.repeat_donor = False
    checkin.recorded_by = actor.label[:80]
    checkin.updated_at = utcnow()
    if donor is not None:
        await into_history(session, donor, checkin, desk.drive, tz=tz, today=today, options=options)
    session.add(checkin)
    await session.flush()
    await access.audit(
        session,
        actor,
        access.Action.CHECK_IN,
        access.scope_label(desk.drive.province_code, desk.ward_codes),
        drive_id=desk.id,
        checkin_id=checkin.id,
        donor_id=checkin.donor_id,
        walk_in=walk_in is not None,
        outcome=checkin.outcome,
        volume_ml=checkin.volume_ml,
        corrected_from=previous,
    )
    return checkin, existing is not None


async def into_history(
    session: AsyncSession,
    donor: Donor,
    checkin: CheckIn,
    drive: Drive,
    *,
    tz: ZoneInfo,
    today: date,
    options: RuleOptions | None = None,
) -> None:
    """What a check-in means for the donor's own record: a donation given at the drive (and
    whether they had given before), or an on-site deferral; the reminder day follows."""
    if checkin.outcome == CheckinOutcome.DONATED:  # read back, the outcome is a plain string
        assert checkin.kind is not None and checkin.volume_ml is not None
        donation = await history.record(
            session,
            donor,
            day=day_of(drive, tz),
            kind=DonationKind(checkin.kind),
            volume_ml=checkin.volume_ml,
            source=DonationSource.DRIVE,
            recorded_by=checkin.recorded_by,
            today=today,
            drive_id=drive.id,
            options=options,
        )
        checkin.donation_id = donation.id
        assert donor.id is not None
        checkin.repeat_donor = await history.gave_before(session, donor.id, donation.donated_on)
    elif checkin.outcome == CheckinOutcome.DEFERRED and checkin.deferred_until is not None:
        # A longer wait the bot already holds (a tattoo, say) is kept.
        if donor.deferred_until is None or donor.deferred_until <= checkin.deferred_until:
            donor.deferred_until = checkin.deferred_until
            donor.deferral_code = checkin.deferral_code
        await history.refresh(session, donor, today, options)


async def _undo(
    session: AsyncSession,
    donor: Donor,
    checkin: CheckIn,
    today: date,
    options: RuleOptions | None,
) -> None:
    """Take back what an earlier check-in did to the donor: its donation, its deferral."""
    if checkin.donation_id is not None:
        await history.remove(session, donor, checkin.donation_id, today, options)
    if (
        checkin.outcome == CheckinOutcome.DEFERRED
        and is_onsite(donor.deferral_code)
        and donor.deferred_until == checkin.deferred_until
        and donor.deferral_code == checkin.deferral_code
    ):
        donor.deferred_until, donor.deferral_code = None, None
        await history.refresh(session, donor, today, options)
