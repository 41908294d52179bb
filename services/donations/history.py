"""A donor's donations: recording them, and what the most recent one means for the next.

The donation table is the history. The donor row keeps the most recent donation's day and kind
(`last_donation_date`/`_kind`, the fields registration asks for) and the day a "you may give
again" reminder is due (`remind_on`), so the eligibility rules, the sign-up check and the reminder
sweep read one row. `refresh` rewrites them from the history after every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Donation, Donor
from models.donations import DonationSource
from models.donor import DonationKind
from models.types import utcnow
from services.core.i18n import _
from services.core.labels import NEVER_DONATED
from services.core.validation import InputError
from services.eligibility.donor_status import schedule_reminder
from services.eligibility.rules import RuleOptions

WHOLE_BLOOD_VOLUMES = (250, 350, 450)  # the standard bags (Điều 7, Thông tư 26/2013/TT-BYT)
APHERESIS_VOLUME_RANGE = (100, 650)  # what an apheresis collection may be recorded as, in ml
SELF = "self"  # recorded_by of a donation the donor reported
REGISTRATION = "registration"  # recorded_by of the last donation stated when registering


@dataclass(frozen=True)
class Summary:
    """What a donor's history adds up to."""

    count: int
    total_ml: int
    last: Donation | None


def check_volume(kind: DonationKind, volume_ml: int) -> int:
    """A volume that fits the kind: a standard bag for whole blood, a plausible apheresis one."""
    if kind in (DonationKind.WHOLE_BLOOD, DonationKind.RED_CELLS):
        if volume_ml not in WHOLE_BLOOD_VOLUMES:
            raise InputError(_("A whole-blood bag is 250, 350 or 450 ml."))
        return volume_ml
    low, high = APHERESIS_VOLUME_RANGE
    if not low <= volume_ml <= high:
        raise InputError(
            _("An apheresis volume is between {low} and {high} ml.").format(low=low, high=high)
        )
    return volume_ml


async def donations_of(session: AsyncSession, donor_id: int) -> list[Donation]:
    """The donor's donations, most recent first."""
    query = (
        select(Donation)
        .where(col(Donation.donor_id) == donor_id)
        .order_by(col(Donation.donated_on).desc(), col(Donation.id).desc())
    )
    return list((await session.exec(query)).all())


async def gave_before(session: AsyncSession, donor_id: int, day: date) -> bool:
    """Whether the donor has a donation before `day` (a repeat donor on that day)."""
    query = select(Donation.id).where(
        col(Donation.donor_id) == donor_id, col(Donation.donated_on) < day
    )
    return (await session.exec(query.limit(1))).first() is not None


async def summary(session: AsyncSession, donor: Donor) -> Summary:
    """The number of donations, their known total volume and the most recent one (before any is
    recorded, the last donation stated at registration counts as one)."""
    assert donor.id is not None
    history = await donations_of(session, donor.id)
    if not history:
        stated = _stated_donation(donor)
        history = [stated] if stated is not None else []
    total = sum(d.volume_ml or 0 for d in history)
    return Summary(len(history), total, history[0] if history else None)


def _stated_donation(donor: Donor) -> Donation | None:
    """The last donation the donor stated when registering, as a history row (not saved)."""
    if donor.last_donation_date is None or donor.last_donation_kind not in tuple(DonationKind):
        return None
    return Donation(
        donor_id=donor.id or 0,
        donated_on=donor.last_donation_date,
        kind=donor.last_donation_kind,
        source=DonationSource.SELF_REPORTED,
        recorded_by=REGISTRATION,
    )


async def record(
    session: AsyncSession,
    donor: Donor,
    *,
    day: date,
    kind: DonationKind,
    volume_ml: int,
    source: DonationSource,
    recorded_by: str,
    today: date,
    drive_id: int | None = None,
    place: str | None = None,
    options: RuleOptions | None = None,
) -> Donation:
    """Add a donation and bring the donor row up to date."""
    if day > today:
        raise InputError(_("That day is in the future. Please give the day you donated."))
    assert donor.id is not None
    await _keep_the_stated_donation(session, donor)
    donation = Donation(
        donor_id=donor.id,
        donated_on=day,
        kind=kind,
        volume_ml=check_volume(kind, volume_ml),
        source=source,
        recorded_by=recorded_by,
        drive_id=drive_id,
        place=place,
    )
    session.add(donation)
    await session.flush()
    await refresh(session, donor, today, options)
    return donation


async def _keep_the_stated_donation(session: AsyncSession, donor: Donor) -> None:
    """Before the first recorded donation, the one stated at registration joins the history (its
    volume unknown), so the history alone decides from then on."""
    assert donor.id is not None
    stated = _stated_donation(donor)
    if stated is not None and not await donations_of(session, donor.id):
        session.add(stated)


async def remove(
    session: AsyncSession,
    donor: Donor,
    donation_id: int,
    today: date,
    options: RuleOptions | None = None,
) -> None:
    """Take back a donation recorded by mistake (a corrected check-in)."""
    donation = await session.get(Donation, donation_id)
    if donation is not None and donation.donor_id == donor.id:
        await session.delete(donation)
        await session.flush()
        assert donor.id is not None
        if not await donations_of(session, donor.id):
            # It was the only one: the donor row's last donation came from it, and goes too.
            donor.last_donation_date, donor.last_donation_kind = None, NEVER_DONATED
    await refresh(session, donor, today, options)


async def refresh(
    session: AsyncSession, donor: Donor, today: date, options: RuleOptions | None = None
) -> None:
    """Write the most recent donation onto the donor row, and the reminder day."""
    assert donor.id is not None
    history = await donations_of(session, donor.id)
    if history:
        donor.last_donation_date, donor.last_donation_kind = history[0].donated_on, history[0].kind
    schedule_reminder(donor, today, options)
    donor.updated_at = utcnow()
    session.add(donor)
