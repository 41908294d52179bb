"""check-ins say whether the donor had given before (the repeat donors of the statistics)

Filled in for the check-ins recorded so far from the donations table.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = """
UPDATE checkins SET repeat_donor = TRUE
WHERE donation_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM donations this JOIN donations earlier ON earlier.donor_id = this.donor_id
    WHERE this.id = checkins.donation_id AND earlier.donated_on < this.donated_on
)
"""


def upgrade() -> None:
    op.add_column(
        "checkins",
        sa.Column("repeat_donor", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_column("checkins", "repeat_donor")
