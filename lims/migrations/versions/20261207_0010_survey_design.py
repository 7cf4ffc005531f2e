"""survey design as data: clusters' stratum and design weight, populations of strata per round

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('stratum', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('design_weight', sa.Double(), nullable=True))
        batch_op.create_check_constraint(op.f('ck_clusters_design_weight_positive'), 'design_weight > 0')
    op.create_table(
        'stratum_populations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('round_id', sa.Integer(), nullable=False),
        sa.Column('region_id', sa.Integer(), nullable=False),
        sa.Column('stratum', sa.String(length=32), nullable=False),
        sa.Column('population', sa.BigInteger(), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.CheckConstraint('population > 0', name=op.f('ck_stratum_populations_population_positive')),
        sa.CheckConstraint('year >= 1900 AND year <= 2100', name=op.f('ck_stratum_populations_year_range')),
        sa.ForeignKeyConstraint(['region_id'], ['regions.id'], name=op.f('fk_stratum_populations_region_id_regions')),
        sa.ForeignKeyConstraint(['round_id'], ['survey_rounds.id'], name=op.f('fk_stratum_populations_round_id_survey_rounds')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stratum_populations')),
        sa.UniqueConstraint('round_id', 'region_id', 'stratum', name=op.f('uq_stratum_populations_round_id_region_id_stratum')),
    )
    with op.batch_alter_table('stratum_populations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stratum_populations_round_id'), ['round_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stratum_populations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stratum_populations_round_id'))
    op.drop_table('stratum_populations')
    with op.batch_alter_table('clusters', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_clusters_design_weight_positive'), type_='check')
        batch_op.drop_column('design_weight')
        batch_op.drop_column('stratum')
