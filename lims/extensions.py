"""Flask extensions, created unbound here and bound in ``create_app``."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
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
    (not the driver) open transactions so SAVEPOINTs and test isolation behave."""
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


@sa.event.listens_for(sa.Engine, "begin")
def _sqlite_begin(conn: sa.Connection) -> None:
    """On SQLite a request that may write takes the write lock when its transaction starts:
    a deferred transaction that read first and writes later fails with "database is locked"
    when another writer got in between, and busy_timeout cannot help it. Reads stay deferred."""
    if conn.dialect.name == "sqlite":
        writes = has_request_context() and request.method not in ("GET", "HEAD", "OPTIONS")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
