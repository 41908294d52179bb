"""Checking what a leader types for a drive: day, hours, counts, names."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date

from services.core.i18n import _, get_locale
from services.core.text import TELEGRAM_LIMIT, clean_input, visible
from services.core.validation import (
    DateFormatError,
    DateValueError,
    InputError,
    ascii_digits,
    parse_coming_day,
    parse_date,
)

_HOURS = re.compile(
    r"^\s*(\d{1,2})\s*(?:[:hg.]\s*(\d{2})?)?\s*(?:-|–|—|to|đến|den)\s*(\d{1,2})\s*(?:[:hg.]\s*(\d{2})?)?\s*$",
    re.IGNORECASE,
)


def drive_day(text: str, today: date) -> date:
    """A day from today to a year ahead: 14/12/2026, or "12/12", "thứ 7 tuần sau", "ngày mai"."""
    try:
        try:
            day = parse_date(text, two_digit_past=False, today=today)
        except DateFormatError:
            day = parse_coming_day(text, today)
    except DateValueError:
        raise InputError(
            _("{text} is not a date. Please check the day and month.").format(
                text=_clip(text)
            )
        ) from None
    except DateFormatError:
        raise InputError(
            _(
                "Please write the day as day/month/year (e.g. 14/12/2026), or like “12/12” or "
                "“next Saturday”."
            )
        ) from None
    if day < today:
        raise InputError(
            _("{date} is in the past. Please give a day from today on.").format(
                date=day.strftime("%d/%m/%Y")
            )
        )
    if day > today + timedelta(days=366):
        raise InputError(_("That is more than a year ahead. Please check the year."))
    return day


def day_label(day: date) -> str:
    """ "Thứ Bảy, 19/12/2026": the weekday says whether "thứ 7 tuần sau" was read as meant."""
    text = format_date(day, "EEEE, dd/MM/yyyy", locale=get_locale())
    return text[:1].upper() + text[1:]


def drive_hours(text: str, day: date, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """Opening hours like "7:30-11:30", "7h30 - 11h", "13g–16g30" on that day, as UTC instants."""
    match = _HOURS.match(text)
    if not match:
        raise InputError(_("Please write the hours as start–end, e.g. 7:30-11:30."))
    h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
    try:
        start, end = time(h1, m1), time(h2, m2)
    except ValueError:
        raise InputError(
            _("{text} are not valid hours. Please write e.g. 7:30-11:30.").format(text=text.strip())
        ) from None
    if end <= start:
        raise InputError(
            _("The end ({end}) must be after the start ({start}).").format(
                end=f"{end:%H:%M}", start=f"{start:%H:%M}"
            )
        )
    starts_at = datetime.combine(day, start, tz)
    if starts_at <= now:
        raise InputError(_("That start time has already passed. Please give a later time or day."))
    return starts_at, datetime.combine(day, end, tz)


def positive_count(text: str, limit: int = 100_000) -> int:
    """A whole number from 1 to `limit`; "1.200" and "1,200" are 1200."""
    digits = ascii_digits(text).strip().replace(".", "").replace(",", "").replace(" ", "")
    # isdigit() alone takes "²" and "①", which int() refuses: only ASCII digits are a number here.
    if not (digits.isascii() and digits.isdigit()):
        raise InputError(_("Please type a whole number, e.g. 120."))
    if len(digits.lstrip("0")) > len(str(limit)):  # int() refuses past 4,300 digits
        raise InputError(
            _("That is more than {limit}. Please check the number.").format(limit=limit)
        )
    value = int(digits)
    if value < 1:
        raise InputError(_("It must be at least 1."))
    if value > limit:
        raise InputError(
            _("That is more than {limit}. Please check the number.").format(limit=limit)
        )
    return value


def short_text(text: str, limit: int) -> str:
    """A name or address: something that shows (not only zero-width characters), without NUL,
    at most `limit` characters."""
    cleaned = " ".join(visible(clean_input(text)).split())
    if not cleaned:
        raise InputError(_("Please type some text."))
    if len(cleaned) > limit:
        raise InputError(
            _("That is too long: {length} characters, at most {limit}.").format(
                length=len(cleaned), limit=limit
            )
        )
    return cleaned


def message_text(text: str, reserved: int = 200) -> str:
    """A notice to broadcast: fits in one Telegram message with our header."""
    cleaned = clean_input(text).strip()
    if not visible(cleaned):
        raise InputError(_("Please type some text."))
    limit = TELEGRAM_LIMIT - reserved
    if len(cleaned) > limit:
        raise InputError(
            _("That is too long: {length} characters, at most {limit}.").format(
                length=len(cleaned), limit=limit
            )
        )
    return cleaned


def _clip(text: str, limit: int = 40) -> str:
    """Quote at most `limit` characters of what the person typed."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
