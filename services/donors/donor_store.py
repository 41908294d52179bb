"""Plain CRUD for donors and their consents (their open conversation: conversation/state)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import CheckIn, ConsentRecord, ConversationState, Donation, Donor
from models.types import utcnow


async def get_donor(
    session: AsyncSession, channel: str, external_id: str, *, lock: bool = False
) -> Donor | None:
    """The donor behind a channel account, if they ever consented.

    With `lock`, the row stays locked until the transaction ends (PostgreSQL's FOR UPDATE;
    SQLite serialises writers anyway), so two updates of one person are handled one at a time."""
    query = select(Donor).where(Donor.channel == channel, Donor.external_id == external_id)
    result = await session.exec(query.with_for_update() if lock else query)
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
    """Really delete everything about a person (no soft delete): state, consents, profile,
    donations and check-ins (with one a leader recorded by their phone before they registered)."""
    phone = (await session.exec(select(Donor.phone_e164).where(col(Donor.id) == donor_id))).first()
    if phone:
        await session.exec(delete(CheckIn).where(col(CheckIn.walk_in_phone) == phone))
    await session.exec(delete(CheckIn).where(col(CheckIn.donor_id) == donor_id))
    await session.exec(delete(Donation).where(col(Donation.donor_id) == donor_id))
    await session.exec(delete(ConversationState).where(col(ConversationState.donor_id) == donor_id))
    await session.exec(delete(ConsentRecord).where(col(ConsentRecord.donor_id) == donor_id))
    await session.exec(delete(Donor).where(col(Donor.id) == donor_id))
