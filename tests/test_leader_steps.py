"""The leader flows on steps: /back walks the history, old drafts load, a change is one question."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from models import ConversationState, Donor, Drive
from models.conversation import FlowName
from models.database import Database
from services.chat import ChatService
from tests.support.people import TZ, Person, buttons, consent, create_drive, make_leader, texts


async def open_step(db: Database, user_id: int) -> str | None:
    """The step the person's open flow is at."""
    async with db.session() as session:
        donor = (
            await session.exec(select(Donor).where(Donor.external_id == str(user_id)))
        ).one()
        state = await session.get(ConversationState, donor.id)
        return state.step if state else None


async def a_leader(service: ChatService, db: Database, user_id: int) -> Person:
    leader = Person(service, user_id, "en")
    await consent(leader)
    await make_leader(db, user_id, "01", ["09556"])
    return leader


async def test_back_skips_the_campaign_name_unless_another_name_was_chosen(
    service: ChatService, db: Database
) -> None:
    leader = await a_leader(service, db, 731)
    await leader.say("/newdrive")
    await leader.tap("nd:campaign:chu_nhat_do")
    assert await open_step(db, 731) == "day"
    out = await leader.say("/back")
    assert "nd:campaign:chu_nhat_do" in buttons(out) and await open_step(db, 731) == "campaign"
    await leader.tap("nd:campaign:other")
    assert await open_step(db, 731) == "campaign_name"
    await leader.say("Ngày hội Xuân hồng")
    day = (datetime.now(TZ) + timedelta(days=9)).strftime("%d/%m/%Y")
    out = await leader.say(day)
    assert "🗓" in texts(out) and await open_step(db, 731) == "hours"
    await leader.say("/back")
    await leader.say("/back")
    assert await open_step(db, 731) == "campaign_name"
    await leader.say("/back")
    assert await open_step(db, 731) == "campaign"
    out = await leader.say("/back")
    assert "first question" in texts(out)


async def test_a_draft_written_before_steps_loads_and_goes_back(
    service: ChatService, db: Database
) -> None:
    leader = await a_leader(service, db, 732)
    await leader.say("/newdrive")
    async with db.session() as session:  # a row as the flow wrote it before histories were kept
        donor = (await session.exec(select(Donor).where(Donor.external_id == "732"))).one()
        state = await session.get(ConversationState, donor.id)
        assert state is not None
        state.flow, state.step = FlowName.NEW_DRIVE, "address"
        state.data = {"campaign": "chu_nhat_do", "day": "2027-01-10", "venue": "Nhà văn hoá"}
        session.add(state)
    out = await leader.say("/back")
    assert await open_step(db, 732) == "venue"
    assert "venue" in texts(out).lower()


async def test_a_change_of_a_drive_is_one_question_and_back_leaves_it(
    service: ChatService, db: Database
) -> None:
    leader = await a_leader(service, db, 733)
    await create_drive(leader)
    await leader.tap("nd:publish")
    async with db.session() as session:
        drive = (await session.exec(select(Drive))).one()
    await leader.tap(f"md:field:{drive.id}:venue")
    assert await open_step(db, 733) == "venue"
    out = await leader.say("/back")
    assert "Nothing changed" in texts(out) and await open_step(db, 733) is None
    await leader.tap(f"md:field:{drive.id}:capacity")
    out = await leader.say("zero?")  # a question mark is part of a leader's answer, not a question
    assert await open_step(db, 733) == "capacity" and "seats" in texts(out).lower()
    out = await leader.say("40")
    assert "Saved" in texts(out) and await open_step(db, 733) is None


async def test_an_urgent_call_goes_back_step_by_step_and_regroups_straight_to_the_preview(
    service: ChatService, db: Database
) -> None:
    leader = await a_leader(service, db, 734)
    await leader.say("/urgent")
    await leader.tap("bc:ward:01:09556")
    await leader.tap("bc:wards_done")
    await leader.tap("bc:group:O-")
    await leader.tap("bc:groups_done")
    await leader.say("2 đơn vị cho ca mổ")
    await leader.tap("bc:skip")
    assert await open_step(db, 734) == "until"
    out = await leader.say("/back")
    assert await open_step(db, 734) == "place" and "bc:skip" in buttons(out)
    await leader.tap("bc:skip")
    out = await leader.say("trước 18:00")
    assert await open_step(db, 734) == "preview" and "2 đơn vị cho ca mổ" in texts(out)
    await leader.tap("bc:regroup")
    assert await open_step(db, 734) == "group"
    await leader.tap("bc:group:O+")
    out = await leader.tap("bc:groups_done")
    assert await open_step(db, 734) == "preview"
    assert "O+, O-" in texts(out) and "2 đơn vị cho ca mổ" in texts(out)
    out = await leader.say("/back")
    assert await open_step(db, 734) == "group"
    await leader.say("/back")
    assert await open_step(db, 734) == "wards"
    out = await leader.say("/back")
    assert "first question" in texts(out)


async def test_a_notice_written_before_steps_loads_at_its_preview(
    service: ChatService, db: Database
) -> None:
    leader = await a_leader(service, db, 735)
    await leader.say("/broadcast")
    async with db.session() as session:  # a row as the flow wrote it before histories were kept
        donor = (await session.exec(select(Donor).where(Donor.external_id == "735"))).one()
        state = await session.get(ConversationState, donor.id)
        assert state is not None
        state.step = "preview"
        state.data = {"wards": ["09556"], "province": "01", "text": "Họp câu lạc bộ tối thứ Sáu"}
        session.add(state)
    out = await leader.say("/back")
    assert await open_step(db, 735) == "text" and "notice" in texts(out).lower()
    out = await leader.say("Họp câu lạc bộ tối thứ Bảy")
    assert "Họp câu lạc bộ tối thứ Bảy" in texts(out) and "bc:drop" in buttons(out)
    out = await leader.tap("bc:drop")
    assert "Nothing was sent" in texts(out) and await open_step(db, 735) is None
