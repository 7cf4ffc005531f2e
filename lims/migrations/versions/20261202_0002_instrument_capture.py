"""instrument capture: the instrument register and the readings inbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 17:24:35.145932
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('instruments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('serial_number', sa.String(length=100), nullable=False),
    sa.Column('protocol', sa.Enum('astm', 'biorad', 'metrohm', 'mtsics', 'manual', 'file', name='instrument_protocol', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('serial_settings', sa.JSON(), nullable=False),
    sa.Column('api_token_id', sa.Integer(), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['api_token_id'], ['api_tokens.id'], name=op.f('fk_instruments_api_token_id_api_tokens')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instruments')),
    sa.UniqueConstraint('api_token_id', name=op.f('uq_instruments_api_token_id')),
    sa.UniqueConstraint('code', name=op.f('uq_instruments_code'))
    )
    op.create_table('instrument_readings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=False),
    sa.Column('type', sa.Enum('result', 'plate', 'quarantine', name='reading_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('source', sa.Enum('driver', 'manual', 'file', name='reading_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('attached', 'unmatched', 'pending', 'discarded', name='reading_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('sample_id', sa.Integer(), nullable=True),
    sa.Column('sample_ref', sa.String(length=200), nullable=True),
    sa.Column('analyte', sa.String(length=64), nullable=True),
    sa.Column('test_code', sa.String(length=200), nullable=False),
    sa.Column('raw_value', sa.String(length=200), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('comparator', sa.String(length=1), nullable=True),
    sa.Column('unit', sa.String(length=40), nullable=False),
    sa.Column('measured_at', sa.DateTime(), nullable=True),
    sa.Column('spooled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status <> 'attached' OR sample_id IS NOT NULL", name=op.f('ck_instrument_readings_attached_has_sample')),
    sa.CheckConstraint("status <> 'discarded' OR resolution_reason IS NOT NULL", name=op.f('ck_instrument_readings_discarded_has_reason')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_instrument_readings_entered_by_id_users')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_instrument_readings_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_instrument_readings_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_instrument_readings_sample_id_samples')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_instrument_readings')),
    sa.UniqueConstraint('instrument_id', 'idempotency_key', name=op.f('uq_instrument_readings_instrument_id_idempotency_key'))
    )
    with op.batch_alter_table('instrument_readings', schema=None) as batch_op:
        batch_op.create_index('ix_instrument_readings_instrument_status', ['instrument_id', 'status'], unique=False)
        batch_op.create_index('ix_instrument_readings_sample_id', ['sample_id', 'id'], unique=False)
        batch_op.create_index('ix_instrument_readings_status_id', ['status', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('instrument_readings', schema=None) as batch_op:
        batch_op.drop_index('ix_instrument_readings_status_id')
        batch_op.drop_index('ix_instrument_readings_sample_id')
        batch_op.drop_index('ix_instrument_readings_instrument_status')

    op.drop_table('instrument_readings')
    op.drop_table('instruments')
