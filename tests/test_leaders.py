"""Leaders' tools: when a notice goes out (quiet hours), urgent calls that would reach nobody,
"I can come" answers, notices too long for Telegram, and what a drive change tells people."""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select

from models import Broadcast, Donor, Follow, OutboxMessage, RoleGrant, RoleWard, UrgentResponse
from models.database import Database
from services.chat import ChatService
from services.conversation.buttons import decode
from services.conversation.dialog import Reply, Sender
from services.conversation.flow import Turn
from services.core.i18n import use_locale
from services.core.text import utf16_length
from services.donors import donor_store
from services.outreach import fanout
from services.outreach.broadcast import NOTICE_LIMIT, PLACE_LIMIT, UNTIL_LIMIT, URGENT_TEXT_LIMIT
from services.outreach.urgent import CanCome, UrgentResponses
from tests.support.people import Person, buttons, texts

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HANOI, HA_DONG, KIEN_HUNG, BA_DINH = "01", "09556", "09552", "00004"
LEADER = 700
_ids = itertools.count(5000)


@pytest.fixture
def service(db: Database) -> ChatService:
    return ChatService(db, organization="Hội Chữ thập đỏ", tz=TZ, quiet_hours=(time(20), time(7)))


def at(service: ChatService, local: str) -> None:
    """Set the broadcast flows' clock to a local time, "2026-12-05 20:30"."""
    moment = datetime.strptime(local, "%Y-%m-%d %H:%M").replace(tzinfo=TZ).astimezone(UTC)
    service.broadcast.clock = lambda: moment
    service.urgent.clock = lambda: moment


async def make_leader(db: Database, user_id: int, wards: list[str], role: str = "leader") -> None:
    async with db.session() as session:
        grant = RoleGrant(
            channel="telegram",
            external_id=str(user_id),
            role=role,
            province_code=HANOI,
            club_name="CLB Giọt hồng" if role == "leader" else None,
            granted_by="test",
        )
        session.add(grant)
        await session.flush()
        for ward in wards:
            session.add(RoleWard(role_id=grant.id or 0, ward_code=ward))


async def leader(service: ChatService, db: Database, wards: list[str], lang: str = "en") -> Person:
    """A consented club leader for these wards of Hà Nội."""
    person = Person(service, LEADER, lang)
    await person.say("/start")
    await person.tap(f"lang:{lang}")
    await person.tap(f"consent:{lang}:yes")
    await person.say("/cancel")
    await make_leader(db, LEADER, wards)
    return person


async def donor(
    db: Database,
    ward: str = HA_DONG,
    group: str = "O-",
    gave: date | None = None,
    follows: str | None = None,
    name: str = "Lê Văn Cường",
) -> Donor:
    """A registered donor living in `ward`, following it (or `follows`)."""
    now = datetime.now(UTC)
    user_id = next(_ids)
    person = Donor(
        channel="telegram",
        external_id=str(user_id),
        chat_id=str(user_id),
        locale="vi",
        consent_version="test",
        consented_at=now,
        registered_at=now,
        full_name=name,
        date_of_birth=date(1995, 8, 25),
        sex="male",
        phone_e164="+84912345678",
        province_code=HANOI,
        ward_code=ward,
        blood_group=group,
        last_donation_kind="whole_blood" if gave else "never",
        last_donation_date=gave,
    )
    async with db.session() as session:
        session.add(person)
        await session.flush()
        session.add(Follow(donor_id=person.id or 0, province_code=HANOI, ward_code=follows or ward))
    return person


async def outbox_rows(db: Database, kind: str | None = None) -> list[OutboxMessage]:
    async with db.session() as session:  # broadcasts expanded into rows, as the sender does
        await fanout.expand_all(session)
    async with db.session() as session:
        query = select(OutboxMessage).join(
            Broadcast, col(Broadcast.id) == col(OutboxMessage.broadcast_id)
        )
        if kind:
            query = query.where(col(Broadcast.kind) == kind)
        return list((await session.exec(query.order_by(col(OutboxMessage.id)))).all())


async def notice_preview(person: Person, text: str = "Ngày mai có buổi hiến máu.") -> str:
    await person.service.command(person.sender(), "broadcast", [])
    await person.tap(f"bc:ward:{HANOI}:{HA_DONG}")
    await person.tap("bc:wards_done")
    return texts(await person.say(text))


async def urgent_preview(
    person: Person,
    groups: tuple[str, ...] = ("O-",),
    wards: tuple[str, ...] = (HA_DONG,),
    place: str | None = "Bệnh viện Hà Đông, 2 Bế Văn Đàn",
    until: str | None = "hôm nay trước 18:00",
    text: str = "Cần 5 đơn vị máu cho ca mổ cấp cứu",
) -> Reply:
    await person.service.command(person.sender(), "urgent", [])
    for ward in wards:
        await person.tap(f"bc:ward:{HANOI}:{ward}")
    await person.tap("bc:wards_done")
    for group in groups:
        await person.tap(f"bc:group:{group}")
    await person.tap("bc:groups_done")
    await person.say(text)
    out = await (person.say(place) if place else person.tap("bc:skip"))
    out = await (person.say(until) if until else person.tap("bc:skip"))
    return out.replies[-1]


# --- 16. quiet hours ------------------------------------------------------------------------


async def test_in_quiet_hours_the_preview_says_when_it_will_go(
    service: ChatService, db: Database
) -> None:
    person = await leader(service, db, [HA_DONG])
    await donor(db)
    at(service, "2026-12-05 20:30")
    preview = await notice_preview(person)
    assert "Quiet hours now (20:00–07:00): it will go out at 07:00 tomorrow morning." in preview
    assert "21:00" not in preview
    out = await person.tap("bc:send")
    assert texts(out) == (
        "Queued for 1 donor. Because of the quiet hours it will go out at 07:00 tomorrow "
        "morning; you will see the progress then."
    )
    [row] = await outbox_rows(db, "broadcast")
    assert row.not_before.astimezone(TZ) == datetime(2026, 12, 6, 7, 0, tzinfo=TZ)


async def test_after_midnight_it_goes_this_morning_and_by_day_right_away(
    service: ChatService, db: Database
) -> None:
    person = await leader(service, db, [HA_DONG])
    await donor(db)
    at(service, "2026-12-06 03:10")
    assert "it will go out at 07:00 this morning." in await notice_preview(person)
    await person.say("/cancel")
    at(service, "2026-12-06 10:00")
    preview = await notice_preview(person)
    assert "It goes out right away (quiet hours are 20:00–07:00)." in preview
    assert texts(await person.tap("bc:send")) == "Queued for 1 donor; progress follows."


async def test_the_quiet_hours_sentence_in_vietnamese(service: ChatService, db: Database) -> None:
    person = await leader(service, db, [HA_DONG], lang="vi")
    await donor(db)
    at(service, "2026-12-05 20:30")
    preview = await notice_preview(person)
    assert "Đang trong giờ yên tĩnh (20:00–07:00): tin sẽ gửi lúc 07:00 sáng mai." in preview
    await person.say("/cancel")
    at(service, "2026-12-05 09:00")
    assert "Tin sẽ gửi ngay (giờ yên tĩnh là 20:00–07:00)." in await notice_preview(person)


# --- 17. urgent calls -----------------------------------------------------------------------


async def test_an_urgent_call_that_reaches_nobody_says_why_and_cannot_be_sent(
    service: ChatService, db: Database
) -> None:
    person = await leader(service, db, [HA_DONG])
    await donor(db, group="O+")
    await donor(db, group="A+")
    preview = await urgent_preview(person)
    assert "of the 2 donors following these wards, none is of group O-" in preview.text
    data = [b.data for row in preview.buttons for b in row]
    assert "bc:send" not in data and "bc:regroup" in data
    assert "Your club covers only these wards" in preview.text  # nowhere to widen to
    out = await person.tap("bc:send")  # an old Send button
    assert "bc:send" not in buttons(out)
    assert await outbox_rows(db, "urgent") == []
    # Several groups: O+ donors may come for this patient.
    out = await person.tap("bc:regroup")
    await person.tap("bc:group:O+")
    out = await person.tap("bc:groups_done")
    assert "It will reach 1 donor." in texts(out) and "bc:send" in buttons(out)
    assert "🚨 URGENT: blood groups O+, O- needed" in texts(out)


async def test_nobody_who_may_give_now_is_explained(service: ChatService, db: Database) -> None:
    person = await leader(service, db, [HA_DONG])
    await donor(db, group="O-", gave=date.today() - timedelta(days=10))
    preview = await urgent_preview(person)
    assert "1 donor of group O- follows these wards, but may not give blood now" in preview.text
    assert "bc:send" not in [b.data for row in preview.buttons for b in row]


async def test_an_urgent_call_can_widen_to_neighbouring_wards(
    service: ChatService, db: Database
) -> None:
    person = await leader(service, db, [HA_DONG, KIEN_HUNG, BA_DINH])
    await donor(db, ward=KIEN_HUNG)  # 2 km away
    preview = await urgent_preview(person)
    assert "Nobody follows these wards yet" in preview.text
    labels = {b.data: b.label for row in preview.buttons for b in row}
    # Only wards the club may address, nearest first: Kiến Hưng and (17 km away) not Ba Đình.
    assert labels["bc:widen"] == "➕ Add 1 neighbouring ward (reaches 1)"
    out = await person.tap("bc:widen")
    assert "Phường Hà Đông, Phường Kiến Hưng" in texts(out)
    assert "It will reach 1 donor." in texts(out)
    await person.tap("bc:send")
    assert len(await outbox_rows(db, "urgent")) == 1


async def test_staff_may_widen_to_the_whole_province(service: ChatService, db: Database) -> None:
    person = await leader(service, db, [])
    await make_leader(db, LEADER, [], role="staff")
    await donor(db, ward=BA_DINH)
    preview = await urgent_preview(person)
    data = [b.data for row in preview.buttons for b in row]
    assert f"bc:province:{HANOI}" in data and "bc:widen" in data
    out = await person.tap(f"bc:province:{HANOI}")
    assert "It will reach 1 donor." in texts(out) and "All wards of Thành phố Hà Nội" in texts(out)


async def test_the_urgent_call_names_where_and_when_and_offers_i_can_come(
    service: ChatService, db: Database
) -> None:
    person = await leader(service, db, [HA_DONG])
    await donor(db)
    preview = await urgent_preview(person)
    assert "📍 Where: Bệnh viện Hà Đông, 2 Bế Văn Đàn" in preview.text
    assert "🕒 When: hôm nay trước 18:00" in preview.text
    assert "Urgent calls ignore the quiet hours" in preview.text
    await person.tap("bc:send")
    [row] = await outbox_rows(db, "urgent")
    assert "📍 Nơi đến: Bệnh viện Hà Đông" in row.text  # the donor reads Vietnamese
    [[come]] = row.buttons
    assert come["data"] == f"come:{row.broadcast_id}"
    assert len(come["data"].encode()) <= 64


async def test_the_where_and_when_of_an_urgent_call_may_be_skipped(
    service: ChatService, db: Database
) -> None:
    person = await leader(service, db, [HA_DONG])
    await donor(db)
    await person.service.command(person.sender(), "urgent", [])
    await person.tap(f"bc:ward:{HANOI}:{HA_DONG}")
    await person.tap("bc:wards_done")
    await person.tap("bc:group:O-")
    await person.tap("bc:groups_done")
    out = await person.say("Cần 5 đơn vị máu")
    assert "Where should donors come?" in texts(out) and buttons(out) == ["bc:skip"]
    out = await person.tap("bc:skip")
    assert "When should they come?" in texts(out) and buttons(out) == ["bc:skip"]
    preview = (await person.tap("bc:skip")).replies[-1]
    assert "Where" not in preview.text and "When" not in preview.text
    assert "bc:send" in [b.data for row in preview.buttons for b in row]


async def can_come(db: Database, responder: Donor, value: str) -> str:
    """The responder taps "I can come" (as services/chat.py routes the "come" button)."""
    async with db.session() as session:
        me = await donor_store.get_donor(session, "telegram", responder.external_id)
        sender = Sender("telegram", responder.external_id, responder.chat_id, "vi", None)
        turn = Turn(session, sender, me, None, False, date.today())
        button = CanCome(int(value))
        replies = await UrgentResponses(TZ, frozenset()).answer_can_come(turn, button)
    with use_locale("en"):
        return "\n".join(r.text for r in replies)


async def test_i_can_come_reaches_the_leader_once_with_names_only_in_scope(
    service: ChatService, db: Database
) -> None:
    person = await leader(service, db, [HA_DONG])
    near = await donor(db, name="Phạm Thị Dung")
    # Lives in Ba Đình (outside the club's wards) but follows Hà Đông.
    away = await donor(db, ward=BA_DINH, follows=HA_DONG, name="Hoàng Văn Em")
    other = await donor(db, ward=BA_DINH, name="Ngô Thị Phương")  # not called
    await urgent_preview(person)
    await person.tap("bc:send")
    [call] = {row.broadcast_id for row in await outbox_rows(db, "urgent")}
    assert call is not None
    answer = await can_come(db, near, str(call))
    assert "organiser has your name and phone" in answer
    assert "already" in await can_come(db, near, str(call))  # a second tap counts once
    assert "name and phone" not in await can_come(db, away, str(call))
    assert "over or was not sent to you" in await can_come(db, other, str(call))
    assert "over or was not sent to you" in await can_come(db, near, "99999")
    assert decode("come:²") is None  # forged data never reaches the answer
    async with db.session() as session:
        answers = (await session.exec(select(UrgentResponse))).all()
    assert sorted(a.donor_id or 0 for a in answers) == sorted([near.id or 0, away.id or 0])
    to_leader = await outbox_rows(db, "urgent_answer")
    assert [row.chat_id for row in to_leader] == [str(LEADER)] * 2
    first, second = (row.text for row in to_leader)
    assert "🙋 Phạm Thị Dung (O-, 0912 345 678) can come" in first
    assert "So far 1 person can come." in first
    assert "Hoàng Văn Em" not in second and "0912" not in second
    assert "So far 2 people can come." in second


async def test_an_old_urgent_call_is_closed(service: ChatService, db: Database) -> None:
    person = await leader(service, db, [HA_DONG])
    near = await donor(db)
    await urgent_preview(person)
    await person.tap("bc:send")
    [row] = await outbox_rows(db, "urgent")
    async with db.session() as session:
        call = await session.get(Broadcast, row.broadcast_id)
        assert call is not None
        call.created_at = datetime.now(UTC) - timedelta(days=4)
        session.add(call)
    assert "over" in await can_come(db, near, str(row.broadcast_id))
    assert await outbox_rows(db, "urgent_answer") == []


# --- 7. notices Telegram cannot carry -------------------------------------------------------


async def test_a_notice_of_2000_emoji_is_refused_with_the_reason(
    service: ChatService, db: Database
) -> None:
    person = await leader(service, db, [HA_DONG])
    await donor(db)
    said = await notice_preview(person, "🩸" * 2000)
    assert "too long" in said and "an emoji counts as 2" in said and "Preview" not in said
    out = await person.say("🩸" * 1000)  # 2,000 code units: fits
    preview = out.replies[-1]
    assert preview.text.startswith("Preview:") and utf16_length(preview.text) <= 4096


async def test_an_invisible_notice_or_place_is_refused(service: ChatService, db: Database) -> None:
    person = await leader(service, db, [HA_DONG])
    await donor(db)
    said = await notice_preview(person, "\u200b\u200d \u2060")
    assert "Please type some text." in said
    out = await person.say("Họp\x00 lúc 8 giờ?")
    assert "Preview:" in texts(out) and "\x00" not in texts(out)
    await person.say("/cancel")
    await person.service.command(person.sender(), "urgent", [])
    await person.tap(f"bc:ward:{HANOI}:{HA_DONG}")
    await person.tap("bc:wards_done")
    await person.tap("bc:group:O-")
    await person.tap("bc:groups_done")
    await person.say("Cần máu")
    out = await person.say("\u200b")
    assert "Please type some text." in texts(out) and "bc:skip" in buttons(out)


@pytest.mark.parametrize("locale", ["en", "vi"])
async def test_the_longest_urgent_call_fits_in_the_preview_and_every_message(
    service: ChatService, db: Database, locale: str
) -> None:
    wards = [HA_DONG, KIEN_HUNG, "00637", "09886", "00643", "09568", "09562", "00640", "09574"]
    person = await leader(service, db, wards, lang=locale)
    await donor(db)
    await donor(db, group="AB+")
    groups = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")
    preview = await urgent_preview(
        person,
        groups=groups,
        wards=tuple(wards),
        text="🩸" * (URGENT_TEXT_LIMIT // 2),
        place="📍" * (PLACE_LIMIT // 2),
        until="⏰" * (UNTIL_LIMIT // 2),
    )
    assert preview.text.startswith(("Preview", "Xem trước")), preview.text[:200]
    assert "bc:send" in [b.data for row in preview.buttons for b in row], preview.text[-300:]
    assert utf16_length(preview.text) <= 4096
    await person.tap("bc:send")
    assert all(utf16_length(row.text) <= 4096 for row in await outbox_rows(db, "urgent"))
    assert NOTICE_LIMIT > URGENT_TEXT_LIMIT


def test_only_the_leaders_own_words_are_free_text(service: ChatService) -> None:
    assert service.urgent.takes_free_text("text")
    assert service.urgent.takes_free_text("place") and service.urgent.takes_free_text("until")
    assert not service.urgent.takes_free_text("wards")
    assert not service.broadcast.takes_free_text("preview")


# --- 18. drive changes ----------------------------------------------------------------------


async def drive_with_signups(service: ChatService, db: Database) -> tuple[Person, int]:
    """A published drive with one seat, one person on it and one waiting."""
    from tests.support.people import create_drive

    person = await leader(service, db, [HA_DONG])
    await create_drive(person, capacity="1")
    await person.tap("nd:publish")
    async with db.session() as session:
        from models import Drive

        drive = (await session.exec(select(Drive))).one()
    seated, waiting = await donor(db, name="Seated"), await donor(db, name="Waiting")
    for who, kind in ((seated, "signup"), (waiting, "waitlist")):
        await Person(service, int(who.external_id)).tap(f"{kind}:{drive.id}")
    return person, drive.id or 0


async def test_a_drive_change_says_old_and_new_and_brings_a_new_calendar(
    service: ChatService, db: Database
) -> None:
    person, drive_id = await drive_with_signups(service, db)
    await person.tap(f"md:field:{drive_id}:hours")
    out = await person.say("8:00-11:30")
    assert "2 people signed up were told" in texts(out)
    seated, waiting = await outbox_rows(db, "drive_change")
    assert "07:30–11:30 → " in seated.text and "08:00–11:30" in seated.text
    assert seated.document is not None and seated.document["filename"].endswith(".ics")
    ics = base64.b64decode(seated.document["content_b64"]).decode()
    assert "DTSTART:" in ics and "T010000Z" in ics  # 08:00 in Hà Nội
    assert "SEQUENCE:" in ics
    assert waiting.document is None  # no seat, no calendar entry
    assert "07:30–11:30 → " in waiting.text


async def test_a_venue_change_shows_old_and_new(service: ChatService, db: Database) -> None:
    person, drive_id = await drive_with_signups(service, db)
    await person.tap(f"md:field:{drive_id}:venue")
    await person.say("Trường THCS Lê Lợi")
    seated, _waiting = await outbox_rows(db, "drive_change")
    assert "Nhà văn hoá phường Hà Đông → Trường THCS Lê Lợi" in seated.text
    assert seated.document is not None


async def test_moved_up_from_the_waiting_list_gets_the_calendar(
    service: ChatService, db: Database
) -> None:
    person, drive_id = await drive_with_signups(service, db)
    await person.tap(f"md:field:{drive_id}:capacity")
    await person.say("2")
    [freed] = await outbox_rows(db, "seat_freed")
    assert freed.document is not None and freed.document["mime_type"] == "text/calendar"
    changed = await outbox_rows(db, "drive_change")
    assert all("1 → 2" in row.text for row in changed)
    assert all(row.document is None for row in changed)  # seats are not in a calendar


async def test_the_come_button_through_the_chat_service(service: ChatService, db: Database) -> None:
    person = await leader(service, db, [HA_DONG])
    near = await donor(db, name="Phạm Thị Dung")
    await urgent_preview(person)
    await person.tap("bc:send")
    [row] = await outbox_rows(db, "urgent")
    responder = Person(service, int(near.external_id))
    out = await responder.tap(f"come:{row.broadcast_id}")
    assert "Cảm ơn bạn!" in texts(out)
    out = await responder.tap(f"come:{row.broadcast_id}")
    assert "đã báo là đến được" in texts(out)
    assert len(await outbox_rows(db, "urgent_answer")) == 1
