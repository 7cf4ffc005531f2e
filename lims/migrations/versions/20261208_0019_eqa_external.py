"""eqa_external_*: the external schemes the laboratory takes part in (CDC EQUIP), their rounds,
blind materials (linked to the samples that carry them through our runs) and evaluations

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 00:36:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('eqa_external_schemes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('provider', sa.String(length=200), nullable=False),
    sa.Column('measurand', sa.Enum('uic', 'salt_iodine', name='eqa_external_measurand', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('limit_percent', sa.Double(), nullable=True),
    sa.Column('limit_absolute', sa.Double(), nullable=True),
    sa.Column('absolute_below', sa.Double(), nullable=True),
    sa.Column('limit_note', sa.Text(), nullable=False),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('population_group_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("measurand <> 'uic' OR population_group_id IS NOT NULL", name=op.f('ck_eqa_external_schemes_urine_has_group')),
    sa.CheckConstraint('(limit_percent IS NULL OR limit_percent > 0) AND (limit_absolute IS NULL OR limit_absolute > 0)', name=op.f('ck_eqa_external_schemes_limits_positive')),
    sa.CheckConstraint('days BETWEEN 1 AND 10', name=op.f('ck_eqa_external_schemes_days_range')),
    sa.CheckConstraint('limit_percent IS NOT NULL OR limit_absolute IS NOT NULL', name=op.f('ck_eqa_external_schemes_has_a_limit')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_eqa_external_schemes_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_eqa_external_schemes_created_by_id_users')),
    sa.ForeignKeyConstraint(['population_group_id'], ['population_groups.id'], name=op.f('fk_eqa_external_schemes_population_group_id_population_groups')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_external_schemes')),
    sa.UniqueConstraint('code', name=op.f('uq_eqa_external_schemes_code'))
    )
    op.create_table('eqa_external_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scheme_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('open', 'submitted', 'evaluated', name='eqa_external_round_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('submission', sa.JSON(), nullable=True),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('submitted_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("status = 'open' OR (submitted_at IS NOT NULL AND submitted_by_id IS NOT NULL)", name=op.f('ck_eqa_external_rounds_submitted_has_who')),
    sa.CheckConstraint('deadline >= received_on', name=op.f('ck_eqa_external_rounds_deadline_after_receipt')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_eqa_external_rounds_created_by_id_users')),
    sa.ForeignKeyConstraint(['scheme_id'], ['eqa_external_schemes.id'], name=op.f('fk_eqa_external_rounds_scheme_id_eqa_external_schemes')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_eqa_external_rounds_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_external_rounds')),
    sa.UniqueConstraint('scheme_id', 'code', name=op.f('uq_eqa_external_rounds_scheme_id_code'))
    )
    with op.batch_alter_table('eqa_external_rounds', schema=None) as batch_op:
        batch_op.create_index('ix_eqa_external_rounds_scheme_received', ['scheme_id', 'received_on'], unique=False)
        batch_op.create_index('ix_eqa_external_rounds_status_deadline', ['status', 'deadline'], unique=False)

    op.create_table('eqa_external_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_eqa_external_materials_created_by_id_users')),
    sa.ForeignKeyConstraint(['round_id'], ['eqa_external_rounds.id'], name=op.f('fk_eqa_external_materials_round_id_eqa_external_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_external_materials')),
    sa.UniqueConstraint('round_id', 'code', name=op.f('uq_eqa_external_materials_round_id_code'))
    )
    op.create_table('eqa_external_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('target', sa.Double(), nullable=False),
    sa.Column('our_mean', sa.Double(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('allowed', sa.Double(), nullable=False),
    sa.Column('within_limits', sa.Boolean(), nullable=False),
    sa.Column('scheme_verdict', sa.String(length=200), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('allowed > 0', name=op.f('ck_eqa_external_evaluations_allowed_positive')),
    sa.CheckConstraint('version = 1 OR reason IS NOT NULL', name=op.f('ck_eqa_external_evaluations_correction_has_reason')),
    sa.ForeignKeyConstraint(['material_id'], ['eqa_external_materials.id'], name=op.f('fk_eqa_external_evaluations_material_id_eqa_external_materials')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_eqa_external_evaluations_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_external_evaluations'))
    )
    with op.batch_alter_table('eqa_external_evaluations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eqa_external_evaluations_material_id'), ['material_id'], unique=False)
        batch_op.create_index('uq_eqa_external_evaluations_current', ['material_id'], unique=True, postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))

    op.create_table('eqa_external_material_samples',
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['material_id'], ['eqa_external_materials.id'], name=op.f('fk_eqa_external_material_samples_material_id_eqa_external_materials')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_eqa_external_material_samples_sample_id_samples')),
    sa.PrimaryKeyConstraint('sample_id', name=op.f('pk_eqa_external_material_samples')),
    sa.UniqueConstraint('material_id', 'day', name=op.f('uq_eqa_external_material_samples_material_id_day'))
    )


def downgrade() -> None:
    op.drop_table('eqa_external_material_samples')
    with op.batch_alter_table('eqa_external_evaluations', schema=None) as batch_op:
        batch_op.drop_index('uq_eqa_external_evaluations_current', postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))
        batch_op.drop_index(batch_op.f('ix_eqa_external_evaluations_material_id'))

    op.drop_table('eqa_external_evaluations')
    op.drop_table('eqa_external_materials')
    with op.batch_alter_table('eqa_external_rounds', schema=None) as batch_op:
        batch_op.drop_index('ix_eqa_external_rounds_status_deadline')
        batch_op.drop_index('ix_eqa_external_rounds_scheme_received')

    op.drop_table('eqa_external_rounds')
    op.drop_table('eqa_external_schemes')
