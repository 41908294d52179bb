"""The figures of a scope and period, from what the drives' desks recorded."""

from __future__ import annotations

from datetime import date, timedelta

from models import Donor
from models.database import Database
from models.donations import CheckinOutcome, DonationSource
from models.donor import DonationKind
from services.donations import history
from services.stats.figures import Figures, Period, Scope, figures
from tests.support.desk import DAY, TZ, check_in, make_donor, make_drive


async def test_a_drives_figures_with_repeat_donors_walk_ins_and_units(db: Database) -> None:
    drive = await make_drive(db, DAY, "19333")
    other = await make_drive(db, DAY, "18880", campaign="xuan_hong")  # another ward
    donors = [await make_donor(db, n) for n in range(6)]
    async with db.session() as session:  # donor 0 gave a year before: a repeat donor
        first = await session.get(Donor, donors[0])
        assert first is not None
        await history.record(
            session,
            first,
            day=DAY - timedelta(days=365),
            kind=DonationKind.WHOLE_BLOOD,
            volume_ml=250,
            source=DonationSource.SELF_REPORTED,
            recorded_by=history.SELF,
            today=DAY,
        )
    await check_in(db, drive, donors[0], CheckinOutcome.DONATED, 350)
    await check_in(db, drive, donors[1], CheckinOutcome.DONATED, 450)
    await check_in(db, drive, donors[2], CheckinOutcome.DONATED, 250)
    await check_in(db, drive, donors[3], CheckinOutcome.DEFERRED)
    await check_in(db, drive, donors[4], CheckinOutcome.NO_SHOW)
    await check_in(db, drive, None, CheckinOutcome.DONATED, 350, signed_up=False)
    await check_in(db, other, donors[5], CheckinOutcome.DONATED, 450)

    january = Period(date(2027, 1, 1), date(2027, 1, 31))
    ward = await _figures(db, Scope("44", frozenset({"19333"})), january)
    assert (ward.drives, ward.signups, ward.checkins) == (1, 5, 6)
    assert (ward.donated, ward.deferred, ward.no_shows, ward.walk_ins) == (4, 1, 1, 1)
    assert ward.bags == {250: 1, 350: 2, 450: 1}
    assert ward.converted_units == 1 + 1.4 * 2 + 1.8
    assert ward.share_350_or_more == 75.0
    assert (ward.repeat_donors, ward.new_donors, ward.repeat_share) == (1, 3, 25.0)

    province = await _figures(db, Scope("44"), january)
    assert (province.drives, province.donated) == (2, 5)
    spring = await _figures(db, Scope("44", campaign="xuan_hong"), january)
    assert (spring.drives, spring.donated, spring.bags) == (1, 1, {450: 1})
    one = await _figures(db, Scope("44", drive_id=drive), january)
    assert one.donated == 4
    december = await _figures(db, Scope("44"), Period(date(2026, 12, 1), date(2026, 12, 31)))
    assert (december.drives, december.donated, december.share_350_or_more) == (0, 0, None)
    elsewhere = await _figures(db, Scope("01"), january)
    assert elsewhere.drives == 0


async def _figures(db: Database, scope: Scope, period: Period) -> Figures:
    async with db.session() as session:
        return await figures(session, scope, period, TZ)
