"""The disposal list at national scale (issue 16, item 4): its first and a deep page over a
million samples of which about half are disposed of already, as after years of use.

Creates (or reuses) a PostgreSQL database: migrations, reference data and a small demo round for
its clusters, then ``--samples`` synthetic salt samples in one INSERT (collected evenly from
2020 to November 2026, one in five still in work), retention of 730 days for both kinds, and a
disposal record for every disposable sample collected before June 2023. Prints the execution
time (best of five ``EXPLAIN ANALYZE``) and the plan's top nodes for the list's query, and for
the earlier query (ordered by id, disposals excluded by NOT EXISTS) for comparison.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_disposal.py --database lims_bench_disposal
"""

from __future__ import annotations

import argparse
import os
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from benchmarks.bench_http import SERVER, lims

NOW = datetime(2026, 12, 8, tzinfo=UTC)
STATUSES = ("verified", "reported", "reported", "verified", "received", "rejected", "cancelled",
            "in_analysis", "reported", "verified")
SYNTHETIC = """
INSERT INTO samples (accession, kind, status, round_id, cluster_id, region_id, household_id,
    collected_at, registered_at, received_at, salt_source, priority)
SELECT 'B-' || lpad(g::text, 7, '0'), 'salt', (ARRAY[{statuses}])[1 + g % 10], t.round_id,
    t.cluster_id, t.region_id, t.household_id, timestamptz '2020-01-01' + g * step,
    timestamptz '2020-01-02' + g * step, timestamptz '2020-01-03' + g * step, t.salt_source, 0
FROM generate_series(1, :n) g,
    (SELECT * FROM samples WHERE kind = 'salt' ORDER BY id LIMIT 1) t,
    (SELECT interval '2525 days' / :n AS step) s
"""
DISPOSED = """
WITH gone AS (
    INSERT INTO sample_disposals (sample_id, disposed_at, disposed_by_id, witness_id, reason)
    SELECT id, :now, :actor, :witness, 'retention ended (benchmark)' FROM samples
    WHERE received_at IS NOT NULL AND status IN ('verified', 'reported', 'rejected', 'cancelled')
        AND collected_at < '2023-06-01'
    RETURNING sample_id, disposed_at)
UPDATE samples SET disposed_at = gone.disposed_at FROM gone WHERE gone.sample_id = samples.id
"""


def prepare(name: str, samples: int) -> sa.Engine:
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    env = {**os.environ, "LIMS_DATABASE_URL": f"{SERVER}/{name}",
           "LIMS_SECRET_KEY": "bench-disposal-not-secret"}
    env.pop("LIMS_CONFIG", None)
    lims(env, "db", "upgrade")
    lims(env, "seed")
    engine = sa.create_engine(env["LIMS_DATABASE_URL"])
    with engine.connect() as conn:
        have = conn.scalar(sa.text("SELECT count(*) FROM samples"))
    if not have:
        lims(env, "demo-data", "--seed", "7", "--samples", "500")
        lims(env, "demo-users", "--quiet")
    with engine.begin() as conn:
        if conn.scalar(sa.text("SELECT count(*) FROM samples WHERE accession LIKE 'B-%'")) == 0:
            statuses = ", ".join(f"'{s}'" for s in STATUSES)
            conn.execute(sa.text(SYNTHETIC.format(statuses=statuses)), {"n": samples})
        users = list(conn.scalars(sa.text("SELECT id FROM users ORDER BY id LIMIT 2")))
        if not conn.scalar(sa.text("SELECT count(*) FROM retention_rules")):
            conn.execute(sa.text("INSERT INTO retention_rules (kind, days, set_at, set_by_id) "
                                 "VALUES ('salt', 730, :now, :u), ('urine', 730, :now, :u)"),
                         {"now": NOW, "u": users[0]})
        if not conn.scalar(sa.text("SELECT count(*) FROM sample_disposals")):
            conn.execute(sa.text(DISPOSED), {"now": NOW, "actor": users[0], "witness": users[-1]})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE samples")
        conn.exec_driver_sql("ANALYZE sample_disposals")
    return engine


def by_id(session: Session, after: int | None = None) -> sa.Select[Any]:
    """The list's query before issue 16's polish: by id, the disposed excluded per row."""
    from lims.logistics import disposal
    from lims.logistics.storage_models import SampleDisposal
    from lims.samples.models import Sample

    not_disposed = ~sa.select(SampleDisposal.id).where(
        SampleDisposal.sample_id == Sample.id).exists()
    stmt = (sa.select(Sample).where(Sample.received_at.is_not(None),
                                    disposal._past_retention(session, NOW), not_disposed,
                                    ~sa.or_(*disposal._open_work_terms().values()))
            .order_by(Sample.id).limit(51))
    return stmt if after is None else stmt.where(Sample.id > after)


def explain(session: Session, stmt: sa.Select[Any], label: str) -> None:
    sql = stmt.compile(dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True})
    times = []
    for _ in range(5):
        plan = session.execute(sa.text(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")).scalar_one()
        times.append(plan[0]["Execution Time"])
    nodes: list[str] = []
    node = plan[0]["Plan"]
    while node and len(nodes) < 3:
        nodes.append(node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node
                                          else ""))
        node = (node.get("Plans") or [None])[0]
    print(f"{label:<34} {min(times):9.1f} ms   {' > '.join(nodes)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="lims_bench_disposal")
    parser.add_argument("--samples", type=int, default=1_000_000)
    args = parser.parse_args()
    engine = prepare(args.database, args.samples)
    import lims.models  # noqa: F401  (every mapper, for the queries below)
    from lims.logistics import disposal

    with Session(engine) as session:
        total, gone = session.execute(sa.text(
            "SELECT count(*), count(disposed_at) FROM samples")).one()
        print(f"{total:,} samples, {gone:,} disposed of")
        # a deep page: from the last due sample collected before June 2024
        deep = session.execute(sa.text(
            "SELECT collected_at, id FROM samples WHERE disposed_at IS NULL AND status = 'reported'"
            " AND collected_at < '2024-06-01' ORDER BY collected_at DESC LIMIT 1")).first()
        explain(session, disposal.disposal_statement(session, NOW, limit=51), "first page")
        explain(session, by_id(session), "first page, by id (before)")
        if deep is not None:
            explain(session, disposal.disposal_statement(
                session, NOW, limit=51, after=disposal.DisposalCursor(*deep)), "deep page")
            explain(session, by_id(session, deep.id), "deep page, by id (before)")


if __name__ == "__main__":
    main()
