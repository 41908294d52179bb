"""the weekly digest of /stats: who asked for it, and when their next one falls due

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "digest_subscriptions",
        sa.Column(
            "donor_id",
            sa.Integer(),
            sa.ForeignKey("donors.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("subscribed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_digest_subscriptions_due_at", "digest_subscriptions", ["due_at"])


def downgrade() -> None:
    op.drop_index("ix_digest_subscriptions_due_at", table_name="digest_subscriptions")
    op.drop_table("digest_subscriptions")
