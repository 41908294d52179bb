"""The wards a person follows: where their drive announcements and notices come from."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor, Follow


async def follow(session: AsyncSession, donor_id: int, province_code: str, ward_code: str) -> bool:
    """Follow a ward; False when already followed."""
    if await session.get(Follow, (donor_id, province_code, ward_code)) is not None:
        return False
    session.add(Follow(donor_id=donor_id, province_code=province_code, ward_code=ward_code))
    return True


async def unfollow(
    session: AsyncSession, donor_id: int, province_code: str, ward_code: str
) -> bool:
    """Stop following a ward; False when it was not followed."""
    row = await session.get(Follow, (donor_id, province_code, ward_code))
    if row is None:
        return False
    await session.delete(row)
    return True


async def followed_wards(session: AsyncSession, donor_id: int) -> list[tuple[str, str]]:
    """(province, ward) pairs a donor follows."""
    result = await session.exec(
        select(Follow.province_code, Follow.ward_code).where(col(Follow.donor_id) == donor_id)
    )
    return [(p, w) for p, w in result.all()]


async def followers(
    session: AsyncSession, province_code: str, ward_codes: list[str] | None
) -> list[Donor]:
    """Active registered donors following any of the wards (all the province's when None)."""
    follows = select(Follow.donor_id).where(col(Follow.province_code) == province_code)
    if ward_codes is not None:
        follows = follows.where(col(Follow.ward_code).in_(ward_codes))
    result = await session.exec(
        select(Donor)
        .where(
            col(Donor.id).in_(follows),
            col(Donor.stopped_at).is_(None),
            col(Donor.registered_at).is_not(None),
        )
        .order_by(col(Donor.id))
    )
    return list(result.all())
