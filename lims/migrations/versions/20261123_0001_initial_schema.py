"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 15:34:00.860336
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('accession_counters',
    sa.Column('kind', sa.Enum('urine', 'salt', name='sample_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('last_value', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind', 'year', name=op.f('pk_accession_counters'))
    )
    op.create_table('population_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('min_age_months', sa.Integer(), nullable=True),
    sa.Column('max_age_months', sa.Integer(), nullable=True),
    sa.Column('sort_order', sa.Integer(), nullable=False),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_kk', sa.String(length=200), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_population_groups')),
    sa.UniqueConstraint('code', name=op.f('uq_population_groups_code'))
    )
    op.create_table('programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programmes')),
    sa.UniqueConstraint('code', name=op.f('uq_programmes_code'))
    )
    op.create_table('regions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('iso_code', sa.String(length=8), nullable=False),
    sa.Column('iso_code_before_2024', sa.String(length=8), nullable=True),
    sa.Column('kind', sa.Enum('region', 'city', name='region_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('admin_centre', sa.String(length=120), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_kk', sa.String(length=200), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_regions')),
    sa.UniqueConstraint('iso_code', name=op.f('uq_regions_iso_code'))
    )
    op.create_table('sample_kinds',
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('accession_prefix', sa.String(length=4), nullable=False),
    sa.Column('min_volume_ml', sa.Numeric(precision=8, scale=2), nullable=True),
    sa.Column('max_age_days', sa.Integer(), nullable=True),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_kk', sa.String(length=200), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_sample_kinds')),
    sa.UniqueConstraint('accession_prefix', name=op.f('uq_sample_kinds_accession_prefix'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_api_tokens_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_prefix'), ['prefix'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_name', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('entity_type', sa.String(length=64), nullable=False),
    sa.Column('entity_id', sa.Integer(), nullable=False),
    sa.Column('entity_label', sa.String(length=80), nullable=True),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_entity', ['entity_type', 'entity_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_occurred_at'), ['occurred_at'], unique=False)

    op.create_table('districts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('name_en', sa.String(length=200), nullable=False),
    sa.Column('name_kk', sa.String(length=200), nullable=False),
    sa.Column('name_ru', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_districts_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_districts')),
    sa.UniqueConstraint('region_id', 'code', name=op.f('uq_districts_region_id_code'))
    )
    with op.batch_alter_table('districts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_districts_region_id'), ['region_id'], unique=False)

    op.create_table('intake_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.Enum('urine', 'salt', name='sample_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_intake_batches_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intake_batches'))
    )
    op.create_table('region_lineage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('predecessor_code', sa.String(length=8), nullable=False),
    sa.Column('relation', sa.Enum('split_from', 'renamed_from', 'separated_from', name='lineage_relation', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('effective_on', sa.Date(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_region_lineage_region_id_regions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_region_lineage'))
    )
    op.create_table('survey_rounds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'active', 'closed', name='round_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('period_end >= period_start', name=op.f('ck_survey_rounds_period_order')),
    sa.ForeignKeyConstraint(['programme_id'], ['programmes.id'], name=op.f('fk_survey_rounds_programme_id_programmes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_rounds')),
    sa.UniqueConstraint('code', name=op.f('uq_survey_rounds_code'))
    )
    with op.batch_alter_table('survey_rounds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_rounds_programme_id'), ['programme_id'], unique=False)

    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.Enum('technician', 'reviewer', 'ministry', 'admin', name='role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users')),
    sa.PrimaryKeyConstraint('user_id', 'role', name=op.f('pk_user_roles'))
    )
    op.create_table('clusters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('site_type', sa.Enum('school', 'settlement', 'clinic', name='site_type', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('target_count', sa.Integer(), nullable=False),
    sa.Column('latitude', sa.Double(), nullable=True),
    sa.Column('longitude', sa.Double(), nullable=True),
    sa.CheckConstraint('target_count >= 0', name=op.f('ck_clusters_target_not_negative')),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], name=op.f('fk_clusters_district_id_districts')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_clusters_region_id_regions')),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_clusters_round_id_survey_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clusters')),
    sa.UniqueConstraint('round_id', 'code', name=op.f('uq_clusters_round_id_code'))
    )
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_clusters_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clusters_region_id'), ['region_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_clusters_round_id'), ['round_id'], unique=False)

    op.create_table('survey_round_groups',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['population_groups.id'], name=op.f('fk_survey_round_groups_group_id_population_groups')),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_survey_round_groups_round_id_survey_rounds')),
    sa.PrimaryKeyConstraint('round_id', 'group_id', name=op.f('pk_survey_round_groups'))
    )
    op.create_table('survey_round_regions',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_survey_round_regions_region_id_regions')),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_survey_round_regions_round_id_survey_rounds')),
    sa.PrimaryKeyConstraint('round_id', 'region_id', name=op.f('pk_survey_round_regions'))
    )
    op.create_table('households',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_households_cluster_id_clusters')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_households')),
    sa.UniqueConstraint('cluster_id', 'code', name=op.f('uq_households_cluster_id_code'))
    )
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_households_cluster_id'), ['cluster_id'], unique=False)

    op.create_table('participants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('population_group_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('age_months', sa.Integer(), nullable=False),
    sa.Column('sex', sa.Enum('F', 'M', name='sex', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('physiological_status', sa.Enum('none', 'pregnant', 'lactating', name='physiological_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.CheckConstraint('age_months >= 0 AND age_months <= 1500', name=op.f('ck_participants_age_range')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_participants_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_participants_household_id_households')),
    sa.ForeignKeyConstraint(['population_group_id'], ['population_groups.id'], name=op.f('fk_participants_population_group_id_population_groups')),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_participants_round_id_survey_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_participants')),
    sa.UniqueConstraint('round_id', 'code', name=op.f('uq_participants_round_id_code'))
    )
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participants_cluster_id'), ['cluster_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participants_household_id'), ['household_id'], unique=False)

    op.create_table('samples',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('accession', sa.String(length=20).with_variant(sa.String(length=20, collation='C'), 'postgresql'), nullable=False),
    sa.Column('kind', sa.Enum('urine', 'salt', name='sample_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('registered', 'received', 'in_analysis', 'pending_review', 'verified', 'reported', 'rejected', 'cancelled', name='sample_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('household_id', sa.Integer(), nullable=True),
    sa.Column('participant_id', sa.Integer(), nullable=True),
    sa.Column('collected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('registered_by_id', sa.Integer(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('intake_batch_id', sa.Integer(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('volume_ml', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('container', sa.Enum('screw_cap_tube', 'cryovial', 'urine_cup', name='urine_container', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('salt_source', sa.Enum('household', 'retail', 'production', name='salt_source', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('brand', sa.String(length=120), nullable=True),
    sa.Column('packaging', sa.Enum('sealed_plastic', 'open_plastic', 'paper', 'bulk', 'other', name='salt_packaging', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('iodized_per_label', sa.Boolean(), nullable=True),
    sa.CheckConstraint("kind <> 'salt' OR salt_source IS NOT NULL", name=op.f('ck_samples_salt_fields')),
    sa.CheckConstraint("kind <> 'urine' OR (volume_ml IS NOT NULL AND container IS NOT NULL AND participant_id IS NOT NULL)", name=op.f('ck_samples_urine_fields')),
    sa.CheckConstraint('volume_ml IS NULL OR volume_ml >= 0', name=op.f('ck_samples_volume_not_negative')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_samples_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_samples_household_id_households')),
    sa.ForeignKeyConstraint(['intake_batch_id'], ['intake_batches.id'], name=op.f('fk_samples_intake_batch_id_intake_batches')),
    sa.ForeignKeyConstraint(['participant_id'], ['participants.id'], name=op.f('fk_samples_participant_id_participants')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_samples_region_id_regions')),
    sa.ForeignKeyConstraint(['registered_by_id'], ['users.id'], name=op.f('fk_samples_registered_by_id_users')),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_samples_round_id_survey_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_samples')),
    sa.UniqueConstraint('accession', name=op.f('uq_samples_accession'))
    )
    with op.batch_alter_table('samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_samples_cluster_id'), ['cluster_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_samples_collected_at'), ['collected_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_samples_household_id'), ['household_id'], unique=False)
        batch_op.create_index('ix_samples_kind_status_id', ['kind', 'status', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_samples_participant_id'), ['participant_id'], unique=False)
        batch_op.create_index('ix_samples_region_status_id', ['region_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_samples_round_status_id', ['round_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_samples_status_id', ['status', 'id'], unique=False)

    op.create_table('sample_receipts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=False),
    sa.Column('temperature_c', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('volume_ml', sa.Numeric(precision=7, scale=2), nullable=True),
    sa.Column('container_intact', sa.Boolean(), nullable=True),
    sa.Column('decision', sa.Enum('accepted', 'rejected', name='receipt_decision', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('rejection_reason', sa.Enum('insufficient_volume', 'leaking', 'unlabelled', 'too_old', 'contaminated', 'other', name='rejection_reason', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint("decision <> 'rejected' OR rejection_reason IS NOT NULL", name=op.f('ck_sample_receipts_rejection_has_reason')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_sample_receipts_received_by_id_users')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_sample_receipts_sample_id_samples')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sample_receipts'))
    )
    with op.batch_alter_table('sample_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sample_receipts_sample_id'), ['sample_id'], unique=False)


    # The audit trail is append-only in the database itself, whoever connects.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'audit_events is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events"
            " FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events"
                " BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_events_no_change ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    else:
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    with op.batch_alter_table('sample_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sample_receipts_sample_id'))

    op.drop_table('sample_receipts')
    with op.batch_alter_table('samples', schema=None) as batch_op:
        batch_op.drop_index('ix_samples_status_id')
        batch_op.drop_index('ix_samples_round_status_id')
        batch_op.drop_index('ix_samples_region_status_id')
        batch_op.drop_index(batch_op.f('ix_samples_participant_id'))
        batch_op.drop_index('ix_samples_kind_status_id')
        batch_op.drop_index(batch_op.f('ix_samples_household_id'))
        batch_op.drop_index(batch_op.f('ix_samples_collected_at'))
        batch_op.drop_index(batch_op.f('ix_samples_cluster_id'))

    op.drop_table('samples')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participants_household_id'))
        batch_op.drop_index(batch_op.f('ix_participants_cluster_id'))

    op.drop_table('participants')
    with op.batch_alter_table('households', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_households_cluster_id'))

    op.drop_table('households')
    op.drop_table('survey_round_regions')
    op.drop_table('survey_round_groups')
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_clusters_round_id'))
        batch_op.drop_index(batch_op.f('ix_clusters_region_id'))
        batch_op.drop_index(batch_op.f('ix_clusters_district_id'))

    op.drop_table('clusters')
    op.drop_table('user_roles')
    with op.batch_alter_table('survey_rounds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_rounds_programme_id'))

    op.drop_table('survey_rounds')
    op.drop_table('region_lineage')
    op.drop_table('intake_batches')
    with op.batch_alter_table('districts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_districts_region_id'))

    op.drop_table('districts')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_occurred_at'))
        batch_op.drop_index('ix_audit_events_entity')

    op.drop_table('audit_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_prefix'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('sample_kinds')
    op.drop_table('regions')
    op.drop_table('programmes')
    op.drop_table('population_groups')
    op.drop_table('accession_counters')
