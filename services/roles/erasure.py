"""/forget for real: the person's rows deleted, their roles ended, their id gone from the rest.

What must outlive the person (who announced a drive, who sent a notice, who granted a role: the
steering committee answers for these) keeps its place in the audit trail under a pseudonym: a
keyed hash of the channel account, the same in every table, so the trail still holds together
but cannot be traced back without the key (Law 91/2025/QH15 allows keeping what a legal duty
needs, with the identity removed).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, cast, delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import AuditEntry, Broadcast, Drive, OutboxMessage, RoleGrant
from services.donors import donor_store
from services.roles import access

PSEUDONYM_PREFIX = "anon:"


def pseudonym(key: bytes, channel: str, external_id: str) -> str:
    """The stand-in for a channel account: "anon:" and 16 hex digits of an HMAC-SHA256."""
    digest = hmac.new(key, f"{channel}:{external_id}".encode(), hashlib.sha256).hexdigest()
    return PSEUDONYM_PREFIX + digest[:16]


@dataclass(frozen=True)
class Erasure:
    """What /forget did beyond the donor's own rows, so the reply can say it truthfully."""

    had_profile: bool
    roles_ended: int
    records_pseudonymised: int


def _replace(value: Any, old: set[str], new: str) -> Any:
    """Every string in a JSON value equal to one of `old` (the id, or "telegram:<id>") → `new`."""
    if isinstance(value, str):
        return new if value in old else value
    if isinstance(value, list):
        return [_replace(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, old, new) for k, v in value.items()}
    return value


async def holds_anything(session: AsyncSession, channel: str, external_id: str) -> bool:
    """A profile, a role, or a trace in the audit trail: something /forget would touch."""
    if await donor_store.get_donor(session, channel, external_id) is not None:
        return True
    label = f"{channel}:{external_id}"
    grant = await session.exec(
        select(RoleGrant.id).where(
            col(RoleGrant.channel) == channel, col(RoleGrant.external_id) == external_id
        )
    )
    if grant.first() is not None:
        return True
    trace = await session.exec(select(AuditEntry.id).where(col(AuditEntry.actor) == label))
    return trace.first() is not None


async def forget_person(
    session: AsyncSession, channel: str, external_id: str, chat_id: str, key: bytes
) -> Erasure:
    """Delete the profile (its consents, state, sign-ups, follows and queued messages go with it
    by cascade), end every role, and pseudonymise the id wherever a record must stay."""
    label = f"{channel}:{external_id}"
    alias = pseudonym(key, channel, external_id)
    donor = await donor_store.get_donor(session, channel, external_id)
    if donor is not None and donor.id is not None:
        chat_id = donor.chat_id
        await donor_store.delete_donor(session, donor.id)
    ended = await session.exec(
        delete(RoleGrant).where(
            col(RoleGrant.channel) == channel, col(RoleGrant.external_id) == external_id
        )
    )
    touched = 0
    for statement in (
        update(RoleGrant).where(col(RoleGrant.granted_by) == label).values(granted_by=alias),
        update(Drive).where(col(Drive.created_by) == label).values(created_by=alias),
        update(Broadcast).where(col(Broadcast.author) == label).values(author=alias),
        update(Broadcast)
        .where(col(Broadcast.progress_chat_id) == chat_id)
        .values(progress_chat_id=None),
    ):
        result = await session.exec(statement)
        touched += int(getattr(result, "rowcount", 0) or 0)
    # Messages to this chat that belong to no donor row (progress notes, early replies).
    await session.exec(delete(OutboxMessage).where(col(OutboxMessage.chat_id) == chat_id))
    entries = await session.exec(
        select(AuditEntry).where(
            or_(
                col(AuditEntry.actor) == label,
                cast(AuditEntry.detail, String).contains(external_id),
            )
        )
    )
    identities = {label, external_id}
    for entry in entries.all():
        actor = alias if entry.actor == label else entry.actor
        detail = _replace(entry.detail, identities, alias)
        if actor != entry.actor or detail != entry.detail:
            entry.actor, entry.detail = actor, detail
            session.add(entry)
            touched += 1
    if touched or int(getattr(ended, "rowcount", 0) or 0):
        await access.audit(session, alias, access.AuditEvent.FORGET, "", roles_ended=ended.rowcount or 0)
    return Erasure(
        had_profile=donor is not None,
        roles_ended=int(getattr(ended, "rowcount", 0) or 0),
        records_pseudonymised=touched,
    )
