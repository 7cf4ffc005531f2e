"""shipments: shipments from the field with their manifests and discrepancies; the cold-chain
rejection reason

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-08 00:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None

OLD_REASONS = ('insufficient_volume', 'leaking', 'unlabelled', 'too_old', 'contaminated', 'other')
NEW_REASONS = ('insufficient_volume', 'leaking', 'unlabelled', 'too_old', 'contaminated',
               'cold_chain', 'other')


def _reasons(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name='rejection_reason', native_enum=False, create_constraint=True,
                   length=32)


def upgrade() -> None:
    op.create_table('shipments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('region_id', sa.Integer(), nullable=False),
    sa.Column('cluster_id', sa.Integer(), nullable=True),
    sa.Column('courier', sa.String(length=120), nullable=False),
    sa.Column('dispatched_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('box_count', sa.Integer(), nullable=False),
    sa.Column('logger_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.Enum('in_transit', 'receiving', 'closed', name='shipment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('arrival_temperature_c', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('logger_excursion', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('excursion_details', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.CheckConstraint('box_count >= 1', name=op.f('ck_shipments_has_boxes')),
    sa.CheckConstraint('NOT logger_excursion OR excursion_details IS NOT NULL', name=op.f('ck_shipments_excursion_described')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_shipments_closed_by_id_users')),
    sa.ForeignKeyConstraint(['cluster_id'], ['clusters.id'], name=op.f('fk_shipments_cluster_id_clusters')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_shipments_created_by_id_users')),
    sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_shipments_region_id_regions')),
    sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_shipments_round_id_survey_rounds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipments'))
    )
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipments_cluster_id'), ['cluster_id'], unique=False)
        batch_op.create_index('ix_shipments_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_shipments_dispatched', ['dispatched_at', 'id'], unique=False)
        batch_op.create_index('ix_shipments_region_status', ['region_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_shipments_status_created', ['status', 'created_at', 'id'], unique=False)

    op.create_table('shipment_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('expected', sa.Boolean(), nullable=False),
    sa.Column('is_open', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('box_number', sa.Integer(), nullable=True),
    sa.Column('scanned_box', sa.Integer(), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scanned_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('box_number IS NULL OR box_number >= 1', name=op.f('ck_shipment_items_box_positive')),
    sa.CheckConstraint('expected OR scanned_at IS NOT NULL', name=op.f('ck_shipment_items_extra_was_scanned')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_shipment_items_sample_id_samples')),
    sa.ForeignKeyConstraint(['scanned_by_id'], ['users.id'], name=op.f('fk_shipment_items_scanned_by_id_users')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_items_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_items')),
    sa.UniqueConstraint('shipment_id', 'sample_id', name=op.f('uq_shipment_items_shipment_id_sample_id'))
    )
    with op.batch_alter_table('shipment_items', schema=None) as batch_op:
        batch_op.create_index('ix_shipment_items_shipment_scanned', ['shipment_id', 'scanned_at'], unique=False)
        batch_op.create_index('uq_shipment_items_one_open_shipment', ['sample_id'], unique=True,
                              sqlite_where=sa.text('is_open'), postgresql_where=sa.text('is_open'))

    op.create_table('shipment_discrepancies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('shipment_id', sa.Integer(), nullable=False),
    sa.Column('sample_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('missing', 'extra', 'damaged', name='discrepancy_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_shipment_discrepancies_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['sample_id'], ['samples.id'], name=op.f('fk_shipment_discrepancies_sample_id_samples')),
    sa.ForeignKeyConstraint(['shipment_id'], ['shipments.id'], name=op.f('fk_shipment_discrepancies_shipment_id_shipments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_shipment_discrepancies')),
    sa.UniqueConstraint('shipment_id', 'sample_id', 'kind', name=op.f('uq_shipment_discrepancies_shipment_id_sample_id_kind'))
    )
    with op.batch_alter_table('shipment_discrepancies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_shipment_discrepancies_sample_id'), ['sample_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_shipment_discrepancies_shipment_id'), ['shipment_id'], unique=False)

    # the cold-chain rejection reason: the enum's CHECK constraint is rebuilt with the new value
    with op.batch_alter_table('sample_receipts', schema=None) as batch_op:
        batch_op.alter_column('rejection_reason', existing_type=_reasons(OLD_REASONS),
                              type_=_reasons(NEW_REASONS), existing_nullable=True)


def downgrade() -> None:
    op.execute("UPDATE sample_receipts SET rejection_reason = 'other', "
               "note = COALESCE(note, 'cold chain') WHERE rejection_reason = 'cold_chain'")
    with op.batch_alter_table('sample_receipts', schema=None) as batch_op:
        batch_op.alter_column('rejection_reason', existing_type=_reasons(NEW_REASONS),
                              type_=_reasons(OLD_REASONS), existing_nullable=True)
    with op.batch_alter_table('shipment_discrepancies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipment_discrepancies_shipment_id'))
        batch_op.drop_index(batch_op.f('ix_shipment_discrepancies_sample_id'))
    op.drop_table('shipment_discrepancies')
    with op.batch_alter_table('shipment_items', schema=None) as batch_op:
        batch_op.drop_index('uq_shipment_items_one_open_shipment', sqlite_where=sa.text('is_open'),
                            postgresql_where=sa.text('is_open'))
        batch_op.drop_index('ix_shipment_items_shipment_scanned')
    op.drop_table('shipment_items')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_index('ix_shipments_status_created')
        batch_op.drop_index('ix_shipments_region_status')
        batch_op.drop_index('ix_shipments_dispatched')
        batch_op.drop_index('ix_shipments_created')
        batch_op.drop_index(batch_op.f('ix_shipments_cluster_id'))
    op.drop_table('shipments')
