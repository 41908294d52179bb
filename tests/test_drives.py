"""Drives through the chat service: leaders create, citizens find and sign up, waiting list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import col, select

from models import AuditEntry, Drive, OutboxMessage, Signup
from models.database import Database
from models.drives import DriveStatus
from services.chat import ChatService
from services.drives import drive_store
from services.outreach import fanout
from services.roles.access import Action
from tests.support.outcomes import refusals
from tests.support.people import (
    Person,
    buttons,
    consent,
    create_drive,
    make_leader,
    register,
    texts,
)

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN = 900


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
    assert any(entry.action == Action.CREATE_DRIVE for entry in audit)

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
    assert refusals(out) == {Action.CREATE_DRIVE}
    out = await service.command(person.sender(), "broadcast", [])
    assert refusals(out) == {Action.BROADCAST}


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
            drive.status = DriveStatus.PUBLISHED
        await session.flush()
        page, more = await drive_store.upcoming_for(session, donor, now)
    assert [p.campaign for p in page] == ["x", "x"] and not more
    async with db.session() as session:
        wards = [await drive_store.drive_wards(session, d.id or 0) for d in page]
    assert wards[0] == ["09556"]
