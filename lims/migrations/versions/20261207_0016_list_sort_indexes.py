"""Indexes for the lists' sort keys: each sortable column of a list is indexed as (key, id), the
unique tiebreaker of the keyset, and the lists' usual equality filters get (filter…, key, id), so
that a sorted, filtered first page (and its count) is one short index scan at a million rows;
the single-column indexes on samples.collected_at and audit_events.occurred_at, which the new
(column, id) indexes replace, are dropped

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 21:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

INDEXES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    'samples': (
        ('ix_samples_registered', ('registered_at', 'id')),
        ('ix_samples_collected', ('collected_at', 'id')),
        ('ix_samples_status_registered', ('status', 'registered_at', 'id')),
        ('ix_samples_status_collected', ('status', 'collected_at', 'id')),
        ('ix_samples_region_status_registered', ('region_id', 'status', 'registered_at', 'id')),
    ),
    'results': (
        ('ix_results_created', ('created_at', 'id')),
        ('ix_results_status_created', ('status', 'created_at', 'id')),
    ),
    'analytical_runs': (
        ('ix_analytical_runs_created', ('created_at', 'id')),
        ('ix_analytical_runs_status_created', ('status', 'created_at', 'id')),
    ),
    'instrument_readings': (
        ('ix_instrument_readings_received', ('received_at', 'id')),
        ('ix_instrument_readings_status_received', ('status', 'received_at', 'id')),
    ),
    'audit_events': (
        ('ix_audit_events_occurred', ('occurred_at', 'id')),
        ('ix_audit_events_actor_occurred', ('actor_name', 'occurred_at', 'id')),
        ('ix_audit_events_action_occurred', ('action', 'occurred_at', 'id')),
        ('ix_audit_events_type_occurred', ('entity_type', 'occurred_at', 'id')),
    ),
    'report_jobs': (
        ('ix_report_jobs_requested', ('requested_at', 'id')),
    ),
}


#: Single-column indexes that the (column, id) indexes above make redundant.
REPLACED = (('ix_samples_collected_at', 'samples', 'collected_at'),
            ('ix_audit_events_occurred_at', 'audit_events', 'occurred_at'))


def upgrade() -> None:
    for table, indexes in INDEXES.items():
        for name, columns in indexes:
            op.create_index(name, table, list(columns))
    for name, table, _column in REPLACED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for name, table, column in REPLACED:
        op.create_index(name, table, [column])
    for table, indexes in INDEXES.items():
        for name, _columns in indexes:
            op.drop_index(name, table_name=table)
