"""outbox: an index on the person a row goes to

A person's replies still waiting (checked when they write), /stop cancelling what is queued for
them and /forget's ON DELETE CASCADE each read the outbox by donor; without an index each read
the whole table, which a province's broadcasts fill with millions of rows.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_outbox_donor_status", "outbox", ["donor_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_outbox_donor_status", table_name="outbox")
