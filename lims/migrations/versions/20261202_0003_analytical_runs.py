"""analytical runs: method versions, reagent and control lots, runs, results; sample priority

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 17:38:16.375909
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('control_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('method_code', sa.String(length=32), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_control_materials')),
    sa.UniqueConstraint('method_code', 'level', name=op.f('uq_control_materials_method_code_level'))
    )
    op.create_table('control_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('lot_number', sa.String(length=64), nullable=False),
    sa.Column('target_mean', sa.Double(), nullable=True),
    sa.Column('target_sd', sa.Double(), nullable=True),
    sa.Column('target_n', sa.Integer(), nullable=True),
    sa.Column('target_source', sa.Enum('set', 'established', name='control_target_source', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_control_lots_created_by_id_users')),
    sa.ForeignKeyConstraint(['material_id'], ['control_materials.id'], name=op.f('fk_control_lots_material_id_control_materials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_control_lots')),
    sa.UniqueConstraint('material_id', 'lot_number', name=op.f('uq_control_lots_material_id_lot_number'))
    )
    op.create_table('method_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('matrix', sa.String(length=16), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_method_versions_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_method_versions')),
    sa.UniqueConstraint('code', 'version', name=op.f('uq_method_versions_code_version'))
    )
    op.create_table('reagent_lots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reagent', sa.String(length=64), nullable=False),
    sa.Column('lot_number', sa.String(length=64), nullable=False),
    sa.Column('molarity', sa.Double(), nullable=True),
    sa.Column('standardised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_reagent_lots_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reagent_lots')),
    sa.UniqueConstraint('reagent', 'lot_number', name=op.f('uq_reagent_lots_reagent_lot_number'))
    )
    op.create_table('analytical_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('method_version_id', sa.Integer(), nullable=False),
    sa.Column('instrument_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'measured', 'calculated', 'accepted', 'rejected', name='run_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('calibration_model', sa.String(length=16), nullable=True),
    sa.Column('reagent_lot_id', sa.Integer(), nullable=True),
    sa.Column('layout', sa.JSON(), nullable=False),
    sa.Column('reading_id', sa.Integer(), nullable=True),
    sa.Column('entries', sa.JSON(), nullable=False),
    sa.Column('curve', sa.JSON(), nullable=True),
    sa.Column('curve_accepted', sa.Boolean(), nullable=True),
    sa.Column('qc', sa.JSON(), nullable=True),
    sa.Column('qc_accepted', sa.Boolean(), nullable=True),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('measured_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('measured_by_id', sa.Integer(), nullable=True),
    sa.Column('calculated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('overridden', sa.Boolean(), nullable=False),
    sa.Column('qc_override_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("status <> 'rejected' OR decision_reason IS NOT NULL", name=op.f('ck_analytical_runs_rejected_has_reason')),
    sa.CheckConstraint('NOT overridden OR qc_override_reason IS NOT NULL', name=op.f('ck_analytical_runs_override_has_reason')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_analytical_runs_created_by_id_users')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_analytical_runs_decided_by_id_users')),
    sa.ForeignKeyConstraint(['instrument_id'], ['instruments.id'], name=op.f('fk_analytical_runs_instrument_id_instruments')),
    sa.ForeignKeyConstraint(['measured_by_id'], ['users.id'], name=op.f('fk_analytical_runs_measured_by_id_users')),
    sa.ForeignKeyConstraint(['method_version_id'], ['method_versions.id'], name=op.f('fk_analytical_runs_method_version_id_method_versions')),
    sa.ForeignKeyConstraint(['reading_id'], ['instrument_readings.id'], name=op.f('fk_analytical_runs_reading_id_instrument_readings')),
    sa.ForeignKeyConstraint(['reagent_lot_id'], ['reagent_lots.id'], name=op.f('fk_analytical_runs_reagent_lot_id_reagent_lots')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_analytical_runs')),
    sa.UniqueConstraint('reading_id', name=op.f('uq_analytical_runs_reading_id'))
    )
    with op.batch_alter_table('analytical_runs', schema=None) as batch_op:
        batch_op.create_index('ix_analytical_runs_status_id', ['status', 'id'], unique=False)

    op.create_table('control_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('lot_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('replicate', sa.Integer(), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('counts', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['control_lots.id'], name=op.f('fk_control_results_lot_id_control_lots')),
    sa.ForeignKeyConstraint(['run_id'], ['analytical_runs.id'], name=op.f('fk_control_results_run_id_analytical_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_control_results'))
    )
    with op.batch_alter_table('control_results', schema=None) as batch_op:
        batch_op.create_index('ix_control_results_lot_id', ['lot_id', 'run_id', 'id'], unique=False)
        batch_op.create_index('ix_control_results_run_id', ['run_id', 'id'], unique=False)

    op.create_table('results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('analyte', sa.Enum('uic', 'salt_iodine', name='result_analyte', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('method_version_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('retest_of_id', sa.Integer(), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('held', 'preliminary', 'verified', 'repeat', 'superseded', name='result_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('value', sa.Double(), nullable=True),
    sa.Column('comparator', sa.String(length=1), nullable=True),
    sa.Column('limit', sa.Double(), nullable=True),
    sa.Column('category', sa.String(length=16), nullable=True),
    sa.Column('unit', sa.String(length=16), nullable=False),
    sa.Column('flags', sa.JSON(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('amendment_reason', sa.Text(), nullable=True),
    sa.CheckConstraint("comparator IS NULL OR comparator IN ('<', '>')", name=op.f('ck_results_comparator')),
    sa.CheckConstraint("status <> 'verified' OR verified_by_id IS NOT NULL", name=op.f('ck_results_verified_has_verifier')),
    sa.CheckConstraint('version = 1 OR amendment_reason IS NOT NULL', name=op.f('ck_results_amendment_has_reason')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_results_created_by_id_users')),
    sa.ForeignKeyConstraint(['method_version_id'], ['method_versions.id'], name=op.f('fk_results_method_version_id_method_versions')),
    sa.ForeignKeyConstraint(['retest_of_id'], ['results.id'], name=op.f('fk_results_retest_of_id_results')),
    sa.ForeignKeyConstraint(['run_id'], ['analytical_runs.id'], name=op.f('fk_results_run_id_analytical_runs')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_results_sample_id_samples')),
    sa.ForeignKeyConstraint(['supersedes_id'], ['results.id'], name=op.f('fk_results_supersedes_id_results')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_results_verified_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_results'))
    )
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index('ix_results_analyte_status_current', ['analyte', 'status', 'is_current'], unique=False)
        batch_op.create_index('ix_results_run_id', ['run_id', 'id'], unique=False)
        batch_op.create_index('ix_results_sample_id', ['sample_id', 'id'], unique=False)
        batch_op.create_index('ix_results_status_id', ['status', 'id'], unique=False)

    op.create_table('run_samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('dilution_factor', sa.Double(), nullable=False),
    sa.Column('wells', sa.JSON(), nullable=False),
    sa.Column('retest_of_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['retest_of_id'], ['results.id'], name=op.f('fk_run_samples_retest_of_id_results')),
    sa.ForeignKeyConstraint(['run_id'], ['analytical_runs.id'], name=op.f('fk_run_samples_run_id_analytical_runs')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_run_samples_sample_id_samples')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_run_samples')),
    sa.UniqueConstraint('run_id', 'sample_id', name=op.f('uq_run_samples_run_id_sample_id'))
    )
    with op.batch_alter_table('run_samples', schema=None) as batch_op:
        batch_op.create_index('ix_run_samples_sample_id', ['sample_id', 'id'], unique=False)

    with op.batch_alter_table('samples', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority', sa.SmallInteger(), server_default='0', nullable=False))
        batch_op.create_index('ix_samples_worklist', ['kind', 'status', 'priority', 'received_at', 'id'], unique=False)



    # plates taken by a run leave the inbox as 'claimed'
    with op.batch_alter_table('instrument_readings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_instrument_readings_reading_status'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_instrument_readings_reading_status'),
            "status IN ('attached', 'unmatched', 'pending', 'claimed', 'discarded')")

def downgrade() -> None:
    with op.batch_alter_table('instrument_readings', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_instrument_readings_reading_status'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_instrument_readings_reading_status'),
            "status IN ('attached', 'unmatched', 'pending', 'discarded')")

    with op.batch_alter_table('samples', schema=None) as batch_op:
        batch_op.drop_index('ix_samples_worklist')
        batch_op.drop_column('priority')

    with op.batch_alter_table('run_samples', schema=None) as batch_op:
        batch_op.drop_index('ix_run_samples_sample_id')

    op.drop_table('run_samples')
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index('ix_results_status_id')
        batch_op.drop_index('ix_results_sample_id')
        batch_op.drop_index('ix_results_run_id')
        batch_op.drop_index('ix_results_analyte_status_current')

    op.drop_table('results')
    with op.batch_alter_table('control_results', schema=None) as batch_op:
        batch_op.drop_index('ix_control_results_run_id')
        batch_op.drop_index('ix_control_results_lot_id')

    op.drop_table('control_results')
    with op.batch_alter_table('analytical_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_analytical_runs_status_id')

    op.drop_table('analytical_runs')
    op.drop_table('reagent_lots')
    op.drop_table('method_versions')
    op.drop_table('control_lots')
    op.drop_table('control_materials')
