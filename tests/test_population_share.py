"""The share of the population: what the plan aims for (target ÷ population, the seed Quảng Trị
table's own columns) and the people the drives reached, in /stats, in the reader's numbers."""

from __future__ import annotations

from datetime import date

from models import PlanUnit
from models.database import Database
from models.donations import CheckinOutcome
from services.chat import ChatService
from services.core.i18n import use_locale
from services.stats.figures import Period, Scope, figures
from services.stats.plan_file import read_plan
from services.stats.plan_store import match_unit, plan_of, replace_plan
from services.stats.progress import plan_aim, population_of, reached_share, standings
from services.stats.reach import share_label
from services.stats.units import share_of_population
from tests.support.desk import PROVINCE, QUANG_TRI_PLAN, TZ, check_in, make_donor, make_drive
from tests.support.people import Person, consent, make_leader, make_staff, texts

DONG_HA_WARD = "19333"


async def seed_plan(db: Database, year: int) -> list[PlanUnit]:
    rows = read_plan(QUANG_TRI_PLAN.read_bytes(), "plan.tsv").rows
    async with db.session() as session:
        await replace_plan(session, PROVINCE, year, rows, "plan.tsv", "staff")
        found = await plan_of(session, PROVINCE, year)
    assert found is not None
    return found[1]


def test_the_arithmetic_of_the_seed_table() -> None:
    # TP. Đông Hà: 92,592 people, 1,019 bags = 1.10 %, 1,141 units = 1.23 % (the table's own).
    assert round(share_of_population(1019, 92592), 2) == 1.10
    assert round(share_of_population(1141, 92592), 2) == 1.23
    # The province: 10,000 bags → 1.6 %, 11,200 units → 1.79 % of the communes' 627,028.
    assert round(share_of_population(10000, 627028), 1) == 1.6
    assert round(share_of_population(11200, 627028), 2) == 1.79
    assert reached_share(5, None) is None and reached_share(0, 100) == 0.0


async def test_the_plans_aim_unit_by_unit_and_for_the_province(db: Database) -> None:
    plan_units = await seed_plan(db, 2021)
    async with db.session() as session:
        table = await standings(session, PROVINCE, 2021, TZ, date(2021, 8, 1))
    assert table is not None
    dong_ha = table[0]
    assert dong_ha.population_share is not None and round(dong_ha.population_share, 2) == 1.23
    assert dong_ha.unit.share_before == 1.10 and dong_ha.unit.share_after == 1.23  # as uploaded
    police = next(s for s in table if s.unit.unit == "Công An tỉnh")
    assert police.population_share is None  # an organisation states no population
    aim = plan_aim(plan_units)
    assert aim is not None
    assert (aim.population, aim.bags, aim.units) == (627028, 9999, 11200)  # the table sums 9,999
    assert round(aim.bags_share, 1) == 1.6 and round(aim.units_share, 2) == 1.79
    assert plan_aim([u for u in plan_units if not u.population]) is None


async def test_the_population_of_a_scope_only_where_the_plan_gives_it(db: Database) -> None:
    plan_units = await seed_plan(db, 2021)
    assert population_of(plan_units, None) == 627028
    dong_ha = frozenset(match_unit("TP. Đông Hà", PROVINCE).ward_codes)
    assert len(dong_ha) > 1 and population_of(plan_units, dong_ha) == 92592
    # One ward of a former district: its population is not in the plan.
    assert population_of(plan_units, frozenset({DONG_HA_WARD})) is None
    # A ward no unit covers, beside a whole unit: not known either.
    assert population_of(plan_units, dong_ha | {"99999"}) is None
    assert population_of([], None) is None


def test_shares_in_the_readers_numbers() -> None:
    with use_locale("vi"):
        assert share_label(1.2323) == "1,23 %" and share_label(1.1) == "1,10 %"
        assert share_label(None) == "—"
    with use_locale("en"):
        assert share_label(1.2323) == "1.23 %"


async def test_donors_reached_count_each_person_once(db: Database) -> None:
    first = await make_drive(db, date(2027, 3, 1), DONG_HA_WARD)
    second = await make_drive(db, date(2027, 3, 20), DONG_HA_WARD)
    again = await make_donor(db, 1)
    await check_in(db, first, again, CheckinOutcome.DONATED, 350, day=date(2027, 3, 1))
    await check_in(
        db, second, again, CheckinOutcome.DONATED, 350, signed_up=False, day=date(2027, 3, 20)
    )
    # The same walk-in (by their phone) at both drives, and someone deferred (not reached).
    await check_in(db, first, None, CheckinOutcome.DONATED, 250, day=date(2027, 3, 1))
    await check_in(db, second, None, CheckinOutcome.DONATED, 250, day=date(2027, 3, 20))
    await check_in(db, first, await make_donor(db, 2), CheckinOutcome.DEFERRED)
    async with db.session() as session:
        result = await figures(
            session, Scope(PROVINCE), Period(date(2027, 3, 1), date(2027, 3, 31)), TZ
        )
    assert (result.donated, result.reached) == (4, 2)


async def test_stats_shows_the_share_reached_and_the_plans_aim(
    service: ChatService, db: Database
) -> None:
    today = service.today()
    year = today.year
    await seed_plan(db, year)
    drive = await make_drive(db, today, DONG_HA_WARD)
    for n, volume in enumerate([350, 450, 250]):
        await check_in(
            db, drive, await make_donor(db, n), CheckinOutcome.DONATED, volume, day=today
        )
    staff = Person(service, 861, "en")
    await consent(staff)
    await make_staff(db, 861, PROVINCE)
    out = await staff.say("/stats")
    assert "Donors reached: 3 of 627,028 people (0.00 %)" in texts(out)
    out = await staff.tap("st:progress")
    said = texts(out)
    assert "The plan aims at 9,999 bags (1.59 % of 627,028 people)" in said
    assert "11,200 units of 250 ml (1.79 %)" in said
    dong_ha = "TP. Đông Hà: 4.2 / 1,141 (0.4 %), 1 drives, 3 rounds planned"
    assert f"{dong_ha}, target 1.23 % of the population" in said
    assert "Công An tỉnh: target 392, 1 rounds planned;" in said  # no population, no share

    # A leader of all the wards Đông Hà (the former city) became: its population is known.
    wards = list(match_unit("TP. Đông Hà", PROVINCE).ward_codes)
    leader = Person(service, 862, "vi")
    await leader.say("/start")
    await leader.tap("lang:vi")
    await leader.tap("consent:vi:yes")
    await leader.say("/cancel")
    await make_leader(db, 862, PROVINCE, wards)
    out = await leader.say("/stats")
    assert "Số người đã hiến máu: 3 trên 92.592 dân (0,00 %)" in texts(out)
    out = await leader.tap("st:progress")
    assert "chỉ tiêu 1,23 % dân số" in texts(out)
    assert "Kế hoạch: 1.019 túi máu (1,10 % dân số 92.592 người)" in texts(out)
    # Another year's figures use that year's plan: none, so no share.
    out = await staff.say(f"/stats 6/{year - 1}")
    assert "Donors reached" not in texts(out)
