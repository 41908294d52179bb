"""Who signed up for a drive, for its leaders at any time: a list, and a CSV or XLSX file to export.

Names and phones are shown in private chats only; every export is audited. A CSV cell that a
spreadsheet would read as a formula (= + - @ tab CR) is prefixed with ' (CSV injection), and
the file is UTF-8 with a BOM so that Excel shows the diacritics.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

from models.donations import CheckinOutcome
from models.drives import SignupStatus
from models.types import utcnow
from services.conversation.dialog import Document, Reply
from services.conversation.flow import Turn
from services.core.i18n import _
from services.core.labels import blood_group_label, phone_label
from services.core.spreadsheets import Cell, csv_bytes, xlsx_bytes
from services.donations import desk
from services.donations.desk import DeskDrive, Entry
from services.drives.buttons import SignupList
from services.drives.views import when_label
from services.roles import access
from services.roles.refusals import refuse

RECENT = timedelta(days=7)  # /signups also lists the drives of the past week
LINES_PER_MESSAGE = 50


def status_label(entry: Entry) -> str:
    """Seat, waiting list or walk-in."""
    if entry.signup_status == SignupStatus.CONFIRMED:
        return _("seat")
    if entry.signup_status == SignupStatus.WAITING:
        return _("waiting list")
    return _("walk-in")


def outcome_label(entry: Entry) -> str:
    """What the desk recorded, or nothing yet."""
    labels = {
        CheckinOutcome.DONATED: _("donated"),
        CheckinOutcome.DEFERRED: _("deferred"),
        CheckinOutcome.NO_SHOW: _("did not come"),
    }
    return labels.get(CheckinOutcome(entry.outcome), "") if entry.outcome else ""


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _header() -> list[str]:
    return [
        _("No."),
        _("Name"),
        _("Phone"),
        _("Blood group"),
        _("Status"),
        _("Check-in"),
        _("ml"),
    ]


def _rows(entries: list[Entry]) -> list[list[Cell]]:
    return [
        [
            number,
            entry.name,
            phone_label(entry.phone) if entry.phone else "",
            blood_group_label(entry.blood_group) if entry.blood_group else "",
            status_label(entry),
            outcome_label(entry),
            entry.checkin.volume_ml if entry.checkin is not None else None,
        ]
        for number, entry in enumerate(entries, start=1)
    ]


def signup_csv(entries: list[Entry]) -> bytes:
    """The list as a CSV file (services/core/spreadsheets: BOM, formulas escaped)."""
    return csv_bytes(_header(), _rows(entries))


def signup_xlsx(entries: list[Entry]) -> bytes:
    """The list as an XLSX workbook (numbers as numbers, text never a formula)."""
    return xlsx_bytes(_("Sign-ups"), _header(), _rows(entries))


async def _scope(t: Turn, drive_id: int | None = None) -> list[DeskDrive]:
    """The upcoming and recent drives whose sign-ups the person may see."""
    drives = await desk.drives_in_scope(
        t.session, await t.actor(), access.Action.VIEW_SIGNUPS, ending_after=utcnow() - RECENT
    )
    return [d for d in drives if drive_id is None or d.id == drive_id]


async def overview(t: Turn, tz: ZoneInfo) -> list[Reply]:
    """/signups: the drives whose lists the person may see."""
    actor = await t.actor()
    if not actor.is_privileged:
        return [refuse(access.Action.VIEW_SIGNUPS)]
    drives = await _scope(t)
    if not drives:
        return [Reply(_("You have no upcoming or recent drive."))]
    rows = [
        [
            SignupList(d.id).button(
                f"{d.drive.starts_at.astimezone(tz):%d/%m %H:%M} · {d.drive.venue_name[:30]}"
            )
        ]
        for d in drives
    ]
    return [Reply(_("Whose sign-ups do you want to see?"), rows)]


async def show(t: Turn, button: SignupList, tz: ZoneInfo) -> list[Reply]:
    """One drive's list (names, blood groups, status), or its CSV file."""
    actor = await t.actor()
    drives = await _scope(t, button.drive_id) if actor.is_privileged else []
    if not drives:
        return [refuse(access.Action.VIEW_SIGNUPS)]
    if not t.sender.private:
        return [
            Reply(
                _("Donors' names and phone numbers are shown only in a private chat with the bot.")
            )
        ]
    found = drives[0]
    entries = await desk.roster(t.session, found.id)
    drive = found.drive
    heading = f"🩸 {drive.venue_name}\n🗓 {when_label(drive.starts_at, drive.ends_at, tz)}"
    scope = access.scope_label(drive.province_code, found.ward_codes)
    if button.export:
        kind = "xlsx" if button.xlsx else "csv"
        await access.audit(
            t.session,
            actor,
            access.Action.VIEW_SIGNUPS,
            scope,
            drive_id=found.id,
            export=kind,
            rows=len(entries),
        )
        day = drive.starts_at.astimezone(tz).date().isoformat()
        name = f"dang-ky-{found.id}-{day}.{kind}"
        if button.xlsx:
            content = await asyncio.to_thread(signup_xlsx, entries)  # in the reader's language
            document = Document(name, content, XLSX)
            said = _("📎 The sign-up list as an Excel file:")
        else:
            document = Document(name, signup_csv(entries), "text/csv")
            said = _("📎 The sign-up list as a CSV file:")
        return [Reply(heading + "\n" + said, document=document)]
    await access.audit(
        t.session, actor, access.Action.VIEW_SIGNUPS, scope, drive_id=found.id, rows=len(entries)
    )
    if not entries:
        return [Reply(heading + "\n\n" + _("Nobody has signed up yet."))]
    lines = []
    for number, entry in enumerate(entries, start=1):
        parts = [entry.name, blood_group_label(entry.blood_group), status_label(entry)]
        if entry.outcome:
            parts.append(outcome_label(entry))
        lines.append(f"{number}. " + " · ".join(parts))
    replies = []
    for start in range(0, len(lines), LINES_PER_MESSAGE):
        chunk = "\n".join(lines[start : start + LINES_PER_MESSAGE])
        replies.append(Reply(heading + "\n\n" + chunk if start == 0 else chunk))
    replies[-1].buttons = [
        [
            SignupList(found.id, export=True).button(_("📎 Export as CSV")),
            SignupList(found.id, export=True, xlsx=True).button(_("📎 Export as Excel")),
        ]
    ]
    return replies
