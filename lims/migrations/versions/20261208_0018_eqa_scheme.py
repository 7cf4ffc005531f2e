"""EQA scheme (issue 15): programmes, rounds, materials with homogeneity/stability, laboratories,
enrolments with random codes, results (versioned), scores (versioned), issued documents; and the
role of a participating laboratory's account.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 00:36:17
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

# Fixed here, not imported: a migration keeps meaning what it meant when it was written.
ROLES_BEFORE = "role IN ('technician', 'reviewer', 'ministry', 'admin')"
ROLES_AFTER = "role IN ('technician', 'reviewer', 'ministry', 'admin', 'eqa_participant')"


def _role_check(check: str) -> None:
    with op.batch_alter_table('user_roles', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_user_roles_role'), type_='check')
        batch_op.create_check_constraint(op.f('ck_user_roles_role'), check)


def upgrade() -> None:
    _role_check(ROLES_AFTER)
    op.create_table('eqa_laboratories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=100), nullable=False),
    sa.Column('contact', sa.String(length=500), nullable=False),
    sa.Column('methods', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_laboratories')),
    sa.UniqueConstraint('name', name=op.f('uq_eqa_laboratories_name'))
    )
    op.create_table('eqa_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('measurand', sa.Enum('uic', 'salt_iodine', name='eqa_measurand', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('unit', sa.Enum('µg/L', 'mg/kg', name='eqa_unit', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('sigma_kind', sa.Enum('percent', 'linear', 'robust', name='eqa_sigma_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('sigma_percent', sa.Double(), nullable=True),
    sa.Column('sigma_a', sa.Double(), nullable=True),
    sa.Column('sigma_b', sa.Double(), nullable=True),
    sa.Column('min_p', sa.Integer(), nullable=False),
    sa.Column('value_ceiling', sa.Double(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(sigma_kind = 'percent' AND sigma_percent > 0) OR (sigma_kind = 'linear' AND sigma_a IS NOT NULL AND sigma_b IS NOT NULL) OR sigma_kind = 'robust'", name=op.f('ck_eqa_programmes_sigma_rule_complete')),
    sa.CheckConstraint('min_p >= 3', name=op.f('ck_eqa_programmes_min_p_at_least_3')),
    sa.CheckConstraint('value_ceiling > 0', name=op.f('ck_eqa_programmes_ceiling_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_programmes')),
    sa.UniqueConstraint('code', name=op.f('uq_eqa_programmes_code'))
    )
    op.create_table('eqa_lab_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('laboratory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_eqa_lab_accounts_created_by_id_users')),
    sa.ForeignKeyConstraint(['laboratory_id'], ['eqa_laboratories.id'], name=op.f('fk_eqa_lab_accounts_laboratory_id_eqa_laboratories')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_eqa_lab_accounts_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_lab_accounts')),
    sa.UniqueConstraint('user_id', name=op.f('uq_eqa_lab_accounts_user_id'))
    )
    with op.batch_alter_table('eqa_lab_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eqa_lab_accounts_laboratory_id'), ['laboratory_id'], unique=False)

    op.create_table('eqa_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('dispatch_date', sa.Date(), nullable=False),
    sa.Column('deadline', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'dispatched', 'closed', 'reported', name='eqa_round_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('value_source', sa.Enum('reference', 'formulation', 'consensus', name='eqa_value_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('deadline >= dispatch_date', name=op.f('ck_eqa_rounds_deadline_after_dispatch')),
    sa.ForeignKeyConstraint(['programme_id'], ['eqa_programmes.id'], name=op.f('fk_eqa_rounds_programme_id_eqa_programmes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_rounds')),
    sa.UniqueConstraint('programme_id', 'code', name=op.f('uq_eqa_rounds_programme_id_code'))
    )
    with op.batch_alter_table('eqa_rounds', schema=None) as batch_op:
        batch_op.create_index('ix_eqa_rounds_programme_dispatch', ['programme_id', 'dispatch_date', 'id'], unique=False)
        batch_op.create_index('ix_eqa_rounds_status_dispatch', ['status', 'dispatch_date', 'id'], unique=False)

    op.create_table('eqa_enrolments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('laboratory_id', sa.Integer(), nullable=False),
    sa.Column('lab_code', sa.String(length=16), nullable=False),
    sa.Column('enrolled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('enrolled_by_id', sa.Integer(), nullable=False),
    sa.Column('shipped_on', sa.Date(), nullable=True),
    sa.Column('arrived_on', sa.Date(), nullable=True),
    sa.CheckConstraint('arrived_on IS NULL OR shipped_on IS NULL OR arrived_on >= shipped_on', name=op.f('ck_eqa_enrolments_arrival_after_dispatch')),
    sa.ForeignKeyConstraint(['enrolled_by_id'], ['users.id'], name=op.f('fk_eqa_enrolments_enrolled_by_id_users')),
    sa.ForeignKeyConstraint(['laboratory_id'], ['eqa_laboratories.id'], name=op.f('fk_eqa_enrolments_laboratory_id_eqa_laboratories')),
    sa.ForeignKeyConstraint(['round_id'], ['eqa_rounds.id'], name=op.f('fk_eqa_enrolments_round_id_eqa_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_enrolments')),
    sa.UniqueConstraint('round_id', 'lab_code', name=op.f('uq_eqa_enrolments_round_id_lab_code')),
    sa.UniqueConstraint('round_id', 'laboratory_id', name=op.f('uq_eqa_enrolments_round_id_laboratory_id'))
    )
    with op.batch_alter_table('eqa_enrolments', schema=None) as batch_op:
        batch_op.create_index('ix_eqa_enrolments_laboratory', ['laboratory_id', 'round_id'], unique=False)

    op.create_table('eqa_materials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('pool_id', sa.String(length=64), nullable=False),
    sa.Column('level', sa.String(length=64), nullable=False),
    sa.Column('volume_ml', sa.Double(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('check_sigma_pt', sa.Double(), nullable=True),
    sa.Column('homogeneity_passed', sa.Boolean(), nullable=True),
    sa.Column('homogeneity_mean', sa.Double(), nullable=True),
    sa.Column('homogeneity_s_s', sa.Double(), nullable=True),
    sa.Column('homogeneity_criterion', sa.Double(), nullable=True),
    sa.Column('stability_passed', sa.Boolean(), nullable=True),
    sa.Column('stability_difference', sa.Double(), nullable=True),
    sa.Column('stability_criterion', sa.Double(), nullable=True),
    sa.Column('override_reason', sa.Text(), nullable=True),
    sa.Column('x_pt', sa.Double(), nullable=True),
    sa.Column('u_x_pt', sa.Double(), nullable=True),
    sa.Column('sigma_pt', sa.Double(), nullable=True),
    sa.Column('value_source', sa.Enum('reference', 'formulation', 'consensus', name='eqa_material_value_source', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('s_star', sa.Double(), nullable=True),
    sa.Column('consensus_p', sa.Integer(), nullable=True),
    sa.Column('u_x_pt_large', sa.Boolean(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('sigma_pt IS NULL OR sigma_pt > 0', name=op.f('ck_eqa_materials_sigma_pt_positive')),
    sa.CheckConstraint('u_x_pt IS NULL OR u_x_pt >= 0', name=op.f('ck_eqa_materials_u_x_pt_not_negative')),
    sa.CheckConstraint('volume_ml IS NULL OR volume_ml > 0', name=op.f('ck_eqa_materials_volume_positive')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_eqa_materials_assigned_by_id_users')),
    sa.ForeignKeyConstraint(['round_id'], ['eqa_rounds.id'], name=op.f('fk_eqa_materials_round_id_eqa_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_materials')),
    sa.UniqueConstraint('round_id', 'code', name=op.f('uq_eqa_materials_round_id_code'))
    )
    op.create_table('eqa_documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('lab_report', 'summary', 'certificate', name='eqa_document_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=5), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("language IN ('ru', 'kk', 'en')", name=op.f('ck_eqa_documents_language')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_eqa_documents_version_positive')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['eqa_enrolments.id'], name=op.f('fk_eqa_documents_enrolment_id_eqa_enrolments')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_eqa_documents_issued_by_id_users')),
    sa.ForeignKeyConstraint(['round_id'], ['eqa_rounds.id'], name=op.f('fk_eqa_documents_round_id_eqa_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_documents'))
    )
    with op.batch_alter_table('eqa_documents', schema=None) as batch_op:
        batch_op.create_index('ix_eqa_documents_round', ['round_id', 'kind', 'enrolment_id', 'language', 'version'], unique=False)

    op.create_table('eqa_homogeneity_measurements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('homogeneity', 'stability', name='eqa_characterisation_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('unit_no', sa.Integer(), nullable=False),
    sa.Column('replicate', sa.SmallInteger(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('unit_no >= 1 AND replicate IN (1, 2)', name=op.f('ck_eqa_homogeneity_measurements_unit_and_replicate')),
    sa.ForeignKeyConstraint(['material_id'], ['eqa_materials.id'], name=op.f('fk_eqa_homogeneity_measurements_material_id_eqa_materials')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_eqa_homogeneity_measurements_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_homogeneity_measurements'))
    )
    with op.batch_alter_table('eqa_homogeneity_measurements', schema=None) as batch_op:
        batch_op.create_index('ix_eqa_homogeneity_measurements_material', ['material_id', 'kind', 'is_current'], unique=False)

    op.create_table('eqa_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.Column('unit', sa.Enum('µg/L', 'mg/kg', name='eqa_result_unit', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('u_x', sa.Double(), nullable=True),
    sa.Column('coverage_k', sa.Double(), nullable=True),
    sa.Column('method', sa.Enum('sk_microplate', 'ammonium_persulfate', 'icp_ms', 'titration', 'other', name='eqa_method', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_by_id', sa.Integer(), nullable=False),
    sa.Column('via', sa.Enum('participant', 'provider_upload', name='eqa_result_via', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('late', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('correction_status', sa.Enum('pending', 'accepted', 'refused', name='eqa_correction_status', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_eqa_results_decided_by_id_users')),
    sa.CheckConstraint('coverage_k IS NULL OR coverage_k > 0', name=op.f('ck_eqa_results_coverage_k_positive')),
    sa.CheckConstraint('u_x IS NULL OR u_x >= 0', name=op.f('ck_eqa_results_u_x_not_negative')),
    sa.CheckConstraint('value >= 0', name=op.f('ck_eqa_results_value_not_negative')),
    sa.CheckConstraint('version >= 1', name=op.f('ck_eqa_results_version_positive')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['eqa_enrolments.id'], name=op.f('fk_eqa_results_enrolment_id_eqa_enrolments')),
    sa.ForeignKeyConstraint(['material_id'], ['eqa_materials.id'], name=op.f('fk_eqa_results_material_id_eqa_materials')),
    sa.ForeignKeyConstraint(['submitted_by_id'], ['users.id'], name=op.f('fk_eqa_results_submitted_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_results')),
    sa.UniqueConstraint('enrolment_id', 'material_id', 'version', name=op.f('uq_eqa_results_enrolment_id_material_id_version'))
    )
    with op.batch_alter_table('eqa_results', schema=None) as batch_op:
        batch_op.create_index('ix_eqa_results_material_current', ['material_id', 'is_current'], unique=False)
        batch_op.create_index('uq_eqa_results_current', ['enrolment_id', 'material_id'], unique=True, postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))
        batch_op.create_index('uq_eqa_results_pending', ['enrolment_id', 'material_id'], unique=True, postgresql_where=sa.text("correction_status = 'pending'"), sqlite_where=sa.text("correction_status = 'pending'"))

    op.create_table('eqa_sample_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['eqa_enrolments.id'], name=op.f('fk_eqa_sample_codes_enrolment_id_eqa_enrolments')),
    sa.ForeignKeyConstraint(['material_id'], ['eqa_materials.id'], name=op.f('fk_eqa_sample_codes_material_id_eqa_materials')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_sample_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_eqa_sample_codes_code')),
    sa.UniqueConstraint('enrolment_id', 'material_id', name=op.f('uq_eqa_sample_codes_enrolment_id_material_id'))
    )
    with op.batch_alter_table('eqa_sample_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eqa_sample_codes_material_id'), ['material_id'], unique=False)

    op.create_table('eqa_scores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('result_id', sa.Integer(), nullable=False),
    sa.Column('material_id', sa.Integer(), nullable=False),
    sa.Column('x_pt', sa.Double(), nullable=False),
    sa.Column('u_x_pt', sa.Double(), nullable=False),
    sa.Column('sigma_pt', sa.Double(), nullable=False),
    sa.Column('z', sa.Double(), nullable=False),
    sa.Column('z_prime', sa.Double(), nullable=False),
    sa.Column('zeta', sa.Double(), nullable=True),
    sa.Column('en', sa.Double(), nullable=True),
    sa.Column('score_kind', sa.Enum('z', 'z_prime', name='eqa_score_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('score_class', sa.Enum('satisfactory', 'questionable', 'unsatisfactory', name='eqa_score_class', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('en_class', sa.Enum('satisfactory', 'questionable', 'unsatisfactory', name='eqa_en_class', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('is_current', sa.Boolean(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('computed_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['computed_by_id'], ['users.id'], name=op.f('fk_eqa_scores_computed_by_id_users')),
    sa.ForeignKeyConstraint(['material_id'], ['eqa_materials.id'], name=op.f('fk_eqa_scores_material_id_eqa_materials')),
    sa.ForeignKeyConstraint(['result_id'], ['eqa_results.id'], name=op.f('fk_eqa_scores_result_id_eqa_results')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eqa_scores'))
    )
    with op.batch_alter_table('eqa_scores', schema=None) as batch_op:
        batch_op.create_index('ix_eqa_scores_material_current', ['material_id', 'is_current'], unique=False)
        batch_op.create_index('uq_eqa_scores_current', ['result_id'], unique=True, postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))


def downgrade() -> None:
    with op.batch_alter_table('eqa_scores', schema=None) as batch_op:
        batch_op.drop_index('uq_eqa_scores_current', postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))
        batch_op.drop_index('ix_eqa_scores_material_current')
    op.drop_table('eqa_scores')
    with op.batch_alter_table('eqa_sample_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eqa_sample_codes_material_id'))
    op.drop_table('eqa_sample_codes')
    with op.batch_alter_table('eqa_results', schema=None) as batch_op:
        batch_op.drop_index('uq_eqa_results_pending', postgresql_where=sa.text("correction_status = 'pending'"), sqlite_where=sa.text("correction_status = 'pending'"))
        batch_op.drop_index('uq_eqa_results_current', postgresql_where=sa.text('is_current'), sqlite_where=sa.text('is_current'))
        batch_op.drop_index('ix_eqa_results_material_current')
    op.drop_table('eqa_results')
    with op.batch_alter_table('eqa_homogeneity_measurements', schema=None) as batch_op:
        batch_op.drop_index('ix_eqa_homogeneity_measurements_material')
    op.drop_table('eqa_homogeneity_measurements')
    with op.batch_alter_table('eqa_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_eqa_documents_round')
    op.drop_table('eqa_documents')
    op.drop_table('eqa_materials')
    with op.batch_alter_table('eqa_enrolments', schema=None) as batch_op:
        batch_op.drop_index('ix_eqa_enrolments_laboratory')
    op.drop_table('eqa_enrolments')
    with op.batch_alter_table('eqa_rounds', schema=None) as batch_op:
        batch_op.drop_index('ix_eqa_rounds_status_dispatch')
        batch_op.drop_index('ix_eqa_rounds_programme_dispatch')
    op.drop_table('eqa_rounds')
    with op.batch_alter_table('eqa_lab_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eqa_lab_accounts_laboratory_id'))
    op.drop_table('eqa_lab_accounts')
    op.drop_table('eqa_programmes')
    op.drop_table('eqa_laboratories')
    op.execute(sa.text("DELETE FROM user_roles WHERE role = 'eqa_participant'"))
    _role_check(ROLES_BEFORE)
