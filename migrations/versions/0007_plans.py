"""the year's plan: targets per commune, ward or unit of a province

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'plans',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('province_code', sa.String(4), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('filename', sa.String(200), nullable=False),
        sa.Column('uploaded_by', sa.String(80), nullable=False),
        sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('province_code', 'year', name='uq_plans_province_year'),
    )
    op.create_table(
        'plan_units',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column(
            'plan_id', sa.Integer(), sa.ForeignKey('plans.id', ondelete='CASCADE'), nullable=False
        ),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('unit', sa.String(120), nullable=False),
        sa.Column('ward_codes', sa.JSON(), nullable=False),
        sa.Column('population', sa.Integer()),
        sa.Column('bags', sa.Integer(), nullable=False),
        sa.Column('units', sa.Integer()),
        sa.Column('rounds', sa.Integer()),
        sa.Column('months', sa.JSON(), nullable=False),
        sa.Column('share_before', sa.Float()),
        sa.Column('share_after', sa.Float()),
    )
    op.create_index('ix_plan_units_plan_id', 'plan_units', ['plan_id'])


def downgrade() -> None:
    op.drop_index('ix_plan_units_plan_id', table_name='plan_units')
    op.drop_table('plan_units')
    op.drop_table('plans')
