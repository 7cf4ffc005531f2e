"""storage: locations (freezer, rack, box with its grid), aliquots and their positions (one tube
per position, a unique index behind the box lock), sample disposals with a witness, retention rules, and on samples the time of disposal and the
disposal list's index

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-08 00:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

# written out here, not imported: a migration stays as it was when the model changes
DISPOSABLE_WHERE = "received_at IS NOT NULL AND disposed_at IS NULL AND status IN ('verified', 'reported', 'rejected', 'cancelled')"


def upgrade() -> None:
    op.create_table('storage_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Enum('freezer', 'rack', 'box', name='storage_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('n_rows', sa.SmallInteger(), nullable=True),
    sa.Column('n_cols', sa.SmallInteger(), nullable=True),
    sa.Column('sample_kind', sa.Enum('urine', 'salt', name='sample_kind', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("(level = 'box') = (n_rows IS NOT NULL AND n_cols IS NOT NULL AND sample_kind IS NOT NULL)", name=op.f('ck_storage_units_box_has_grid')),
    sa.CheckConstraint("(level = 'freezer') = (parent_id IS NULL)", name=op.f('ck_storage_units_only_freezers_top')),
    sa.CheckConstraint('n_cols IS NULL OR n_cols BETWEEN 1 AND 26', name=op.f('ck_storage_units_cols_bounded')),
    sa.CheckConstraint('n_rows IS NULL OR n_rows BETWEEN 1 AND 26', name=op.f('ck_storage_units_rows_bounded')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_storage_units_created_by_id_users')),
    sa.ForeignKeyConstraint(['parent_id'], ['storage_units.id'], name=op.f('fk_storage_units_parent_id_storage_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_storage_units')),
    sa.UniqueConstraint('code', name=op.f('uq_storage_units_code'))
    )
    with op.batch_alter_table('storage_units', schema=None) as batch_op:
        batch_op.create_index('ix_storage_units_parent_code', ['parent_id', 'code'], unique=False)

    op.create_table('retention_rules',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('urine', 'salt', name='sample_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=True),
    sa.Column('days', sa.Integer(), nullable=False),
    sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('set_by_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('days BETWEEN 1 AND 36500', name=op.f('ck_retention_rules_days_bounded')),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_retention_rules_round_id_survey_rounds')),
    sa.ForeignKeyConstraint(['set_by_id'], ['users.id'], name=op.f('fk_retention_rules_set_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retention_rules')),
    sa.UniqueConstraint('kind', 'round_id', name=op.f('uq_retention_rules_kind_round_id'))
    )
    with op.batch_alter_table('retention_rules', schema=None) as batch_op:
        batch_op.create_index('uq_retention_rules_default', ['kind'], unique=True, postgresql_where=sa.text('round_id IS NULL'), sqlite_where=sa.text('round_id IS NULL'))

    op.create_table('aliquots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.SmallInteger(), nullable=False),
    sa.Column('label', sa.String(length=32).with_variant(sa.String(length=32, collation='C'), 'postgresql'), nullable=False),
    sa.Column('state', sa.Enum('unplaced', 'stored', 'checked_out', 'disposed', name='aliquot_state', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('box_id', sa.Integer(), nullable=True),
    sa.Column('pos_row', sa.SmallInteger(), nullable=True),
    sa.Column('pos_col', sa.SmallInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('checked_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('checked_out_by_id', sa.Integer(), nullable=True),
    sa.Column('checked_out_for', sa.String(length=200), nullable=True),
    sa.CheckConstraint("(state = 'checked_out') = (checked_out_at IS NOT NULL)", name=op.f('ck_aliquots_checkout_time')),
    sa.CheckConstraint("(state IN ('stored', 'checked_out')) = (box_id IS NOT NULL)", name=op.f('ck_aliquots_placed_state')),
    sa.CheckConstraint('(box_id IS NULL) = (pos_row IS NULL) AND (box_id IS NULL) = (pos_col IS NULL)', name=op.f('ck_aliquots_position_whole')),
    sa.CheckConstraint('number BETWEEN 0 AND 20', name=op.f('ck_aliquots_number_bounded')),
    sa.ForeignKeyConstraint(['box_id'], ['storage_units.id'], name=op.f('fk_aliquots_box_id_storage_units')),
    sa.ForeignKeyConstraint(['checked_out_by_id'], ['users.id'], name=op.f('fk_aliquots_checked_out_by_id_users')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_aliquots_created_by_id_users')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_aliquots_sample_id_samples')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_aliquots')),
    sa.UniqueConstraint('label', name=op.f('uq_aliquots_label')),
    sa.UniqueConstraint('sample_id', 'number', name=op.f('uq_aliquots_sample_id_number'))
    )
    with op.batch_alter_table('aliquots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_aliquots_sample_id'), ['sample_id'], unique=False)
        batch_op.create_index('ix_aliquots_state_checked_out', ['state', 'checked_out_at'], unique=False)
        batch_op.create_index('uq_aliquots_position', ['box_id', 'pos_row', 'pos_col'], unique=True, postgresql_where=sa.text('box_id IS NOT NULL'), sqlite_where=sa.text('box_id IS NOT NULL'))

    op.create_table('sample_disposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('disposed_by_id', sa.Integer(), nullable=False),
    sa.Column('witness_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.CheckConstraint('witness_id <> disposed_by_id', name=op.f('ck_sample_disposals_witness_not_actor')),
    sa.ForeignKeyConstraint(['disposed_by_id'], ['users.id'], name=op.f('fk_sample_disposals_disposed_by_id_users')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_sample_disposals_sample_id_samples')),
    sa.ForeignKeyConstraint(['witness_id'], ['users.id'], name=op.f('fk_sample_disposals_witness_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sample_disposals')),
    sa.UniqueConstraint('sample_id', name=op.f('uq_sample_disposals_sample_id'))
    )
    with op.batch_alter_table('sample_disposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sample_disposals_disposed_at'), ['disposed_at'], unique=False)

    # the disposal list: received samples with no work left, not disposed, oldest collection first
    with op.batch_alter_table('samples', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disposed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_samples_disposable', ['collected_at', 'id'], unique=False, postgresql_where=sa.text(DISPOSABLE_WHERE), sqlite_where=sa.text(DISPOSABLE_WHERE))



def downgrade() -> None:
    with op.batch_alter_table('samples', schema=None) as batch_op:
        batch_op.drop_index('ix_samples_disposable', postgresql_where=sa.text(DISPOSABLE_WHERE), sqlite_where=sa.text(DISPOSABLE_WHERE))
        batch_op.drop_column('disposed_at')

    with op.batch_alter_table('sample_disposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sample_disposals_disposed_at'))

    op.drop_table('sample_disposals')
    with op.batch_alter_table('aliquots', schema=None) as batch_op:
        batch_op.drop_index('uq_aliquots_position', postgresql_where=sa.text('box_id IS NOT NULL'), sqlite_where=sa.text('box_id IS NOT NULL'))
        batch_op.drop_index('ix_aliquots_state_checked_out')
        batch_op.drop_index(batch_op.f('ix_aliquots_sample_id'))

    op.drop_table('aliquots')
    with op.batch_alter_table('retention_rules', schema=None) as batch_op:
        batch_op.drop_index('uq_retention_rules_default', postgresql_where=sa.text('round_id IS NULL'), sqlite_where=sa.text('round_id IS NULL'))

    op.drop_table('retention_rules')
    with op.batch_alter_table('storage_units', schema=None) as batch_op:
        batch_op.drop_index('ix_storage_units_parent_code')

    op.drop_table('storage_units')
