"""The year's plan in the database: replaced whole by a valid upload, its units matched to today's
wards (a commune by its name, a former district through the old-address conversion)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Plan, PlanUnit
from services.knowledge.old_addresses import read_old_address
from services.knowledge.wards import search_ward_matches
from services.stats.plan_file import PlanRow


@dataclass(frozen=True)
class UnitMatch:
    """Today's wards a plan unit covers, and how they were found."""

    ward_codes: tuple[str, ...]
    via: str  # "ward" (today's name), "old district", "old ward", or "" (an organisation)


def match_unit(unit: str, province_code: str) -> UnitMatch:
    """The wards of a plan unit: today's ward of that exact name; else the wards a former
    district or ward (pre-2025 names, as plans written before the reform use) became."""
    exact = [m.ward for m in search_ward_matches(unit, province_code, 3, False) if m.exact]
    if len(exact) == 1:
        return UnitMatch((exact[0].code,), "ward")
    reading = read_old_address(unit, province_code)
    if len(reading.districts) == 1:
        codes = [w.code for w in reading.districts[0].new_wards if w.province_code == province_code]
        if codes:
            return UnitMatch(tuple(codes), "old district")
    if reading.wards:
        codes = sorted(
            {
                w.code
                for old in reading.wards
                for w in old.new_wards
                if w.province_code == province_code
            }
        )
        if codes:
            return UnitMatch(tuple(codes), "old ward")
    return UnitMatch((), "")


async def replace_plan(
    session: AsyncSession,
    province_code: str,
    year: int,
    rows: list[PlanRow],
    filename: str,
    uploaded_by: str,
) -> Plan:
    """Put a valid plan in place of the province's plan for that year (the caller's transaction:
    either all of it or nothing)."""
    await session.exec(
        delete(Plan).where(col(Plan.province_code) == province_code, col(Plan.year) == year)
    )
    plan = Plan(
        province_code=province_code, year=year, filename=filename[:200], uploaded_by=uploaded_by
    )
    session.add(plan)
    await session.flush()
    assert plan.id is not None
    for row in rows:
        match = match_unit(row.unit, province_code)
        session.add(
            PlanUnit(
                plan_id=plan.id,
                line=row.line,
                unit=row.unit,
                ward_codes=list(match.ward_codes),
                population=row.population,
                bags=row.bags,
                units=row.units,
                rounds=row.rounds,
                months=[f"{m.year:04d}-{m.month:02d}" for m in row.months],
                share_before=row.share_before,
                share_after=row.share_after,
            )
        )
    await session.flush()
    return plan


async def plan_of(
    session: AsyncSession, province_code: str, year: int
) -> tuple[Plan, list[PlanUnit]] | None:
    """The province's plan for a year, with its units in file order."""
    plan = (
        await session.exec(
            select(Plan).where(col(Plan.province_code) == province_code, col(Plan.year) == year)
        )
    ).first()
    if plan is None:
        return None
    units = await session.exec(
        select(PlanUnit).where(col(PlanUnit.plan_id) == plan.id).order_by(col(PlanUnit.line))
    )
    return plan, list(units.all())
