"""donors.offered: the numbered choices a channel without buttons (Zalo) showed a person last

Zalo has no buttons: a reply's choices are numbered lines, and the person types a number. What
each number stood for is kept on the donor row, written in the turn's transaction, so a "2"
typed after a restart still means what the person saw (issue 12).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, never a batch copy of donors: re-creating the table would fire the
    # ON DELETE CASCADE of every table referring to it (see 0006).
    op.add_column("donors", sa.Column("offered", sa.JSON(), nullable=True))


def downgrade() -> None:
    # A plain DROP COLUMN (SQLite ≥ 3.35), for the same reason.
    op.drop_column("donors", "offered")
