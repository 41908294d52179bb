"""Drive reminders for everyone with a seat: the evening before (19:00, with advice) and two
hours before the start.

A sweep, not rows written at sign-up: every pass looks at the confirmed sign-ups of drives
starting in the next 26 hours and writes what is missing, with a key naming the sign-up, the
drive's start and a digest of its place ("drive:<signup>:<start>:<version>:eve"). A moved drive
thus gets new reminders; the pass first cancels pending ones that no longer fit (a cancelled
sign-up or drive, a moved time or place). Cancelling a sign-up or a drive also cancels them at
once (services/drives/drive_store.cancel_drive_reminders), so nothing waits for the next pass.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor, Drive, OutboxMessage, Signup
from models.drives import DriveStatus, SignupStatus
from models.outbox import DeliveryStatus
from services.conversation.dialog import Reply
from services.core.i18n import _
from services.drives.buttons import CancelSignup
from services.drives.drive_store import REMINDER_KEY_PREFIX
from services.drives.views import when_label
from services.outreach import notify, outbox
from services.outreach.messages import Message, message_kind
from services.reminders.sweep import DEFAULT_TZ

EVE = "reminder.drive_eve"
SOON = "reminder.drive_soon"
KINDS = (EVE, SOON)
WINDOW = timedelta(hours=26)  # 19:00 the day before a drive at 21:00 is 26 hours ahead
EVE_AT = time(19)
BEFORE = timedelta(hours=2)
LAST_CALL = timedelta(minutes=30)  # a "before" reminder held past this (quiet hours) is dropped
KEY_CHUNK = 500


@dataclass(frozen=True)
class DriveSweepResult:
    """What one pass did."""

    queued: int = 0
    cancelled: int = 0


def version(drive: Drive, signup: Signup) -> str:
    """A digest of what a reminder says (time and place) and of the sign-up's moment (signing
    up again after cancelling makes new reminders)."""
    parts = (
        drive.starts_at.astimezone(UTC).isoformat(),
        drive.ends_at.astimezone(UTC).isoformat(),
        drive.venue_name,
        drive.address,
        str(int(signup.created_at.timestamp())),
    )
    return f"{zlib.crc32('|'.join(parts).encode()):08x}"


def reminder_key(signup: Signup, drive: Drive, which: str) -> str:
    """drive:<signup>:<start, UTC>:<version>:<eve|2h>."""
    start = drive.starts_at.astimezone(UTC)
    return f"{REMINDER_KEY_PREFIX}{signup.id}:{start:%Y%m%d%H%M}:{version(drive, signup)}:{which}"


def planned(
    drive: Drive, signup: Signup, now: datetime, tz: ZoneInfo, quiet_hours: tuple[time, time]
) -> list[tuple[str, str, datetime]]:
    """(which, message kind, when) of the reminders this seat should get; none of those that
    would come after the seat was taken, or too late to be of use."""
    start = drive.starts_at
    eve = datetime.combine(start.astimezone(tz).date() - timedelta(days=1), EVE_AT, tz)
    soon = start - BEFORE
    seated = signup.updated_at  # when the seat was taken (sign-up, or promotion from waiting)
    quiet_start, quiet_end = quiet_hours
    out: list[tuple[str, str, datetime]] = []
    if seated < eve:
        at = outbox.quiet_hours_not_before(max(eve, now), tz, quiet_start, quiet_end)
        if at < soon:
            out.append(("eve", EVE, at))
    if seated < soon:
        at = outbox.quiet_hours_not_before(max(soon, now), tz, quiet_start, quiet_end)
        if at <= start - LAST_CALL:
            out.append(("2h", SOON, at))
    return out


def _params(drive: Drive, signup: Signup, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "drive_id": drive.id,
        "signup_id": signup.id,
        "version": version(drive, signup),
        "starts": drive.starts_at.astimezone(UTC).isoformat(),
        "ends": drive.ends_at.astimezone(UTC).isoformat(),
        "venue": drive.venue_name,
        "address": drive.address,
        "tz": tz.key,
    }


def _when(params: dict[str, Any]) -> str:
    tz = ZoneInfo(str(params.get("tz") or DEFAULT_TZ))
    starts, ends = datetime.fromisoformat(params["starts"]), datetime.fromisoformat(params["ends"])
    return when_label(starts, ends, tz)


def _cancel_button(params: dict[str, Any]) -> list[list[Any]]:
    return [[CancelSignup(int(params["drive_id"])).button(_("Cancel my sign-up"))]]


@message_kind(EVE)
def eve_message(params: dict[str, Any]) -> Reply:
    """The evening before: when and where, and how to prepare."""
    text = "\n".join(
        [
            _("🩸 Tomorrow you give blood: {when}, {venue} ({address}).").format(
                when=_when(params), venue=params["venue"], address=params["address"]
            ),
            "",
            _(
                "To be ready: sleep well tonight, eat a light meal before you come (nothing "
                "fatty), drink no alcohol, and bring your citizen ID card (CCCD)."
            ),
            _("Cannot come after all? Please cancel, so that someone waiting gets your seat."),
        ]
    )
    return Reply(text, _cancel_button(params))


@message_kind(SOON)
def soon_message(params: dict[str, Any]) -> Reply:
    """A little before the start."""
    text = _(
        "⏰ Your blood drive is today: {when}, {venue} ({address}). Have a light meal and a "
        "glass of water before you come, and bring your CCCD. Thank you!"
    ).format(when=_when(params), venue=params["venue"], address=params["address"])
    return Reply(text, _cancel_button(params))


async def cancel_stale(session: AsyncSession) -> int:
    """Pending drive reminders whose sign-up, drive, time or place changed: not sent."""
    pending = list(
        (
            await session.exec(
                select(OutboxMessage.id, OutboxMessage.params).where(
                    col(OutboxMessage.status) == DeliveryStatus.PENDING,
                    col(OutboxMessage.message_key).in_(KINDS),
                )
            )
        ).all()
    )
    if not pending:
        return 0
    signup_ids = {int((params or {}).get("signup_id") or 0) for _id, params in pending}
    current = {
        signup.id: (signup, drive)
        for signup, drive in (
            await session.exec(
                select(Signup, Drive)
                .join(Drive, col(Drive.id) == col(Signup.drive_id))
                .where(col(Signup.id).in_(signup_ids))
            )
        ).all()
    }
    reasons: dict[str, list[int]] = {}
    for row_id, params in pending:
        found = current.get(int((params or {}).get("signup_id") or 0))
        reason = None
        if found is None or found[0].status != SignupStatus.CONFIRMED:
            reason = "sign-up cancelled"
        elif found[1].status != DriveStatus.PUBLISHED:
            reason = "drive cancelled"
        elif version(found[1], found[0]) != (params or {}).get("version"):
            reason = "drive moved"
        if reason is not None and row_id is not None:
            reasons.setdefault(reason, []).append(row_id)
    for reason, ids in reasons.items():
        await session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.id).in_(ids), col(OutboxMessage.status) == DeliveryStatus.PENDING
            )
            .values(status=DeliveryStatus.FAILED, error=reason)
        )
    return sum(len(ids) for ids in reasons.values())


async def sweep_drive_reminders(
    session: AsyncSession, now: datetime, tz: ZoneInfo, quiet_hours: tuple[time, time]
) -> DriveSweepResult:
    """One pass, in the caller's transaction."""
    cancelled = await cancel_stale(session)
    seats = (
        await session.exec(
            select(Signup, Drive, Donor)
            .join(Drive, col(Drive.id) == col(Signup.drive_id))
            .join(Donor, col(Donor.id) == col(Signup.donor_id))
            .where(
                col(Signup.status) == SignupStatus.CONFIRMED,
                col(Drive.status) == DriveStatus.PUBLISHED,
                col(Drive.starts_at) > now,
                col(Drive.starts_at) <= now + WINDOW,
                col(Donor.stopped_at).is_(None),
            )
        )
    ).all()
    wanted: dict[str, tuple[str, datetime, Signup, Drive, Donor]] = {}
    for signup, drive, donor in seats:
        for which, kind, at in planned(drive, signup, now, tz, quiet_hours):
            wanted[reminder_key(signup, drive, which)] = (kind, at, signup, drive, donor)
    keys = list(wanted)
    existing: set[str] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        found = await session.exec(
            select(OutboxMessage.dedupe_key).where(
                col(OutboxMessage.dedupe_key).in_(keys[start : start + KEY_CHUNK])
            )
        )
        existing.update(k for k in found.all() if k is not None)
    rows = []
    for key, (kind, at, signup, drive, donor) in wanted.items():
        if key in existing:
            continue
        recipient = notify.recipient_for(donor, Message(kind, _params(drive, signup, tz)))
        rows.append(outbox.once_row(recipient, notify.private_chat(donor), key, at))
    return DriveSweepResult(await outbox.insert_once(session, rows), cancelled)
