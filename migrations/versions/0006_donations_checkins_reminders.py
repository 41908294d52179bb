"""donations and check-ins; the donor's reminder day, hour and card version; outbox dedupe keys

A donation is recorded at a drive's desk (a check-in) or reported by the donor. The donor row
keeps the day a "you may give again" reminder is due (a partial index makes the sweep cheap at a
million donors) and the donor card's version. An outbox row may carry a key that exists at most
once, so a reminder swept twice is queued once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'donations',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column(
            'donor_id',
            sa.Integer(),
            sa.ForeignKey('donors.id', ondelete='CASCADE'),
            nullable=False,
        ),
        sa.Column('donated_on', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(16), nullable=False),
        sa.Column('volume_ml', sa.Integer(), nullable=True),
        sa.Column('source', sa.String(16), nullable=False),
        sa.Column('drive_id', sa.Integer(), sa.ForeignKey('drives.id', ondelete='SET NULL')),
        sa.Column('place', sa.String(200)),
        sa.Column('recorded_by', sa.String(80), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_donations_donor_day', 'donations', ['donor_id', 'donated_on'])
    op.create_index('ix_donations_drive_id', 'donations', ['drive_id'])
    op.create_table(
        'checkins',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column(
            'drive_id',
            sa.Integer(),
            sa.ForeignKey('drives.id', ondelete='CASCADE'),
            nullable=False,
        ),
        sa.Column('donor_id', sa.Integer(), sa.ForeignKey('donors.id', ondelete='CASCADE')),
        sa.Column('walk_in_name', sa.String(100)),
        sa.Column('walk_in_phone', sa.String(16)),
        sa.Column('outcome', sa.String(16), nullable=False),
        sa.Column('kind', sa.String(16)),
        sa.Column('volume_ml', sa.Integer()),
        sa.Column('deferred_until', sa.Date()),
        sa.Column('deferral_code', sa.String(32)),
        sa.Column(
            'donation_id', sa.Integer(), sa.ForeignKey('donations.id', ondelete='SET NULL')
        ),
        sa.Column('recorded_by', sa.String(80), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('drive_id', 'donor_id', name='uq_checkins_drive_donor'),
        sa.UniqueConstraint('drive_id', 'walk_in_phone', name='uq_checkins_drive_walk_in'),
    )
    # Plain ADD COLUMN, never a batch copy of donors: on SQLite a batch drops and re-creates the
    # table, and the foreign keys' ON DELETE CASCADE would empty every table that refers to it.
    op.add_column('donors', sa.Column('remind_on', sa.Date(), nullable=True))
    op.add_column(
        'donors', sa.Column('remind_hour', sa.Integer(), nullable=False, server_default='9')
    )
    op.add_column(
        'donors',
        sa.Column('eligible_reminders', sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        'donors', sa.Column('card_version', sa.Integer(), nullable=False, server_default='1')
    )
    # The sweep reads only donors with a reminder due: a partial index keeps that small.
    op.create_index(
        'ix_donors_remind_due',
        'donors',
        ['remind_on', 'remind_hour'],
        postgresql_where=sa.text('remind_on IS NOT NULL'),
        sqlite_where=sa.text('remind_on IS NOT NULL'),
    )
    op.add_column('outbox', sa.Column('dedupe_key', sa.String(80), nullable=True))
    op.create_index('uq_outbox_dedupe_key', 'outbox', ['dedupe_key'], unique=True)


def downgrade() -> None:
    op.drop_index('uq_outbox_dedupe_key', table_name='outbox')
    op.drop_column('outbox', 'dedupe_key')
    op.drop_index('ix_donors_remind_due', table_name='donors')
    for column in ('card_version', 'eligible_reminders', 'remind_hour', 'remind_on'):
        op.drop_column('donors', column)
    op.drop_table('checkins')
    op.drop_index('ix_donations_drive_id', table_name='donations')
    op.drop_index('ix_donations_donor_day', table_name='donations')
    op.drop_table('donations')
