"""Questions and friendly words typed in the middle of a flow, and with no flow open (item 13)."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models import Donor
from models.database import Database
from services.chat import ChatService
from tests.support.people import Person, register, texts


async def at_the_name_step(person: Person, lang: str = "vi") -> None:
    await person.say("/start")
    await person.tap(f"lang:{lang}")
    await person.tap(f"consent:{lang}:yes")


@pytest.mark.parametrize(
    ("lang", "typed"),
    [
        ("vi", "bao lâu thì được hiến máu lại"),
        ("vi", "toi khong muon cho ten that"),
        ("en", "Why do you need my phone?"),
    ],
)
async def test_a_question_at_the_name_step_is_answered_not_stored(
    service: ChatService, db: Database, lang: str, typed: str
) -> None:
    person = Person(service, 6001)
    await at_the_name_step(person, lang)
    out = await person.say(typed)
    said = texts(out)
    assert "not look like a name" not in said and "không giống" not in said
    assert "Họ và tên" in said or "full name" in said.lower()  # the step is asked again
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.full_name is None
    await person.say("Nguyễn Văn An")
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.full_name == "Nguyễn Văn An"


async def test_a_name_with_a_question_word_in_it_is_still_a_name(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 6002)
    await at_the_name_step(person)
    await person.say("Trần Sao Mai")
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.full_name == "Trần Sao Mai"


async def test_an_nfd_name_is_a_name(service: ChatService, db: Database) -> None:
    import unicodedata

    person = Person(service, 6003)
    await at_the_name_step(person)
    await person.say(unicodedata.normalize("NFD", "Nguyễn Thị Hằng"))
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.full_name == "Nguyễn Thị Hằng"


@pytest.mark.parametrize("typed", ["cảm ơn", "xin chào", "ok", "thanks"])
async def test_friendly_words_get_a_friendly_word(service: ChatService, typed: str) -> None:
    person = Person(service, 6004)
    await register(person)
    out = await person.say(typed)
    assert "Sorry" not in texts(out) and "Xin lỗi" not in texts(out)
    assert texts(out).strip()
