"""Drives through the chat service: leaders create, citizens find and sign up, waiting list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from models import AuditEntry, Drive, OutboxMessage, RoleGrant, RoleWard, Signup
from models.database import Database
from services.chat import ChatService
from services.drives import drive_store
from services.outreach import fanout
from tests.test_chat import Person, buttons, register, texts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = 900


@pytest.fixture
def service(db: Database) -> ChatService:
    return ChatService(db, organization="Hội Chữ thập đỏ", tz=TZ, admin_ids=frozenset({str(ADMIN)}))


async def make_leader(db: Database, user_id: int, province: str, wards: list[str]) -> None:
    async with db.session() as session:
        grant = RoleGrant(channel="telegram", external_id=str(user_id), role="leader",
                          province_code=province, club_name="CLB Giọt hồng", granted_by="test")
        session.add(grant)
        await session.flush()
        for ward in wards:
            session.add(RoleWard(role_id=grant.id or 0, ward_code=ward))


async def consent(person: Person) -> None:
    await person.say("/start")
    await person.tap("lang:en")
    await person.tap("consent:en:yes")
    await person.say("/cancel")


async def create_drive(leader: Person, capacity: str = "2") -> str:
    """Walk /newdrive to the preview; returns the preview text."""
    day = (datetime.now(TZ) + timedelta(days=10)).strftime("%d/%m/%Y")
    out = await leader.service.command(leader.sender(), "newdrive", [])
    assert "nd:campaign:chu_nhat_do" in buttons(out)
    await leader.tap("nd:campaign:chu_nhat_do")
    out = await leader.say("31/02/2026")
    assert "not a date" in texts(out)
    out = await leader.say("01/01/2020")
    assert "in the past" in texts(out)
    await leader.say(day)
    out = await leader.say("11:30-7:30")
    assert "must be after" in texts(out)
    await leader.say("7:30-11:30")
    out = await leader.say("x" * 5000)
    assert "too long" in texts(out)
    await leader.say("Nhà văn hoá phường Hà Đông")
    await leader.say("2 Quang Trung, Hà Đông, Hà Nội")
    await leader.service.location(leader.sender(), 20.9714, 105.7788)
    out = await leader.tap("nd:ward:01:00004")  # not the leader's ward
    assert "Only" in texts(out) or "Sorry" in texts(out)
    out = await leader.tap("nd:ward:01:09556")
    assert "nd:wards_done" in buttons(out)
    await leader.tap("nd:wards_done")
    await leader.say("Viện Huyết học - Truyền máu Trung ương")
    out = await leader.say("0")
    assert "at least 1" in texts(out)
    await leader.say("150")
    out = await leader.say(capacity)
    assert "nd:publish" in buttons(out)
    return texts(out)


async def test_leader_publishes_citizen_signs_up_waiting_list(service: ChatService, db: Database) -> None:
    leader = Person(service, 700, "en")
    await consent(leader)
    await make_leader(db, 700, "01", ["09556"])
    citizens = [Person(service, 710 + i, "vi") for i in range(3)]
    for person in citizens:
        await register(person)
        await person.say("/profile")
        await person.tap("edit:ward")
        await person.say("ha dong hn")
        await person.tap("ward:01:09556")
    preview = await create_drive(leader, capacity="2")
    assert "Chủ nhật Đỏ" in preview and "Hà Đông" in preview
    out = await leader.tap("nd:publish")
    assert "3 followers" in texts(out)
    async with db.session() as session:  # the announcement expanded into rows, as the sender does
        await fanout.expand_all(session)
    async with db.session() as session:
        drive = (await session.exec(select(Drive))).one()
        queued = (await session.exec(select(OutboxMessage))).all()
        audit = (await session.exec(select(AuditEntry))).all()
    assert drive.status == "published" and len(queued) == 3
    assert {row.chat_id for row in queued} == {"710", "711", "712"}
    assert all(f"signup:{drive.id}" in str(row.buttons) for row in queued)
    assert any(entry.action == "publish_drive" for entry in audit)

    first, second, third = citizens
    out = await first.service.command(first.sender(), "drives", [])
    assert f"signup:{drive.id}" in buttons(out)
    out = await first.tap(f"signup:{drive.id}")
    assert out.replies[0].document is not None
    assert b"BEGIN:VEVENT" in out.replies[0].document.content
    await second.tap(f"signup:{drive.id}")
    out = await third.tap(f"signup:{drive.id}")  # full: the button was stale
    assert f"waitlist:{drive.id}" in buttons(out)
    out = await third.tap(f"waitlist:{drive.id}")
    assert "danh sách chờ" in texts(out)  # a Vietnamese citizen
    out = await first.tap(f"unsign:{drive.id}")
    async with db.session() as session:
        statuses = {
            s.donor_id: s.status for s in (await session.exec(select(Signup))).all()
        }
        told = (await session.exec(select(OutboxMessage).where(col(OutboxMessage.chat_id) == "712"))).all()
    assert sorted(statuses.values()) == ["cancelled", "confirmed", "confirmed"]
    assert any("freed" in row.text or "giải phóng" in row.text or "chỗ" in row.text for row in told)


async def test_citizen_cannot_create_drives(service: ChatService, db: Database) -> None:
    person = Person(service, 720, "en")
    await register(person, "en")
    out = await service.command(person.sender(), "newdrive", [])
    assert "Only" in texts(out) or "Sorry" in texts(out)
    out = await service.command(person.sender(), "broadcast", [])
    assert "Only" in texts(out) or "Sorry" in texts(out)


async def test_listing_puts_own_ward_first(db: Database) -> None:
    now = datetime.now(UTC)
    async with db.session() as session:
        from models import Donor, DriveBase

        donor = Donor(channel="telegram", external_id="1", chat_id="1", consent_version="v",
                      consented_at=now, province_code="01", ward_code="09556", registered_at=now)
        session.add(donor)
        await session.flush()
        for i, ward in enumerate(["00004", "09556"]):
            drive = await drive_store.create_drive(
                session,
                DriveBase(campaign="x", starts_at=now + timedelta(days=1 + (1 - i)),
                          ends_at=now + timedelta(days=1 + (1 - i), hours=3), venue_name="v",
                          address="a", province_code="01", collector="c", target_units=1, capacity=5),
                [ward], "test",
            )
            drive.status = drive_store.PUBLISHED
        await session.flush()
        page, more = await drive_store.upcoming_for(session, donor, now)
    assert [p.campaign for p in page] == ["x", "x"] and not more
    async with db.session() as session:
        wards = [await drive_store.drive_wards(session, d.id or 0) for d in page]
    assert wards[0] == ["09556"]
