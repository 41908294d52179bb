"""Where a person is in a conversation: one row per person, written with the answer it follows."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from models import ConversationState
from models.types import utcnow


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
