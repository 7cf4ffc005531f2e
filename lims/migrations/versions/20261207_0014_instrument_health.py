"""instrument_health: the latest heartbeat of each instrument's driver (one row per instrument)

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('instrument_health',
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('driver_version', sa.String(length=40), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('port_open', sa.Boolean(), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('last_bytes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_reading_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('spool_depth', sa.Integer(), nullable=False),
    sa.Column('spool_failed', sa.Integer(), nullable=False),
    sa.Column('oldest_unsent_seconds', sa.Double(), nullable=True),
    sa.Column('quarantined_since_start', sa.Integer(), nullable=False),
    sa.CheckConstraint('spool_depth >= 0 AND spool_failed >= 0 AND quarantined_since_start >= 0', name=op.f('ck_instrument_health_counts_not_negative')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_health_instrument_id_instruments')),
    sa.PrimaryKeyConstraint('instrument_id', name=op.f('pk_instrument_health'))
    )


def downgrade() -> None:
    op.drop_table('instrument_health')
