"""The plan in the database: a valid upload replaces the year's plan, its units matched to today's
wards (a former district through the old-address conversion); progress unit by unit."""

from __future__ import annotations

from datetime import date

from models.database import Database
from models.donations import CheckinOutcome
from services.stats.plan_file import read_plan
from services.stats.plan_store import match_unit, plan_of, replace_plan
from services.stats.progress import expected_share, standings
from tests.support.desk import PROVINCE, QUANG_TRI_PLAN, TZ, check_in, make_donor, make_drive


def test_units_match_todays_wards_or_the_district_they_were() -> None:
    assert match_unit("Phường Đông Hà", PROVINCE).ward_codes == ("19333",)
    dong_ha = match_unit("TP. Đông Hà", PROVINCE)
    assert dong_ha.via == "old district" and "19333" in dong_ha.ward_codes
    assert match_unit("Công An tỉnh", PROVINCE).ward_codes == ()


async def test_the_seed_plan_is_stored_replaced_and_measured(db: Database) -> None:
    plan_file = read_plan(QUANG_TRI_PLAN.read_bytes(), "ke-hoach.tsv")
    assert plan_file.valid
    async with db.session() as session:
        await replace_plan(session, PROVINCE, 2021, plan_file.rows[:3], "old.csv", "staff")
    async with db.session() as session:
        await replace_plan(session, PROVINCE, 2021, plan_file.rows, "ke-hoach.tsv", "staff")
    async with db.session() as session:
        found = await plan_of(session, PROVINCE, 2021)
        assert found is not None
        plan, units = found
        assert plan.filename == "ke-hoach.tsv" and len(units) == 16  # replaced, not added
        assert units[0].unit == "TP. Đông Hà" and units[0].months == [
            "2021-03",
            "2021-07",
            "2021-10",
        ]

    drive = await make_drive(db, date(2021, 3, 14), "19333")
    for n, volume in enumerate([350, 350, 450, 250]):
        donor = await make_donor(db, 100 + n)
        await check_in(db, drive, donor, CheckinOutcome.DONATED, volume, day=date(2021, 3, 14))
    async with db.session() as session:
        table = await standings(session, PROVINCE, 2021, TZ, date(2021, 8, 1))
    assert table is not None
    dong_ha = table[0]
    assert dong_ha.figures is not None and dong_ha.figures.bag_count == 4
    assert dong_ha.target_units == 1141
    assert dong_ha.figures.converted_units == 1.4 + 1.4 + 1.8 + 1.0
    assert dong_ha.expected_share == 2 / 3  # March and July have begun, October not
    assert dong_ha.behind
    police = next(s for s in table if s.unit.unit == "Công An tỉnh")
    assert police.figures is None and not police.behind


def test_expected_share_by_months_or_by_the_days_of_the_year() -> None:
    from models import PlanUnit

    unit = PlanUnit(plan_id=1, line=2, unit="X", bags=10, months=["2027-01", "2027-06"])
    assert expected_share(unit, 2027, date(2027, 1, 1)) == 0.5
    assert expected_share(unit, 2027, date(2026, 12, 31)) == 0.0
    assert expected_share(unit, 2026, date(2027, 3, 1)) == 1.0
    plain = PlanUnit(plan_id=1, line=3, unit="Y", bags=10, months=[])
    assert round(expected_share(plain, 2027, date(2027, 7, 2)), 2) == 0.5
