"""The guided check and free-text questions, through the chat service, on a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from models import ConversationState, Donor, OutboxMessage
from models.database import Database
from services.chat import ChatService
from services.core.labels import date_label
from tests.support.people import Person, buttons, count, register, texts


async def check(person: Person) -> str:
    """Open the guided check (the /eligibility command)."""
    out = await person.service.command(person.sender(), "eligibility", [])
    return texts(out)


async def donor(db: Database, user_id: int) -> Donor:
    async with db.session() as session:
        return (await session.exec(select(Donor).where(Donor.external_id == str(user_id)))).one()


async def test_registered_donor_can_give_now_with_the_volume_for_the_weight(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 101, "en")
    await register(person, "en")
    assert "What would you like to give?" in await check(person)  # age, sex, last gift are known
    out = await person.tap("ekind:whole_blood")
    assert "weigh" in texts(out)
    out = await person.say("52,5 kg")
    assert "ecat:done" in buttons(out)
    out = await person.tap("ecat:done")
    assert buttons(out) == ["ejob:yes", "ejob:no"]
    out = await person.tap("ejob:no")
    verdict = texts(out)
    assert "you can give whole blood now" in verdict
    assert "450 ml" in verdict  # 52.5 kg × 9 ml = 472 ml → the 450 ml bag
    assert "(Circular 26/2013/TT-BYT, Article 4(2)(a))" in verdict  # in English
    assert "Thông tư" not in verdict and "Điều" not in verdict
    assert "final decision is made by the doctor" in verdict
    assert "menu:drives" in buttons(out)
    assert await count(db, ConversationState) == 0  # the answers are gone with the flow
    assert (await donor(db, 101)).deferred_until is None


async def test_bad_input_gets_a_message_and_the_same_question(service: ChatService) -> None:
    person = Person(service, 102, "en")
    await register(person, "en")
    await check(person)
    await person.tap("ekind:platelets")
    for typed, message in (
        ("500", "500 kg does not look right"),
        ("abc", "as a number"),
        ("-3", "as a number"),
    ):
        out = await person.say(typed)
        assert message in texts(out)
        assert texts(out).endswith("(e.g. 52)")  # asked again
    await person.say("48")
    await person.tap("ecat:illness")
    await person.tap("ecode:dengue")
    tomorrow = datetime.now(UTC).date() + timedelta(days=2)
    out = await person.say(tomorrow.strftime("%d/%m/%Y"))
    assert "is in the future" in texts(out)
    out = await person.say("31/02/2026")
    assert "is not a date" in texts(out)
    out = await person.say("typed instead of tapping")  # still on the date question
    assert "I could not read" in texts(out)
    out = await person.tap("edate:ongoing")
    assert "Dengue fever (still going on)" in texts(out)
    out = await person.say("blue")  # a button step
    assert "Please tap one of the buttons" in texts(out)
    await person.tap("ecat:done")
    out = await person.tap("ejob:no")
    verdict = texts(out)
    assert "you cannot give platelets by apheresis at the moment" in verdict
    assert "minimum weight for platelets by apheresis is 50 kg" in verdict
    assert "Dengue fever: wait 4 weeks, counted from the day it is over" in verdict
    assert "menu:eligibility" in buttons(out)


async def test_deferrals_give_a_date_and_a_reminder_is_queued_once(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 103, "en")
    await register(person, "en")
    today = service.today()
    tattoo, flu = today - timedelta(days=30), today - timedelta(days=2)
    await check(person)
    await person.tap("ekind:whole_blood")
    await person.say("60")
    await person.tap("ecat:skin")
    await person.tap("ecode:tattoo")
    await person.say(tattoo.strftime("%d/%m/%Y"))
    await person.tap("ecat:illness")
    await person.tap("ecode:flu")
    out = await person.say(flu.strftime("%d/%m/%Y"))
    assert "So far:" in texts(out) and "Tattoo" in texts(out) and "Flu" in texts(out)
    await person.tap("ecat:done")
    out = await person.tap("ejob:yes")
    verdict = texts(out)
    month, year = tattoo.month + 6, tattoo.year
    if month > 12:
        month, year = month - 12, year + 1
    until = tattoo.replace(year=year, month=month)
    assert f"You can give whole blood from {date_label(until)}" in verdict
    assert "Tattoo" in verdict and "wait 6 months" in verdict
    assert "Flu" in verdict and "wait 7 days" in verdict
    assert "Circular 26/2013/TT-BYT, Article 5(5)" in verdict  # the job rule, as advice
    assert "Circular 26/2013/TT-BYT, Article 5(2)(a)" in verdict  # the tattoo
    remind = [b for b in buttons(out) if b.startswith("remind:")]
    assert remind == [f"remind:{until.isoformat()}:tattoo"]
    out = await person.tap(remind[0])
    assert date_label(until) in texts(out)
    assert "09:00" in texts(out)  # the day, at the donor's hour
    await person.tap(remind[0])  # tapped twice: still one reminder day
    me = await donor(db, 103)
    assert me.deferred_until == until and me.deferral_code == "tattoo"
    assert me.remind_on == until  # the sweep sends it that morning (tests/test_reminders.py)
    async with db.session() as session:
        rows = (
            await session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending"))
        ).all()
    assert rows == []  # nothing queued months ahead any more


async def test_pregnancy_and_back(service: ChatService) -> None:
    person = Person(service, 104, "en")
    await person.say("/start")
    await person.tap("lang:en")
    await person.tap("consent:en:yes")
    opening = await check(person)  # not registered yet: the check asks birth date and sex first
    assert "date of birth" in opening
    await person.say("02/03/1994")
    out = await person.tap("esex:female")
    assert "What would you like to give?" in texts(out)
    out = await person.say("/back")
    assert "Your sex?" in texts(out)
    await person.tap("esex:female")
    await person.tap("ekind:whole_blood")
    out = await person.say("43")
    assert "What did you give the last time?" in texts(out)  # not in the profile yet
    out = await person.tap("esex:male")  # a stale button
    assert "What did you give the last time?" in texts(out)
    await person.tap("elast:never")
    await person.tap("ecat:pregnancy")
    out = await person.tap("ecode:pregnant_now")
    assert "I am pregnant now" in texts(out)
    await person.tap("ecat:done")
    out = await person.tap("ejob:no")
    verdict = texts(out)
    assert "you cannot give whole blood at the moment" in verdict
    assert "Not during pregnancy" in verdict and "12 months" in verdict
    assert buttons(out) == ["menu:profile"]  # finish registering


async def test_a_restart_resumes_the_check_where_it_was(service: ChatService, db: Database) -> None:
    person = Person(service, 105)
    await register(person)
    await check(person)
    await person.tap("ekind:whole_blood")
    restarted = ChatService(db, organization="Hội Chữ thập đỏ", tz=service.tz)
    person.service = restarted
    out = await person.say("/start")
    assert "cân nặng" in texts(out).lower() or "kg" in texts(out)
    out = await person.say("55")
    assert "ecat:done" in buttons(out)


async def test_vietnamese_verdict(service: ChatService) -> None:
    person = Person(service, 106)
    await register(person)
    await check(person)
    await person.tap("ekind:whole_blood")
    await person.say("55 ký")
    await person.tap("ecat:done")
    out = await person.tap("ejob:no")
    verdict = texts(out)
    assert "máu toàn phần" in verdict and "450 ml" in verdict
    assert "bác sĩ" in verdict


async def test_free_text_questions_are_answered_or_admitted(
    service: ChatService, db: Database
) -> None:
    stranger = Person(service, 107)
    out = await stranger.say("xăm hình bao lâu thì hiến được")
    assert "6 tháng" in texts(out)  # answered before any consent…
    assert "lang:vi" in buttons(out)  # …and invited to register
    assert await count(db, Donor) == 0  # nothing stored
    person = Person(service, 108)
    await register(person)
    out = await person.say("bi cam co hien mau duoc khong")
    assert "7 ngày" in texts(out)
    assert "menu:eligibility" in buttons(out)
    out = await person.say("giá vàng hôm nay bao nhiêu")
    assert "menu:eligibility" in buttons(out)
    assert "6 tháng" not in texts(out) and "7 ngày" not in texts(out)
    english = Person(service, 109, "en")
    await register(english, "en")
    out = await english.say("how long after platelets can I give whole blood?")
    assert "14 days" in texts(out)


def test_weights_and_dates_as_people_type_them() -> None:
    from datetime import date

    from services.eligibility.check import parse_event_date, parse_weight

    assert [parse_weight(t) for t in ("52", "52kg", "52,5 kg", "52 ký", "48 cân")] == [
        52.0,
        52.0,
        52.5,
        52.0,
        48.0,
    ]
    assert [parse_weight(t) for t in ("abc", "5 2", "52 tuổi", "")] == [None] * 4
    today = date(2026, 12, 1)
    assert parse_event_date("hôm qua", today) == (date(2026, 11, 30), None)
    assert parse_event_date("10 ngay truoc", today) == (date(2026, 11, 21), None)
    assert parse_event_date("3 days ago", today) == (date(2026, 11, 28), None)
    assert parse_event_date("2026-11-05", today) == (date(2026, 11, 5), None)
    assert parse_event_date("sometime", today)[0] is None


async def test_cancel_mid_check_leaves_no_health_answers(
    service: ChatService, db: Database
) -> None:
    person = Person(service, 120, "en")
    await register(person, "en")
    await check(person)
    await person.tap("ekind:whole_blood")
    await person.say("48")
    await person.tap("ecat:skin")
    await person.tap("ecode:tattoo")
    await person.say((service.today() - timedelta(days=20)).strftime("%d/%m/%Y"))
    async with db.session() as session:
        during = (await session.exec(select(ConversationState))).one()
    assert during.data["weight"] == 48 and during.data["events"]  # held while the check runs
    out = await person.say("/cancel")
    assert "none of its answers were kept" in texts(out)
    async with db.session() as session:
        rows = (await session.exec(select(ConversationState))).all()
    health = ("weight", "events", "kind", "job", "code", "group", "dob", "sex", "last_date")
    assert all(not any(key in row.data for key in health) for row in rows)
    assert rows == []
    me = await donor(db, 120)
    assert me.deferred_until is None and me.deferral_code is None  # nothing kept without asking


async def test_a_man_is_not_asked_about_pregnancy(service: ChatService) -> None:
    man = Person(service, 121, "en")
    await register(man, "en")  # registered as male
    await check(man)
    await man.tap("ekind:whole_blood")
    out = await man.say("60")
    offered = buttons(out)
    assert "ecat:pregnancy" not in offered and "ecat:illness" in offered and "ecat:done" in offered
    assert "Pregnancy" not in texts(out) and all(
        "Pregnancy" not in b.label for r in out.replies for row in r.buttons for b in row
    )
    out = await man.tap("ecat:pregnancy")  # forged or stale: refused
    assert out.toast and "earlier question" in out.toast
    out = await man.tap("ecat:skin")
    assert "ecode:tattoo" in buttons(out)

    woman = Person(service, 122, "en")
    await woman.say("/start")
    await woman.tap("lang:en")
    await woman.tap("consent:en:yes")
    await check(woman)
    await woman.say("02/03/1994")
    await woman.tap("esex:female")
    await woman.tap("ekind:whole_blood")
    await woman.say("50")
    out = await woman.tap("elast:never")
    assert "ecat:pregnancy" in buttons(out)


async def test_platelets_refused_for_weight_says_whole_blood_is_possible(
    service: ChatService,
) -> None:
    person = Person(service, 123, "en")
    await register(person, "en")  # male
    await check(person)
    await person.tap("ekind:platelets")
    await person.say("48")
    await person.tap("ecat:done")
    out = await person.tap("ejob:no")
    verdict = texts(out)
    assert "you cannot give platelets by apheresis at the moment" in verdict
    assert "Whole blood is still possible: with 48 kg, up to 350 ml." in verdict
    assert "menu:drives" in buttons(out)

    light = Person(service, 124, "en")
    await register(light, "en")
    await check(light)
    await light.tap("ekind:platelets")
    await light.say("44")  # a man under 45 kg: whole blood is refused too
    await light.tap("ecat:done")
    out = await light.tap("ejob:no")
    assert "Whole blood is still possible" not in texts(out)


async def test_weights_are_written_in_the_readers_locale(service: ChatService) -> None:
    person = Person(service, 125)  # Vietnamese
    await register(person)
    await check(person)
    await person.tap("ekind:platelets")
    await person.say("48.5")
    await person.tap("ecat:done")
    out = await person.tap("ejob:no")
    verdict = texts(out)
    assert "48,5 kg" in verdict and "48.5" not in verdict
    assert "máu toàn phần" in verdict and "350 ml" in verdict  # whole blood still possible
    await check(person)
    await person.tap("ekind:whole_blood")
    out = await person.say("300,5")
    assert "300,5 kg" in texts(out)

    english = Person(service, 126, "en")
    await register(english, "en")
    await check(english)
    await english.tap("ekind:platelets")
    await english.say("48,5")
    await english.tap("ecat:done")
    out = await english.tap("ejob:no")
    assert "you weigh 48.5 kg" in texts(out)
