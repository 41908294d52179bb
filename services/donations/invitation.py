"""A walk-in's invitation: the link a leader forwards to someone recorded at the desk by name and
phone because they were not registered.

`w_<check-in id in hex>_<HMAC, 9 bytes base64url>` inside a start link. Whoever opens it and
registers (or is registered already) takes that check-in into their own record: the donation
counts, the thank-you date and the "you can give again" reminder follow. Only the link the
leader sent can do this (a phone number typed at registration could be anyone's), once: the
name and phone kept for the walk-in are then dropped, the person's own profile holds them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from models import CheckIn, Donor, Drive
from services.donations import desk
from services.drives import drive_store
from services.eligibility.rules import RuleOptions
from services.roles import access

PREFIX = "w_"
MAC_BYTES = 9
_TOKEN = re.compile(r"^w_([0-9a-f]{1,12})_([A-Za-z0-9_-]{12})$")


def invitation_key(pseudonym_key: bytes) -> bytes:
    """The key of the invitation tokens, apart from every other use of the pseudonym key."""
    return hmac.new(pseudonym_key, b"walk-in-invitation", hashlib.sha256).digest()


def _mac(key: bytes, checkin_id: int) -> str:
    digest = hmac.new(key, str(checkin_id).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode().rstrip("=")


def make_token(key: bytes, checkin_id: int) -> str:
    """The start payload of the invitation for one walk-in's check-in."""
    return f"{PREFIX}{checkin_id:x}_{_mac(key, checkin_id)}"


def read_token(key: bytes, token: str) -> int | None:
    """The check-in id of a genuine token; None for anything else."""
    match = _TOKEN.match(token)
    if match is None:
        return None
    checkin_id = int(match.group(1), 16)
    if not hmac.compare_digest(match.group(2), _mac(key, checkin_id)):
        return None
    return checkin_id


def is_invitation(payload: str) -> bool:
    """Whether a start payload looks like an invitation (genuine or not)."""
    return _TOKEN.match(payload) is not None


class Claim(StrEnum):
    """What opening an invitation did."""

    TAKEN = "taken"  # the check-in is the person's now
    USED = "used"  # taken already (by this person or someone else), or no longer kept
    ALREADY_THERE = "already_there"  # the person has their own check-in at that drive
    INVALID = "invalid"  # not a genuine invitation


@dataclass(frozen=True)
class Claimed:
    """The outcome, and the check-in and its drive when it was taken."""

    result: Claim
    checkin: CheckIn | None = None
    drive: Drive | None = None


async def claim(
    session: AsyncSession,
    key: bytes,
    token: str,
    donor: Donor,
    *,
    tz: ZoneInfo,
    today: date,
    options: RuleOptions | None = None,
) -> Claimed:
    """Give a walk-in's check-in to the registered person who opened its invitation."""
    checkin_id = read_token(key, token)
    if checkin_id is None:
        return Claimed(Claim.INVALID)
    checkin = await session.get(CheckIn, checkin_id)
    if checkin is None or checkin.donor_id is not None:
        return Claimed(Claim.USED)
    await drive_store.lock_drive(session, checkin.drive_id)  # the desk may be correcting it
    await session.refresh(checkin)
    drive = await session.get(Drive, checkin.drive_id)
    if checkin.donor_id is not None or drive is None:
        return Claimed(Claim.USED)
    assert donor.id is not None
    if await desk.checkin_of(session, drive.id or 0, donor.id) is not None:
        return Claimed(Claim.ALREADY_THERE)
    checkin.donor_id = donor.id
    checkin.walk_in_name = checkin.walk_in_phone = None
    await desk.into_history(session, donor, checkin, drive, tz=tz, today=today, options=options)
    session.add(checkin)
    await session.flush()
    await access.audit(
        session,
        f"{donor.channel}:{donor.external_id}",  # as Actor.label: /forget pseudonymises it
        access.AuditEvent.WALK_IN_TAKEN,
        access.scope_label(drive.province_code, []),
        drive_id=drive.id,
        checkin_id=checkin.id,
        outcome=checkin.outcome,
    )
    return Claimed(Claim.TAKEN, checkin, drive)
