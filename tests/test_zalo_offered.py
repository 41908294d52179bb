"""The numbers offered on a channel without buttons, stored with the person (issue 12): the chat
service numbers each answer's choices, keeps them on the donor row in the turn's transaction and
reads a typed number or a choice's words back against them; they survive a restart; an answer
without choices clears them; nothing is stored before consent; a message from the outbox
numbers on after a recent answer. SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import select

from handlers.zalo.render import zalo_messages
from models import Donor, DriveBase, Signup
from models.database import Database
from models.drives import DriveStatus
from services.chat import ChatService
from services.conversation import offered_store
from services.conversation.dialog import Outcome, Reply, Sender, joined
from services.conversation.numbered import Numbering, Offered
from services.core.i18n import use_locale
from services.drives import drive_store
from services.drives.buttons import SignUp
from tests.support.people import Person, count, texts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HA_DONG = ("01", "09556")  # Phường Hà Đông, TP. Hà Nội


class ZaloPerson:
    """Someone typing to the chat service as the Zalo adapter calls it (no buttons)."""

    def __init__(self, service: ChatService, user_id: str) -> None:
        self.service = service
        self.user_id = user_id

    def sender(self) -> Sender:
        return Sender(
            "zalo",
            self.user_id,
            self.user_id,
            None,
            f"message.text.received:{uuid.uuid4().hex[:20]}",
            has_buttons=False,
        )

    async def say(self, text: str) -> Outcome:
        return await self.service.text(self.sender(), text)


def shown(outcome: Outcome) -> str:
    """What the person reads on Zalo: the replies with their numbered choices."""
    numbering = Numbering(planned=outcome.offered)
    with use_locale("vi"):
        return "\n".join(
            text
            for reply in joined(outcome.replies, 2000)
            for text in zalo_messages(reply, TZ, numbering=numbering).texts
        )


async def donor_of(db: Database, user_id: str) -> Donor | None:
    async with db.session() as session:
        statement = select(Donor).where(Donor.channel == "zalo", Donor.external_id == user_id)
        return (await session.exec(statement)).first()


async def stored(db: Database, user_id: str) -> Offered:
    donor = await donor_of(db, user_id)
    assert donor is not None
    return offered_store.stored(donor)


async def to_sex_step(person: ZaloPerson) -> None:
    assert "1. Tiếng Việt\n2. English" in shown(await person.say("/start"))
    assert "1. ✅ Tôi đồng ý" in shown(await person.say("1"))
    assert "Họ và tên" in texts(await person.say("dong y"))
    await person.say("Nguyễn Thị Hồng")
    out = await person.say("5/8/98")
    assert "1. Nam\n2. Nữ" in shown(out)


async def register(person: ZaloPerson) -> Outcome:
    """Registration by numbers and by words typed without diacritics."""
    await to_sex_step(person)
    assert "điện thoại" in texts(await person.say("nu"))
    await person.say("0912 345 678")
    out = await person.say("ha dong hn")
    assert "1. Phường Hà Đông, TP. Hà Nội" in shown(out)
    assert "Nhóm máu" in texts(await person.say("1"))
    assert "hình thức hiến" in texts(await person.say("o+"))
    assert "ngày nào" in texts(await person.say("toan phan"))
    out = await person.say("15/03/2026")
    assert "1. ✅ Xác nhận" in shown(out)
    out = await person.say("xac nhan")
    assert "đăng ký thành công" in texts(out)
    return out


async def test_registration_by_numbers_and_words_without_diacritics(
    service: ChatService, db: Database
) -> None:
    person = ZaloPerson(service, "a1" * 10)
    out = await register(person)
    donor = await donor_of(db, person.user_id)
    assert donor is not None and donor.is_registered
    assert donor.full_name == "Nguyễn Thị Hồng" and donor.sex == "female"
    assert donor.ward_code == HA_DONG[1] and donor.blood_group == "O+"
    assert donor.last_donation_kind == "whole_blood"
    # The menu's numbers as shown are the ones stored, in the same transaction.
    assert out.offered is not None and len(out.offered.choices) == 8
    assert await stored(db, person.user_id) == out.offered
    assert "1. 🩸 Đợt hiến máu gần tôi" in shown(out)


async def test_the_numbers_shown_survive_a_restart(service: ChatService, db: Database) -> None:
    person = ZaloPerson(service, "b2" * 10)
    await to_sex_step(person)
    restarted = ChatService(db, organization="Hội Chữ thập đỏ", tz=TZ)  # a new process
    out = await ZaloPerson(restarted, person.user_id).say("2")
    assert "điện thoại" in texts(out)
    donor = await donor_of(db, person.user_id)
    assert donor is not None and donor.sex == "female"


async def test_an_answer_without_choices_clears_the_numbers(
    service: ChatService, db: Database
) -> None:
    person = ZaloPerson(service, "c3" * 10)
    await person.say("/start")
    await person.say("1")
    out = await person.say("1")  # "✅ Tôi đồng ý", by its number
    assert out.offered == Offered()
    assert "Họ và tên" in texts(out)
    donor = await donor_of(db, person.user_id)
    assert donor is not None and donor.offered is None
    # A "2" now is the answer to the name question, not the consent question's second choice.
    assert "“2” không giống một họ tên" in texts(await person.say("2"))
    donor = await donor_of(db, person.user_id)
    assert donor is not None and donor.full_name is None


async def test_nothing_is_stored_before_consent(service: ChatService, db: Database) -> None:
    person = ZaloPerson(service, "d4" * 10)
    await person.say("/start")
    out = await person.say("2")  # English, by its number (kept in memory only)
    assert "1. ✅ I agree\n2. I do not agree" in shown(out)
    assert await count(db, Donor) == 0
    out = await person.say("2")
    assert "nothing about you has been stored" in texts(out)
    assert await count(db, Donor) == 0


async def test_plain_words_are_commands(service: ChatService, db: Database) -> None:
    person = ZaloPerson(service, "e5" * 10)
    await register(person)
    assert "/eligibility" in texts(await person.say("tro giup"))
    out = await person.say("dừng")
    assert "/start" in texts(out)
    donor = await donor_of(db, person.user_id)
    assert donor is not None and donor.is_stopped and donor.offered is None
    out = await person.say("bắt đầu")
    donor = await donor_of(db, person.user_id)
    assert donor is not None and not donor.is_stopped


async def make_drive(db: Database, day: date) -> int:
    start = datetime.combine(day, time(7, 30), tzinfo=TZ)
    fields = DriveBase(
        campaign="chu_nhat_do",
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        venue_name="Nhà văn hóa Hà Đông",
        address="1 Quang Trung",
        province_code=HA_DONG[0],
        collector="Viện Huyết học",
        target_units=100,
        capacity=50,
    )
    async with db.session() as session:
        drive = await drive_store.create_drive(session, fields, [HA_DONG[1]], "test")
        drive.status = DriveStatus.PUBLISHED
        await session.flush()
        assert drive.id is not None
        return drive.id


async def test_a_drive_is_signed_up_for_by_its_number(service: ChatService, db: Database) -> None:
    drive_id = await make_drive(db, service.today() + timedelta(days=10))
    person = ZaloPerson(service, "f6" * 10)
    await register(person)
    out = await person.say("1")  # "🩸 Đợt hiến máu gần tôi"
    assert "Nhà văn hóa Hà Đông" in shown(out)
    sign_up = SignUp(drive_id).encode()
    [number] = [c.number for c in (out.offered or Offered()).choices if c.data == sign_up]
    out = await person.say(str(number))
    async with db.session() as session:
        [signup] = (await session.exec(select(Signup))).all()
    assert signup.drive_id == drive_id


async def test_an_outbox_message_numbers_on_after_a_recent_answer(
    service: ChatService, db: Database
) -> None:
    drive_id = await make_drive(db, service.today() + timedelta(days=10))
    person = ZaloPerson(service, "a7" * 10)
    await register(person)  # the menu: 1 to 8
    chat = person.user_id
    start = await service.next_offer_number("zalo", chat)
    assert start == 9
    announcement = Reply("🩸 Đợt hiến máu mới", [[SignUp(drive_id).button("✍️ Đăng ký")]])
    numbering = Numbering(start)
    with use_locale("vi"):
        [text] = zalo_messages(announcement, TZ, numbering=numbering).texts
    assert "9. ✍️ Đăng ký" in text
    await service.offer_more("zalo", chat, numbering.offered)
    offered = await stored(db, chat)
    assert offered.match("1") is not None and offered.match("9") == SignUp(drive_id).encode()
    await person.say("9")
    async with db.session() as session:
        assert len((await session.exec(select(Signup))).all()) == 1


async def test_after_an_hour_an_outbox_message_numbers_from_one(
    service: ChatService, db: Database
) -> None:
    person = ZaloPerson(service, "b8" * 10)
    await register(person)
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
        an_hour_ago = datetime.now(TZ) - timedelta(hours=1, minutes=1)
        donor.offered = offered_store.packed(offered_store.stored(donor), an_hour_ago)
        session.add(donor)
    assert await service.next_offer_number("zalo", person.user_id) == 1
    numbering = Numbering(1)
    numbering.render(Reply("Nhắc", [[SignUp(5).button("Đăng ký")]]))
    await service.offer_more("zalo", person.user_id, numbering.offered)
    assert [c.data for c in (await stored(db, person.user_id)).choices] == [SignUp(5).encode()]


async def test_telegram_keeps_no_numbers(service: ChatService, db: Database) -> None:
    person = Person(service, 4242)
    out = await person.say("/start")
    assert out.offered is None
    await person.tap("lang:vi")
    await person.tap("consent:vi:yes")
    async with db.session() as session:
        donor = (await session.exec(select(Donor))).one()
    assert donor.offered is None
