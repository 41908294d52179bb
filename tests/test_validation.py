"""Parsing what people type: dates, phones, names."""

from datetime import date

import pytest

from services.core.validation import (
    DateFormatError,
    DateValueError,
    age_on,
    clean_full_name,
    format_vn_phone,
    normalize_vn_phone,
    nth_birthday,
    parse_date,
)

TODAY = date(2026, 11, 22)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25/08/1995", date(1995, 8, 25)),
        ("5/8/95", date(1995, 8, 5)),
        ("25-08-1995", date(1995, 8, 25)),
        ("25.08.1995", date(1995, 8, 25)),
        ("1995-08-25", date(1995, 8, 25)),
        (" 1/2/05 ", date(2005, 2, 1)),
        ("1/2/26", date(2026, 2, 1)),
        ("1/2/27", date(1927, 2, 1)),  # two-digit years are never in the future
        ("29/02/2000", date(2000, 2, 29)),
    ],
)
def test_dates_as_people_type_them(text: str, expected: date) -> None:
    assert parse_date(text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text", ["31/02/1990", "29/02/2001", "00/01/1990", "12/13/1990", "1990-13-01"]
)
def test_impossible_dates(text: str) -> None:
    with pytest.raises(DateValueError):
        parse_date(text, today=TODAY)


@pytest.mark.parametrize("text", ["abc", "", "25 tháng 8", "1995", "25/08", "25/08/19950"])
def test_not_dates(text: str) -> None:
    with pytest.raises(DateFormatError):
        parse_date(text, today=TODAY)


def test_age_and_birthdays() -> None:
    born = date(2008, 11, 23)
    assert age_on(born, TODAY) == 17
    assert age_on(born, date(2026, 11, 23)) == 18
    assert nth_birthday(date(2008, 2, 29), 18) == date(2026, 3, 1)
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17
    assert age_on(date(2008, 2, 29), date(2026, 3, 1)) == 18


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0912345678", "+84912345678"),
        ("0912 345 678", "+84912345678"),
        ("091-234-5678", "+84912345678"),
        ("+84912345678", "+84912345678"),
        ("+84 0912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("0084912345678", "+84912345678"),
        ("0387654321", "+84387654321"),
        ("02438261234", "+842438261234"),  # Hà Nội fixed line
        ("0123456789", None),  # old 11-digit prefix 01x is gone
        ("0912345", None),
        ("+14155552671", None),
        ("hello", None),
        ("", None),
    ],
)
def test_vietnamese_phone_numbers(text: str, expected: str | None) -> None:
    assert normalize_vn_phone(text) == expected


def test_phone_display() -> None:
    assert format_vn_phone("+84912345678") == "0912 345 678"


def test_names() -> None:
    assert clean_full_name("  Nguyễn   Thị  Minh Khai ").name == "Nguyễn Thị Minh Khai"
    assert clean_full_name("Đặng Văn Lâm").name == "Đặng Văn Lâm"
    assert clean_full_name("A").problem == "short"
    assert clean_full_name("x" * 101).problem == "long"
    assert clean_full_name("Nguyen 123").problem == "chars"
    assert clean_full_name("😀😀").problem == "chars"
