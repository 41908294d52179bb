"""/plan through the chat service: a valid file replaces the plan and is audited; a bad one is
answered line by line and changes nothing; only staff of the province may."""

from __future__ import annotations

from sqlmodel import select

from models import AuditEntry, Plan, PlanUnit
from models.database import Database
from services.chat import ChatService
from services.conversation.dialog import Outcome, Upload
from services.stats.plan_file import MAX_BYTES
from tests.support.desk import PROVINCE, QUANG_TRI_PLAN
from tests.support.outcomes import refusals
from tests.support.people import Person, buttons, consent, make_leader, make_staff, texts


async def staff_member(service: ChatService, db: Database, user_id: int) -> Person:
    person = Person(service, user_id, "en")
    await consent(person)
    await make_staff(db, user_id, PROVINCE)
    return person


async def send(
    person: Person, name: str, content: bytes | None, size: int | None = None
) -> Outcome:
    upload = Upload(name, len(content) if content is not None else size or 0, content)
    return await person.service.document(person.sender(), upload)


async def test_a_valid_plan_replaces_the_years_plan_and_is_audited(
    service: ChatService, db: Database
) -> None:
    staff = await staff_member(service, db, 841)
    out = await staff.say("/plan 2021")
    assert "Quảng Trị" in texts(out) and "plantpl:2021" in buttons(out)
    out = await staff.tap("plantpl:2021")
    template = out.replies[0].document
    assert template is not None and template.filename == "ke-hoach-2021.xlsx"
    out = await send(staff, "ke-hoach-2021.tsv", QUANG_TRI_PLAN.read_bytes())
    assert "16 units, 9,999 bags before conversion, 11,200 units of 250 ml" in texts(out)
    async with db.session() as session:
        plans = (await session.exec(select(Plan))).all()
        assert [(p.province_code, p.year) for p in plans] == [(PROVINCE, 2021)]
        assert len((await session.exec(select(PlanUnit))).all()) == 16
        audit = (await session.exec(select(AuditEntry))).all()
        assert [a.action for a in audit][-1] == "upload_plan"
    out = await send(staff, "again.tsv", QUANG_TRI_PLAN.read_bytes())  # no /plan open: not read
    assert "I can only read" in texts(out)


async def test_a_bad_file_is_answered_line_by_line_and_changes_nothing(
    service: ChatService, db: Database
) -> None:
    staff = await staff_member(service, db, 842)
    await staff.say("/plan 2027")
    bad = "Đơn vị,Dân số,Trước quy đổi,Sau quy đổi\nPhường A,abc,100,112\nPhường B,10,,5\n"
    out = await send(staff, "plan.csv", bad.encode())
    said = texts(out)
    assert "The plan was not changed" in said
    assert "Line 2, Population: “abc” is not a whole number" in said
    assert "Line 3, Bags before conversion: This cell is empty." in said
    out = await send(staff, "big.xlsx", None, size=MAX_BYTES * 10)
    assert "too large (50 MB)" in texts(out)
    out = await send(staff, "photo.png", b"\x89PNG\r\n\x1a\n" + bytes(200))
    assert "not a spreadsheet" in texts(out) or "not a CSV" in texts(out)
    out = await staff.say("here it is")
    assert "as a file" in texts(out)
    async with db.session() as session:
        assert not (await session.exec(select(Plan))).all()
    out = await staff.say("/cancel")
    assert "Nothing was changed" in texts(out)


async def test_leaders_and_citizens_may_not_upload(service: ChatService, db: Database) -> None:
    leader = Person(service, 843, "en")
    await consent(leader)
    await make_leader(db, 843, PROVINCE, ["19333"])
    assert refusals(await leader.say("/plan")) == {"upload_plan"}
    citizen = Person(service, 844, "en")
    await consent(citizen)
    assert refusals(await citizen.say("/plan")) == {"upload_plan"}
    other = Person(service, 845, "en")
    await consent(other)
    await make_staff(db, 845, "01")
    assert refusals(await other.say(f"/plan {PROVINCE} 2027")) == {"upload_plan"}
