"""What people really type (issue 7, items 7, 8 and 14): other scripts' digits, invisible text,
NUL characters, NFD names, implausible donation dates, months without a day, coming days."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from datetime import date

import pytest
from sqlmodel import select

from models import Donor, Drive
from models.database import Database
from models.types import utcnow
from services.chat import ChatService
from services.conversation.buttons import decode
from services.core.i18n import use_locale
from services.core.validation import (
    DateFormatError,
    DateValueError,
    InputError,
    ascii_digits,
    clean_full_name,
    month_end,
    normalize_vn_phone,
    parse_coming_day,
    parse_month,
)
from services.donors import questions
from services.drives.fields import drive_day, message_text, positive_count, short_text
from tests.support.people import Person, buttons, consent, make_leader, texts

TODAY = date(2026, 11, 22)  # a Sunday
NFD_NAME = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    """Messages in English unless a test says otherwise (the conversation sets its own)."""
    with use_locale("en"):
        yield


# ---------------------------------------------------------------- counts


@pytest.mark.parametrize("text", ["²", "①", "1²", "Ⅻ", "½", "12a", "-5", ""])
def test_counts_refuse_what_is_not_a_plain_number(text: str) -> None:
    # "²" and "①" pass str.isdigit() and made int() raise: the step crashed.
    with pytest.raises(InputError, match="whole number"):
        positive_count(text)


@pytest.mark.parametrize(
    ("text", "expected"), [("٣", 3), ("١٥٠", 150), ("１２０", 120), ("۱۲", 12), ("1.200", 1200)]
)
def test_counts_read_other_scripts_digits(text: str, expected: int) -> None:
    assert positive_count(text) == expected


@pytest.mark.parametrize("text", ["1" + "0" * 30, "9" * 5000])
def test_counts_are_bounded(text: str) -> None:
    # 5,000 digits is past int()'s 4,300-digit limit: it raised ValueError, not InputError.
    with pytest.raises(InputError, match="more than"):
        positive_count(text)


def test_ascii_digits_keeps_superscripts() -> None:
    assert ascii_digits("٠٩١ ０９ ²①") == "091 09 ²①"


# ---------------------------------------------------------------- free text


@pytest.mark.parametrize("text", ["\u200b\u200b", " \u200b \ufeff ", "\u2060", "\u3164", ""])
def test_invisible_text_is_not_an_answer(text: str) -> None:
    with pytest.raises(InputError, match="type some text"):
        short_text(text, 200)
    with pytest.raises(InputError, match="type some text"):
        message_text(text)


def test_free_text_loses_nul_and_is_nfc() -> None:
    assert short_text("Nhà\x00 văn hóa\x00", 200) == "Nhà văn hóa"
    assert short_text(unicodedata.normalize("NFD", "Hà Đông"), 200) == "Hà Đông"
    assert message_text("Thông\x00 báo") == "Thông báo"


# ---------------------------------------------------------------- phones and names


@pytest.mark.parametrize(
    "text",
    [
        "٠٩١٢٣٤٥٦٧٨",
        "۰۹۱۲۳۴۵۶۷۸",
        "０９１２３４５６７８",
        "０９１２ ３４５ ６７８",
        "＋８４９１２３４５６７８",
        "+84 ٩١٢٣٤٥٦٧٨",  # was stored as "+84٩١٢٣٤٥٦٧٨"
        "0٩١٢٣٤٥٦٧٨",
    ],
)
def test_phones_in_other_scripts_are_stored_in_ascii(text: str) -> None:
    assert normalize_vn_phone(text) == "+84912345678"


@pytest.mark.parametrize("text", ["09¹2345678", "0912３45６７", "٠٩١٢"])
def test_phones_still_refuse_what_is_not_a_number(text: str) -> None:
    assert normalize_vn_phone(text) is None


def test_nfd_names_are_names() -> None:
    assert NFD_NAME != "Nguyễn Thị Ánh Tuyết"
    check = clean_full_name(NFD_NAME)
    assert check.name == "Nguyễn Thị Ánh Tuyết"
    assert unicodedata.is_normalized("NFC", check.name)
    assert clean_full_name("Nguyễn\u200b Văn An").name == "Nguyễn Văn An"


# ---------------------------------------------------------------- months without a day


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9/2026", (2026, 9)),
        ("09/2026", (2026, 9)),
        ("9-2026", (2026, 9)),
        ("2026-09", (2026, 9)),
        ("T9/2026", (2026, 9)),
        ("tháng 9/2026", (2026, 9)),
        ("tháng 9 năm 2026", (2026, 9)),
        ("tháng 9 năm nay", (2026, 9)),
        ("thang 9 nam ngoai", (2025, 9)),
        ("tháng 12 năm trước", (2025, 12)),
        ("tháng 9", (2026, 9)),
        ("tháng 12", (2025, 12)),  # no year: the latest December up to now
        ("September 2026", (2026, 9)),
        ("sep last year", (2025, 9)),
        ("september", (2026, 9)),
        ("٩/٢٠٢٦", (2026, 9)),
    ],
)
def test_months_as_people_say_them(text: str, expected: tuple[int, int]) -> None:
    assert parse_month(text, TODAY) == expected


@pytest.mark.parametrize("text", ["15/09/2026", "9", "abc", "9/26", "2026", ""])
def test_not_months(text: str) -> None:
    with pytest.raises(DateFormatError):
        parse_month(text, TODAY)


def test_impossible_months() -> None:
    with pytest.raises(DateValueError):
        parse_month("13/2026", TODAY)
    with pytest.raises(DateValueError):
        parse_month("tháng 0 năm nay", TODAY)


def test_month_end() -> None:
    assert month_end(2026, 9) == date(2026, 9, 30)
    assert month_end(2028, 2) == date(2028, 2, 29)
    assert month_end(2026, 12) == date(2026, 12, 31)


# ---------------------------------------------------------------- the last donation


def donor(birth: date | None = date(1995, 8, 25)) -> Donor:
    """A donor at the last donation step (not saved)."""
    return Donor(
        channel="telegram",
        external_id="1",
        chat_id="1",
        consent_version="test",
        consented_at=utcnow(),
        date_of_birth=birth,
    )


@pytest.mark.parametrize("text", ["01/01/1800", "1800-01-01", "15/03/1900"])
def test_a_donation_two_centuries_ago_is_refused(text: str) -> None:
    answer = questions.answer_donation_date(text, donor(birth=None), TODAY)
    assert answer.fields is None and answer.error and "too long ago" in answer.error


def test_a_donation_before_the_donor_was_born_or_18_is_refused() -> None:
    before_birth = questions.answer_donation_date("01/01/1990", donor(), TODAY)
    assert before_birth.fields is None and before_birth.error
    assert "18th birthday (25/08/2013)" in before_birth.error
    at_17 = questions.answer_donation_date("24/08/2013", donor(), TODAY)
    assert at_17.fields is None and at_17.error and "must be 18" in at_17.error
    on_the_day = questions.answer_donation_date("25/08/2013", donor(), TODAY)
    assert on_the_day.fields == {"last_donation_date": date(2013, 8, 25)}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9/2026", date(2026, 9, 30)),
        ("tháng 9 năm nay", date(2026, 9, 30)),
        ("thang 2 nam ngoai", date(2025, 2, 28)),
        ("September 2026", date(2026, 9, 30)),
    ],
)
def test_a_month_is_read_as_its_last_day_and_said_so(text: str, expected: date) -> None:
    with use_locale("vi"):
        answer = questions.answer_donation_date(text, donor(), TODAY)
    assert answer.fields == {"last_donation_date": expected}
    assert answer.notes == [
        f"Mình ghi là {expected:%d/%m/%Y} — ngày cuối tháng, để tính thời gian chờ an toàn."
    ]


def test_this_month_is_read_as_today() -> None:
    with use_locale("en"):
        answer = questions.answer_donation_date("11/2026", donor(), TODAY)
    assert answer.fields == {"last_donation_date": TODAY}
    assert "22/11/2026 (today)" in answer.notes[0]


def test_a_future_or_impossible_month_is_refused() -> None:
    with use_locale("en"):
        future = questions.answer_donation_date("12/2026", donor(), TODAY)
        impossible = questions.answer_donation_date("13/2026", donor(), TODAY)
        young = questions.answer_donation_date("7/2013", donor(), TODAY)
    assert future.error == "12/2026 is in the future. Please check the year."
    assert impossible.error and "not a month" in impossible.error
    assert young.error and "18th birthday" in young.error  # all of July 2013 is before it


def test_i_dont_remember_the_day_asks_for_the_month() -> None:
    question = questions.ask_donation_date()
    assert [b.data for row in question.buttons for b in row] == [questions.NO_DAY]
    tapped = decode(questions.NO_DAY)
    assert isinstance(tapped, questions.DonationKindButton)
    answer = questions.answer_donation_date_button(tapped)
    assert answer is not None and answer.fields is None and answer.error is None
    assert "9/2026" in answer.replies[0].text
    assert questions.answer_donation_kind_button(tapped) is None  # a stale tap elsewhere


# ---------------------------------------------------------------- the day of a drive


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12/12", date(2026, 12, 12)),
        ("12-12", date(2026, 12, 12)),
        ("ngày 12/12", date(2026, 12, 12)),
        ("ngày 12 tháng 12", date(2026, 12, 12)),
        ("12 December", date(2026, 12, 12)),
        ("Dec 12", date(2026, 12, 12)),
        ("22/11", TODAY),  # today counts
        ("1/1", date(2027, 1, 1)),  # the next one
        ("29/2", date(2028, 2, 29)),
        ("ngày 12 tháng 12 năm 2026", date(2026, 12, 12)),
        ("hôm nay", TODAY),
        ("ngày mai", date(2026, 11, 23)),
        ("mai", date(2026, 11, 23)),
        ("tomorrow", date(2026, 11, 23)),
        ("ngày kia", date(2026, 11, 24)),
        ("thứ 7 tuần sau", date(2026, 11, 28)),
        ("thứ bảy tuần sau", date(2026, 11, 28)),
        ("T7 tuần sau", date(2026, 11, 28)),
        ("chủ nhật tuần sau", date(2026, 11, 29)),
        ("chủ nhật", date(2026, 11, 29)),  # a bare weekday is the next one after today
        ("chủ nhật này", TODAY),
        ("thứ 2", date(2026, 11, 23)),
        ("thứ hai tuần sau", date(2026, 11, 23)),
        ("next Saturday", date(2026, 11, 28)),
        ("saturday", date(2026, 11, 28)),
        ("Saturday next week", date(2026, 11, 28)),
        ("vào thứ 7 tới", date(2026, 11, 28)),
    ],
)
def test_coming_days_as_people_say_them(text: str, expected: date) -> None:
    assert parse_coming_day(text, TODAY) == expected


def test_this_week_may_be_past() -> None:
    # Monday 16/11 to Sunday 22/11: Saturday 21/11 has passed, and drive_day says so.
    assert parse_coming_day("thứ bảy tuần này", TODAY) == date(2026, 11, 21)
    with use_locale("en"), pytest.raises(InputError, match="21/11/2026 is in the past"):
        drive_day("thứ bảy tuần này", TODAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("14/12/2026", date(2026, 12, 14)),  # full dates as before
        ("12/12", date(2026, 12, 12)),
        ("thứ 7 tuần sau", date(2026, 11, 28)),
        ("next Saturday", date(2026, 11, 28)),
        ("ngày mai", date(2026, 11, 23)),
    ],
)
def test_drive_day_takes_dates_without_year_and_relative_days(text: str, expected: date) -> None:
    assert drive_day(text, TODAY) == expected


def test_drive_day_refusals() -> None:
    with use_locale("en"):
        with pytest.raises(InputError, match="31/2 is not a date"):
            drive_day("31/2", TODAY)
        with pytest.raises(InputError, match="next Saturday"):
            drive_day("some day", TODAY)
        with pytest.raises(InputError, match="in the past"):
            drive_day("01/01/2020", TODAY)


# ---------------------------------------------------------------- through the conversation


async def start_drive(leader: Person) -> None:
    """/newdrive up to the venue question, for tomorrow."""
    await leader.service.command(leader.sender(), "newdrive", [])
    await leader.tap("nd:campaign:chu_nhat_do")
    out = await leader.say("ngày mai")
    assert "🗓" in texts(out) and "From what time" in texts(out)
    out = await leader.say("7:30-11:30")
    assert "venue" in texts(out)


async def test_new_drive_refuses_invisible_text_and_odd_counts(service: ChatService, db: Database) -> None:  # noqa: F811
    leader = Person(service, 730, "en")
    await consent(leader)
    await make_leader(db, 730, "01", ["09556"])
    await start_drive(leader)
    out = await leader.say("\u200b\u200b")
    assert "type some text" in texts(out) and "venue" in texts(out)
    await leader.say("Nhà văn hóa\x00 phường Hà Đông")
    out = await leader.say("\u200b")
    assert "type some text" in texts(out) and "address" in texts(out)
    await leader.say("2 Quang Trung, Hà Đông\x00")
    await leader.tap("nd:skip")
    await leader.tap("nd:ward:01:09556")
    await leader.tap("nd:wards_done")
    out = await leader.say("\ufeff")
    assert "type some text" in texts(out)
    await leader.say("Viện Huyết học - Truyền máu Trung ương")
    for odd in ("²", "①", "9" * 5000):
        out = await leader.say(odd)  # a traceback before
        assert "whole number" in texts(out) or "more than" in texts(out)
        assert "Target" in texts(out)
    await leader.say("١٥٠")
    out = await leader.say("①")
    assert "whole number" in texts(out) and "seats" in texts(out)
    out = await leader.say("１２０")
    assert "nd:publish" in buttons(out)
    out = await leader.tap("nd:publish")
    assert "Published" in texts(out)
    async with db.session() as session:
        drive = (await session.exec(select(Drive))).one()
    assert drive.venue_name == "Nhà văn hóa phường Hà Đông"
    assert drive.address == "2 Quang Trung, Hà Đông"
    assert (drive.target_units, drive.capacity) == (150, 120)


async def test_forged_new_drive_buttons_do_not_crash(service: ChatService, db: Database) -> None:  # noqa: F811
    leader = Person(service, 731, "en")
    await consent(leader)
    await make_leader(db, 731, "01", ["09556"])
    await leader.service.command(leader.sender(), "newdrive", [])
    for forged in ("nd", "nd:campaign", "nd:campaign:" + "x" * 60, "nd:ward:01"):
        out = await leader.tap(forged)
        assert out.toast and "earlier question" in out.toast
    out = await leader.tap("nd:campaign:chu_nhat_do")
    assert "what day" in texts(out)


async def test_registration_with_nfd_name_other_digits_and_a_month(
    service: ChatService,  # noqa: F811
    db: Database,
) -> None:
    person = Person(service, 732, "vi")
    await person.say("/start")
    await person.tap("lang:vi")
    await person.tap("consent:vi:yes")
    out = await person.say(NFD_NAME)  # Unikey's "Unicode tổ hợp"
    assert "không giống" not in texts(out)
    await person.say("25/08/1995")
    await person.tap("sex:female")
    out = await person.say("٠٩١٢٣٤٥٦٧٨")
    assert "0912 345 678" in texts(out)
    await person.say("phuong sai gon")
    await person.tap("ward:79:26740")
    await person.tap("bg:O+")
    out = await person.tap("kind:whole_blood")
    assert questions.NO_DAY in buttons(out)
    out = await person.say("01/01/1800")
    assert "quá lâu" in texts(out)
    out = await person.tap(questions.NO_DAY)
    assert "9/2026" in texts(out)
    out = await person.say("tháng 3 năm 2026")
    assert "Mình ghi là 31/03/2026 — ngày cuối tháng" in texts(out)
    assert "confirm" in buttons(out)
    async with db.session() as session:
        saved = (await session.exec(select(Donor).where(Donor.external_id == "732"))).one()
    assert saved.full_name == "Nguyễn Thị Ánh Tuyết"
    assert saved.phone_e164 == "+84912345678"
    assert saved.last_donation_date == date(2026, 3, 31)
