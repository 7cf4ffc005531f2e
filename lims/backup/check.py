"""``lims check``: is this database intact? Storage (SQLite's integrity check, PostgreSQL's
amcheck where installed), foreign keys, the invariants the services rely on (and that partial
unique indexes and row locks only guard going forward), and the audit chain.

Each problem is one line naming what is wrong and where; the command exits non-zero when there
is any. Notes are things worth knowing that are not damage (amcheck not installed, events not
sealed yet).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from lims.audit import sealing

#: (what the services rely on, a query returning one row per violation: an id and a count/label)
INVARIANTS: tuple[tuple[str, str], ...] = (
    ("more than one current result version for sample #{0}, analyte {1}",
     "SELECT sample_id, analyte FROM results WHERE is_current"
     " GROUP BY sample_id, analyte HAVING count(*) > 1"),
    ("result #{0} is superseded but still marked current",
     "SELECT id, status FROM results WHERE is_current AND status = 'superseded'"),
    ("sample #{0} has more than one standing '{1}' receipt",
     "SELECT sample_id, decision FROM sample_receipts WHERE NOT superseded"
     " GROUP BY sample_id, decision HAVING count(*) > 1"),
    ("sample #{0} is '{1}' but has no current verified result",
     "SELECT s.id, s.status FROM samples s WHERE s.status IN ('verified', 'reported')"
     " AND NOT EXISTS (SELECT 1 FROM results r WHERE r.sample_id = s.id AND r.is_current"
     " AND r.status = 'verified')"),
)
#: Problems of one kind named one by one, up to this many (then a count).
SHOWN = 20


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    audit_head: str = ""


def _named(problems: list[str], template: str, rows: list[sa.Row]) -> None:
    for row in rows[:SHOWN]:
        problems.append(template.format(*row))
    if len(rows) > SHOWN:
        problems.append(f"... and {len(rows) - SHOWN} more: " + template.format("…", "…"))


def _storage(conn: sa.Connection, report: CheckReport) -> None:
    if conn.dialect.name == "sqlite":
        rows = [r[0] for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            report.problems += [f"SQLite integrity check: {line}" for line in rows[:SHOWN]]
        broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        _named(report.problems, "foreign key: {0} row {1} refers to a missing {2} row",
               [tuple(r[:3]) for r in broken])
        return
    if conn.exec_driver_sql("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'").scalar():
        indexes = conn.exec_driver_sql(
            "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam"
            " WHERE n.nspname = 'public' AND a.amname = 'btree'").scalars().all()
        for name in indexes:
            try:
                with conn.begin_nested():
                    conn.exec_driver_sql("SELECT bt_index_check(%(n)s::regclass, true)",
                                         {"n": name})
            except sa.exc.DBAPIError as error:
                report.problems.append(f"index {name} fails amcheck: "
                                       f"{str(error.orig).splitlines()[0]}")
    else:
        report.notes.append("amcheck is not installed (CREATE EXTENSION amcheck, as a superuser):"
                            " PostgreSQL's indexes were not checked")
    _foreign_keys(conn, report)


def _foreign_keys(conn: sa.Connection, report: CheckReport) -> None:
    """PostgreSQL enforces foreign keys unless triggers were switched off (replication role,
    a restore with --disable-triggers): look for the rows that would have been refused."""
    inspector = sa.inspect(conn)
    quote = conn.dialect.identifier_preparer.quote
    for table in inspector.get_table_names():
        for fk in inspector.get_foreign_keys(table):
            if len(fk["constrained_columns"]) != 1:
                continue
            [column], [target] = fk["constrained_columns"], fk["referred_columns"]
            parent = fk["referred_table"]
            rows = conn.exec_driver_sql(
                f"SELECT DISTINCT c.{quote(column)} FROM {quote(table)} c"
                f" WHERE c.{quote(column)} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM"
                f" {quote(parent)} p WHERE p.{quote(target)} = c.{quote(column)})"
                f" LIMIT {SHOWN + 1}").fetchall()
            _named(report.problems, f"foreign key: {table}.{column} = {{0}} refers to a"
                   f" {parent} row that does not exist", rows)


def run_checks(engine: sa.Engine) -> CheckReport:
    report = CheckReport()
    with engine.connect() as conn:
        _storage(conn, report)
        conn.rollback()
        for template, query in INVARIANTS:
            _named(report.problems, template, conn.exec_driver_sql(query).fetchall())
        conn.rollback()
    chain = sealing.verify(engine)
    if chain.broken is not None:
        report.problems.append(f"audit chain broken: {chain.broken}")
    if chain.unsealed:
        report.notes.append(f"{chain.unsealed} audit event(s) not sealed yet (the sealer seals"
                            " committed events every few seconds; 'lims audit seal' now)")
    report.audit_head = f"#{chain.head_id or 0} {chain.head_seal}"
    report.notes.append(f"audit chain: {chain.verified} event(s) verified, head {report.audit_head}")
    return report
