"""Exports too large for a chat turn: a job row now, the file from the scheduler's process later.

The chat turn writes an `export_jobs` row (and its audit entry) and answers at once. The
scheduler (scheduler/jobs.py, in bot.py's process or `python -m scheduler`) claims pending jobs,
checks the person's roles again, reads the rows and writes the file in a worker thread, then in
one transaction marks the job done and queues the file in the outbox under the unique key
`export:<job id>`: the sender delivers it like any message, and the key makes a second copy
impossible, also when two processes built the same job.

A job survives a restart: a pending one is simply claimed later; one being built when the
process died is claimed again once its lease has run out. A claim counts an attempt; after
`MAX_ATTEMPTS` the job fails and the person is told, in their language, as for a file over
Telegram's 50 MB or a role that no longer covers the scope. The file's bytes go only to the
outbox row: never to a log, never to the job row.
"""

from __future__ import annotations

import logging
import time as clock
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor, ExportJob
from models.database import Database
from models.exports import ExportStatus
from models.types import utcnow
from services.conversation.dialog import Reply
from services.core.i18n import _, ngettext, use_locale
from services.core.labels import number_label
from services.outreach import messages, outbox
from services.outreach.messages import message_kind
from services.roles import access
from services.stats import export_files
from services.stats.export_buttons import ExportFormat
from services.stats.export_files import Built, DriveInfo, TooLarge
from services.stats.figures import Period, Scope

log = logging.getLogger(__name__)

DONATIONS = "donations"  # export_jobs.kind
LEASE = timedelta(minutes=5)  # a job "building" longer than this was lost with its process
MAX_ATTEMPTS = 3
BUDGET_SECONDS = 50.0  # one pass of the scheduler builds jobs for at most this long
READY, FAILED = "stats.export_ready", "stats.export_failed"  # outbox message kinds


class Reason:
    """Why a job failed (export_jobs.error, and the message the person gets)."""

    TOO_LARGE = "too_large"
    NOT_ALLOWED = "not_allowed"
    ERROR = "error"


@dataclass(frozen=True)
class DonationsRequest:
    """What a donations job builds: a scope and period, as a file, asked from a private chat
    or not (names and phones only for a private chat)."""

    scope: Scope
    period: Period
    format: ExportFormat
    private: bool

    def params(self) -> dict[str, Any]:
        scope = self.scope
        return {
            "province": scope.province,
            "wards": sorted(scope.wards) if scope.wards is not None else None,
            "campaign": scope.campaign,
            "drive_id": scope.drive_id,
            "start": self.period.start.isoformat(),
            "end": self.period.end.isoformat(),
            "private": self.private,
        }

    @classmethod
    def of(cls, job: ExportJob) -> DonationsRequest:
        p = job.params
        wards = p.get("wards")
        scope = Scope(
            p.get("province"),
            frozenset(wards) if wards is not None else None,
            p.get("campaign"),
            p.get("drive_id"),
        )
        period = Period(date.fromisoformat(p["start"]), date.fromisoformat(p["end"]))
        return cls(scope, period, ExportFormat(job.format), bool(p.get("private")))


def audit_scope(scope: Scope, drive: DriveInfo | None) -> str:
    """The scope as the audit log writes it (a drive: its province and wards)."""
    if drive is not None:
        return access.scope_label(drive.province, drive.wards)
    return access.scope_label(scope.province, scope.wards or ())


def audit_detail(request: DonationsRequest, rows: int, personal: bool) -> dict[str, Any]:
    """What an export's audit entry records besides who and where."""
    return {
        "export": DONATIONS,
        "format": str(request.format),
        "rows": rows,
        "personal": personal,
        "period": f"{request.period.start.isoformat()}/{request.period.end.isoformat()}",
        "campaign": request.scope.campaign,
        "drive_id": request.scope.drive_id,
    }


# ------------------------------------------------------------ the chat turn's side


async def queue(
    session: AsyncSession, donor: Donor, chat_id: str, request: DonationsRequest
) -> tuple[ExportJob, bool]:
    """A job for this request, in the caller's transaction; the same request still waiting
    (a second tap) is returned instead, with False."""
    assert donor.id is not None
    params = request.params()
    waiting = await session.exec(
        select(ExportJob).where(
            col(ExportJob.donor_id) == donor.id,
            col(ExportJob.kind) == DONATIONS,
            col(ExportJob.format) == str(request.format),
            col(ExportJob.status).in_([ExportStatus.PENDING, ExportStatus.BUILDING]),
        )
    )
    for job in waiting.all():
        if job.params == params:
            return job, False
    job = ExportJob(
        donor_id=donor.id,
        channel=donor.channel,
        external_id=donor.external_id,
        chat_id=chat_id,
        locale=donor.locale,
        kind=DONATIONS,
        format=str(request.format),
        params=params,
    )
    session.add(job)
    await session.flush()
    return job, True


# ------------------------------------------------------------ the scheduler's side


async def _claimable(session: AsyncSession, now: datetime) -> list[int]:
    """Jobs to build: pending, or building past their lease (their process died)."""
    result = await session.exec(
        select(ExportJob.id)
        .where(
            or_(
                col(ExportJob.status) == ExportStatus.PENDING,
                (col(ExportJob.status) == ExportStatus.BUILDING)
                & (col(ExportJob.claimed_at) < now - LEASE),
            )
        )
        .order_by(col(ExportJob.id))
        .limit(10)
    )
    return [int(i) for i in result.all() if i is not None]


async def claim(session: AsyncSession, job_id: int, now: datetime) -> ExportJob | None:
    """Take a job (one attempt more); None when another process took it first. The attempt
    count is the claim's token: only this claim may finish the job."""
    free = or_(
        col(ExportJob.status) == ExportStatus.PENDING,
        (col(ExportJob.status) == ExportStatus.BUILDING)
        & (col(ExportJob.claimed_at) < now - LEASE),
    )
    result = await session.exec(
        update(ExportJob)
        .where(col(ExportJob.id) == job_id, free)
        .values(status=ExportStatus.BUILDING, claimed_at=now, attempts=col(ExportJob.attempts) + 1)
    )
    if int(getattr(result, "rowcount", 0) or 0) != 1:
        return None
    found = await session.exec(
        select(ExportJob)
        .where(col(ExportJob.id) == job_id)
        .execution_options(populate_existing=True)
    )
    return found.one()


async def _close(
    session: AsyncSession, job: ExportJob, status: ExportStatus, **values: Any
) -> bool:
    """Move a job out of "building", if this claim still holds it."""
    result = await session.exec(
        update(ExportJob)
        .where(
            col(ExportJob.id) == job.id,
            col(ExportJob.status) == ExportStatus.BUILDING,
            col(ExportJob.attempts) == job.attempts,
        )
        .values(status=status, **values)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _recipient(
    job: ExportJob, key: str, params: dict[str, Any], locale: str, document: Any = None
) -> outbox.Recipient:
    reply = messages.render(key, params, locale)
    return outbox.Recipient(
        job.donor_id,
        job.chat_id,
        reply.text,
        document=document,
        message_key=key,
        params=params,
        locale=locale,
        channel=job.channel,
    )


async def _deliver(
    session: AsyncSession,
    job: ExportJob,
    built: Built,
    request: DonationsRequest,
    drive: DriveInfo | None,
    locale: str,
    now: datetime,
) -> bool:
    """Done: the file in the outbox (at most once) and the audit entry, in one transaction."""
    if not await _close(
        session,
        job,
        ExportStatus.DONE,
        rows=built.rows,
        size_bytes=len(built.document.content),
        finished_at=now,
    ):
        return False
    params = {"rows": built.rows, "personal": built.personal}
    payload = outbox.document_payload(built.document)
    recipient = _recipient(job, READY, params, locale, payload)
    await outbox.insert_once(
        session, [outbox.once_row(recipient, job.chat_id, f"export:{job.id}", now)]
    )
    await access.audit(
        session,
        f"{job.channel}:{job.external_id}",
        access.Action.VIEW_STATS,
        audit_scope(request.scope, drive),
        **audit_detail(request, built.rows, built.personal),
        delivery="built",
        job=job.id,
    )
    return True


async def _fail(
    session: AsyncSession, job: ExportJob, reason: str, locale: str, now: datetime, **params: Any
) -> bool:
    """Failed: the person is told why (at most once)."""
    if not await _close(session, job, ExportStatus.FAILED, error=reason, finished_at=now):
        return False
    told = {"reason": reason, **params}
    recipient = _recipient(job, FAILED, told, locale)
    await outbox.insert_once(
        session, [outbox.once_row(recipient, job.chat_id, f"export-failed:{job.id}", now)]
    )
    return True


async def _build(
    db: Database,
    job: ExportJob,
    admin_ids: frozenset[str],
    tz: ZoneInfo,
    locale: str,
    max_bytes: int,
) -> tuple[Built | str, DonationsRequest, DriveInfo | None]:
    """The file, or the reason it may not be made; roles are read again now."""
    request = DonationsRequest.of(job)
    async with db.session() as session:
        actor = await access.load_actor(session, job.channel, job.external_id, admin_ids)
        drive = None
        if request.scope.drive_id is not None:
            drive = await export_files.drive_info(session, request.scope.drive_id, tz)
        if not export_files.scope_allowed(actor, request.scope, drive):
            return Reason.NOT_ALLOWED, request, drive
        with use_locale(locale):
            drives = await export_files.scope_drives(session, request.scope, request.period, tz)
            personal = export_files.personal_allowed(actor, request.scope, drives, request.private)
            built = await export_files.build_donations(
                session, drives, request.period, request.format, personal, max_bytes
            )
    return built, request, drive


async def run_next(
    db: Database,
    tz: ZoneInfo,
    admin_ids: frozenset[str],
    *,
    now: datetime | None = None,
    max_bytes: int = export_files.MAX_DOCUMENT_BYTES,
) -> int | None:
    """Claim and build one job; its id, or None when there was nothing to build."""
    moment = now or utcnow()
    async with db.session() as session:
        candidates = await _claimable(session, moment)
        job = None
        for job_id in candidates:
            job = await claim(session, job_id, moment)
            if job is not None:
                break
    if job is None:
        return None
    assert job.id is not None
    async with db.session() as session:
        donor = await session.get(Donor, job.donor_id)
    locale = donor.locale if donor is not None else job.locale
    if job.attempts > MAX_ATTEMPTS:  # it took its process down that often
        async with db.session() as session:
            await _fail(session, job, Reason.ERROR, locale, moment)
        return job.id
    try:
        built, request, drive = await _build(db, job, admin_ids, tz, locale, max_bytes)
    except TooLarge as exc:
        log.info("Export job %s is too large to send (%d bytes)", job.id, exc.size)
        async with db.session() as session:
            megabytes = max(1, round(exc.size / 1_000_000))
            await _fail(session, job, Reason.TOO_LARGE, locale, utcnow(), mb=megabytes)
        return job.id
    except Exception:
        log.exception("Could not build export job %s (attempt %d)", job.id, job.attempts)
        async with db.session() as session:
            if job.attempts >= MAX_ATTEMPTS:
                await _fail(session, job, Reason.ERROR, locale, utcnow())
            else:
                await _close(session, job, ExportStatus.PENDING)
        return job.id
    async with db.session() as session:
        if isinstance(built, str):
            await _fail(session, job, built, locale, utcnow())
        elif await _deliver(session, job, built, request, drive, locale, utcnow()):
            log.info(
                "Export job %s built: %d rows, %d bytes",
                job.id,
                built.rows,
                len(built.document.content),
            )
    return job.id


async def run_pending(
    db: Database,
    tz: ZoneInfo,
    admin_ids: frozenset[str],
    *,
    budget: float = BUDGET_SECONDS,
    max_bytes: int = export_files.MAX_DOCUMENT_BYTES,
) -> int:
    """Build jobs until none is left or the pass has used its time; returns how many."""
    started, handled = clock.monotonic(), 0
    while clock.monotonic() - started < budget:
        if await run_next(db, tz, admin_ids, max_bytes=max_bytes) is None:
            break
        handled += 1
    return handled


# ------------------------------------------------------------ what the person is sent


@message_kind(READY)
def export_ready(params: dict[str, Any]) -> Reply:
    """The file is here (the file itself is the outbox row's document)."""
    n = int(params.get("rows", 0))
    text = ngettext(
        "📎 Your export is ready: {n} row.", "📎 Your export is ready: {n} rows.", n
    ).format(n=number_label(n))
    if not params.get("personal"):
        text += "\n" + _("Names and phone numbers are not included.")
    return Reply(text)


@message_kind(FAILED)
def export_failed(params: dict[str, Any]) -> Reply:
    """Why an export was not made."""
    reason = params.get("reason")
    if reason == Reason.TOO_LARGE:
        return Reply(
            _(
                "Sorry, your export is too large to send: about {mb} MB, and Telegram takes "
                "files of up to 50 MB. Please choose a shorter period or one ward, or Excel, "
                "whose files are smaller."
            ).format(mb=number_label(int(params.get("mb", 50))))
        )
    if reason == Reason.NOT_ALLOWED:
        return Reply(
            _("Your export was not made: your roles no longer cover that area. /whoami shows them.")
        )
    return Reply(_("Sorry, your export could not be prepared. Please ask for it again later."))
