"""Parsing and checking what people type: dates, Vietnamese phone numbers, names."""

from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta

from services.core.text import fold, visible

_SEP = r"[/\-.\s]"
_DMY = re.compile(rf"^(\d{{1,2}}){_SEP}+(\d{{1,2}}){_SEP}+(\d{{2}}|\d{{4}})$")
_YMD = re.compile(rf"^(\d{{4}}){_SEP}+(\d{{1,2}}){_SEP}+(\d{{1,2}})$")


class InputError(ValueError):
    """The input is refused; the message says why, in the person's language."""


class DateFormatError(ValueError):
    """The text is not written like a date at all."""


class DateValueError(ValueError):
    """The text looks like a date but no such day exists (31/02/1990)."""


def parse_date(text: str, *, two_digit_past: bool = True, today: date | None = None) -> date:
    """Read a date as people type it: dd/mm/yyyy, d/m/yy, dd-mm-yyyy, dd.mm.yyyy, yyyy-mm-dd.

    Two-digit years are taken in the past century window (90 → 1990, 05 → 2005) when
    `two_digit_past`, since birth and donation dates are never in the future.
    """
    cleaned = text.strip()
    today = today or date.today()
    if m := _YMD.match(cleaned):
        year, month, day = int(m.group(1)), int(m.group(2)), int(m.group(3))
    elif m := _DMY.match(cleaned):
        day, month, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if len(m.group(3)) == 2:
            year += 2000
            if two_digit_past and year > today.year:
                year -= 100
    else:
        raise DateFormatError(cleaned)
    try:
        return date(year, month, day)
    except ValueError:
        raise DateValueError(cleaned) from None


def age_on(birth: date, day: date) -> int:
    """Completed years of age on a given day (a 29 February birthday counts on 1 March)."""
    years = day.year - birth.year
    if (day.month, day.day) < (birth.month, birth.day):
        years -= 1
    return years


def nth_birthday(birth: date, years: int) -> date:
    """The day someone turns `years` (a 29 February birthday falls on 1 March in other years)."""
    try:
        return birth.replace(year=birth.year + years)
    except ValueError:
        return date(birth.year + years, 3, 1)


def ascii_digits(text: str) -> str:
    """Decimal digits of any script (full-width ０-９, Arabic-Indic ٠-٩…) as ASCII 0-9.

    Superscripts and circled numbers ("²", "①") are not decimal digits: they stay as they are,
    so a check for ASCII digits refuses them instead of int() crashing on them.
    """
    return "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)


# ---------------------------------------------------------------- months and coming days

_MONTH_NAMES = {
    name: number
    for number, names in enumerate(
        (
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sep", "sept"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ),
        start=1,
    )
    for name in names
}
_MONTH_NAME = "|".join(sorted(_MONTH_NAMES, key=len, reverse=True))
# Years said in words, as years before this one.
_YEARS_AGO = {
    "nam nay": 0,
    "this year": 0,
    "nam ngoai": 1,
    "nam truoc": 1,
    "nam roi": 1,
    "last year": 1,
    "nam kia": 2,
}
_YEAR_WORDS = "|".join(sorted(_YEARS_AGO, key=len, reverse=True))
# On folded text ("tháng 9/2026" → "thang 9 2026", "T9-2026" → "t9 2026").
_MONTH_NUMBER = re.compile(
    rf"^(?:(?:thang|t) ?)?(\d{{1,2}}) (?:nam )?(\d{{4}}|{_YEAR_WORDS})$"
)
_MONTH_ALONE = re.compile(r"^(?:thang|t) ?(\d{1,2})$")  # "tháng 9": a bare "9" is not a month
_YEAR_MONTH = re.compile(r"^(\d{4}) (\d{1,2})$")
_MONTH_WORD = re.compile(rf"^(?:in )?({_MONTH_NAME})(?: of)?(?: (\d{{4}}|{_YEAR_WORDS}))?$")


def parse_month(text: str, today: date) -> tuple[int, int]:
    """A month of the past as people say it, as (year, month).

    "9/2026", "09/2026", "2026-09", "T9/2026", "tháng 9/2026", "tháng 9 năm nay",
    "thang 9 nam ngoai", "September 2026", "Sep last year"; without a year ("tháng 9",
    "September") the latest such month up to this one.
    """
    folded = fold(ascii_digits(text))
    year: int | None
    if m := _MONTH_NUMBER.match(folded):
        month, year = int(m.group(1)), _year(m.group(2), today)
    elif m := _MONTH_ALONE.match(folded):
        month, year = int(m.group(1)), None
    elif m := _YEAR_MONTH.match(folded):
        year, month = int(m.group(1)), int(m.group(2))
    elif m := _MONTH_WORD.match(folded):
        month, year = _MONTH_NAMES[m.group(1)], _year(m.group(2), today) if m.group(2) else None
    else:
        raise DateFormatError(text.strip())
    if not 1 <= month <= 12 or (year is not None and not 1 <= year <= 9999):
        raise DateValueError(text.strip())
    if year is None:
        year = today.year if month <= today.month else today.year - 1
    return year, month


def _year(word: str, today: date) -> int:
    """"2026", or "năm ngoái" / "last year" counted back from today."""
    return int(word) if word.isdigit() else today.year - _YEARS_AGO[word]


def month_end(year: int, month: int) -> date:
    """The last day of a month."""
    return date(year, month, calendar.monthrange(year, month)[1])


# Monday is 0, as in date.weekday().
_WEEKDAYS = {
    "thu hai": 0, "thu 2": 0, "t2": 0, "monday": 0, "mon": 0,
    "thu ba": 1, "thu 3": 1, "t3": 1, "tuesday": 1, "tue": 1, "tues": 1,
    "thu tu": 2, "thu 4": 2, "t4": 2, "wednesday": 2, "wed": 2,
    "thu nam": 3, "thu 5": 3, "t5": 3, "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "thu sau": 4, "thu 6": 4, "t6": 4, "friday": 4, "fri": 4,
    "thu bay": 5, "thu 7": 5, "t7": 5, "saturday": 5, "sat": 5,
    "chu nhat": 6, "cn": 6, "sunday": 6, "sun": 6,
}  # fmt: skip
_WEEKDAY = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_DAYS_AHEAD = {
    "hom nay": 0,
    "today": 0,
    "ngay mai": 1,
    "mai": 1,
    "tomorrow": 1,
    "ngay kia": 2,
    "ngay mot": 2,
    "day after tomorrow": 2,
    "the day after tomorrow": 2,
}
_THIS_WEEK = ("tuan nay", "this week")
_NEXT_WEEK = ("tuan sau", "tuan toi", "tuan den", "next week")
# "thứ 7 tuần sau", "chủ nhật này", "next Saturday", "this sunday", "Saturday next week".
_WEEKDAY_PHRASE = re.compile(
    rf"^(?:(this|next|coming) )?({_WEEKDAY})"
    rf"(?: ({'|'.join(_THIS_WEEK + _NEXT_WEEK)}|nay|toi))?$"
)
# "12/12", "ngày 12 tháng 12", "12 tháng 12 năm 2026" (folded: "12 12", "ngay 12 thang 12").
_DAY_MONTH = re.compile(r"^(?:ngay )?(\d{1,2}) (?:thang )?(\d{1,2})(?: (?:nam )?(\d{4}))?$")
_DAY_MONTH_WORD = re.compile(
    rf"^(?:(\d{{1,2}}) ({_MONTH_NAME})|({_MONTH_NAME}) (\d{{1,2}}))(?: (\d{{4}}))?$"
)


def parse_coming_day(text: str, today: date) -> date:
    """A day from today on, as people say it when planning: a date without its year ("12/12",
    the next 12 December, today included), or "ngày mai", "thứ 7 tuần sau", "chủ nhật",
    "next Saturday", "tomorrow".

    A weekday alone is the next one after today; "this week" and "tuần này" mean the Monday to
    Sunday of today, which may be past (the caller says so).
    """
    folded = fold(ascii_digits(text)).removeprefix("vao ").removeprefix("on ")
    if folded in _DAYS_AHEAD:
        return today + timedelta(days=_DAYS_AHEAD[folded])
    if m := _WEEKDAY_PHRASE.match(folded):
        before, weekday, after = m.group(1), _WEEKDAYS[m.group(2)], m.group(3)
        monday = today - timedelta(days=today.weekday())
        if after in _THIS_WEEK:
            return monday + timedelta(days=weekday)
        if after in _NEXT_WEEK:
            return monday + timedelta(days=7 + weekday)
        # The coming one: "this"/"này" may be today, a bare or "next" weekday is after today.
        first = 0 if before == "this" or after == "nay" else 1
        return today + timedelta(days=first + (weekday - today.weekday() - first) % 7)
    if m := _DAY_MONTH.match(folded):
        day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
    elif m := _DAY_MONTH_WORD.match(folded):
        day = int(m.group(1) or m.group(4))
        month, year = _MONTH_NAMES[m.group(2) or m.group(3)], m.group(5)
    else:
        raise DateFormatError(text.strip())
    if year is not None:
        try:
            return date(int(year), month, day)
        except ValueError:
            raise DateValueError(text.strip()) from None
    return _next_day_month(day, month, today, text.strip())


def _next_day_month(day: int, month: int, today: date, text: str) -> date:
    """The first day/month from today on (a 29 February can be years ahead)."""
    for year in range(today.year, today.year + 9):
        try:
            value = date(year, month, day)
        except ValueError:
            continue
        if value >= today:
            return value
    raise DateValueError(text)


# Vietnamese numbers after the 2018 re-numbering: mobiles are 0 + 9 digits starting 3, 5, 7, 8, 9;
# fixed lines are 0 + 10 digits starting 2 (area code 2xx).
_MOBILE = re.compile(r"^[35789]\d{8}$")
_FIXED = re.compile(r"^2\d{9}$")


_FULL_WIDTH_PUNCTUATION = str.maketrans("＋－（）．", "+-().")


def normalize_vn_phone(text: str) -> str | None:
    """A Vietnamese phone number in E.164 (+84…), or None when it is not one."""
    # Digits typed on an Arabic or a full-width (CJK) keyboard are the same number.
    raw = ascii_digits(text.translate(_FULL_WIDTH_PUNCTUATION)).strip()
    digits = re.sub(r"[\s.\-()]", "", raw)
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("84"):
            return None
        national = digits[2:]
    elif digits.startswith("0084"):
        national = digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        national = digits[2:]
    elif digits.startswith("0"):
        national = digits[1:]
    else:
        return None
    if national.startswith("0"):
        national = national[1:]  # "+84 0912…" is a common slip
    if not (national.isascii() and national.isdigit()):
        return None
    if _MOBILE.match(national) or _FIXED.match(national):
        return "+84" + national
    return None


def format_vn_phone(e164: str) -> str:
    """Show +84912345678 the way people read it: 0912 345 678."""
    national = "0" + e164.removeprefix("+84")
    if len(national) == 10:
        return f"{national[:4]} {national[4:7]} {national[7:]}"
    return f"{national[:3]} {national[3:7]} {national[7:]}"


_NAME_OK = re.compile(r"^[^\W\d_]+(?:[ '.\-][^\W\d_]+)*\.?$")


@dataclass(frozen=True)
class NameCheck:
    """The cleaned name, or why it was refused ("short", "long", "chars")."""

    name: str | None
    problem: str | None = None


def clean_full_name(text: str) -> NameCheck:
    """Collapse spaces, title-case nothing (Vietnamese names are written as given), check letters.

    NFC first: Unikey's "Unicode tổ hợp" types "ễ" as e + two combining marks, which are not
    letters to the check below; invisible characters pasted in are dropped.
    """
    name = " ".join(visible(unicodedata.normalize("NFC", text)).split())
    if len(name) < 2:
        return NameCheck(None, "short")
    if len(name) > 100:
        return NameCheck(None, "long")
    if not _NAME_OK.match(name):
        return NameCheck(None, "chars")
    return NameCheck(name)
