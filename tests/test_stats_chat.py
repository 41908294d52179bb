"""/stats through the chat service: each role sees its own scope and nothing outside it."""

from __future__ import annotations

from models.database import Database
from models.donations import CheckinOutcome
from services.chat import ChatService
from services.stats.plan_file import read_plan
from services.stats.plan_store import replace_plan
from tests.support.desk import PROVINCE, QUANG_TRI_PLAN, check_in, make_donor, make_drive
from tests.support.outcomes import refusals
from tests.support.people import Person, buttons, consent, make_leader, make_staff, texts

DONG_HA, DONG_HOI = "19333", "18880"


async def desk_day(service: ChatService, db: Database) -> tuple[int, int]:
    """A drive in Đông Hà and one in Đồng Hới this year, with donations at both."""
    today = service.today()
    here = await make_drive(db, today, DONG_HA)
    there = await make_drive(db, today, DONG_HOI)
    for n, volume in enumerate([350, 450]):
        await check_in(db, here, await make_donor(db, n), CheckinOutcome.DONATED, volume, day=today)
    await check_in(db, there, await make_donor(db, 9), CheckinOutcome.DONATED, 250, day=today)
    await check_in(db, here, await make_donor(db, 10), CheckinOutcome.NO_SHOW)
    return here, there


async def test_staff_see_the_province_and_a_leader_only_their_wards(
    service: ChatService, db: Database
) -> None:
    here, there = await desk_day(service, db)
    staff = Person(service, 801, "vi")
    await staff.say("/start")
    await staff.tap("lang:vi")
    await staff.tap("consent:vi:yes")
    await staff.say("/cancel")
    await make_staff(db, 801, PROVINCE)
    out = await staff.say("/stats")
    assert "Quảng Trị" in texts(out)
    assert "Túi máu: 3 (250 ml: 1, 350 ml: 1, 450 ml: 1) = 4,2 đơn vị 250 ml" in texts(out)
    assert "không đến 1" in texts(out) and "st:drives" in buttons(out)

    leader = Person(service, 802, "en")
    await consent(leader)
    await make_leader(db, 802, PROVINCE, [DONG_HA])
    out = await leader.say("/stats")
    assert "Đông Hà" in texts(out)
    assert "Bags: 2 (350 ml: 1, 450 ml: 1) = 3.2 units of 250 ml" in texts(out)
    out = await leader.tap("st:drives")
    assert f"st:drive:{here}" in buttons(out) and f"st:drive:{there}" not in buttons(out)
    out = await leader.tap(f"st:drive:{there}")  # a forged button for another club's drive
    assert refusals(out) == {"view_stats"}
    out = await leader.tap(f"st:ward:{DONG_HOI}")
    assert refusals(out) == {"view_stats"}
    out = await leader.tap(f"st:drive:{here}")
    assert "Seats: 50, left: 47" in texts(out)  # three sign-ups, the no-show included

    citizen = Person(service, 803, "en")
    await consent(citizen)
    out = await citizen.say("/stats")
    assert refusals(out) == {"view_stats"}
    out = await citizen.tap("st:period:year")
    assert refusals(out) == {"view_stats"}


async def test_a_typed_period_and_a_bad_one(service: ChatService, db: Database) -> None:
    await desk_day(service, db)
    staff = Person(service, 811, "en")
    await consent(staff)
    await make_staff(db, 811, PROVINCE)
    out = await staff.say("/stats 01/01/2020-31/12/2020")
    assert "01/01/2020–31/12/2020" in texts(out) and "Drives: 0" in texts(out)
    out = await staff.say("/stats tomorrow or so")
    assert "3/2027" in texts(out)


async def test_progress_against_the_plan_and_its_chart(service: ChatService, db: Database) -> None:
    await desk_day(service, db)
    year = service.today().year
    rows = read_plan(QUANG_TRI_PLAN.read_bytes(), "plan.tsv").rows
    async with db.session() as session:
        await replace_plan(session, PROVINCE, year, rows, "plan.tsv", "staff")
    staff = Person(service, 821, "en")
    await consent(staff)
    await make_staff(db, 821, PROVINCE)
    out = await staff.tap("st:progress")
    said = texts(out)
    assert f"the plan for {year}" in said
    assert "TP. Đông Hà: 3.2 / 1,141" in said
    assert "Công An tỉnh: target 392" in said
    out = await staff.tap("st:chart")
    image = out.replies[0].image
    assert image is not None and image.content.startswith(b"\x89PNG")


async def test_no_plan_yet_is_said(service: ChatService, db: Database) -> None:
    staff = Person(service, 831, "en")
    await consent(staff)
    await make_staff(db, 831, PROVINCE)
    out = await staff.tap("st:progress")
    assert "No plan for" in texts(out)


async def test_a_drives_sign_ups_and_the_months_as_charts(
    service: ChatService, db: Database
) -> None:
    here, _there = await desk_day(service, db)
    year = service.today().year
    rows = read_plan(QUANG_TRI_PLAN.read_bytes(), "plan.tsv").rows
    async with db.session() as session:
        await replace_plan(session, PROVINCE, year, rows, "plan.tsv", "staff")
    staff = Person(service, 851, "en")
    await consent(staff)
    await make_staff(db, 851, PROVINCE)
    out = await staff.tap(f"st:drive:{here}")
    assert f"st:dchart:{here}" in buttons(out)
    out = await staff.tap(f"st:dchart:{here}")
    image = out.replies[0].image
    assert image is not None and image.filename == "signups.png"
    out = await staff.tap("st:progress")
    assert "st:months" in buttons(out)
    out = await staff.tap("st:months")
    image = out.replies[0].image
    assert image is not None and image.content.startswith(b"\x89PNG")
    assert f"Donations by month, {year}" in texts(out)


def test_the_plan_spread_over_its_months() -> None:
    from models import PlanUnit
    from services.stats.progress import planned_by_month

    units = [
        PlanUnit(plan_id=1, line=2, unit="A", bags=100, units=112, months=["2027-03", "2027-07"]),
        PlanUnit(plan_id=1, line=3, unit="B", bags=120, months=[]),
    ]
    months = planned_by_month(units, 2027)
    assert months[3] == 56 + 10 and months[7] == 56 + 10 and months[1] == 10
    assert round(sum(months.values()), 6) == 112 + 120
