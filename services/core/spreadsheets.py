"""Exports as people open them: CSV that Excel shows with its diacritics, and XLSX.

CSV is written UTF-8 with a byte-order mark (Excel reads a CSV without one in the system code
page and garbles "Nguyễn"), and a cell starting with = + - @ tab or CR gets a leading apostrophe,
so a name cannot run as a formula in the organiser's spreadsheet (CSV injection). XLSX goes
through xlsxwriter in constant-memory mode: rows are streamed to disk, so 100,000 rows stay small.

`CsvSheet` and `XlsxSheet` take rows in slices (a large export writes each slice in a worker
thread as the database hands it over) and give the file's bytes at the end; `csv_bytes` and
`xlsx_bytes` are the one-call forms.
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Protocol

Cell = str | int | float | date | datetime | None
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SPOOL_BYTES = 8 * 1024 * 1024  # a CSV stays in memory up to this size, then goes to a temp file


def safe_text(value: str) -> str:
    """A text cell that a spreadsheet will not read as a formula."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, int | float):
        return str(value)  # a number, never a formula, even when negative
    return safe_text(str(value))


class Sheet(Protocol):
    """A file being written a slice of rows at a time."""

    rows: int

    def write(self, rows: Iterable[Sequence[Cell]]) -> None: ...

    def size(self) -> int: ...

    def finish(self) -> bytes: ...

    def discard(self) -> None: ...


class CsvSheet:
    """A CSV file (UTF-8 with BOM, comma-separated, CRLF) written row by row."""

    def __init__(self, header: Sequence[str]) -> None:
        # Open across calls (a slice at a time): closed by finish() or discard().
        self._file: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, mode="w+b")  # noqa: SIM115
        self._text = io.TextIOWrapper(self._file, encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._text)
        self._writer.writerow([safe_text(h) for h in header])
        self.rows = 0

    def write(self, rows: Iterable[Sequence[Cell]]) -> None:
        for row in rows:
            self._writer.writerow([_csv_cell(v) for v in row])
            self.rows += 1

    def size(self) -> int:
        """The bytes written so far."""
        self._text.flush()
        return int(self._file.tell())

    def finish(self) -> bytes:
        self._text.flush()
        self._file.seek(0)
        content = bytes(self._file.read())
        self.discard()
        return content

    def discard(self) -> None:
        self._text.close()  # closes the file under it too


class XlsxSheet:
    """An XLSX workbook of one sheet, streamed to a temporary folder row by row: dates as
    dd/mm/yyyy cells, numbers as numbers, text as text (never a formula)."""

    def __init__(self, sheet_name: str, header: Sequence[str]) -> None:
        import xlsxwriter  # imported here: only exports need it

        self._folder = tempfile.TemporaryDirectory()
        self._path = Path(self._folder.name) / "export.xlsx"
        self._workbook = xlsxwriter.Workbook(
            str(self._path),
            {"constant_memory": True, "strings_to_formulas": False, "tmpdir": self._folder.name},
        )
        self._sheet = self._workbook.add_worksheet(sheet_name[:31])
        bold = self._workbook.add_format({"bold": True})
        self._day = self._workbook.add_format({"num_format": "dd/mm/yyyy"})
        self._moment = self._workbook.add_format({"num_format": "dd/mm/yyyy hh:mm"})
        for c, title in enumerate(header):  # before any row: constant memory writes in order
            self._sheet.set_column(c, c, min(40, max(10, len(title) + 2)))
        self._sheet.write_row(0, 0, list(header), bold)
        self._sheet.freeze_panes(1, 0)
        self.rows = 0

    def write(self, rows: Iterable[Sequence[Cell]]) -> None:
        sheet = self._sheet
        for row in rows:
            self.rows += 1
            r = self.rows
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, datetime):
                    sheet.write_datetime(r, c, value.replace(tzinfo=None), self._moment)
                elif isinstance(value, date):
                    sheet.write_datetime(
                        r, c, datetime.combine(value, datetime.min.time()), self._day
                    )
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))

    def size(self) -> int:
        """Not known before the end (the sheet is zipped at close): 0."""
        return 0

    def finish(self) -> bytes:
        try:
            self._workbook.close()
            return self._path.read_bytes()
        finally:
            self._folder.cleanup()

    def discard(self) -> None:
        with contextlib.suppress(Exception):  # only the temporary folder matters now
            self._workbook.close()
        self._folder.cleanup()


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """A CSV file (UTF-8 with BOM, comma-separated, CRLF) of a header and rows."""
    sheet = CsvSheet(header)
    sheet.write(rows)
    return sheet.finish()


def xlsx_bytes(sheet_name: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """An XLSX workbook of one sheet, streamed row by row (dates as dd/mm/yyyy cells)."""
    sheet = XlsxSheet(sheet_name, header)
    sheet.write(rows)
    return sheet.finish()
