"""Parsing and checking what people type: dates, Vietnamese phone numbers, names."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

_SEP = r"[/\-.\s]"
_DMY = re.compile(rf"^(\d{{1,2}}){_SEP}+(\d{{1,2}}){_SEP}+(\d{{2}}|\d{{4}})$")
_YMD = re.compile(rf"^(\d{{4}}){_SEP}+(\d{{1,2}}){_SEP}+(\d{{1,2}})$")


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


# Vietnamese numbers after the 2018 re-numbering: mobiles are 0 + 9 digits starting 3, 5, 7, 8, 9;
# fixed lines are 0 + 10 digits starting 2 (area code 2xx).
_MOBILE = re.compile(r"^[35789]\d{8}$")
_FIXED = re.compile(r"^2\d{9}$")


def normalize_vn_phone(text: str) -> str | None:
    """A Vietnamese phone number in E.164 (+84…), or None when it is not one."""
    raw = text.strip()
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
    if not national.isdigit():
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
    """Collapse spaces, title-case nothing (Vietnamese names are written as given), check letters."""
    name = " ".join(text.split())
    if len(name) < 2:
        return NameCheck(None, "short")
    if len(name) > 100:
        return NameCheck(None, "long")
    if not _NAME_OK.match(name):
        return NameCheck(None, "chars")
    return NameCheck(name)
