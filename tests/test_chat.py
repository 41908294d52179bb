"""The conversation, through the channel-neutral chat service, on a real database."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import date, timedelta
from typing import Any

import pytest
from sqlmodel import select, update

from models import ConsentRecord, ConversationState, Donor, HandledEvent
from models.database import Database
from models.types import utcnow
from services.chat import ChatService
from services.conversation import state_store
from services.core.i18n import _, use_locale
from services.donors.consent import CONSENT_VERSION
from tests.support.people import Person, buttons, count, event_ids, register, texts


async def test_nothing_stored_before_consent(service: ChatService, db: Database) -> None:
    person = Person(service, 11)
    out = await person.say("/start")
    assert buttons(out) == ["lang:vi", "lang:en"]
    out = await person.tap("lang:en")
    assert "91/2025/QH15" in texts(out)
    assert buttons(out) == ["consent:en:yes", "consent:en:no"]
    assert await count(db, Donor) == 0
    out = await person.tap("consent:en:no")
    assert "nothing about you has been stored" in texts(out)
    assert await count(db, Donor) == 0


async def test_full_registration_records_consent_and_profile(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 12)
    await register(person)
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
        consent = (await session.exec(select(ConsentRecord))).one()
    assert donor.full_name == "Nguyễn Văn An"
    assert donor.date_of_birth == date(1995, 8, 25)
    assert donor.sex == "male"
    assert donor.phone_e164 == "+84912345678"
    assert (donor.province_code, donor.ward_code) == ("79", "26740")
    assert donor.blood_group == "O+"
    assert (donor.last_donation_kind, donor.last_donation_date) == (
        "whole_blood",
        date(2026, 3, 15),
    )
    assert donor.is_registered and donor.locale == "vi"
    assert consent.version == CONSENT_VERSION and consent.donor_id == donor.id
    assert consent.accepted_at.tzinfo is not None
    assert await count(db, ConversationState) == 0


async def test_bad_input_at_every_step_is_explained_in_the_users_language(
    service: ChatService,
) -> None:
    person = Person(service, 13, "en")
    await person.say("/start")
    await person.tap("lang:en")
    out = await person.tap("consent:en:yes")
    assert "full name" in texts(out)
    out = await person.say("R2D2")
    assert "does not look like a name" in texts(out) and "full name" in texts(out)
    await person.say("Trần Thị Bích")
    out = await person.say("31/02/1990")
    assert "31/02/1990 is not a date" in texts(out)
    out = await person.say("abc")
    assert "day/month/year" in texts(out)
    out = await person.say("01/01/2030")
    assert "in the future" in texts(out)
    out = await person.say("01/01/2015")
    assert "under 16" in texts(out)
    out = await person.say("01/06/2009")  # 17: may register, may not donate yet
    assert "must be 18 to donate" in texts(out) and "01/06/2027" in texts(out)
    out = await person.say("maybe")
    assert "Male or Female" in texts(out)
    out = await person.tap("bg:O+")  # a button of another question
    assert out.toast and "earlier question" in out.toast
    await person.tap("sex:female")
    out = await person.say("12345")
    assert "not a Vietnamese phone number" in texts(out)
    out = await service.contact(person.sender(), "+84912000111", is_own=False)
    assert "your own number" in texts(out)
    out = await service.contact(person.sender(), "84912000111", is_own=True)
    assert "0912 000 111" in texts(out)
    out = await person.say("xyzzy qwerty")
    assert "could not find" in texts(out)
    out = await service.location(person.sender(), 48.8566, 2.3522)  # Paris
    assert "not seem to be in Vietnam" in texts(out)
    out = await service.location(person.sender(), 21.0285, 105.8542)  # Hoàn Kiếm, Hà Nội
    picks = [b for b in buttons(out) if b.startswith("ward:01:")]
    assert picks
    await person.tap(picks[0])
    out = await person.say("Z+")
    assert "Rh sign" in texts(out)
    await person.say("ab rh-")
    await person.tap("kind:platelets")
    out = await person.say("15/13/2026")
    assert "is not a date" in texts(out)
    out = await person.say("01/01/2020")  # before the donor could give (18)
    assert "18th birthday" in texts(out)
    out = await person.say("2026-10-01")  # at 17: still before the 18th birthday
    assert "18th birthday (01/06/2027)" in texts(out)
    await person.say("/back")
    out = await person.tap("kind:never")
    assert "AB-" in texts(out) and "Never donated" in texts(out)


async def test_back_and_cancel_and_resume(service: ChatService, db: Database) -> None:
    person = Person(service, 14)
    await person.say("/start")
    await person.tap("lang:vi")
    await person.tap("consent:vi:yes")
    out = await person.say("/back")
    assert "đầu tiên" in texts(out)
    await person.say("Lê Văn Cường")
    out = await person.say("/back")
    assert "họ và tên" in texts(out).lower()
    await person.say("Lê Văn Cường")
    await person.say("1/2/90")
    out = await person.say("/cancel")
    assert "/start" in texts(out)
    assert await count(db, ConversationState) == 0
    out = await person.say("/start")
    assert "giới tính" in texts(out).lower()  # resumes at the first missing answer


async def test_redelivered_event_is_not_applied_twice(service: ChatService, db: Database) -> None:
    person = Person(service, 15)
    await person.say("/start")
    await person.tap("lang:vi")
    await person.tap("consent:vi:yes")
    update_id = next(event_ids)  # later than every update this person sent before
    await service.text(person.sender(update_id), "Phạm Minh Đức")
    out = await service.text(person.sender(update_id), "Phạm Minh Đức")  # redelivered after a crash
    assert "ngày sinh" in texts(out).lower()  # asks the current question again, no error
    async with db.session() as session:
        state = (await session.exec(select(ConversationState))).one()
    assert state.step == "dob"


async def test_an_earlier_update_arriving_after_a_later_one_is_applied(
    service: ChatService, db: Database
) -> None:
    """Webhook deliveries may overtake each other: only the exact same update is a repeat."""
    person = Person(service, 17)
    await person.say("/start")
    await person.tap("lang:vi")
    await person.tap("consent:vi:yes")
    earlier, later = next(event_ids), next(event_ids)
    await service.text(person.sender(later), "Phạm Minh Đức")  # the name, arrived first
    out = await service.text(person.sender(earlier), "25/08/1995")  # sent before it, came after
    assert "giới tính" in texts(out).lower()  # the birth date was taken, not dropped
    out = await service.text(person.sender(earlier), "25/08/1995")  # now a real repeat
    assert "giới tính" in texts(out).lower()
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
        keys = (await session.exec(select(HandledEvent.event_key))).all()
    assert donor.date_of_birth == date(1995, 8, 25)
    assert {str(earlier), str(later)} <= set(keys)


async def test_old_update_keys_are_forgotten_and_go_with_the_person(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 18)
    await register(person)
    async with db.session() as session:
        kept = len((await session.exec(select(HandledEvent))).all())
        assert kept >= 5
        await session.exec(update(HandledEvent).values(handled_at=utcnow() - timedelta(days=4)))
    await person.say("/profile")  # one fresh key
    assert await service.forget_handled_events() == kept
    assert await count(db, HandledEvent) == 1
    await person.say("/forget")
    await person.tap("forget:yes")
    assert await count(db, HandledEvent) == 0


async def test_edit_from_summary_and_profile(service: ChatService, db: Database) -> None:
    person = Person(service, 16)
    await register(person)
    out = await person.say("/profile")
    assert "Nguyễn Văn An" in texts(out) and "edit:phone" in buttons(out)
    await person.tap("edit:phone")
    out = await person.say("0987 654 321")
    assert "0987 654 321" in texts(out)
    await person.tap("edit:donation")
    await person.tap("kind:never")
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.phone_e164 == "+84987654321"
    assert donor.last_donation_kind == "never" and donor.last_donation_date is None


async def test_language_switch(service: ChatService, db: Database) -> None:
    person = Person(service, 17)
    await register(person)
    out = await person.say("/language")
    assert buttons(out) == ["setlang:vi", "setlang:en"]
    out = await person.tap("setlang:en")
    assert out.menu_locale == "en" and "English" in texts(out)
    out = await person.say("/profile")
    assert "Your profile" in texts(out)


async def test_stop_words_and_restart(service: ChatService, db: Database) -> None:
    person = Person(service, 18)
    await register(person)
    for word in ("dừng", "Hủy đăng ký", "/stop"):
        out = await person.say(word)
        assert "/start" in texts(out)
    async with db.session() as session:
        assert (await session.exec(select(Donor))).one().is_stopped
    out = await person.say("/start")
    assert "trở lại" in texts(out).lower()
    async with db.session() as session:
        assert not (await session.exec(select(Donor))).one().is_stopped


async def test_forget_really_deletes(service: ChatService, db: Database) -> None:
    person = Person(service, 19)
    other = Person(service, 20)
    await register(person)
    await register(other)
    out = await person.say("/forget")
    assert buttons(out) == ["forget:yes", "forget:no"]
    out = await person.tap("forget:no")
    assert await count(db, Donor) == 2
    await person.say("/forget")
    await person.tap("forget:yes")
    assert await count(db, Donor) == 1
    assert await count(db, ConsentRecord) == 1
    async with db.session() as session:
        assert (await session.exec(select(Donor))).one().external_id == "20"
    out = await person.say("/forget")
    assert buttons(out) == []


async def test_the_same_update_handled_twice_at_once_is_applied_once(
    service: ChatService, db: Database, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A redelivered update racing its first delivery: the turn locks the person's row
    (FOR UPDATE), so the second sees the first's event id and only repeats the question."""
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite runs one writer at a time anyway")
    person = Person(service, 19)
    await person.say("/start")
    await person.tap("lang:vi")
    await person.tap("consent:vi:yes")
    await person.say("Nguyễn Văn An")
    await person.say("25/08/1995")
    await person.tap("sex:male")
    same = person.sender()
    # Both deliveries meet right after loading the person (or the first goes on alone after
    # half a second, when the second is held by the row lock).
    arrived, both = 0, asyncio.Event()
    load_state = state_store.get_state

    async def meet(session: Any, donor_id: int) -> Any:
        nonlocal arrived
        arrived += 1
        if arrived == 2:
            both.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(both.wait(), 0.5)
        return await load_state(session, donor_id)

    monkeypatch.setattr(state_store, "get_state", meet)
    outcomes = await asyncio.gather(
        service.text(same, "0912 345 678"), service.text(same, "0912 345 678")
    )
    with use_locale("vi"):
        saved = _("Saved: {phone}").format(phone="0912 345 678")
    assert [saved in texts(out) for out in outcomes].count(True) == 1  # applied once
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
        state = await session.get(ConversationState, donor.id)
    assert donor.phone_e164 == "+84912345678"
    assert state is not None and state.step == "ward"
