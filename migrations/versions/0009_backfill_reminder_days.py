"""the "you can give again" day for donors registered before reminders were kept on the donor row

Donors who registered before 0006 stated their last donation but got no reminder day, so the
sweep would never remind them. Their day is computed here with the eligibility rules (their
default options: the sweep checks again with the deployment's options before it sends), and set
only where it is still ahead: nobody is told months late that they could have given. Donors with
recorded donations, reminders off, stopped or not registered are left as they are.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from services.eligibility.donor_status import next_eligible

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK = 5_000
DONORS = sa.table(
    "donors",
    sa.column("id", sa.Integer),
    sa.column("registered_at", sa.DateTime),
    sa.column("stopped_at", sa.DateTime),
    sa.column("eligible_reminders", sa.Boolean),
    sa.column("remind_on", sa.Date),
    sa.column("date_of_birth", sa.Date),
    sa.column("sex", sa.String),
    sa.column("last_donation_kind", sa.String),
    sa.column("last_donation_date", sa.Date),
    sa.column("deferred_until", sa.Date),
    sa.column("deferral_code", sa.String),
)
DONATIONS = sa.table("donations", sa.column("donor_id", sa.Integer))


@dataclass(frozen=True)
class Stated:
    """What the rules read of a donor (services.eligibility.donor_status.DonorFacts)."""

    date_of_birth: date | None
    sex: str | None
    last_donation_kind: str | None
    last_donation_date: date | None
    deferred_until: date | None
    deferral_code: str | None


def upgrade() -> None:
    connection = op.get_bind()
    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    d = DONORS.c
    waiting = (
        sa.select(
            d.id,
            d.date_of_birth,
            d.sex,
            d.last_donation_kind,
            d.last_donation_date,
            d.deferred_until,
            d.deferral_code,
        )
        .where(
            d.remind_on.is_(None),
            d.registered_at.is_not(None),
            d.stopped_at.is_(None),
            d.eligible_reminders.is_(True),
            d.last_donation_date.is_not(None),
            ~sa.exists().where(DONATIONS.c.donor_id == d.id),
        )
        .order_by(d.id)
    )
    last_id = 0
    while True:
        rows = connection.execute(waiting.where(d.id > last_id).limit(CHUNK)).all()
        if not rows:
            return
        days = []
        for donor_id, *facts in rows:
            earliest = next_eligible(Stated(*facts), today).earliest
            if earliest is not None and earliest > today:
                days.append({"donor": donor_id, "day": earliest})
        if days:
            connection.execute(
                DONORS.update()
                .where(d.id == sa.bindparam("donor"))
                .values(remind_on=sa.bindparam("day")),
                days,
            )
        last_id = rows[-1][0]


def downgrade() -> None:
    pass  # the days set are indistinguishable from those set later; they are harmless kept
