"""donors reached in a group chat go back to their private chat

Before the bot refused groups, a donor who wrote in a group had donors.chat_id set to the
group's id (negative on Telegram), so their notices and reminders went to the group. On Telegram
the private chat's id is the user's id: put it back, and re-aim what is still queued.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        UPDATE outbox SET chat_id = (
            SELECT donors.external_id FROM donors WHERE donors.id = outbox.donor_id
        )
        WHERE status IN ('pending', 'failed') AND chat_id LIKE '-%' AND donor_id IN (
            SELECT id FROM donors WHERE channel = 'telegram' AND chat_id LIKE '-%'
        )
        """
    )
    op.execute(
        "UPDATE donors SET chat_id = external_id WHERE channel = 'telegram' AND chat_id LIKE '-%'"
    )


def downgrade() -> None:
    # The group ids were a defect: there is nothing to restore.
    pass
