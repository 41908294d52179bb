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


async def drives_for_many(
    session: AsyncSession,
    donor_ids: list[int],
    start: datetime,
    until: datetime,
    per_donor: int = 3,
) -> dict[int, list[Drive]]:
    """For a batch of donors (the reminder sweep), the published drives starting between
    `start` and `until` in the wards each follows, soonest first: one query for the batch, not one
    per donor (registration follows the donor's own ward)."""
    if not donor_ids:
        return {}
    query = (
        select(Follow.donor_id, Drive)
        .join(DriveWard, col(DriveWard.ward_code) == col(Follow.ward_code))
        .join(Drive, col(Drive.id) == col(DriveWard.drive_id))
        .where(
            col(Follow.donor_id).in_(donor_ids),
            col(Drive.status) == DriveStatus.PUBLISHED,
            col(Drive.starts_at) >= start,
            col(Drive.starts_at) < until,
        )
        .order_by(col(Follow.donor_id), col(Drive.starts_at), col(Drive.id))
    )
    found: dict[int, list[Drive]] = {}
    for donor_id, drive in (await session.exec(query)).all():
        mine = found.setdefault(donor_id, [])
        if len(mine) < per_donor and all(d.id != drive.id for d in mine):
            mine.append(drive)
    return found
