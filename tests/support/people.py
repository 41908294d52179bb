"""People talking to the chat service: a person with fresh event ids, and the usual journeys."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import func, select

from models import RoleGrant, RoleWard
from models.database import Database
from services.chat import ChatService
from services.conversation.dialog import Outcome, Sender
from services.roles.access import Action
from tests.support.outcomes import refusals

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
event_ids = itertools.count(1)  # update ids, increasing like Telegram's


class Person:
    """Someone chatting with the service, as a channel adapter would call it."""

    def __init__(self, service: ChatService, user_id: int, language_code: str = "vi") -> None:
        self.service = service
        self.user_id = user_id
        self.language_code = language_code

    def sender(self, event_id: int | None = None) -> Sender:
        """A sender with a fresh event id."""
        return Sender(
            "telegram",
            str(self.user_id),
            str(self.user_id),
            self.language_code,
            next(event_ids) if event_id is None else event_id,
        )

    async def say(self, text: str) -> Outcome:
        """Type a message or a /command."""
        if text.startswith("/"):
            name, *args = text[1:].split()
            return await self.service.command(self.sender(), name, args)
        return await self.service.text(self.sender(), text)

    async def tap(self, data: str) -> Outcome:
        """Tap a button."""
        return await self.service.choice(self.sender(), data)


def texts(outcome: Outcome) -> str:
    """All reply texts, joined."""
    return "\n".join(r.text for r in outcome.replies)


def buttons(outcome: Outcome) -> list[str]:
    """The data of every button offered."""
    return [b.data for r in outcome.replies for row in r.buttons for b in row]


async def count(db: Database, model: type) -> int:
    async with db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def register(person: Person, lang: str = "vi") -> None:
    """Go through the whole registration with valid answers."""
    await person.say("/start")
    await person.tap(f"lang:{lang}")
    await person.tap(f"consent:{lang}:yes")
    await person.say("Nguyễn Văn An")
    await person.say("25/08/1995")
    await person.tap("sex:male")
    await person.say("0912 345 678")
    out = await person.say("phuong sai gon")
    assert "ward:79:26740" in buttons(out)
    await person.tap("ward:79:26740")
    await person.tap("bg:O+")
    await person.tap("kind:whole_blood")
    out = await person.say("15/03/2026")
    assert "confirm" in buttons(out)
    await person.tap("confirm")


async def make_leader(db: Database, user_id: int, province: str, wards: list[str]) -> None:
    async with db.session() as session:
        grant = RoleGrant(
            channel="telegram",
            external_id=str(user_id),
            role="leader",
            province_code=province,
            club_name="CLB Giọt hồng",
            granted_by="test",
        )
        session.add(grant)
        await session.flush()
        for ward in wards:
            session.add(RoleWard(role_id=grant.id or 0, ward_code=ward))


async def make_staff(db: Database, user_id: int, province: str) -> None:
    async with db.session() as session:
        session.add(
            RoleGrant(
                channel="telegram",
                external_id=str(user_id),
                role="staff",
                province_code=province,
                granted_by="test",
            )
        )


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
    assert refusals(out) == {Action.CREATE_DRIVE}
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
