"""The year's plan as staff upload it, read from the Quảng Trị 2021 table (seeds/002) and from the
files people actually send: merged headers, Vietnamese numbers, and files that are not plans."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from services.core.i18n import use_locale
from services.stats import units
from services.stats.plan_file import (
    MAX_BYTES,
    PlannedMonth,
    percentage,
    planned_months,
    read_plan,
    whole_number,
)
from tests.support.desk import QUANG_TRI_PLAN


def seed_grid() -> list[list[str]]:
    return [line.split("\t") for line in QUANG_TRI_PLAN.read_text(encoding="utf-8").splitlines()]


def test_the_quang_tri_table_reads_unit_by_unit() -> None:
    plan = read_plan(QUANG_TRI_PLAN.read_bytes(), "ke-hoach-2021.csv")
    assert plan.valid, plan.errors
    assert len(plan.rows) == 16
    dong_ha = plan.rows[0]
    assert (dong_ha.unit, dong_ha.population, dong_ha.bags, dong_ha.units) == (
        "TP. Đông Hà",
        92_592,
        1_019,
        1_141,
    )
    assert (dong_ha.share_before, dong_ha.share_after, dong_ha.rounds) == (1.10, 1.23, 3)
    assert round(units.share_of_population(dong_ha.bags, 92_592), 2) == 1.10
    assert round(units.share_of_population(dong_ha.units or 0, 92_592), 2) == 1.23
    gio_linh = plan.rows[3]
    assert gio_linh.months == (
        PlannedMonth(2020, 12),
        PlannedMonth(2021, 6),
        PlannedMonth(2021, 11),
    )
    police = next(r for r in plan.rows if r.unit == "Công An tỉnh")
    assert police.population is None and police.bags == 350 and police.units == 392
    assert sum(r.population or 0 for r in plan.rows) == 627_028
    assert sum(r.units or 0 for r in plan.rows) == 11_200
    assert sum(r.rounds or 0 for r in plan.rows) == 34


def test_the_provincial_arithmetic() -> None:
    assert units.planned_converted(10_000, 0.30) == pytest.approx(11_200)
    assert round(units.share_of_population(10_000, 627_028), 1) == 1.6
    assert round(units.share_of_population(11_200, 627_028), 2) == 1.79
    assert units.converted_total([250, 350, 450]) == pytest.approx(1 + 1.4 + 1.8)


def test_an_xlsx_with_merged_headers_reads_the_same() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in seed_grid():
        sheet.append([_excel_value(cell) for cell in row])
    sheet.merge_cells("D1:E1")  # "Trước quy đổi"
    sheet.merge_cells("F1:G1")  # "Sau quy đổi"
    sheet.merge_cells("A1:A2")
    buffer = io.BytesIO()
    book.save(buffer)
    plan = read_plan(buffer.getvalue(), "plan.xlsx")
    assert plan.valid, plan.errors
    assert [r.bags for r in plan.rows] == [
        r.bags for r in read_plan(QUANG_TRI_PLAN.read_bytes(), "x").rows
    ]
    assert plan.rows[0].units == 1_141


def _excel_value(cell: str) -> object:
    """Numbers as Excel holds them (1019, not "1.019"); text as it is."""
    try:
        return whole_number(cell)
    except ValueError:
        return cell


def test_a_csv_with_one_english_header_and_a_bom() -> None:
    text = (
        "Unit,Population,Bags before conversion,Units after conversion,Rounds,Planned months\n"
        'Phường Đông Hà,92592,1019,1141,3,"3, 7, 10/2027"\n'
        "\n"
        "Công an tỉnh,,350,392,1,1/2027\n"
    )
    plan = read_plan(text.encode("utf-8-sig"), "plan.csv")
    assert plan.valid, plan.errors
    assert [(r.unit, r.bags, r.rounds) for r in plan.rows] == [
        ("Phường Đông Hà", 1019, 3),
        ("Công an tỉnh", 350, 1),
    ]


def test_every_bad_cell_is_reported_with_its_line_and_column_and_nothing_is_kept() -> None:
    text = (
        "Đơn vị,Dân số,Trước quy đổi,Sau quy đổi,Số đợt\n"
        "Phường A,12.345,1,5,120,2\n"  # a decimal where bags are counted: six cells, one too many
        "Phường B,abc,100,112,2\n"
        "Phường C,1000,,50,1\n"
        "Phường B,1000,10,11,1\n"
    )
    with use_locale("en"):
        plan = read_plan(text.encode(), "plan.csv")
    assert not plan.valid and plan.rows == []
    found = {(e.line, e.column) for e in plan.errors}
    assert (3, "Population") in found  # "abc"
    assert (4, "Bags before conversion") in found  # empty
    assert (5, "Unit") in found  # Phường B twice
    assert all(e.reason for e in plan.errors)


@pytest.mark.parametrize(
    ("content", "name", "words"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "plan.csv", "not"),
        (b"PK\x03\x04 broken zip", "plan.xlsx", "Excel"),
        (b"", "plan.csv", "empty"),
        (b"name;age\nAn;30\n", "plan.csv", "Missing columns"),
        (b"x" * (MAX_BYTES + 1), "plan.csv", "too large"),
    ],
)
def test_files_that_are_not_plans_get_one_clear_reason(
    content: bytes, name: str, words: str
) -> None:
    with use_locale("en"):
        plan = read_plan(content, name)
    assert not plan.valid
    assert any(words in e.reason for e in plan.errors), plan.errors


def test_numbers_as_vietnamese_tables_write_them() -> None:
    assert whole_number("92.592") == 92_592
    assert whole_number("1,141") == 1_141
    assert whole_number("1 019") == 1_019
    for bad in ("1,5", "1.01.9", "12a", "-3"):
        with pytest.raises(ValueError):
            whole_number(bad)
    assert percentage("1,10") == 1.10 and percentage("1.23") == 1.23 and percentage("1,6 %") == 1.6
    assert planned_months("Tháng 3, 7, và 10/2021") == (
        PlannedMonth(2021, 3),
        PlannedMonth(2021, 7),
        PlannedMonth(2021, 10),
    )
    with pytest.raises(ValueError):
        planned_months("Tháng 13/2021")
