"""outbox rows name their channel, message key, parameters and the recipient's locale;
a broadcast keeps its message and audience, expanded into rows by the sender

Rows are worded when sent, in the person's language of that moment. Existing rows keep their
text, buttons and file and get the key "text" (send the stored text as it is) and the channel
"telegram", so whatever is queued is delivered as before. Existing broadcasts have their rows
already: their new columns stay empty.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(
            sa.Column('channel', sa.String(16), nullable=False, server_default='telegram')
        )
        batch.add_column(
            sa.Column('message_key', sa.String(64), nullable=False, server_default='text')
        )
        batch.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('locale', sa.String(8), nullable=True))
    with op.batch_alter_table('broadcasts') as batch:
        batch.add_column(sa.Column('message_key', sa.String(64), nullable=True))
        batch.add_column(sa.Column('params', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('audience', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('not_before', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('expanded_through', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('broadcasts') as batch:
        batch.drop_column('expanded_through')
        batch.drop_column('not_before')
        batch.drop_column('audience')
        batch.drop_column('params')
        batch.drop_column('message_key')
    with op.batch_alter_table('outbox') as batch:
        batch.drop_column('locale')
        batch.drop_column('params')
        batch.drop_column('message_key')
        batch.drop_column('channel')
