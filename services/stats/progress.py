"""Progress against the year's plan, unit by unit: target and actual, before and after conversion,
the rounds planned and held, and which units are behind."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CheckIn, DriveWard, PlanUnit
from models.donations import CheckinOutcome
from services.stats.figures import Figures, Period, Scope, drives_query
from services.stats.plan_store import plan_of


@dataclass(frozen=True)
class Standing:
    """Where one unit of the plan stands."""

    unit: PlanUnit
    # The unit's drives and bags (not the sign-ups and outcomes: /stats by ward has those); None
    # when the unit is not matched to any ward, so its drives are not known.
    figures: Figures | None
    expected_share: float  # the share of the year's target due by today, 0–1

    @property
    def target_units(self) -> float:
        """The target in 250 ml units (the plan's "after conversion", else its bags)."""
        return float(self.unit.units if self.unit.units is not None else self.unit.bags)

    @property
    def percent(self) -> float | None:
        """Collected units as a percentage of the target after conversion."""
        if self.figures is None or not self.target_units:
            return None
        return 100 * self.figures.converted_units / self.target_units

    @property
    def behind(self) -> bool:
        """Fewer units than the plan expects by today."""
        if self.figures is None:
            return False
        return self.figures.converted_units < self.expected_share * self.target_units


def expected_share(unit: PlanUnit, year: int, today: date) -> float:
    """How much of the target is due by today: the planned months passed (a month counts once it
    has begun), or the share of the year gone when the plan names no months."""
    if today.year > year:
        return 1.0
    if today.year < year:
        return 0.0
    months = [m for m in unit.months if isinstance(m, str) and m.startswith(f"{year:04d}-")]
    if months:
        due = sum(1 for m in months if int(m[5:7]) <= today.month)
        return due / len(months)
    start = date(year, 1, 1)
    return ((today - start).days + 1) / ((date(year + 1, 1, 1) - start).days)


async def standings(
    session: AsyncSession, province: str, year: int, tz: ZoneInfo, today: date
) -> list[Standing] | None:
    """Each unit of the province's plan with its drives and bags of the year; None without a plan.

    Two grouped queries for the whole province (bags by drive and volume, the wards of each
    drive), then each unit adds up the drives that serve any of its wards, each drive once."""
    found = await plan_of(session, province, year)
    if found is None:
        return None
    _plan, units = found
    period = Period(date(year, 1, 1), date(year, 12, 31))
    drive_ids = drives_query(Scope(province), period, tz).subquery()
    bags: dict[int, dict[int, int]] = defaultdict(dict)
    rows = await session.exec(
        select(CheckIn.drive_id, CheckIn.volume_ml, func.count())
        .where(
            col(CheckIn.drive_id).in_(select(drive_ids.c.id)),
            col(CheckIn.outcome) == CheckinOutcome.DONATED,
            col(CheckIn.volume_ml).is_not(None),
        )
        .group_by(col(CheckIn.drive_id), col(CheckIn.volume_ml))
    )
    for drive, volume, count in rows:
        bags[int(drive)][int(volume or 0)] = int(count)
    served: dict[str, set[int]] = defaultdict(set)
    pairs = await session.exec(
        select(DriveWard.ward_code, DriveWard.drive_id).where(
            col(DriveWard.drive_id).in_(select(drive_ids.c.id))
        )
    )
    for ward, drive in pairs:
        served[ward].add(int(drive))
    result = []
    for unit in units:
        done = None
        if unit.ward_codes:
            drives = set().union(*(served.get(code, set()) for code in unit.ward_codes))
            done = Figures(drives=len(drives))
            for drive in drives:
                for volume, count in bags.get(drive, {}).items():
                    done.bags[volume] = done.bags.get(volume, 0) + count
            done.donated = done.bag_count
        result.append(Standing(unit, done, expected_share(unit, year, today)))
    return result


def planned_by_month(units: list[PlanUnit], year: int) -> dict[int, float]:
    """What the plan expects each month of a year, in 250 ml units: a unit's target spread over
    its planned months (over the twelve when it names none)."""
    months: dict[int, float] = {m: 0.0 for m in range(1, 13)}
    for unit in units:
        target = float(unit.units if unit.units is not None else unit.bags)
        planned = [
            int(m[5:7]) for m in unit.months if isinstance(m, str) and m.startswith(f"{year:04d}-")
        ]
        for month in planned or list(months):
            months[month] += target / (len(planned) or 12)
    return months
