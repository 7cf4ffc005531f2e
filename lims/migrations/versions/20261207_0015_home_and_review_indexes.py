"""Indexes of the home dashboard, the header search and the review queue (issue 13): samples by
(status, collected_at) and by intake batch, codes of clusters, households and participants,
intake batch file names, runs by calculation time, results to review (flagged first) and a
technician's results by status, results to review (by who entered them, on which run) and the
flagged ones.

Revision ID: 0015
Revises: 0014b
Create Date: 2026-12-07 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014b'
branch_labels = None
depends_on = None

PLAIN = (
    # ix_samples_status_collected: (status, collected_at, id), made by 0016 for the sample list
    ('ix_samples_round_kind_status', 'samples', ['round_id', 'kind', 'status']),
    ('ix_samples_intake_batch_id', 'samples', ['intake_batch_id']),
    ('ix_intake_batches_filename', 'intake_batches', ['filename']),
    ('ix_clusters_code', 'clusters', ['code']),
    ('ix_households_code', 'households', ['code']),
    ('ix_participants_code', 'participants', ['code']),
    ('ix_analytical_runs_calculated_at', 'analytical_runs', ['calculated_at']),
    ('ix_results_created_by_status', 'results', ['created_by_id', 'status']),
)
TO_REVIEW = "status = 'preliminary' AND is_current"
REVIEW_FLAGGED = f"{TO_REVIEW} AND json_array_length(flags) > 0"


def upgrade() -> None:
    for name, table, columns in PLAIN:
        op.create_index(name, table, columns)
    op.create_index('ix_results_to_review', 'results', ['created_by_id', 'run_id'],
                    postgresql_where=sa.text(TO_REVIEW), sqlite_where=sa.text(TO_REVIEW))
    op.create_index('ix_results_review_flagged', 'results', ['id'],
                    postgresql_where=sa.text(REVIEW_FLAGGED), sqlite_where=sa.text(REVIEW_FLAGGED))


def downgrade() -> None:
    op.drop_index('ix_results_review_flagged', table_name='results')
    op.drop_index('ix_results_to_review', table_name='results')
    for name, table, _columns in reversed(PLAIN):
        op.drop_index(name, table_name=table)
