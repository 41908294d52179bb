"""Privacy and conversation safety through the chat service (issue 7, items 1–6, 9, 11, 14, 15)."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import structlog
from sqlalchemy import select as sa_select
from sqlalchemy import text, update
from sqlmodel import SQLModel, select

from models import AuditEntry, ConversationState, Donor, RoleGrant
from models.database import Database
from services.chat import ChatService
from services.conversation.dialog import Reply, Sender
from services.core.log_privacy import ScrubbingFormatter, configure_logging
from services.outreach import outbox
from services.roles import access
from services.roles.erasure import pseudonym
from tests.support.people import Person, buttons, register, texts

LEADER = 987654321
KEY = b"k" * 32


@pytest.fixture
def service(db: Database) -> ChatService:
    return ChatService(
        db,
        organization="Hội Chữ thập đỏ",
        tz=ZoneInfo("Asia/Ho_Chi_Minh"),
        admin_ids=frozenset({"1"}),
        pseudonym_key=KEY,
    )


async def every_cell(db: Database) -> list[str]:
    """Every value of every table, as text."""
    cells: list[str] = []
    async with db.session() as session:
        for table in SQLModel.metadata.sorted_tables:
            rows = await session.exec(sa_select(table))  # type: ignore[call-overload]
            for row in rows.all():
                cells.extend(str(value) for value in row)
    return cells


# --- 1. groups ---------------------------------------------------------------------------------


async def test_a_group_message_never_becomes_where_the_donor_is_reached(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 4001)
    await register(person)
    group = Sender("telegram", "4001", "-1009", "vi", 10_000_000, private=False)
    await service.text(group, "xin chào")
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.chat_id == "4001"
    invite = service.private_chat_invite("en", "hienmau_bot")
    assert invite.endswith("https://t.me/hienmau_bot") and "\n" not in invite


# --- 2. a leader's /forget ---------------------------------------------------------------------


async def test_a_leaders_forget_leaves_no_id_and_ends_the_grants(
    service: ChatService, db: Database
) -> None:
    admin = Person(service, 1)
    leader = Person(service, LEADER)
    await register(leader)
    out = await service.command(
        admin.sender(), "grant", ["leader", str(LEADER), "01", "09556", "CLB", "Hà", "Đông"]
    )
    assert "CLB Hà Đông" in texts(out), texts(out)
    # The leader leaves traces: a grant they gave, a broadcast with its progress chat.
    async with db.session() as session:
        actor = await access.load_actor(session, "telegram", str(LEADER), frozenset())
        assert actor.is_leader
        await access.audit(session, actor, access.Action.BROADCAST, "ward 09556", person=f"telegram:{LEADER}")
        await outbox.create_broadcast(
            session, "notice", actor.label, "ward 09556", progress_chat_id=str(LEADER)
        )
        session.add(
            RoleGrant(
                channel="telegram",
                external_id="555",
                role="leader",
                province_code="01",
                granted_by=actor.label,
            )
        )
    assert str(LEADER) in " ".join(await every_cell(db))
    out = await leader.say("/forget")
    assert "forget:yes" in buttons(out)
    out = await leader.tap("forget:yes")
    said = texts(out)
    assert "roles" in said or "vai trò" in said.lower()
    assert "audit" in said or "nhật ký" in said.lower()
    assert all(str(LEADER) not in cell for cell in await every_cell(db))
    alias = pseudonym(KEY, "telegram", str(LEADER))
    async with db.session() as session:
        actor = await access.load_actor(session, "telegram", str(LEADER), frozenset())
        assert not actor.is_privileged
        actors = {e.actor for e in (await session.exec(select(AuditEntry))).all()}
        granted_by = {g.granted_by for g in (await session.exec(select(RoleGrant))).all()}
    assert alias in actors and granted_by == {alias}
    # The same key gives the same pseudonym everywhere: the trail still holds together.
    assert alias == pseudonym(KEY, "telegram", str(LEADER))


async def test_forget_without_a_profile_but_with_a_role(service: ChatService, db: Database) -> None:
    admin = Person(service, 1)
    await service.command(admin.sender(), "grant", ["staff", "4242", "01"])
    staff = Person(service, 4242)
    out = await staff.say("/forget")
    assert "forget:yes" in buttons(out), texts(out)
    await staff.tap("forget:yes")
    assert all("4242" not in cell for cell in await every_cell(db))


# --- 3. health answers expire ------------------------------------------------------------------


async def test_health_answers_go_when_another_flow_starts(service: ChatService, db: Database) -> None:
    person = Person(service, 4003)
    await register(person)
    await service.command(person.sender(), "eligibility", [])
    async with db.session() as session:
        state = (await session.exec(select(ConversationState))).one()
        state.data = {**state.data, "events": ["syphilis"], "weight": 70}
        session.add(state)
    await service.command(person.sender(), "wards", [])
    await person.tap("follow:")
    async with db.session() as session:
        state = (await session.exec(select(ConversationState))).one()
    assert state.flow != "eligibility" and "events" not in state.data and "weight" not in state.data


async def test_an_idle_check_is_swept_after_an_hour(service: ChatService, db: Database) -> None:
    person = Person(service, 4004)
    await register(person)
    await service.command(person.sender(), "eligibility", [])
    assert await service.expire_idle_health_answers() == 0  # still in use
    async with db.session() as session:
        await session.exec(
            update(ConversationState).values(updated_at=datetime.now(UTC) - timedelta(minutes=61))
        )
    assert await service.expire_idle_health_answers() == 1
    async with db.session() as session:
        assert (await session.exec(select(ConversationState))).first() is None


async def test_an_idle_check_is_closed_when_the_person_comes_back(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 4005)
    await register(person)
    await service.command(person.sender(), "eligibility", [])
    async with db.session() as session:
        await session.exec(
            update(ConversationState).values(updated_at=datetime.now(UTC) - timedelta(hours=3))
        )
    out = await person.say("55")
    assert "menu:eligibility" in buttons(out)
    async with db.session() as session:
        assert (await session.exec(select(ConversationState))).first() is None


# --- 4. logs -----------------------------------------------------------------------------------


async def test_sql_errors_do_not_carry_bound_parameters(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "Nguyễn Văn Bí Mật 0912345678"
    with pytest.raises(Exception) as failure:  # noqa: B017 - the driver's own error class
        async with db.session() as session:
            statement = text("INSERT INTO nowhere (x) VALUES (:x)")
            await session.exec(statement, params={"x": secret})  # type: ignore[call-overload]
    assert secret not in str(failure.value)


def test_every_log_line_is_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("DEBUG")
    try:
        logging.getLogger("demo").error(
            "token 123456789:AAHtestTokenForTheFakeBotApiServer00 phone +84912345678 or 0912345678"
        )
        try:
            raise ValueError("sent to 0987654321")
        except ValueError:
            logging.getLogger("demo").exception("failed")
        # The libraries that dump request bodies at DEBUG are held back.
        assert not logging.getLogger("telegram.ext").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
    written = capsys.readouterr().err
    assert "AAHtest" not in written and "912345678" not in written
    assert "987654321" not in written and "<phone>" in written
    assert isinstance(ScrubbingFormatter(), logging.Formatter)


# --- 5. an unseen question is asked again ------------------------------------------------------


async def test_an_answer_after_an_undelivered_question_is_not_applied(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 4006)
    await person.say("/start")
    await person.tap("lang:vi")
    out = await person.tap("consent:vi:yes")
    await person.say("Trần Văn Bình")  # its reply (the birth-date question) fails to go out:
    await service.deliver_later(person.sender(), [Reply("Ngày sinh của bạn?")])
    out = await person.say("0912345678")
    assert "chưa đến" in texts(out) and "Ngày sinh" in texts(out)
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
        rows = (await session.exec(select(outbox.OutboxMessage))).all()
    assert donor.date_of_birth is None and donor.phone_e164 is None
    assert [row.status for row in rows] == ["superseded"]  # the queued copy is not sent as well
    out = await person.say("25/08/1995")
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.date_of_birth is not None


# --- 7. forged button data ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data", ["signup:²", "drives:①", "unsign:99999999999999999999", "signup:-1", "md:edit:²"]
)
async def test_forged_button_data_gets_an_answer_not_a_traceback(
    service: ChatService, data: str
) -> None:
    person = Person(service, 4007)
    await register(person)
    out = await person.tap(data)
    assert out.toast or out.replies


# --- 11. typed consent -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "typed"),
    [("vi", "đồng ý"), ("vi", "dong y"), ("vi", "Tôi đồng ý"), ("en", "I agree")],
)
async def test_typed_agreement_is_consent(
    service: ChatService, db: Database, lang: str, typed: str
) -> None:
    person = Person(service, 4008)
    await person.say("/start")
    await person.tap(f"lang:{lang}")
    out = await person.say(typed)
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.locale == lang
    assert "lang:vi" not in buttons(out)  # no second greeting, no language question


async def test_other_text_at_the_consent_step_shows_the_consent_again(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 4009, "vi")
    await person.say("/start")
    await person.tap("lang:en")
    out = await person.say("hmm what is this")
    assert "consent:en:yes" in buttons(out)
    async with db.session() as session:
        assert (await session.exec(select(Donor))).first() is None
    out = await person.say("không đồng ý")
    async with db.session() as session:
        assert (await session.exec(select(Donor))).first() is None
    assert "nothing about you has been stored" in texts(out)


# --- 14. a choice typed by its label, yes / no typed -------------------------------------------


async def test_a_choice_typed_by_its_label(service: ChatService, db: Database) -> None:
    person = Person(service, 4010)
    await person.say("/start")
    await person.tap("lang:vi")
    await person.tap("consent:vi:yes")
    await person.say("Nguyễn Văn An")
    await person.say("25/08/1995")
    await person.say("nam")  # the "Nam" button
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.sex == "male"


# --- 15. /language does not greet again ---------------------------------------------------------


async def test_language_does_not_repeat_the_first_greeting(service: ChatService) -> None:
    person = Person(service, 4011)
    await register(person)
    out = await person.say("/language")
    assert "Xin chào" not in texts(out) and "Hello" not in texts(out)
    assert "setlang:en" in buttons(out)


def test_production_lines_are_json_and_scrubbed(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", json_lines=True)
    try:
        structlog.get_logger("update").info("update", person="anon:1", handler="text", ms=3.2)
        logging.getLogger("demo").warning("sent to %s", "+84912345678")
    finally:
        logging.getLogger().handlers.clear()
        logging.getLogger().setLevel(logging.WARNING)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert lines[0]["event"] == "update" and lines[0]["handler"] == "text"
    assert lines[1]["event"] == "sent to <phone>" and lines[1]["level"] == "warning"
