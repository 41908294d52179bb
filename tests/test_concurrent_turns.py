"""Turns of different people at the same time (polling and webhook handle them concurrently on
PostgreSQL): a drive's last seat goes to one of them, the others get the waiting list offer."""

from __future__ import annotations

import asyncio

from sqlmodel import col, select

from models import Drive, Signup
from models.database import Database
from models.drives import SignupStatus
from services.chat import ChatService
from tests.support.people import Person, buttons, consent, create_drive, make_leader, register


async def _drive_with_one_seat(service: ChatService, db: Database, citizens: list[Person]) -> int:
    leader = Person(service, 800, "en")
    await consent(leader)
    await make_leader(db, 800, "01", ["09556"])
    for person in citizens:
        await register(person)
    await create_drive(leader, capacity="1")
    await leader.tap("nd:publish")
    async with db.session() as session:
        drive = (await session.exec(select(Drive))).one()
    assert drive.id is not None
    return drive.id


async def test_many_people_tapping_sign_up_at_once_take_one_seat(
    service: ChatService, db: Database
) -> None:
    citizens = [Person(service, 810 + i, "en") for i in range(8)]
    drive_id = await _drive_with_one_seat(service, db, citizens)
    outcomes = await asyncio.gather(*(p.tap(f"signup:{drive_id}") for p in citizens))
    async with db.session() as session:
        signups = (
            await session.exec(select(Signup).where(col(Signup.drive_id) == drive_id))
        ).all()
    assert [s.status for s in signups] == [SignupStatus.CONFIRMED]
    seated = [o for o in outcomes if o.replies and o.replies[0].document is not None]
    offered_waiting = [o for o in outcomes if f"waitlist:{drive_id}" in buttons(o)]
    assert len(seated) == 1 and len(offered_waiting) == len(citizens) - 1


async def test_joining_the_waiting_list_at_once_keeps_everyone_in_line(
    service: ChatService, db: Database
) -> None:
    citizens = [Person(service, 830 + i, "en") for i in range(6)]
    drive_id = await _drive_with_one_seat(service, db, citizens)
    await asyncio.gather(*(p.tap(f"waitlist:{drive_id}") for p in citizens))
    async with db.session() as session:
        statuses = sorted(
            s.status
            for s in (
                await session.exec(select(Signup).where(col(Signup.drive_id) == drive_id))
            ).all()
        )
    assert statuses == [SignupStatus.CONFIRMED] + [SignupStatus.WAITING] * 5
