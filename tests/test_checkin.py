"""Leaders at the drive: /checkin, the donor card's link, the sign-up list and its CSV, and the
thank-you after the drive, through the chat service on both databases."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, timedelta

from sqlmodel import col, func, select

from models import AuditEntry, CheckIn, Donation, Donor, DriveBase, OutboxMessage, Signup
from models.database import Database
from models.donations import CheckinOutcome, DonationSource
from models.drives import DriveStatus, SignupStatus
from services.chat import ChatService
from services.core.spreadsheets import safe_text
from services.donations import after_drive
from services.donations.card_token import card_key, make_token
from services.donations.desk import day_of
from services.drives import drive_store
from services.eligibility.donor_status import next_eligible
from services.eligibility.rules import add_months
from services.outreach import messages
from services.roles.access import Action
from tests.support.outcomes import refusals
from tests.support.people import TZ, Person, buttons, consent, make_leader, register, texts

HA_DONG, HOAN_KIEM = "09556", "00070"  # wards of Hà Nội (01)


async def a_drive(
    db: Database,
    ward: str = HA_DONG,
    *,
    days: int = 0,
    creator: str = "telegram:701",
    started: timedelta = timedelta(hours=1),
) -> int:
    """A published drive in Hà Nội of four hours: today (started an hour ago) or `days` ahead."""
    now = datetime.now(TZ)
    start = now - started + timedelta(days=days)
    fields = DriveBase(
        campaign="chu_nhat_do",
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        venue_name="Nhà văn hoá phường",
        address="2 Quang Trung",
        province_code="01",
        collector="Viện Huyết học",
        target_units=100,
        capacity=10,
    )
    async with db.session() as session:
        drive = await drive_store.create_drive(session, fields, [ward], creator)
        drive.status = DriveStatus.PUBLISHED
        await session.flush()
        assert drive.id is not None
        return drive.id


async def a_leader(service: ChatService, db: Database, user_id: int, ward: str = HA_DONG) -> Person:
    leader = Person(service, user_id, "en")
    await consent(leader)
    await make_leader(db, user_id, "01", [ward])
    return leader


async def a_donor(
    service: ChatService, db: Database, user_id: int, name: str, phone: str | None = None
) -> tuple[Person, int]:
    """A registered donor (in English) with a name (and phone) of their own."""
    person = Person(service, user_id, "en")
    await register(person, "en")
    async with db.session() as session:
        donor = (await session.exec(select(Donor).where(Donor.external_id == str(user_id)))).one()
        donor.full_name = name
        if phone:
            donor.phone_e164 = phone
        session.add(donor)
        assert donor.id is not None
        return person, donor.id


async def signed_up(
    service: ChatService, db: Database, user_id: int, name: str, drive_id: int
) -> tuple[Person, int]:
    person, donor_id = await a_donor(service, db, user_id, name)
    out = await person.tap(f"signup:{drive_id}")
    assert "signup" not in " ".join(buttons(out)) or "unsign" in " ".join(buttons(out))
    return person, donor_id


async def donor_row(db: Database, donor_id: int) -> Donor:
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        return donor


async def checkins(db: Database, drive_id: int) -> list[CheckIn]:
    async with db.session() as session:
        rows = await session.exec(select(CheckIn).where(col(CheckIn.drive_id) == drive_id))
        return list(rows.all())


async def drive_donations(db: Database, drive_id: int) -> list[Donation]:
    async with db.session() as session:
        rows = await session.exec(select(Donation).where(col(Donation.drive_id) == drive_id))
        return list(rows.all())


async def drive_day(db: Database, drive_id: int) -> date:
    async with db.session() as session:
        drive = await drive_store.get_drive(session, drive_id)
        assert drive is not None
        return day_of(drive, TZ)


async def test_a_leader_checks_in_a_signed_up_donor_and_the_next_date_moves_84_days(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db)
    leader = await a_leader(service, db, 701)
    _donor, donor_id = await signed_up(service, db, 711, "Phạm Minh Châu", drive_id)
    out = await leader.say("/checkin")
    assert f"ci:person:{donor_id}" in buttons(out), texts(out)
    assert "Phạm Minh Châu" in " ".join(
        b.label for r in out.replies for row in r.buttons for b in row
    )
    out = await leader.tap(f"ci:person:{donor_id}")
    assert "ci:kind:0:whole_blood" in buttons(out) and "ci:noshow" in buttons(out)
    out = await leader.tap("ci:kind:0:whole_blood")
    assert "ci:volume:350" in buttons(out)
    out = await leader.tap("ci:volume:350")
    assert f"ci:person:{donor_id}" in buttons(out)  # back at the list
    day = await drive_day(db, drive_id)
    [donation] = await drive_donations(db, drive_id)
    assert (donation.volume_ml, donation.source, donation.donated_on) == (
        350,
        DonationSource.DRIVE,
        day,
    )
    donor = await donor_row(db, donor_id)
    assert donor.last_donation_date == day
    assert next_eligible(donor, day).earliest == day + timedelta(days=84)
    assert donor.remind_on == day + timedelta(days=84)
    [checkin] = await checkins(db, drive_id)
    assert (checkin.outcome, checkin.donation_id) == (CheckinOutcome.DONATED, donation.id)
    async with db.session() as session:
        audited = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == Action.CHECK_IN))
        ).all()
    assert [a.detail["outcome"] for a in audited] == ["donated"]


async def test_deferred_on_site_blocks_a_sign_up_before_the_date(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db)
    later = await a_drive(db, days=10)
    leader = await a_leader(service, db, 701)
    donor, donor_id = await signed_up(service, db, 712, "Đỗ Thu Hà", drive_id)
    await leader.say("/checkin")
    await leader.tap(f"ci:person:{donor_id}")
    out = await leader.tap("ci:defer")
    assert "ci:period:0:1m" in buttons(out)
    out = await leader.tap("ci:period:0:1m")
    assert "ci:reason:0:onsite_blood_pressure" in buttons(out)
    await leader.tap("ci:reason:0:onsite_blood_pressure")
    day = await drive_day(db, drive_id)
    row = await donor_row(db, donor_id)
    assert (row.deferred_until, row.deferral_code) == (add_months(day, 1), "onsite_blood_pressure")
    assert await drive_donations(db, drive_id) == []
    out = await donor.tap(f"signup:{later}")
    assert "signup" not in texts(out).lower() or "⏳" in texts(out)
    assert "blood pressure" in texts(out), texts(out)
    async with db.session() as session:
        signup = await drive_store.get_signup(session, later, donor_id)
    assert signup is None  # never silently accepted


async def test_a_no_show_records_no_donation(service: ChatService, db: Database) -> None:
    drive_id = await a_drive(db)
    leader = await a_leader(service, db, 701)
    _donor, donor_id = await signed_up(service, db, 713, "Vũ Văn Nam", drive_id)
    before = await donor_row(db, donor_id)
    await leader.say("/checkin")
    await leader.tap(f"ci:person:{donor_id}")
    await leader.tap("ci:noshow")
    [checkin] = await checkins(db, drive_id)
    assert checkin.outcome == CheckinOutcome.NO_SHOW and checkin.donation_id is None
    assert await drive_donations(db, drive_id) == []
    assert (await donor_row(db, donor_id)).last_donation_date == before.last_donation_date


async def test_a_same_day_correction_leaves_one_donation(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db)
    leader = await a_leader(service, db, 701)
    _donor, donor_id = await signed_up(service, db, 714, "Hoàng Lan", drive_id)
    stated = (await donor_row(db, donor_id)).last_donation_date
    await leader.say("/checkin")
    await leader.tap(f"ci:person:{donor_id}")
    await leader.tap("ci:kind:0:whole_blood")
    await leader.tap("ci:volume:350")
    out = await leader.tap(f"ci:person:{donor_id}")
    assert "350" in texts(out)  # what was recorded, to be corrected
    await leader.tap("ci:kind:0:whole_blood")
    out = await leader.tap("ci:volume:450")
    assert "Corrected" in texts(out)
    [donation] = await drive_donations(db, drive_id)
    assert donation.volume_ml == 450
    [checkin] = await checkins(db, drive_id)
    assert (checkin.volume_ml, checkin.donation_id) == (450, donation.id)
    # A mistaken donor after all: the donation goes, the one stated at registration is back.
    await leader.tap(f"ci:person:{donor_id}")
    await leader.tap("ci:noshow")
    assert await drive_donations(db, drive_id) == []
    assert (await donor_row(db, donor_id)).last_donation_date == stated


async def test_the_walk_in_who_opens_the_invitation_gets_the_donation_and_the_reminder(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db)
    leader = await a_leader(service, db, 701)
    await leader.say("/checkin")
    await leader.say("0987 654 321")
    await leader.say("Trần Thị Bình")
    await leader.tap("ci:kind:0:whole_blood")
    out = await leader.tap("ci:volume:350")
    link = re.search(r"/start (w_[0-9a-f]+_[A-Za-z0-9_-]{12})", texts(out))
    assert link is not None, texts(out)
    token = link.group(1)
    # She opens the link before registering: the link rides through language and consent.
    binh = Person(service, 702, "vi")
    out = await binh.say(f"/start {token}")
    [language] = [b for b in buttons(out) if b.startswith("lang:vi")]
    out = await binh.tap(language)
    [agree] = [b for b in buttons(out) if b.startswith("consent:vi:yes")]
    await binh.tap(agree)
    await binh.say("Trần Thị Bình")
    await binh.say("02/09/1998")
    await binh.tap("sex:female")
    await binh.say("0987 654 321")
    await binh.say("phuong ha dong")
    await binh.tap(f"ward:01:{HA_DONG}")
    await binh.tap("bg:A+")
    await binh.tap("kind:never")
    out = await binh.tap("confirm")
    assert "Cảm ơn bạn đã hiến máu" in texts(out), texts(out)
    day = await drive_day(db, drive_id)
    [checkin] = await checkins(db, drive_id)
    assert checkin.donor_id is not None and checkin.walk_in_name is None
    assert checkin.walk_in_phone is None  # her own profile holds it now
    [donation] = await drive_donations(db, drive_id)
    assert (donation.donor_id, donation.volume_ml, donation.donated_on) == (
        checkin.donor_id,
        350,
        day,
    )
    assert checkin.donation_id == donation.id
    donor = await donor_row(db, checkin.donor_id)
    assert donor.remind_on == day + timedelta(weeks=12)  # the reminder follows the donation
    assert (day + timedelta(weeks=12)).strftime("%d/%m/%Y") in texts(out)
    # The link works once; a forged one tells nothing.
    other = Person(service, 703, "en")
    await register(other, "en")
    out = await other.say(f"/start {token}")
    assert "used already" in texts(out)
    out = await other.say(f"/start {token[:-1]}{'A' if token[-1] != 'A' else 'B'}")
    assert "not valid" in texts(out)
    assert len(await drive_donations(db, drive_id)) == 1
    async with db.session() as session:
        audited = await session.exec(
            select(AuditEntry).where(col(AuditEntry.action) == "walk_in_taken")
        )
        assert len(audited.all()) == 1


async def test_a_walk_in_not_registered_is_recorded_by_name_and_phone_and_invited(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db)
    leader = await a_leader(service, db, 701)
    await leader.say("/checkin")
    out = await leader.say("0987 654 321")
    assert "0987 654 321" in texts(out)  # nobody with it: record them
    out = await leader.say("Trần Thị Bình")
    assert "ci:kind:0:whole_blood" in buttons(out), texts(out)
    await leader.tap("ci:kind:0:whole_blood")
    out = await leader.tap("ci:volume:250")
    assert re.search(r"/start w_[0-9a-f]+_", texts(out)) and "Trần Thị Bình" in texts(out)
    [checkin] = await checkins(db, drive_id)
    assert checkin.donor_id is None and checkin.walk_in_phone == "+84987654321"
    assert (checkin.walk_in_name, checkin.volume_ml) == ("Trần Thị Bình", 250)
    assert f"ci:walkin:{checkin.id}" in buttons(out)  # on the list now
    # A bad phone is refused; a name the same way through the button.
    await leader.tap("ci:new")
    await leader.say("Lý Văn Tư")
    out = await leader.say("12345")
    assert "not a Vietnamese phone number" in texts(out)


async def test_a_registered_walk_in_is_found_by_phone(service: ChatService, db: Database) -> None:
    drive_id = await a_drive(db)
    leader = await a_leader(service, db, 701)
    _donor, donor_id = await a_donor(service, db, 715, "Ngô Quang Huy", "+84903111222")
    await leader.say("/checkin")
    out = await leader.say("0903 111 222")
    assert f"ci:person:{donor_id}" in buttons(out), texts(out)
    await leader.tap(f"ci:person:{donor_id}")
    await leader.tap("ci:kind:0:platelets")
    out = await leader.say("500")
    assert "Ngô Quang Huy" in texts(out)
    [donation] = await drive_donations(db, drive_id)
    assert (donation.donor_id, donation.kind, donation.volume_ml) == (donor_id, "platelets", 500)
    out = await leader.say("Ngô Quang")
    assert f"ci:person:{donor_id}" in buttons(out)  # a walk-in is on the list, found by name


async def test_a_leader_of_another_ward_is_refused(service: ChatService, db: Database) -> None:
    drive_id = await a_drive(db)
    await a_drive(db, HOAN_KIEM, creator="telegram:702")
    other = await a_leader(service, db, 702, HOAN_KIEM)
    await signed_up(service, db, 716, "Bùi Thị Mai", drive_id)
    out = await other.say("/checkin")  # their own drive only
    assert "ci:noshow" not in buttons(out) and "Bùi Thị Mai" not in str(out)
    out = await other.tap(f"ci:drive:{drive_id}")  # a forged button for the other drive
    assert refusals(out) == {Action.CHECK_IN}
    for data in (f"sul:{drive_id}", f"sul:{drive_id}:1"):
        out = await other.tap(data)
        assert refusals(out) == {Action.VIEW_SIGNUPS} and out.replies[0].document is None
    citizen = Person(service, 717, "en")
    await consent(citizen)
    out = await citizen.say("/checkin")
    assert refusals(out) == {Action.CHECK_IN}


async def test_a_citizen_opening_a_card_link_sees_nothing_personal(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db)
    _donor, donor_id = await signed_up(service, db, 718, "Lê Thị Thẻ", drive_id)
    token = make_token(card_key(service.pseudonym_key), donor_id, 1)
    citizen, _citizen_id = await a_donor(service, db, 719, "Người Khác")
    out = await citizen.say(f"/start {token}")
    shown = texts(out) + " ".join(buttons(out))
    assert "Lê Thị Thẻ" not in shown and "0912" not in shown and "O+" not in shown
    assert not any(b.startswith("ci:") for b in buttons(out))
    # A leader with no drive today learns nothing either.
    idle = await a_leader(service, db, 703, HOAN_KIEM)
    out = await idle.say(f"/start {token}")
    assert "Lê Thị Thẻ" not in texts(out) and not buttons(out)
    # The drive's leader gets the donor's screen with no retyping.
    leader = await a_leader(service, db, 701)
    out = await leader.say(f"/start {token}")
    assert "Lê Thị Thẻ" in texts(out) and "ci:kind:0:whole_blood" in buttons(out)
    await leader.tap("ci:kind:0:whole_blood")
    await leader.tap("ci:volume:450")
    [checkin] = await checkins(db, drive_id)
    assert checkin.donor_id == donor_id and checkin.volume_ml == 450


async def test_the_card_link_of_a_rotated_card_is_refused(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db)
    _donor, donor_id = await signed_up(service, db, 720, "Cao Văn Cũ", drive_id)
    token = make_token(card_key(service.pseudonym_key), donor_id, 1)
    async with db.session() as session:
        donor = await session.get(Donor, donor_id)
        assert donor is not None
        donor.card_version = 2
        session.add(donor)
    leader = await a_leader(service, db, 701)
    out = await leader.say(f"/start {token}")
    assert "no longer valid" in texts(out) and "Cao Văn Cũ" not in texts(out)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    out = await leader.say(f"/start {forged}")
    assert "no longer valid" in texts(out)
    assert await checkins(db, drive_id) == []


async def test_the_signup_list_and_its_csv_escape_a_formula(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db)
    leader = await a_leader(service, db, 701)
    await signed_up(service, db, 721, '=HYPERLINK("http://x")', drive_id)
    await signed_up(service, db, 722, "Đinh Thị Hoa", drive_id)
    out = await leader.say("/signups")
    assert f"sul:{drive_id}" in buttons(out)
    out = await leader.tap(f"sul:{drive_id}")
    assert "Đinh Thị Hoa" in texts(out) and "O+" in texts(out)
    assert f"sul:{drive_id}:1" in buttons(out)
    out = await leader.tap(f"sul:{drive_id}:1")
    document = out.replies[0].document
    assert document is not None and document.mime_type == "text/csv"
    assert document.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(document.content.decode("utf-8-sig"))))
    names = [row[1] for row in rows[1:]]
    assert '\'=HYPERLINK("http://x")' in names and "Đinh Thị Hoa" in names
    async with db.session() as session:
        exports = (
            await session.exec(select(AuditEntry).where(AuditEntry.action == Action.VIEW_SIGNUPS))
        ).all()
    assert [e.detail.get("export") for e in exports] == [None, "csv"]
    # /mydrives offers the list too.
    async with db.session() as session:
        drive = await drive_store.get_drive(session, drive_id)
        assert drive is not None
        drive.starts_at += timedelta(hours=3)
        drive.ends_at += timedelta(hours=3)
        session.add(drive)
    out = await leader.say("/mydrives")
    assert f"sul:{drive_id}" in buttons(out)


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert safe_text(f"{start}1+1") == f"'{start}1+1"
    assert safe_text("Nguyễn Văn An") == "Nguyễn Văn An"


async def test_the_thank_you_is_queued_once(service: ChatService, db: Database) -> None:
    drive_id = await a_drive(db)
    leader = await a_leader(service, db, 701)
    _giver, giver = await signed_up(service, db, 723, "Tạ Quang Vinh", drive_id)
    _deferred, deferred = await signed_up(service, db, 724, "Mạc Thị Yến", drive_id)
    await leader.say("/checkin")
    await leader.tap(f"ci:person:{giver}")
    await leader.tap("ci:kind:0:whole_blood")
    await leader.tap("ci:volume:350")
    await leader.tap(f"ci:person:{deferred}")
    await leader.tap("ci:defer")
    await leader.tap("ci:period:0:1w")
    await leader.tap("ci:reason:0:onsite_hemoglobin")
    out = await leader.tap("ci:finish")
    assert "ci:finished" in buttons(out)
    out = await leader.tap("ci:finished")
    assert "1" in texts(out)
    # Called again (the scheduler's pass, the function itself): nothing more is queued.
    async with db.session() as session:
        again = await after_drive.thank_donors(session, drive_id, tz=TZ)
    assert again is not None and again.thanked == 0 and not again.note_queued
    assert (again.figures.donated, again.figures.deferred, again.figures.bags[350]) == (1, 1, 1)
    async with db.session() as session:
        thanks = (
            await session.exec(
                select(OutboxMessage).where(OutboxMessage.message_key == after_drive.THANKS)
            )
        ).all()
        notes = (
            await session.exec(
                select(func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.message_key == after_drive.FIGURES)
            )
        ).one()
    assert [t.donor_id for t in thanks] == [giver] and notes == 1
    day = await drive_day(db, drive_id)
    with_date = messages.render(after_drive.THANKS, dict(thanks[0].params or {}), "vi")
    assert (day + timedelta(days=84)).strftime("%d/%m/%Y") in with_date.text
    assert "Giấy chứng nhận hiến máu tình nguyện" in with_date.text
    fifth = messages.render(after_drive.THANKS, {"volume_ml": 350, "count": 5}, "en")
    assert "5 donations" in fifth.text
    assert "🏅" not in messages.render(after_drive.THANKS, {"count": 2}, "en").text


async def test_a_correction_is_only_possible_within_a_day(
    service: ChatService, db: Database
) -> None:
    old = await a_drive(db, days=-2)
    leader = await a_leader(service, db, 701)
    out = await leader.say("/checkin")
    assert "ci:noshow" not in buttons(out) and not any(b.startswith("ci:") for b in buttons(out))
    out = await leader.tap(f"ci:drive:{old}")
    assert not await checkins(db, old)
    async with db.session() as session:
        signups = (
            await session.exec(select(Signup).where(Signup.status == SignupStatus.CONFIRMED))
        ).all()
    assert signups == []


async def test_a_forged_button_opens_nobody_off_the_list(
    service: ChatService, db: Database
) -> None:
    await a_drive(db)
    leader = await a_leader(service, db, 701)
    _stranger, stranger = await a_donor(service, db, 725, "Người Lạ", "+84903999888")
    await leader.say("/checkin")
    out = await leader.tap(f"ci:person:{stranger}")  # not signed up, not found by phone
    assert refusals(out) == {Action.CHECK_IN} and "Người Lạ" not in texts(out)
    await leader.say("/checkin")
    out = await leader.say("0903 999 888")  # the leader knows their number: now they may
    assert f"ci:person:{stranger}" in buttons(out)
    out = await leader.tap(f"ci:person:{stranger}")
    assert "Người Lạ" in texts(out)


async def test_the_scheduler_thanks_the_donors_of_an_ended_drive_once(
    service: ChatService, db: Database
) -> None:
    drive_id = await a_drive(db, started=timedelta(hours=7))  # ended three hours ago
    leader = await a_leader(service, db, 701)
    _giver, giver = await signed_up_directly(db, service, 726, drive_id)
    await leader.say("/checkin")  # still open for corrections
    await leader.tap(f"ci:person:{giver}")
    await leader.tap("ci:kind:0:whole_blood")
    await leader.tap("ci:volume:250")
    assert await service.thank_after_drives() == 1
    assert await service.thank_after_drives() == 0
    async with db.session() as session:
        keys = (
            await session.exec(
                select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).is_not(None))
            )
        ).all()
    assert sorted(k or "" for k in keys) == sorted(
        [f"thanks:{drive_id}:{giver}", f"drive_figures:{drive_id}"]
    )


async def signed_up_directly(
    db: Database, service: ChatService, user_id: int, drive_id: int
) -> tuple[Person, int]:
    """A sign-up written by the store (the drive is over: the sign-up button is closed)."""
    person, donor_id = await a_donor(service, db, user_id, "Kiều Văn Sáng")
    async with db.session() as session:
        session.add(Signup(drive_id=drive_id, donor_id=donor_id, status=SignupStatus.CONFIRMED))
    return person, donor_id
