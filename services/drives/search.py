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
    `start` and `until` in the wards each follows, soonest first (registration follows the
    donor's own ward). Two indexed queries for the whole batch, joined here: the batch's follows
    (by donor), then the drives of those wards."""
    if not donor_ids:
        return {}
    follows = await session.exec(
        select(Follow.donor_id, Follow.ward_code).where(col(Follow.donor_id).in_(donor_ids))
    )
    wards_of: dict[int, set[str]] = {}
    for donor_id, ward_code in follows.all():
        wards_of.setdefault(donor_id, set()).add(ward_code)
    wards = sorted({w for mine in wards_of.values() for w in mine})
    if not wards:
        return {}
    rows = await session.exec(
        select(DriveWard.ward_code, Drive)
        .join(Drive, col(Drive.id) == col(DriveWard.drive_id))
        .where(
            col(DriveWard.ward_code).in_(wards),
            col(Drive.status) == DriveStatus.PUBLISHED,
            col(Drive.starts_at) >= start,
            col(Drive.starts_at) < until,
        )
        .order_by(col(Drive.starts_at), col(Drive.id))
    )
    drives_in: dict[str, list[Drive]] = {}
    for ward_code, drive in rows.all():
        drives_in.setdefault(ward_code, []).append(drive)
    found: dict[int, list[Drive]] = {}
    for donor_id, mine in wards_of.items():
        candidates = {d.id: d for w in mine for d in drives_in.get(w, [])}
        ordered = sorted(candidates.values(), key=lambda d: (d.starts_at, d.id or 0))
        if ordered:
            found[donor_id] = ordered[:per_donor]
    return found
