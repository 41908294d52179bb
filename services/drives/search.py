"""Finding drives for one donor beyond the upcoming list: those from a given day in their wards."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy
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


@dataclass(frozen=True, slots=True)
class DriveLine:
    """What a reminder says of a drive: when, where, and its id for the sign-up button."""

    id: int
    starts_at: datetime
    ends_at: datetime
    venue_name: str


async def drives_for_wards(
    session: AsyncSession,
    ward_sets: set[frozenset[str]],
    start: datetime,
    until: datetime,
    per_set: int = 3,
) -> dict[frozenset[str], list[DriveLine]]:
    """For the reminder sweep: the published drives starting between `start` and `until` in
    each set of wards (the wards a donor follows), soonest first, at most `per_set` each. One
    indexed query for all the sets, joined here; donors following the same wards (most follow
    only their own) share one list."""
    wards = sorted({w for mine in ward_sets for w in mine})
    if not wards:
        return {}
    connection = await session.connection()  # plain rows: a pass covers thousands of donors
    rows = await connection.execute(
        sqlalchemy.select(
            col(DriveWard.ward_code),
            col(Drive.id),
            col(Drive.starts_at),
            col(Drive.ends_at),
            col(Drive.venue_name),
        )
        .join(Drive, col(Drive.id) == col(DriveWard.drive_id))
        .where(
            col(DriveWard.ward_code).in_(wards),
            col(Drive.status) == DriveStatus.PUBLISHED,
            col(Drive.starts_at) >= start,
            col(Drive.starts_at) < until,
        )
        .order_by(col(Drive.starts_at), col(Drive.id))
    )
    drives_in: dict[str, list[DriveLine]] = {}
    for ward_code, drive_id, starts_at, ends_at, venue_name in rows:
        line = DriveLine(drive_id or 0, starts_at, ends_at, venue_name)
        drives_in.setdefault(ward_code, []).append(line)
    found: dict[frozenset[str], list[DriveLine]] = {}
    for mine in ward_sets:
        candidates = {d.id: d for w in mine for d in drives_in.get(w, [])}
        ordered = sorted(candidates.values(), key=lambda d: (d.starts_at, d.id))
        if ordered:
            found[mine] = ordered[:per_set]
    return found
