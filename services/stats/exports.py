"""/stats exports, as the chat answers them: a period's donations and the progress against the
plan, as CSV or Excel, within the person's scope and audited.

The scope comes from the person's roles, never from the button: a button only narrows it (one
ward, campaign or drive), and a ward or drive outside their scope is refused. A small file comes
with the answer; one of more than `INLINE_ROWS` rows is a job built by the scheduler's process
(services/stats/export_jobs), and the answer says the file is on its way.
"""

from __future__ import annotations

import dataclasses
from zoneinfo import ZoneInfo

from models.drives import Campaign
from services.conversation.actor import Actor
from services.conversation.dialog import Reply
from services.conversation.flow import Turn
from services.core.i18n import _, ngettext
from services.core.labels import date_label, number_label
from services.outreach.notify import private_chat
from services.roles import access
from services.roles.refusals import refuse
from services.stats import export_files, export_jobs
from services.stats.export_buttons import ExportWhat, StatsExport
from services.stats.export_files import DriveInfo, TooLarge
from services.stats.export_jobs import DonationsRequest
from services.stats.figures import Scope
from services.stats.progress import standings
from services.stats.view import home_scope, scope_name

INLINE_ROWS = 2000  # more rows than this: built off the chat turn, sent when ready
MAX_DAYS = 3660  # a period longer than ten years is no button the bot made
ACTION = access.Action.VIEW_STATS


def _stale() -> list[Reply]:
    return [Reply(_("This button is no longer active."))]


async def answer(
    t: Turn, tz: ZoneInfo, button: StatsExport, inline_rows: int = INLINE_ROWS
) -> list[Reply]:
    """One export button of /stats."""
    actor = await t.actor()
    home = home_scope(actor)
    if home is None:
        return [refuse(ACTION)]
    period = button.period
    if period.start > period.end or (period.end - period.start).days > MAX_DAYS:
        return _stale()
    if button.what is ExportWhat.PROGRESS:
        return await _progress(t, tz, actor, home, button)
    narrowed = await _narrowed(t, tz, actor, home, button)
    if isinstance(narrowed, list):
        return narrowed
    scope, drive = narrowed
    request = DonationsRequest(scope, period, button.format, t.sender.private)
    session = t.session
    drives = await export_files.scope_drives(session, scope, period, tz)
    count = await export_files.count_checkins(session, scope, period, tz)
    personal = export_files.personal_allowed(actor, scope, drives, t.sender.private)
    where = export_jobs.audit_scope(scope, drive)
    if count > export_files.MAX_ROWS:
        return [
            Reply(
                _(
                    "This export would have {n} rows, more than one file can hold ({max}). "
                    "Please choose a shorter period or one ward."
                ).format(n=number_label(count), max=number_label(export_files.MAX_ROWS))
            )
        ]
    if count > inline_rows:
        job, new = await export_jobs.queue(session, t.me, private_chat(t.me), request)
        if not new:
            return [
                Reply(_("⏳ This export is already being prepared; it will arrive here as a file."))
            ]
        await access.audit(
            session,
            actor,
            ACTION,
            where,
            **export_jobs.audit_detail(request, count, personal),
            delivery="queued",
            job=job.id,
        )
        return [
            Reply(
                ngettext(
                    "⏳ Your export ({n} row) is being prepared; it will arrive here as a file.",
                    "⏳ Your export ({n} rows) is being prepared; it will arrive here as a file.",
                    count,
                ).format(n=number_label(count))
            )
        ]
    try:
        built = await export_files.build_donations(session, drives, period, button.format, personal)
    except TooLarge:
        return [Reply(export_jobs.export_failed({"reason": export_jobs.Reason.TOO_LARGE}).text)]
    await access.audit(
        session,
        actor,
        ACTION,
        where,
        **export_jobs.audit_detail(request, built.rows, built.personal),
        delivery="reply",
    )
    title = _("📎 {scope}, {period}").format(
        scope=_where_name(scope, drive),
        period=f"{date_label(period.start)}–{date_label(period.end)}",
    )
    text = (
        title
        + "\n"
        + ngettext("{n} row.", "{n} rows.", built.rows).format(n=number_label(built.rows))
    )
    if not built.personal:
        text += "\n" + _("Names and phone numbers are not included.")
    return [Reply(text, document=built.document)]


def _where_name(scope: Scope, drive: DriveInfo | None) -> str:
    if drive is not None:
        return drive.venue
    return scope_name(scope)


async def _narrowed(
    t: Turn, tz: ZoneInfo, actor: Actor, home: Scope, button: StatsExport
) -> tuple[Scope, DriveInfo | None] | list[Reply]:
    """The person's scope narrowed as the button says, or the refusal."""
    if button.drive:
        drive = await export_files.drive_info(t.session, button.drive, tz)
        if drive is None:
            return _stale()
        scope = Scope(None, drive_id=drive.id)
        if not export_files.scope_allowed(actor, scope, drive):
            return [refuse(ACTION, drive.province, drive.wards)]
        return scope, drive
    if button.ward:
        if home.province is None:
            return _stale()
        if not access.allowed(actor, ACTION, home.province, [button.ward]):
            return [refuse(ACTION, home.province, [button.ward])]
        return Scope(home.province, frozenset({button.ward})), None
    if button.campaign:
        if button.campaign not in tuple(Campaign):
            return _stale()
        return dataclasses.replace(home, campaign=button.campaign), None
    if not export_files.scope_allowed(actor, home):
        return [refuse(ACTION, home.province, home.wards or ())]
    return home, None


async def _progress(
    t: Turn, tz: ZoneInfo, actor: Actor, home: Scope, button: StatsExport
) -> list[Reply]:
    """The plan's units with target and actual, as a file (a leader: their wards' units)."""
    if home.province is None:
        return [Reply(_("The plans are per province: ask with a province's staff role."))]
    year = button.start.year
    table = await standings(t.session, home.province, year, tz, t.today)
    if table is None:
        return [
            Reply(
                _("No plan for {year} has been uploaded for {province} yet.").format(
                    year=year, province=scope_name(Scope(home.province))
                )
            )
        ]
    if home.wards is not None:
        table = [s for s in table if set(s.unit.ward_codes) & home.wards]
    built = await export_files.build_progress(table, home.province, year, button.format)
    await access.audit(
        t.session,
        actor,
        ACTION,
        access.scope_label(home.province, home.wards or ()),
        export="progress",
        format=str(button.format),
        rows=built.rows,
        personal=False,
        year=year,
        delivery="reply",
    )
    text = _("📎 {province}: the plan for {year} and where each unit stands.").format(
        province=scope_name(Scope(home.province)), year=year
    )
    return [Reply(text, document=built.document)]
