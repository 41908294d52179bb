"""What goes in an export of /stats, and the file itself.

A period's donations: one row per person at a drive's desk in the scope and period (donated,
deferred on site, did not come: the same rows as "At the desk" in /stats), with the drive, its
wards, the kind, the volume and its 250 ml units (350 ml = 1.4, 450 ml = 1.8), first time or
repeat, how the person came; names and phones only for those who may see the drive's sign-ups
(services/roles/access: VIEW_SIGNUPS), in a private chat. The progress against the plan: one row
per unit of the plan, its target and actual before and after conversion.

Rows are read from the database a slice of drives at a time and written by a worker thread
(services/core/spreadsheets), so a large file neither holds the event loop nor every row in
memory. Column headers are in the reader's language; numbers are numbers and dates are dates.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CheckIn, Donor, Drive, DriveWard, Signup
from models.donations import CheckinOutcome
from models.drives import SignupStatus
from services.conversation.actor import Actor
from services.conversation.dialog import Document
from services.core.i18n import _
from services.core.labels import donation_kind_label, phone_label
from services.core.spreadsheets import Cell, CsvSheet, Sheet, XlsxSheet
from services.drives.views import campaign_label
from services.knowledge.wards import get_ward
from services.roles import access
from services.stats import units
from services.stats.export_buttons import ExportFormat
from services.stats.figures import Period, Scope, drives_query
from services.stats.progress import Standing

# Telegram's bots may send files of up to 50 MB.
MAX_DOCUMENT_BYTES = 50 * 1000 * 1000
# An XLSX sheet holds 1,048,576 rows; a file this long is past any use in a chat anyway.
MAX_ROWS = 1_000_000
DRIVES_PER_SLICE = 200  # the check-ins of this many drives are read and written at a time
MIME_TYPES = {
    ExportFormat.CSV: "text/csv",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


class TooLarge(Exception):
    """The file would be over Telegram's limit for a bot's document."""

    def __init__(self, size: int) -> None:
        super().__init__(f"export of {size} bytes")
        self.size = size


@dataclass(frozen=True)
class Built:
    """A finished export: the file and how many rows it holds."""

    document: Document
    rows: int
    personal: bool


@dataclass(frozen=True)
class DriveInfo:
    """A drive as its export rows name it."""

    id: int
    day: date
    venue: str
    campaign: str
    province: str
    wards: tuple[str, ...]

    def ward_names(self) -> str:
        names = []
        for code in self.wards:
            ward = get_ward(self.province, code)
            names.append(ward.name if ward else code)
        return "; ".join(names)


def _number(value: float | None, digits: int = 2) -> int | float | None:
    """A figure as a cell: rounded, and 1141 rather than 1141.0."""
    if value is None:
        return None
    rounded = round(value, digits)
    return int(rounded) if float(rounded).is_integer() else rounded


def scope_allowed(actor: Actor, scope: Scope, drive: DriveInfo | None = None) -> bool:
    """May the person see the figures of this scope (a drive: of any of its wards)?"""
    action = access.Action.VIEW_STATS
    if scope.drive_id is not None:
        if drive is None:
            return False
        return any(access.allowed(actor, action, drive.province, [w]) for w in drive.wards)
    return access.allowed(actor, action, scope.province, scope.wards or ())


def personal_allowed(
    actor: Actor, scope: Scope, drives: Sequence[DriveInfo], private: bool
) -> bool:
    """Names and phones: in a private chat, for whoever may see the sign-ups of every drive of
    the export (the drive's club leaders, the province's staff, admins)."""
    if not private:
        return False
    action = access.Action.VIEW_SIGNUPS
    if scope.drive_id is None and not access.allowed(
        actor, action, scope.province, scope.wards or ()
    ):
        return False
    return all(access.allowed(actor, action, d.province, d.wards) for d in drives)


async def scope_drives(
    session: AsyncSession, scope: Scope, period: Period, tz: ZoneInfo
) -> list[DriveInfo]:
    """The drives of a scope and period with their wards, by day."""
    ids = drives_query(scope, period, tz).subquery()
    drives = await session.exec(
        select(  # type: ignore[call-overload]
            Drive.id, Drive.starts_at, Drive.venue_name, Drive.campaign, Drive.province_code
        )
        .where(col(Drive.id).in_(select(ids.c.id)))
        .order_by(col(Drive.starts_at), col(Drive.id))
    )
    found = list(drives.all())
    wards: dict[int, list[str]] = defaultdict(list)
    pairs = await session.exec(
        select(DriveWard.drive_id, DriveWard.ward_code).where(
            col(DriveWard.drive_id).in_(select(ids.c.id))
        )
    )
    for drive_id, code in pairs:
        wards[drive_id].append(code)
    return [
        DriveInfo(
            int(drive_id or 0),
            starts_at.astimezone(tz).date(),
            venue,
            campaign,
            province,
            tuple(sorted(wards.get(int(drive_id or 0), []))),
        )
        for drive_id, starts_at, venue, campaign, province in found
    ]


async def drive_info(session: AsyncSession, drive_id: int, tz: ZoneInfo) -> DriveInfo | None:
    """One drive with its wards."""
    drive = await session.get(Drive, drive_id)
    if drive is None or drive.id is None:
        return None
    codes = await session.exec(
        select(DriveWard.ward_code).where(col(DriveWard.drive_id) == drive_id)
    )
    return DriveInfo(
        drive.id,
        drive.starts_at.astimezone(tz).date(),
        drive.venue_name,
        drive.campaign,
        drive.province_code,
        tuple(sorted(codes.all())),
    )


async def count_checkins(session: AsyncSession, scope: Scope, period: Period, tz: ZoneInfo) -> int:
    """The rows a donations export of this scope and period would have."""
    ids = drives_query(scope, period, tz).subquery()
    result = await session.exec(
        select(func.count()).where(col(CheckIn.drive_id).in_(select(ids.c.id)))
    )
    return int(result.one())


# ------------------------------------------------------------ a period's donations


def donations_header(personal: bool) -> list[str]:
    header = [
        _("Date"),
        _("Drive no."),
        _("Venue"),
        _("Campaign"),
        _("Wards"),
        _("At the desk"),
        _("Kind"),
        _("Volume (ml)"),
        _("Units of 250 ml"),
        _("First time or repeat"),
        _("Source"),
    ]
    if personal:
        return [*header, _("Name"), _("Phone")]
    return [*header, _("Name and phone: not included (not for your role or this chat)")]


def _outcome_label(outcome: str) -> str:
    """What the desk recorded, as the sign-up list says it."""
    labels: dict[str, str] = {
        CheckinOutcome.DONATED: _("donated"),
        CheckinOutcome.DEFERRED: _("deferred"),
        CheckinOutcome.NO_SHOW: _("did not come"),
    }
    return labels.get(outcome, outcome)


async def donation_slices(
    session: AsyncSession, drives: Sequence[DriveInfo], personal: bool
) -> AsyncIterator[list[list[Cell]]]:
    """The rows of the drives' check-ins, a slice of drives at a time, by day and drive."""
    repeat, first = _("repeat"), _("first time")
    signed_up, walk_in, unregistered = (
        _("signed up in the bot"),
        _("walk-in"),
        _("walk-in, not in the bot"),
    )
    for start in range(0, len(drives), DRIVES_PER_SLICE):
        chunk = drives[start : start + DRIVES_PER_SLICE]
        columns = [
            CheckIn.drive_id,
            CheckIn.outcome,
            CheckIn.kind,
            CheckIn.volume_ml,
            CheckIn.repeat_donor,
            CheckIn.donor_id,
            Signup.id,
        ]
        if personal:
            columns += [
                CheckIn.walk_in_name,
                CheckIn.walk_in_phone,
                Donor.full_name,
                Donor.phone_e164,
            ]
        query = (
            select(*columns)  # type: ignore[call-overload]
            .outerjoin(
                Signup,
                and_(
                    col(Signup.drive_id) == col(CheckIn.drive_id),
                    col(Signup.donor_id) == col(CheckIn.donor_id),
                    col(Signup.status) != SignupStatus.CANCELLED,
                ),
            )
            .where(col(CheckIn.drive_id).in_([d.id for d in chunk]))
            .order_by(col(CheckIn.drive_id), col(CheckIn.id))
        )
        if personal:
            query = query.outerjoin(Donor, col(Donor.id) == col(CheckIn.donor_id))
        by_drive: dict[int, list[tuple[object, ...]]] = defaultdict(list)
        for found in await session.exec(query):
            by_drive[int(found[0])].append(tuple(found))
        rows: list[list[Cell]] = []
        for drive in chunk:
            place: list[Cell] = [
                drive.day,
                drive.id,
                drive.venue,
                campaign_label(drive.campaign),
                drive.ward_names(),
            ]
            for checkin in by_drive.get(drive.id, []):
                _drive, outcome, kind, volume, was_repeat, donor_id, signup_id = checkin[:7]
                gave = outcome == CheckinOutcome.DONATED
                ml = volume if gave and isinstance(volume, int) else None
                source = unregistered if donor_id is None else signed_up if signup_id else walk_in
                row: list[Cell] = [
                    *place,
                    _outcome_label(str(outcome)),
                    donation_kind_label(str(kind)) if gave and kind else None,
                    ml,
                    _number(units.converted(ml)) if ml is not None else None,
                    (repeat if was_repeat else first) if gave else None,
                    source,
                ]
                if personal:
                    walk_name, walk_phone, full_name, phone = checkin[7:11]
                    name = full_name if donor_id is not None else walk_name
                    number = phone if donor_id is not None else walk_phone
                    row += [
                        str(name) if name else None,
                        phone_label(str(number)) if number else None,
                    ]
                else:
                    row.append(None)
                rows.append(row)
        yield rows


def donations_filename(period: Period, fmt: ExportFormat) -> str:
    return f"hien-mau-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt.value}"


def _open_sheet(fmt: ExportFormat, sheet_name: str, header: Sequence[str]) -> Sheet:
    return CsvSheet(header) if fmt is ExportFormat.CSV else XlsxSheet(sheet_name, header)


async def _finish(sheet: Sheet, max_bytes: int) -> bytes:
    content = await asyncio.to_thread(sheet.finish)
    if len(content) > max_bytes:
        raise TooLarge(len(content))
    return content


async def build_donations(
    session: AsyncSession,
    drives: Sequence[DriveInfo],
    period: Period,
    fmt: ExportFormat,
    personal: bool,
    max_bytes: int = MAX_DOCUMENT_BYTES,
) -> Built:
    """The donations file, written in a worker thread a slice at a time; TooLarge past
    `max_bytes` (a CSV stops as soon as it is over, an XLSX is measured once zipped)."""
    sheet = await asyncio.to_thread(_open_sheet, fmt, _("Donations"), donations_header(personal))
    try:
        async for rows in donation_slices(session, drives, personal):
            await asyncio.to_thread(sheet.write, rows)
            if sheet.size() > max_bytes:
                raise TooLarge(sheet.size())
    except BaseException:
        await asyncio.to_thread(sheet.discard)
        raise
    content = await _finish(sheet, max_bytes)
    name = donations_filename(period, fmt)
    return Built(Document(name, content, MIME_TYPES[fmt]), sheet.rows, personal)


# ------------------------------------------------------------ progress against the plan


def progress_header() -> list[str]:
    return [
        _("Unit"),
        _("Population"),
        _("Target, bags (before conversion)"),
        _("Target, units of 250 ml (after conversion)"),
        _("Collected, bags (before conversion)"),
        _("Collected, units of 250 ml (after conversion)"),
        _("% of the target"),
        _("Rounds planned"),
        _("Drives held"),
        _("Behind the plan"),
    ]


def progress_rows(table: Sequence[Standing]) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for standing in table:
        unit, done = standing.unit, standing.figures
        percent = standing.percent
        if done is None:
            behind = _("not known: its drives are not tied to a ward")
        else:
            behind = _("yes") if standing.behind else _("no")
        rows.append(
            [
                unit.unit,
                unit.population,
                unit.bags,
                _number(standing.target_units),
                done.bag_count if done is not None else None,
                _number(done.converted_units) if done is not None else None,
                _number(percent, 1),
                unit.rounds,
                done.drives if done is not None else None,
                behind,
            ]
        )
    return rows


async def build_progress(
    table: Sequence[Standing], province: str, year: int, fmt: ExportFormat
) -> Built:
    """The progress table as a file (a few hundred units at most: one slice)."""
    header, rows = progress_header(), progress_rows(table)

    def write() -> bytes:
        sheet = _open_sheet(fmt, _("Progress"), header)
        sheet.write(rows)
        return sheet.finish()

    content = await asyncio.to_thread(write)
    name = f"tien-do-{province}-{year}.{fmt.value}"
    return Built(Document(name, content, MIME_TYPES[fmt]), len(rows), False)
