"""The figures of a scope and period: sign-ups, check-ins, donations, no-shows, deferrals, bags by
volume, converted units, repeat and new donors. Aggregated in the database (a province holds
millions of donations): a handful of grouped queries, never a row per donor in Python.

The actuals are what the drives' desks recorded (checkins), walk-ins without a registration
included; a donation a donor reported themselves is theirs, not a drive's, and is not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, distinct, exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from models import CheckIn, Drive, DriveWard, Signup
from models.donations import CheckinOutcome
from models.drives import DriveStatus, SignupStatus
from services.stats import units

WALK_IN, REPEAT, NEW = "walk_in", "repeat", "new"  # who donated, as the query groups them


@dataclass(frozen=True)
class Scope:
    """Where: a province (None: the whole country, admins only), some of its wards (None: all),
    a campaign, or one drive."""

    province: str | None
    wards: frozenset[str] | None = None
    campaign: str | None = None
    drive_id: int | None = None


@dataclass(frozen=True)
class Period:
    """From `start` to `end`, both included, local days."""

    start: date
    end: date

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as UTC instants [from, to)."""
        low = datetime.combine(self.start, time(0), tzinfo=tz).astimezone(UTC)
        high = datetime.combine(self.end + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        return low, high


@dataclass
class Figures:
    """What happened at the drives of a scope and period."""

    drives: int = 0
    signups: int = 0
    waiting: int = 0
    checkins: int = 0
    donated: int = 0
    deferred: int = 0
    no_shows: int = 0
    bags: dict[int, int] = field(default_factory=dict)  # volume in ml → bags
    repeat_donors: int = 0  # registered donors who had given before
    walk_ins: int = 0  # donated without a registration (name and phone only)
    reached: int = 0  # distinct people who donated (a donor giving twice in the period is one)

    @property
    def converted_units(self) -> float:
        """The bags in 250 ml units (350 ml = 1.4, 450 ml = 1.8)."""
        return sum(units.converted(volume) * n for volume, n in self.bags.items())

    @property
    def bag_count(self) -> int:
        return sum(self.bags.values())

    @property
    def share_350_or_more(self) -> float | None:
        """The share of bags of 350 ml or more, in %."""
        total = self.bag_count
        big = sum(n for volume, n in self.bags.items() if volume >= 350)
        return 100 * big / total if total else None

    @property
    def new_donors(self) -> int:
        """Donors giving for the first time (walk-ins without a registration counted as new)."""
        return self.donated - self.repeat_donors

    @property
    def repeat_share(self) -> float | None:
        """The share of repeat donors, in % (the plans aim for 80 %)."""
        return 100 * self.repeat_donors / self.donated if self.donated else None


def drives_query(scope: Scope, period: Period, tz: ZoneInfo) -> SelectOfScalar[int | None]:
    """The ids of the published drives of a scope held in a period."""
    low, high = period.bounds(tz)
    query = select(col(Drive.id)).where(
        col(Drive.status) == DriveStatus.PUBLISHED,
        col(Drive.starts_at) >= low,
        col(Drive.starts_at) < high,
    )
    if scope.drive_id is not None:
        query = query.where(col(Drive.id) == scope.drive_id)
    if scope.province is not None:
        query = query.where(col(Drive.province_code) == scope.province)
    if scope.campaign is not None:
        query = query.where(col(Drive.campaign) == scope.campaign)
    if scope.wards is not None:
        served = select(DriveWard.drive_id).where(
            col(DriveWard.drive_id) == col(Drive.id), col(DriveWard.ward_code).in_(scope.wards)
        )
        query = query.where(exists(served))
    return query


async def figures(session: AsyncSession, scope: Scope, period: Period, tz: ZoneInfo) -> Figures:
    """The figures of the drives of a scope and period."""
    drive_ids = drives_query(scope, period, tz).subquery()
    in_scope = col(Signup.drive_id).in_(select(drive_ids.c.id))
    result = Figures()
    result.drives = int((await session.exec(select(func.count()).select_from(drive_ids))).one())
    signups = await session.exec(
        select(Signup.status, func.count())
        .where(in_scope, col(Signup.status) != SignupStatus.CANCELLED)
        .group_by(Signup.status)
    )
    for status, count in signups:
        result.signups += int(count)
        if status == SignupStatus.WAITING:
            result.waiting += int(count)
    # Everything the desks recorded, in one pass over the check-ins of these drives.
    donor = case(
        (col(CheckIn.donor_id).is_(None), WALK_IN),
        (col(CheckIn.repeat_donor), REPEAT),
        else_=NEW,
    )
    desk = await session.exec(
        select(CheckIn.outcome, CheckIn.volume_ml, donor, func.count())
        .where(col(CheckIn.drive_id).in_(select(drive_ids.c.id)))
        .group_by(col(CheckIn.outcome), col(CheckIn.volume_ml), donor)
    )
    for outcome, volume, who, count in desk:
        n = int(count)
        result.checkins += n
        if outcome == CheckinOutcome.DEFERRED:
            result.deferred += n
        elif outcome == CheckinOutcome.NO_SHOW:
            result.no_shows += n
        elif outcome == CheckinOutcome.DONATED:
            result.donated += n
            if volume:
                result.bags[int(volume)] = result.bags.get(int(volume), 0) + n
            result.repeat_donors += n if who == REPEAT else 0
            result.walk_ins += n if who == WALK_IN else 0
    if result.donated:
        result.reached = await _reached(session, select(drive_ids.c.id))
    return result


async def _reached(session: AsyncSession, drive_ids: Any) -> int:
    """The distinct people who donated at these drives: registered donors by their id, walk-ins
    by their phone (each is one person whatever the number of their donations)."""
    donors, walk_ins = (
        await session.exec(
            select(
                func.count(distinct(col(CheckIn.donor_id))),
                func.count(distinct(col(CheckIn.walk_in_phone))),
            ).where(
                col(CheckIn.drive_id).in_(drive_ids),
                col(CheckIn.outcome) == CheckinOutcome.DONATED,
            )
        )
    ).one()
    return int(donors) + int(walk_ins)


async def signups_by_day(
    session: AsyncSession, drive_id: int, tz: ZoneInfo
) -> list[tuple[date, int]]:
    """A drive's sign-ups (seats and waiting list, not the cancelled) by the local day taken."""
    rows = await session.exec(
        select(Signup.created_at).where(
            col(Signup.drive_id) == drive_id, col(Signup.status) != SignupStatus.CANCELLED
        )
    )
    days: dict[date, int] = {}
    for taken in rows:
        day = taken.astimezone(tz).date()
        days[day] = days.get(day, 0) + 1
    return sorted(days.items())


async def units_by_month(
    session: AsyncSession, scope: Scope, year: int, tz: ZoneInfo, until: date | None = None
) -> dict[int, float]:
    """The 250 ml units collected at the scope's drives, month by month of a year (1–12), up to
    and including `until` when given (a weekly digest counts nothing after its week)."""
    period = Period(
        date(year, 1, 1), min(until, date(year, 12, 31)) if until else date(year, 12, 31)
    )
    drives = drives_query(scope, period, tz).subquery()
    rows = await session.exec(
        select(Drive.starts_at, CheckIn.volume_ml)
        .join(CheckIn, col(CheckIn.drive_id) == col(Drive.id))
        .where(
            col(Drive.id).in_(select(drives.c.id)),
            col(CheckIn.outcome) == CheckinOutcome.DONATED,
            col(CheckIn.volume_ml).is_not(None),
        )
    )
    months: dict[int, float] = {m: 0.0 for m in range(1, 13)}
    for starts_at, volume in rows:
        months[starts_at.astimezone(tz).month] += units.converted(volume or 0)
    return months
