"""The step machinery (services/conversation/steps.py): a table of steps, /back through the
history, sub-steps, drafts over the state's JSON, and old rows that must still load."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import pytest
from sqlmodel import select

from models import ConversationState
from models.database import Database
from services.chat import ChatService
from services.conversation import state_store
from services.conversation.buttons import ButtonData
from services.conversation.dialog import Reply, Sender
from services.conversation.flow import Turn
from services.conversation.steps import (
    HISTORY,
    Accept,
    Draft,
    Move,
    Read,
    Step,
    StepFlow,
    done,
    go,
    keep,
    retry,
)
from services.core.i18n import use_locale
from services.donors import donor_store
from services.donors.questions import (
    BloodGroupButton,
    ConfirmButton,
    DonationKindButton,
    SexButton,
    WardButton,
)
from services.donors.registration import RegistrationDraft
from services.drives.follow import FollowWard
from services.eligibility.check import CheckDraft
from tests.support.people import Person, buttons, register, texts

T = TypeVar("T")
_ids = itertools.count(9000)


# --- a toy flow: colour, then a size picked from a sub-list, then a confirmation ----------------


@dataclass(frozen=True)
class Size(ButtonData, kind="tsize"):
    value: str


@dataclass(frozen=True)
class Finish(ButtonData, kind="tdone"):
    pass


class Order(Draft):
    colour: str | None = None
    size: str | None = None
    filter: str | None = None  # used only while the sizes list is open


def _read_colour(t: Turn, d: Order, text: str) -> Read:
    return Accept(text) if text.isalpha() else retry("letters only")


def _read_size_text(t: Turn, d: Order, text: str) -> Read:
    d.filter = text
    return go("sizes", remember=False)


def _read_size(t: Turn, d: Order, tapped: Size) -> Read | None:
    return Accept(tapped.value) if tapped.value in ("S", "M", "L") else None


async def _finish(t: Turn, d: Order, tapped: Finish) -> Move:
    await t.close()
    return done(Reply(f"ordered {d.colour} {d.size}"))


class OrderFlow(StepFlow[Order]):
    name = "order"
    draft = Order

    def __init__(self) -> None:
        super().__init__(
            Step("colour", lambda t, d: [Reply("colour?")], text=_read_colour, save=keep("colour")),
            Step("size", lambda t, d: [Reply("size? (type to filter)")], text=_read_size_text),
            Step(
                "sizes",
                lambda t, d: [Reply(f"sizes {d.filter}", [[Size(s).button(s) for s in "SML"]])],
                taps=(Size,),
                tap=_read_size,
                save=keep("size"),
                part_of="size",
                scratch=("filter",),
            ),
            Step(
                "confirm",
                lambda t, d: [Reply(f"{d.colour} {d.size}?", [[Finish().button("ok")]])],
                taps=(Finish,),
                tap=lambda t, d, tapped: Accept(tapped),
                save=_finish,
            ),
        )

    async def on_cancel(self, t: Turn) -> str:
        await t.close()
        return "cancelled"


FLOW = OrderFlow()


async def in_turn(db: Database, user: str, act: Callable[[Turn], Awaitable[T]]) -> T:
    """Run one turn for the person `user` (created on first use)."""
    async with db.session() as session:
        me = await donor_store.get_donor(session, "telegram", user)
        if me is None:
            me = await donor_store.create_donor_with_consent(
                session,
                channel="telegram",
                external_id=user,
                chat_id=user,
                locale="en",
                consent_version="test",
            )
            await session.flush()
        state = await state_store.get_state(session, me.id or 0)
        turn = Turn(session, Sender("telegram", user, user, "en"), me, state, False, date.today())
        with use_locale("en"):
            return await act(turn)


def said(replies: list[Reply] | None) -> str:
    assert replies is not None
    return "\n".join(r.text for r in replies)


async def state_of(db: Database) -> ConversationState | None:
    async with db.session() as session:
        return (await session.exec(select(ConversationState))).one_or_none()


def test_the_table_declares_the_button_kinds() -> None:
    assert FLOW.prefixes == ("tdone", "tsize")
    assert FLOW.takes_free_text("colour") is False


async def test_back_walks_the_history_and_asks_each_step_again(db: Database) -> None:
    user = str(next(_ids))
    assert said(await in_turn(db, user, lambda t: FLOW.start(t, "colour", Order()))) == "colour?"
    assert said(await in_turn(db, user, lambda t: FLOW.on_text(t, "red"))).startswith("size?")
    assert said(await in_turn(db, user, lambda t: FLOW.on_text(t, "big"))) == "sizes big"
    out = await in_turn(db, user, lambda t: FLOW.on_choice(t, "tsize:M"))
    assert said(out) == "red M?"
    state = await state_of(db)
    assert (
        state is not None and state.step == "confirm" and state.data[HISTORY] == ["colour", "size"]
    )
    assert "filter" not in state.data  # the sub-list's scratch went with it
    # /back: to the size question (the sub-list is part of it), then to the colour
    assert said(await in_turn(db, user, FLOW.on_back)).startswith("size?")
    assert said(await in_turn(db, user, FLOW.on_back)) == "colour?"
    out = await in_turn(db, user, FLOW.on_back)
    assert "first question" in said(out) and said(out).endswith("colour?")
    # the answers stay in the draft while walking back
    state = await state_of(db)
    assert state is not None and state.data["colour"] == "red" and state.data[HISTORY] == []


async def test_back_from_a_sub_step_returns_to_its_question(db: Database) -> None:
    user = str(next(_ids))
    await in_turn(db, user, lambda t: FLOW.start(t, "size", Order(colour="blue")))
    await in_turn(db, user, lambda t: FLOW.on_text(t, "small"))
    state = await state_of(db)
    assert state is not None and state.step == "sizes" and state.data[HISTORY] == ["colour"]
    assert said(await in_turn(db, user, FLOW.on_back)).startswith("size?")
    state = await state_of(db)
    assert state is not None and state.step == "size" and "filter" not in state.data


async def test_a_wrong_answer_is_explained_and_asked_again(db: Database) -> None:
    user = str(next(_ids))
    await in_turn(db, user, lambda t: FLOW.start(t, "colour", Order()))
    assert (
        said(await in_turn(db, user, lambda t: FLOW.on_text(t, "r3d"))) == "letters only\ncolour?"
    )
    out = await in_turn(db, user, lambda t: FLOW.on_choice(t, "tsize:M"))
    assert out is None  # a button of another step
    await in_turn(db, user, lambda t: FLOW.on_text(t, "red"))
    await in_turn(db, user, lambda t: FLOW.on_text(t, "x"))
    assert await in_turn(db, user, lambda t: FLOW.on_choice(t, "tsize:XXL")) is None
    assert await in_turn(db, user, lambda t: FLOW.on_choice(t, "tsize:M:forged")) is None
    out = await in_turn(db, user, lambda t: FLOW.on_text(t, "typed"))
    assert "tap one of the buttons" in said(out).lower()


async def test_the_last_step_closes_the_flow(db: Database) -> None:
    user = str(next(_ids))
    await in_turn(db, user, lambda t: FLOW.start(t, "confirm", Order(colour="red", size="L")))
    assert said(await in_turn(db, user, lambda t: FLOW.on_choice(t, "tdone"))) == "ordered red L"
    assert await state_of(db) is None


async def test_an_old_row_without_history_or_with_other_keys_loads(db: Database) -> None:
    user = str(next(_ids))

    async def old_row(t: Turn) -> None:
        await t.goto("order", "confirm", {"colour": "red", "size": "S", "retired_key": [1, 2]})

    await in_turn(db, user, old_row)
    assert said(await in_turn(db, user, FLOW.prompt)) == "red S?"
    # no trail was kept then: /back goes to the step before on the path
    assert said(await in_turn(db, user, FLOW.on_back)).startswith("size?")

    async def unreadable(t: Turn) -> None:
        await t.goto("order", "colour", {"colour": ["not", "a", "colour"], HISTORY: "junk"})

    await in_turn(db, user, unreadable)
    assert said(await in_turn(db, user, FLOW.prompt)) == "colour?"  # a fresh draft, no crash
    assert "first question" in said(await in_turn(db, user, FLOW.on_back))


# --- the converted flows -----------------------------------------------------------------------


def test_button_data_on_the_wire_is_unchanged() -> None:
    assert SexButton("male").encode() == "sex:male"
    assert BloodGroupButton("AB-").encode() == "bg:AB-"
    assert DonationKindButton("no_day").encode() == "kind:no_day"
    assert WardButton("79", "26740").encode() == "ward:79:26740"
    assert WardButton("none").encode() == "ward:none"
    assert ConfirmButton().encode() == "confirm"
    assert FollowWard("01", "00004").encode() == "fw:01:00004"


def test_a_registration_draft_reads_the_old_json() -> None:
    old: dict[str, Any] = {"after": "drive_12", "return_to": "summary", "province": "79"}
    draft = RegistrationDraft.model_validate({**old, "old_district": None, "someday": 1})
    assert draft.after == "drive_12" and draft.return_to == "summary" and draft.province == "79"
    assert RegistrationDraft.model_validate({}) == RegistrationDraft()


async def test_a_registration_row_from_before_the_steps_goes_back(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 9100, "en")
    await person.say("/start")
    await person.tap("lang:en")
    await person.tap("consent:en:yes")
    await person.say("Nguyễn Văn An")
    await person.say("25/08/1995")
    await person.tap("sex:male")
    async with db.session() as session:  # the row as the old flow wrote it: no trail
        state = (await session.exec(select(ConversationState))).one()
        state.data = {"after": "drive_1"}
    out = await person.say("/back")
    assert "sex" in texts(out).lower() and "sex:male" in buttons(out)
    out = await person.say("/back")
    assert "date of birth" in texts(out).lower()


async def test_an_eligibility_row_from_before_the_steps_goes_on(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 9101, "en")
    await register(person, "en")
    await service.command(person.sender(), "eligibility", [])
    async with db.session() as session:  # as the old check wrote it, at the events list
        state = (await session.exec(select(ConversationState))).one()
        state.step = "events"
        state.data = {
            "kind": "whole_blood",
            "weight": 60,
            "events": [["tattoo", "2026-01-02"]],
            "trail": ["kind", "weight"],
        }
    out = await person.say("/back")
    assert "weigh" in texts(out).lower()
    out = await person.say("61")
    assert "ecat:done" in buttons(out) and "tattoo" in texts(out).lower()
    out = await person.tap("ecat:done")
    assert "ejob:yes" in buttons(out)


def test_a_check_draft_reads_the_old_json() -> None:
    old = {
        "dob": "1994-03-02",
        "sex": "female",
        "kind": "plasma",
        "weight": 52,
        "last_kind": "whole_blood",
        "last_date": "2026-03-15",
        "events": [["tattoo", "2026-01-02"], ["pregnant_now", None]],
        "group": "skin",
        "job": False,
        "trail": ["dob", "sex", "kind"],
    }
    draft = CheckDraft.model_validate(old)
    assert draft.dob == date(1994, 3, 2) and draft.last_date == date(2026, 3, 15)
    assert draft.events == [("tattoo", date(2026, 1, 2)), ("pregnant_now", None)]
    again = draft.model_dump(mode="json", exclude_none=True)
    assert again == {k: v for k, v in old.items() if k != "trail"} | {"weight": 52.0}


async def test_back_in_the_check_leaves_the_lists_for_the_question_before(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 9102, "en")
    await register(person, "en")
    await service.command(person.sender(), "eligibility", [])
    await person.tap("ekind:whole_blood")
    await person.say("60")
    await person.tap("ecat:skin")
    out = await person.say("/back")  # from the sub-list: the list of groups
    assert "ecat:done" in buttons(out) and not any(b.startswith("ecode:") for b in buttons(out))
    await person.tap("ecat:skin")
    out = await person.tap("ecode:tattoo")
    assert not any(b.startswith("ecat:") for b in buttons(out))  # its date is asked
    out = await person.say("/back")  # from the date: the list of groups again
    assert "ecat:done" in buttons(out)
    await person.tap("ecat:done")
    out = await person.say("/back")  # from the job: the list of groups
    assert "ecat:done" in buttons(out)
    out = await person.say("/back")  # then the weight, asked again
    assert buttons(out) == []  # a typed answer
    state = await state_of(db)
    assert state is not None and state.step == "weight" and state.data[HISTORY] == ["kind"]
    assert "group" not in state.data and "code" not in state.data


def test_a_malformed_table_is_refused_when_the_flow_is_made() -> None:
    def ask(t: Turn, d: Order) -> list[Reply]:
        return []

    class Broken(OrderFlow):
        def __init__(self, *steps: Step[Order]) -> None:
            StepFlow.__init__(self, *steps)

    for steps in (
        (Step("a", ask), Step("a", ask)),  # a step twice
        (Step("a", ask, part_of="nowhere"),),
        (Step("a", ask, scratch=("no_such_field",)),),
        (Step("a", ask, taps=(Size,)),),  # button kinds without a reader
    ):
        with pytest.raises(ValueError):
            Broken(*steps)
