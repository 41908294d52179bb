"""Plain CRUD for donors, their consents and their open conversation."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ConsentRecord, ConversationState, Donor
from models.types import utcnow


async def get_donor(session: AsyncSession, channel: str, external_id: str) -> Donor | None:
    """The donor behind a channel account, if they ever consented."""
    result = await session.exec(
        select(Donor).where(Donor.channel == channel, Donor.external_id == external_id)
    )
    return result.first()


async def create_donor_with_consent(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    chat_id: str,
    locale: str,
    consent_version: str,
    now: datetime | None = None,
) -> Donor:
    """The first row about a person, written only when they tap "I agree"."""
    now = now or utcnow()
    donor = Donor(
        channel=channel,
        external_id=external_id,
        chat_id=chat_id,
        locale=locale,
        consent_version=consent_version,
        consented_at=now,
        created_at=now,
        updated_at=now,
    )
    session.add(donor)
    await session.flush()
    assert donor.id is not None
    session.add(
        ConsentRecord(donor_id=donor.id, version=consent_version, locale=locale, accepted_at=now)
    )
    return donor


def update_donor(donor: Donor, **fields: Any) -> None:
    """Set profile fields and touch updated_at (the session flushes it)."""
    for name, value in fields.items():
        setattr(donor, name, value)
    donor.updated_at = utcnow()


async def delete_donor(session: AsyncSession, donor_id: int) -> None:
    """Really delete everything about a person (no soft delete): state, consents, profile."""
    await session.exec(delete(ConversationState).where(col(ConversationState.donor_id) == donor_id))
    await session.exec(delete(ConsentRecord).where(col(ConsentRecord.donor_id) == donor_id))
    await session.exec(delete(Donor).where(col(Donor.id) == donor_id))


async def get_state(session: AsyncSession, donor_id: int) -> ConversationState | None:
    """The donor's open flow, if any."""
    return await session.get(ConversationState, donor_id)


async def set_state(
    session: AsyncSession, donor_id: int, flow: str, step: str, data: dict[str, Any] | None = None
) -> ConversationState:
    """Open or move a flow; written in the same transaction as the answer that caused it."""
    state = await session.get(ConversationState, donor_id)
    if state is None:
        state = ConversationState(donor_id=donor_id, flow=flow, step=step, data=dict(data or {}))
        session.add(state)
    else:
        # Another flow starts afresh: the last one's answers (health answers too) are dropped.
        kept = state.data if state.flow == flow else {}
        state.flow, state.step = flow, step
        state.data = dict(data if data is not None else kept)
        state.updated_at = utcnow()
    return state


async def clear_state(session: AsyncSession, donor_id: int) -> None:
    """Close the open flow."""
    await session.exec(delete(ConversationState).where(col(ConversationState.donor_id) == donor_id))


async def expire_states(
    session: AsyncSession, flows: Collection[str], idle_since: datetime
) -> int:
    """Close the flows of these kinds left idle since before `idle_since`; returns how many."""
    if not flows:
        return 0
    result = await session.exec(
        delete(ConversationState).where(
            col(ConversationState.flow).in_(list(flows)),
            col(ConversationState.updated_at) < idle_since,
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)
