"""equipment records: equipment, calibration certificates, verifications and maintenance

Revision ID: 0014b
Revises: 0014
Create Date: 2026-12-07 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014b'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('equipment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('serial_number', sa.String(length=100), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('in_service', 'out_of_service', name='equipment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_reason', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_equipment_instrument_id_instruments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment')),
    sa.UniqueConstraint('code', name=op.f('uq_equipment_code')),
    sa.UniqueConstraint('instrument_id', name=op.f('uq_equipment_instrument_id'))
    )
    op.create_table('equipment_calibrations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('calibrated_on', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('performed_by', sa.String(length=200), nullable=False),
    sa.Column('outcome', sa.Enum('pass', 'fail', name='calibration_outcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('certificate_no', sa.String(length=100), nullable=False),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('file_type', sa.String(length=40), nullable=True),
    sa.Column('file_data', sa.LargeBinary(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('valid_until >= calibrated_on', name=op.f('ck_equipment_calibrations_valid_after_calibration')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_equipment_calibrations_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_equipment_calibrations_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment_calibrations'))
    )
    with op.batch_alter_table('equipment_calibrations', schema=None) as batch_op:
        batch_op.create_index('ix_equipment_calibrations_equipment_valid', ['equipment_id', 'valid_until'], unique=False)
    op.create_table('equipment_maintenance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('equipment_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('verification', 'maintenance', name='maintenance_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=True),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('performed_by', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('planned_on IS NOT NULL OR done_on IS NOT NULL', name=op.f('ck_equipment_maintenance_has_a_date')),
    sa.ForeignKeyConstraint(['equipment_id'], ['equipment.id'], name=op.f('fk_equipment_maintenance_equipment_id_equipment')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_equipment_maintenance_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_equipment_maintenance'))
    )
    with op.batch_alter_table('equipment_maintenance', schema=None) as batch_op:
        batch_op.create_index('ix_equipment_maintenance_equipment_planned', ['equipment_id', 'planned_on'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('equipment_maintenance', schema=None) as batch_op:
        batch_op.drop_index('ix_equipment_maintenance_equipment_planned')
    op.drop_table('equipment_maintenance')
    with op.batch_alter_table('equipment_calibrations', schema=None) as batch_op:
        batch_op.drop_index('ix_equipment_calibrations_equipment_valid')
    op.drop_table('equipment_calibrations')
    op.drop_table('equipment')
