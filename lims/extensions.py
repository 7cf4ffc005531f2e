"""Flask extensions, created unbound here and bound in ``create_app``."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy_lite import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

db = SQLAlchemy()
csrf = CSRFProtect()
login_manager = LoginManager()
babel = Babel()


@sa.event.listens_for(sa.Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: enforce foreign keys, wait for locks instead of failing, and let SQLAlchemy
    (not the driver) open transactions, at the first write (`_sqlite_write_lock`)."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# Statements that only read (or open and close transactions themselves) never take SQLite's
# write lock. Anything else (INSERT, UPDATE, DELETE, DDL, SAVEPOINT, ...) or a read that asks
# for row locks is a write.
_READS = ("SELECT", "PRAGMA", "EXPLAIN", "VALUES", "BEGIN", "COMMIT", "END", "ROLLBACK", "RELEASE")
_WRITE_IN_CTE = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


def _is_write(statement: str, context: Any) -> bool:
    head = statement.lstrip().upper()
    if head.startswith("WITH"):
        return bool(_WRITE_IN_CTE.search(statement))
    if not head.startswith(_READS):
        return True
    compiled = getattr(context, "compiled", None)
    return getattr(getattr(compiled, "statement", None), "_for_update_arg", None) is not None


@sa.event.listens_for(sa.Engine, "before_cursor_execute")
def _sqlite_write_lock(conn: sa.Connection, cursor: Any, statement: str, _parameters: Any,
                       context: Any, _executemany: bool) -> None:
    """SQLite: a transaction begins at its first write, as ``BEGIN IMMEDIATE``.

    Reads before it run on their own, like PostgreSQL's READ COMMITTED statements, so a request
    that spends seconds reading and checking (an uploaded workbook) holds no lock meanwhile and
    other writers go on. The first write (or a row-locking read: ``lims.core.locking``) takes
    the write lock, waiting up to busy_timeout for another writer, and holds it to the commit:
    writers stay serialised, and since no read snapshot is open when the lock is taken, the
    "database is locked" of a deferred transaction upgrading to a write cannot happen."""
    if conn.dialect.name != "sqlite" or cursor.connection.in_transaction:
        return
    if _is_write(statement, context):
        cursor.execute("BEGIN IMMEDIATE")
