"""Finding drives for one donor beyond the upcoming list: those from a given day in their wards."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donor, Drive, DriveWard, Follow
from models.drives import DriveStatus


async def drives_from(
    session: AsyncSession, donor: Donor, start: datetime, limit: int = 3
) -> list[Drive]:
    """Published drives starting at or after `start` that serve the donor's own ward or a ward
    they follow, soonest first (offered when a sign-up is too early for the donor)."""
    followed = select(Follow.ward_code).where(col(Follow.donor_id) == donor.id)
    own_wards = [donor.ward_code] if donor.ward_code else []
    serving = select(DriveWard.drive_id).where(
        col(DriveWard.ward_code).in_(followed) | col(DriveWard.ward_code).in_(own_wards)
    )
    query = (
        select(Drive)
        .where(
            col(Drive.status) == DriveStatus.PUBLISHED,
            col(Drive.starts_at) >= start,
            col(Drive.id).in_(serving),
        )
        .order_by(col(Drive.starts_at), col(Drive.id))
        .limit(limit)
    )
    return list((await session.exec(query)).all())
