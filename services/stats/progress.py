"""Progress against the year's plan, unit by unit: target and actual, before and after conversion,
the rounds planned and held, and which units are behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from models import PlanUnit
from services.stats.figures import Figures, Period, Scope, figures
from services.stats.plan_store import plan_of


@dataclass(frozen=True)
class Standing:
    """Where one unit of the plan stands."""

    unit: PlanUnit
    figures: Figures | None  # None: not matched to any ward, so its drives are not known
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
    """Each unit of the province's plan with its figures for the year; None without a plan."""
    found = await plan_of(session, province, year)
    if found is None:
        return None
    _plan, units = found
    period = Period(date(year, 1, 1), date(year, 12, 31))
    result = []
    for unit in units:
        done = None
        if unit.ward_codes:
            done = await figures(session, Scope(province, frozenset(unit.ward_codes)), period, tz)
        result.append(Standing(unit, done, expected_share(unit, year, today)))
    return result
