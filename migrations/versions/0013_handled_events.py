"""handled events: the exact keys of the updates applied, instead of the donor's last update id

`donors.last_event_id` treated every update id at or below the last one as a repeat. In webhook
mode Telegram may deliver a person's updates out of order (several connections at once), and an
earlier update arriving after a later one was then dropped: a lost message. Each donor's last id
is carried over, so an update in flight across the upgrade is still recognised.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "handled_events",
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("event_key", sa.String(96), primary_key=True),
        sa.Column(
            "donor_id",
            sa.Integer(),
            sa.ForeignKey("donors.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("handled_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_handled_events_donor_id", "handled_events", ["donor_id"])
    op.create_index("ix_handled_events_handled_at", "handled_events", ["handled_at"])
    op.execute(
        "INSERT INTO handled_events (channel, event_key, donor_id, handled_at) "
        "SELECT channel, CAST(last_event_id AS VARCHAR(96)), id, updated_at FROM donors "
        "WHERE last_event_id IS NOT NULL"
    )
    # A plain DROP COLUMN (SQLite ≥ 3.35), never a batch copy of donors: re-creating the table
    # would fire the ON DELETE CASCADE of every table referring to it (see 0006).
    op.drop_column("donors", "last_event_id")


def downgrade() -> None:
    op.add_column("donors", sa.Column("last_event_id", sa.BigInteger(), nullable=True))
    op.drop_index("ix_handled_events_handled_at", table_name="handled_events")
    op.drop_index("ix_handled_events_donor_id", table_name="handled_events")
    op.drop_table("handled_events")
