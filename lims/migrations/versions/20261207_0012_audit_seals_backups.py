"""audit_seals: the audit trail's hash chain (append-only, like the events), with every existing
event sealed here; backup_runs: the outcome of each ``lims backup``

Run with the LIMS stopped, as every migration: events committed during it would have to wait
for the sealer, and one written below the head by a transaction still open would stay outside
the chain.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 21:40:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

# The chain's format is frozen and versioned in this pure module (no app, no database), so the
# events sealed here and those the sealer seals later form one chain.
from lims.audit.chain import GENESIS, seal_events

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    op.create_table('audit_seals',
    sa.Column('event_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seal', sa.String(length=64), nullable=False),
    sa.Column('sealed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_audit_seals'))
    )
    op.create_table('backup_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.Enum('ok', 'failed', name='backup_outcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=True),
    sa.Column('message', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backup_runs'))
    )
    with op.batch_alter_table('backup_runs', schema=None) as batch_op:
        batch_op.create_index('ix_backup_runs_outcome_finished', ['outcome', 'finished_at'], unique=False)

    if op.get_bind().dialect.name == "postgresql":
        # the function of 0001 raises 'audit_events is append-only'; the seals get their own
        op.execute(
            "CREATE FUNCTION audit_seals_append_only() RETURNS trigger LANGUAGE plpgsql AS $$"
            " BEGIN RAISE EXCEPTION 'audit_seals is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_seals_no_change BEFORE UPDATE OR DELETE ON audit_seals"
            " FOR EACH ROW EXECUTE FUNCTION audit_seals_append_only()"
        )
    else:
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_seals_no_{verb.lower()} BEFORE {verb} ON audit_seals"
                " BEGIN SELECT RAISE(ABORT, 'audit_seals is append-only'); END"
            )
    _seal_existing_events()


def _seal_existing_events() -> None:
    conn = op.get_bind()
    events = sa.table(
        'audit_events', sa.column('id', sa.Integer), sa.column('occurred_at', sa.DateTime(timezone=True)),
        sa.column('actor_id', sa.Integer), sa.column('actor_name', sa.String),
        sa.column('action', sa.String), sa.column('entity_type', sa.String),
        sa.column('entity_id', sa.Integer), sa.column('entity_label', sa.String),
        sa.column('changes', sa.JSON), sa.column('reason', sa.Text))
    seals = sa.table('audit_seals', sa.column('event_id', sa.Integer), sa.column('seal', sa.String),
                     sa.column('sealed_at', sa.DateTime(timezone=True)))
    now = datetime.now(UTC)
    previous, after = GENESIS, 0
    while True:
        rows = [row._asdict() for row in conn.execute(
            sa.select(events).where(events.c.id > after).order_by(events.c.id).limit(BATCH))]
        if not rows:
            return
        sealed = seal_events(previous, rows)
        conn.execute(seals.insert(), [{"event_id": i, "seal": s, "sealed_at": now}
                                      for i, s in sealed])
        after, previous = sealed[-1]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_seals_no_change ON audit_seals")
        op.execute("DROP FUNCTION audit_seals_append_only()")
    else:
        op.execute("DROP TRIGGER audit_seals_no_update")
        op.execute("DROP TRIGGER audit_seals_no_delete")
    with op.batch_alter_table('backup_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_backup_runs_outcome_finished')
    op.drop_table('backup_runs')
    op.drop_table('audit_seals')
