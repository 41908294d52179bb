"""Progress against the year's plan, unit by unit: target and actual, before and after conversion,
the rounds planned and held, and which units are behind."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
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
from services.stats.units import share_of_population


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
    def population_share(self) -> float | None:
        """The plan's own aim for the unit: its target after conversion as a percentage of its
        population (TP. Đông Hà: 1,141 units for 92,592 people = 1.23 %)."""
        population = self.unit.population
        return share_of_population(self.target_units, population) if population else None

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
    _plan, plan_units = found
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
    for unit in plan_units:
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


def planned_by_month(plan_units: list[PlanUnit], year: int) -> dict[int, float]:
    """What the plan expects each month of a year, in 250 ml units: a unit's target spread over
    its planned months (over the twelve when it names none)."""
    months: dict[int, float] = {m: 0.0 for m in range(1, 13)}
    for unit in plan_units:
        target = float(unit.units if unit.units is not None else unit.bags)
        planned = [
            int(m[5:7]) for m in unit.months if isinstance(m, str) and m.startswith(f"{year:04d}-")
        ]
        for month in planned or list(months):
            months[month] += target / (len(planned) or 12)
    return months


# ------------------------------------------------------------ the population


def population_of(plan_units: Sequence[PlanUnit], wards: frozenset[str] | None) -> int | None:
    """The population of a scope as the plan gives it, or None when the plan cannot say.

    The province (`wards` None): the population of every unit that states one (the communes;
    the organisations have none). Some wards: the units that lie wholly within them must cover
    exactly those wards, since a unit's population cannot be split (a former district that
    became several wards gives no figure for one of them)."""
    counted = [u for u in plan_units if u.population]
    if wards is None:
        return sum(u.population or 0 for u in counted) or None
    inside = [u for u in counted if u.ward_codes and set(u.ward_codes) <= wards]
    covered = set().union(*(set(u.ward_codes) for u in inside)) if inside else set()
    if not wards or covered != wards:
        return None
    return sum(u.population or 0 for u in inside)


@dataclass(frozen=True)
class PlanAim:
    """What a plan (or some of its units) aims for, against the population it states."""

    population: int
    bags: int  # before conversion
    units: float  # after conversion, 250 ml units

    @property
    def bags_share(self) -> float:
        """The bags as a percentage of the population (Quảng Trị: 10,000 → 1.6 %)."""
        return share_of_population(self.bags, self.population)

    @property
    def units_share(self) -> float:
        """The 250 ml units as a percentage of the population (11,200 → 1.79 %)."""
        return share_of_population(self.units, self.population)


def plan_aim(plan_units: Sequence[PlanUnit]) -> PlanAim | None:
    """The targets of these units over the population they state (the organisations' targets
    count, as the plans add them up; their members live in the communes); None without one."""
    population = sum(u.population or 0 for u in plan_units)
    if not population:
        return None
    bags = sum(u.bags for u in plan_units)
    converted = sum(float(u.units if u.units is not None else u.bags) for u in plan_units)
    return PlanAim(population, bags, converted)


def reached_share(reached: int, population: int | None) -> float | None:
    """The people who donated as a percentage of the population, when the plan gives one."""
    return share_of_population(reached, population) if population else None


async def scope_population(session: AsyncSession, scope: Scope, year: int) -> int | None:
    """The population of a scope (a province, or some of its wards) in its plan for the year;
    None for the country, one drive, or where the plan states none."""
    if scope.province is None or scope.drive_id is not None:
        return None
    found = await plan_of(session, scope.province, year)
    if found is None:
        return None
    return population_of(found[1], scope.wards)
