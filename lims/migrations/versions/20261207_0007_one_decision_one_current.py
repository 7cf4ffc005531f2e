"""the database refuses what the code must never do: two receipts of the same decision for a
sample, and two current versions of a sample's result (partial unique indexes behind the row
locks of ``lims.core.locking``)

Duplicates written by the races these indexes close are reported and repaired first: the
earliest row by id is kept, the others stay as superseded (a receipt gets ``superseded``, a
result leaves ``current`` and becomes ``superseded``), and each repair is an audit event.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 19:00:00
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

log = logging.getLogger(f"alembic.migration.{revision}")

receipts = sa.table('sample_receipts', sa.column('id', sa.Integer), sa.column('sample_id', sa.Integer),
                    sa.column('decision', sa.String), sa.column('superseded', sa.Boolean))
results = sa.table('results', sa.column('id', sa.Integer), sa.column('sample_id', sa.Integer),
                   sa.column('analyte', sa.String), sa.column('is_current', sa.Boolean),
                   sa.column('status', sa.String))
samples = sa.table('samples', sa.column('id', sa.Integer), sa.column('accession', sa.String))
audit = sa.table('audit_events', sa.column('occurred_at', sa.DateTime(timezone=True)),
                 sa.column('actor_id', sa.Integer), sa.column('actor_name', sa.String),
                 sa.column('action', sa.String), sa.column('entity_type', sa.String),
                 sa.column('entity_id', sa.Integer), sa.column('entity_label', sa.String),
                 sa.column('changes', sa.JSON), sa.column('reason', sa.Text))

REASON = "duplicate written by concurrent requests; the earliest is kept (migration 0007)"


def _duplicates(conn: sa.Connection, table: sa.TableClause, keys: list[str],
                where: sa.ColumnElement[bool]) -> list[tuple[tuple[object, ...], list[int]]]:
    """(key values, ids ascending) of every group with more than one row."""
    cols = [table.c[k] for k in keys]
    groups = conn.execute(sa.select(*cols).where(where).group_by(*cols)
                          .having(sa.func.count() > 1)).all()
    found = []
    for group in groups:
        ids = conn.scalars(sa.select(table.c.id).where(where, *[c == v for c, v in zip(cols, group)])
                           .order_by(table.c.id)).all()
        found.append((tuple(group), list(ids)))
    return found


def _audit(conn: sa.Connection, *, now: datetime, action: str, entity_type: str, entity_id: int,
           label: str | None, changes: dict[str, object]) -> None:
    conn.execute(audit.insert().values(occurred_at=now, actor_id=None, actor_name="system",
                                       action=action, entity_type=entity_type, entity_id=entity_id,
                                       entity_label=label, changes=changes, reason=REASON))


def _repair(conn: sa.Connection) -> None:
    now = datetime.now(UTC)
    for (sample_id, decision), ids in _duplicates(conn, receipts, ['sample_id', 'decision'],
                                                  sa.not_(receipts.c.superseded)):
        kept, extra = ids[0], ids[1:]
        label = conn.scalar(sa.select(samples.c.accession).where(samples.c.id == sample_id))
        log.warning("sample %s has %d %s receipts: keeping #%d, superseding %s",
                    label, len(ids), decision, kept, extra)
        conn.execute(receipts.update().where(receipts.c.id.in_(extra)).values(superseded=True))
        _audit(conn, now=now, action="receipt_duplicates_superseded", entity_type="sample",
               entity_id=sample_id, label=label,
               changes={"decision": decision, "kept_receipt": kept, "superseded_receipts": extra})
    for (sample_id, analyte), ids in _duplicates(conn, results, ['sample_id', 'analyte'],
                                                 results.c.is_current):
        kept, extra = ids[0], ids[1:]
        label = conn.scalar(sa.select(samples.c.accession).where(samples.c.id == sample_id))
        log.warning("sample %s has %d current %s results: keeping #%d, superseding %s",
                    label, len(ids), analyte, kept, extra)
        conn.execute(results.update().where(results.c.id.in_(extra))
                     .values(is_current=False, status='superseded'))
        _audit(conn, now=now, action="result_duplicates_superseded", entity_type="result",
               entity_id=kept, label=label,
               changes={"analyte": analyte, "kept_result": kept, "superseded_results": extra})


def upgrade() -> None:
    with op.batch_alter_table('sample_receipts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('superseded', sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    _repair(op.get_bind())
    with op.batch_alter_table('sample_receipts', schema=None) as batch_op:
        batch_op.create_index('uq_sample_receipts_one_decision', ['sample_id', 'decision'],
                              unique=True, postgresql_where=sa.text('NOT superseded'),
                              sqlite_where=sa.text('NOT superseded'))
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.create_index('uq_results_one_current', ['sample_id', 'analyte'], unique=True,
                              postgresql_where=sa.text('is_current'),
                              sqlite_where=sa.text('is_current'))


def downgrade() -> None:
    with op.batch_alter_table('results', schema=None) as batch_op:
        batch_op.drop_index('uq_results_one_current')
    with op.batch_alter_table('sample_receipts', schema=None) as batch_op:
        batch_op.drop_index('uq_sample_receipts_one_decision')
        batch_op.drop_column('superseded')
