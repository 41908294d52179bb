"""The year's plan as staff upload it: a CSV or XLSX shaped like the provincial table.

    TT | Đơn vị | Dân số (Người) | Trước quy đổi          | Sau quy đổi            | Số đợt vận động | Dự kiến thời gian
       |        |                | Số đơn vị | Tỷ lệ % DS | Số đơn vị | Tỷ lệ % DS |                 |

The two header rows are read together: a merged cell ("Trước quy đổi" over two columns) names
every column under it (openpyxl keeps a merged value in its top-left cell only; a CSV leaves the
cells after it empty). Numbers are read as Vietnamese tables write them: "92.592" and "1,141" are
whole numbers with thousands separators, "1,10" and "1.23" are percentages. Every problem is
reported with its line, column and reason; nothing is returned as a plan unless the whole file is
valid.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Any

from services.core.i18n import _
from services.core.text import fold

MAX_BYTES = 5 * 1024 * 1024  # a provincial plan is a few kilobytes; more is not a plan
MAX_ROWS = 5_000
HEADER_ROWS = 2


@dataclass(frozen=True)
class PlannedMonth:
    """A month in which a round of drives is planned."""

    year: int
    month: int


@dataclass(frozen=True)
class PlanRow:
    """One commune, ward or unit of the plan (population only for places, not organisations)."""

    line: int
    unit: str
    population: int | None
    bags: int  # target before conversion
    units: int | None  # target after conversion (250 ml units)
    rounds: int | None
    months: tuple[PlannedMonth, ...] = ()
    share_before: float | None = None  # % of the population, as the file says
    share_after: float | None = None


@dataclass(frozen=True)
class PlanError:
    """Why a cell or a line cannot be read."""

    line: int  # 1-based, as a spreadsheet shows it; 0 for the file as a whole
    column: str  # the column's header ("" for the file or the line)
    reason: str


@dataclass
class PlanFile:
    """What a file holds: the rows when all are valid, else every error found."""

    rows: list[PlanRow] = field(default_factory=list)
    errors: list[PlanError] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors and bool(self.rows)


# ------------------------------------------------------------ columns

UNIT, POPULATION, BAGS, SHARE_BEFORE, UNITS, SHARE_AFTER, ROUNDS, MONTHS, NUMBER = (
    "unit",
    "population",
    "bags",
    "share_before",
    "units",
    "share_after",
    "rounds",
    "months",
    "number",
)
REQUIRED = (UNIT, BAGS)
TOTAL_WORDS = ("tong cong", "tong", "total", "cong")


def _column(parent: str, child: str) -> str | None:
    """Which field a column holds, from its two header cells (folded: no case, no diacritics)."""
    text = f"{parent} {child}".strip()
    if text in ("tt", "stt", "no", "#"):
        return NUMBER
    after = "sau quy doi" in parent or "after" in parent
    before = "truoc quy doi" in parent or "before" in parent
    share = any(word in text for word in ("ty le", "%", "share"))
    if before or after:
        if share:
            return SHARE_AFTER if after else SHARE_BEFORE
        return UNITS if after else BAGS
    if "dan so" in text or "population" in text:
        return POPULATION
    if "so dot" in text or "rounds" in text:
        return ROUNDS
    if "thoi gian" in text or "months" in text or "thang" in text:
        return MONTHS
    if text in ("don vi", "unit", "xa phuong", "phuong xa", "don vi xa phuong") or text.startswith(
        ("don vi ", "ten don vi", "unit", "commune", "ward", "xa", "phuong")
    ):
        return UNIT
    return None


def _labels() -> dict[str, str]:
    """The columns as the error messages name them."""
    return {
        UNIT: _("Unit"),
        POPULATION: _("Population"),
        BAGS: _("Bags before conversion"),
        SHARE_BEFORE: _("% of population before conversion"),
        UNITS: _("Units after conversion"),
        SHARE_AFTER: _("% of population after conversion"),
        ROUNDS: _("Rounds"),
        MONTHS: _("Planned months"),
    }


# ------------------------------------------------------------ numbers and months

_THOUSANDS = re.compile(r"^\d{1,3}([.,\s]\d{3})+$")
_PLAIN = re.compile(r"^\d+$")
_DECIMAL = re.compile(r"^\d+([.,]\d+)?$")


def whole_number(text: str) -> int:
    """ "92.592", "1,141", "1 019", "1019" → an int; ValueError otherwise."""
    cleaned = text.strip().replace("\u00a0", " ")
    if _PLAIN.match(cleaned):
        return int(cleaned)
    if _THOUSANDS.match(cleaned):
        return int(re.sub(r"[.,\s]", "", cleaned))
    raise ValueError(cleaned)


def percentage(text: str) -> float:
    """ "1,10", "1.23", "1,6 %" → a float; ValueError otherwise."""
    cleaned = text.strip().removesuffix("%").strip()
    if not _DECIMAL.match(cleaned):
        raise ValueError(cleaned)
    return float(cleaned.replace(",", "."))


def planned_months(text: str) -> tuple[PlannedMonth, ...]:
    """ "Tháng 3, 7, và 10/2021", "Tháng 12/2020; 6, 11/2021", "3/2027" → the months; each group
    (split by ";") takes the year written at its end."""
    found: list[PlannedMonth] = []
    for group in text.split(";"):
        numbers = re.findall(r"\d+", group)
        if not numbers:
            continue
        year = int(numbers[-1])
        if year < 2000 or year > 2100 or len(numbers) < 2:
            raise ValueError(group)
        for month in numbers[:-1]:
            if not 1 <= int(month) <= 12:
                raise ValueError(group)
            found.append(PlannedMonth(year, int(month)))
    return tuple(found)


# ------------------------------------------------------------ reading the file


def too_large(size: int) -> str:
    """Why a file of `size` bytes is not read."""
    return _("The file is too large ({size} MB): a plan fits in {limit} MB.").format(
        size=max(1, size // (1024 * 1024)), limit=MAX_BYTES // (1024 * 1024)
    )


def read_plan(content: bytes, filename: str) -> PlanFile:
    """The plan a CSV or XLSX file holds, or every reason it cannot be used."""
    if len(content) > MAX_BYTES:
        return PlanFile(errors=[PlanError(0, "", too_large(len(content)))])
    try:
        if content[:2] == b"PK" or filename.lower().endswith((".xlsx", ".xlsm")):
            grid = _xlsx_grid(content)
        else:
            grid = _csv_grid(content)
    except _Unreadable as error:
        return PlanFile(errors=[PlanError(0, "", str(error))])
    return _read_grid(grid)


class _Unreadable(Exception):
    """The file is not a spreadsheet we can read."""


def _csv_grid(content: bytes) -> list[list[str]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _Unreadable(
            _("The file is not a CSV in UTF-8 or an Excel workbook (.xlsx). Please save it as one.")
        ) from error
    if "\x00" in text:
        raise _Unreadable(_("The file is not a spreadsheet. Please send a CSV or an .xlsx file."))
    sample = text[:4096]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    rows = list(csv.reader(io.StringIO(text), dialect))
    width = max((len(r) for r in rows), default=0)
    grid = [[cell.strip() for cell in row] + [""] * (width - len(row)) for row in rows]
    # A CSV of a merged header leaves the cells after the merged one empty: fill them in where
    # the second header row names a sub-column.
    if len(grid) >= HEADER_ROWS:
        top, sub = grid[0], grid[1]
        for i in range(1, width):
            if not top[i] and sub[i] and top[i - 1] and sub[i - 1]:
                top[i] = top[i - 1]
    return grid


def _xlsx_grid(content: bytes) -> list[list[str]]:
    from openpyxl import load_workbook  # imported here: only uploads need it

    try:
        workbook = load_workbook(io.BytesIO(content), data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise _Unreadable(
            _("The file is not an Excel workbook (.xlsx) that can be read. Please check it.")
        ) from error
    sheet = workbook.worksheets[0]
    if sheet.max_row > MAX_ROWS:
        raise _Unreadable(_("The sheet has too many rows for a plan."))
    grid = [
        ["" if v is None else _cell_text(v) for v in row]
        for row in sheet.iter_rows(values_only=True)
    ]
    for merged in sheet.merged_cells.ranges:  # the value sits in the top-left cell only
        value = grid[merged.min_row - 1][merged.min_col - 1]
        for r in range(merged.min_row - 1, merged.max_row):
            for c in range(merged.min_col - 1, merged.max_col):
                grid[r][c] = value
    return grid


def _cell_text(value: object) -> str:
    """A cell as text; a whole float (1019.0) as a whole number."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _read_grid(grid: list[list[str]]) -> PlanFile:
    """Find the header, then read and check every line below it."""
    start = next((i for i, row in enumerate(grid) if any(row)), None)
    if start is None or len(grid) < start + HEADER_ROWS:
        return PlanFile(errors=[PlanError(0, "", _("The file is empty."))])
    top, sub = grid[start], grid[start + 1]
    single = _fields(top, [""] * len(top))
    # One header row when the next row is already a unit's line; else two (merged headers).
    unit_col = next((i for i, name in single.items() if name == UNIT), None)
    two_rows = unit_col is None or not _looks_like_data(sub, unit_col)
    fields = _fields(top, sub) if two_rows else single
    labels = _labels()
    missing = [labels[name] for name in REQUIRED if name not in fields.values()]
    if missing:
        reason = _(
            "Missing columns: {columns}. The first row should name them, as in the template."
        ).format(columns=", ".join(missing))
        return PlanFile(errors=[PlanError(start + 1, "", reason)])
    unit_col = next(i for i, name in fields.items() if name == UNIT)
    body = start + (HEADER_ROWS if two_rows else 1)
    result = PlanFile()
    seen: dict[str, int] = {}
    for index in range(body, len(grid)):
        row, line = grid[index], index + 1
        if not any(cell.strip() for cell in row):
            continue  # an empty row
        unit = row[unit_col].strip() if unit_col < len(row) else ""
        if fold(unit) in TOTAL_WORDS or (not unit and fold(row[0]) in TOTAL_WORDS):
            continue  # the total line: the bot adds up the rows itself
        key = fold(unit)
        if key and key in seen:
            reason = _("“{unit}” is already on line {other}.").format(unit=unit, other=seen[key])
            result.errors.append(PlanError(line, labels[UNIT], reason))
            continue
        if key:
            seen[key] = line
        parsed = _read_row(row, line, fields, labels, result.errors)
        if parsed is not None:
            result.rows.append(parsed)
    if not result.rows and not result.errors:
        result.errors.append(PlanError(0, "", _("The file holds no unit below its header.")))
    if result.errors:
        result.rows = []
    return result


def _fields(top: list[str], sub: list[str]) -> dict[int, str]:
    """The field of each column, from the header row(s); a field named twice keeps its first."""
    fields: dict[int, str] = {}
    for i, parent in enumerate(top):
        child = sub[i] if i < len(sub) else ""
        name = _column(fold(parent), fold(child))
        if name is not None and name != NUMBER and name not in fields.values():
            fields[i] = name
    return fields


def _looks_like_data(row: list[str], unit_col: int) -> bool:
    return (
        unit_col < len(row)
        and bool(row[unit_col].strip())
        and any(_PLAIN.match(c.replace(".", "").strip()) for c in row if c.strip())
    )


def _read_row(
    row: list[str],
    line: int,
    fields: dict[int, str],
    labels: dict[str, str],
    errors: list[PlanError],
) -> PlanRow | None:
    """One line of the plan; its errors are added to `errors`."""
    values: dict[str, Any] = {}
    before = len(errors)
    for col, name in fields.items():
        cell = row[col].strip() if col < len(row) else ""
        if not cell:
            if name in REQUIRED:
                errors.append(PlanError(line, labels[name], _("This cell is empty.")))
            continue
        try:
            if name == UNIT:
                if len(cell) > 120:
                    raise ValueError(cell)
                values[name] = cell
            elif name in (POPULATION, BAGS, UNITS, ROUNDS):
                values[name] = whole_number(cell)
            elif name in (SHARE_BEFORE, SHARE_AFTER):
                values[name] = percentage(cell)
            elif name == MONTHS:
                values[name] = planned_months(cell)
        except ValueError:
            errors.append(PlanError(line, labels[name], _reason(name, cell)))
    if len(errors) > before:
        return None
    return PlanRow(
        line=line,
        unit=values[UNIT],
        population=values.get(POPULATION),
        bags=values[BAGS],
        units=values.get(UNITS),
        rounds=values.get(ROUNDS),
        months=values.get(MONTHS, ()),
        share_before=values.get(SHARE_BEFORE),
        share_after=values.get(SHARE_AFTER),
    )


def _reason(name: str, cell: str) -> str:
    """What is wrong with a cell, and how it should look."""
    shown = cell if len(cell) <= 30 else cell[:29] + "…"
    if name in (POPULATION, BAGS, UNITS, ROUNDS):
        return _("“{cell}” is not a whole number (e.g. 1019 or 1.019).").format(cell=shown)
    if name in (SHARE_BEFORE, SHARE_AFTER):
        return _("“{cell}” is not a percentage (e.g. 1,10).").format(cell=shown)
    if name == MONTHS:
        return _("“{cell}” is not a list of months (e.g. Tháng 3, 7/2027).").format(cell=shown)
    return _("“{cell}” is too long for a unit's name.").format(cell=shown)
