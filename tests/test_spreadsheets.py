"""Exports: CSV with a BOM and no formula injection; XLSX readable back with its diacritics."""

from __future__ import annotations

import csv
import io
from datetime import date

from openpyxl import load_workbook

from services.core.spreadsheets import Cell, csv_bytes, safe_text, xlsx_bytes

ROWS: list[list[Cell]] = [
    ["Nguyễn Thị Hồng", '=HYPERLINK("http://x")', date(2027, 1, 9), 350],
    ["+84912345678", "@SUM(A1)", None, -1],
    ["-Trần", "\tTab", date(2027, 1, 10), 1.4],
]


def test_csv_has_a_bom_and_escapes_formulas() -> None:
    content = csv_bytes(["Họ tên", "Ghi chú", "Ngày", "ml"], ROWS)
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    assert rows[0] == ["Họ tên", "Ghi chú", "Ngày", "ml"]
    assert rows[1] == ["Nguyễn Thị Hồng", '\'=HYPERLINK("http://x")', "09/01/2027", "350"]
    assert rows[2] == ["'+84912345678", "'@SUM(A1)", "", "-1"]
    assert rows[3][:2] == ["'-Trần", "'\tTab"]
    assert safe_text("Hồng") == "Hồng"


def test_xlsx_reads_back_with_text_never_a_formula() -> None:
    content = xlsx_bytes("Đăng ký", ["Họ tên", "Ghi chú", "Ngày", "ml"], ROWS)
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0] == ["Họ tên", "Ghi chú", "Ngày", "ml"]
    assert values[1][0] == "Nguyễn Thị Hồng" and values[1][1] == '=HYPERLINK("http://x")'
    assert sheet.cell(2, 2).data_type == "s"  # a string cell, not a formula
    assert values[1][2].date() == date(2027, 1, 9) and values[1][3] == 350
