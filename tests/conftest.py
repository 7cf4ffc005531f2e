"""Test fixtures: one migrated database per run (a SQLite file, or a fresh PostgreSQL database
when ``LIMS_TEST_DATABASE_URL`` names a server), an app bound to it, and per-test isolation
by an outer transaction that is rolled back (Flask-SQLAlchemy-Lite's ``test_isolation``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from unittest import mock

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lims import create_app, dbtools
from lims.extensions import db

PG_URL = os.environ.get("LIMS_TEST_DATABASE_URL", "")
FIXED_NOW = datetime(2026, 5, 14, 8, 30, tzinfo=UTC)


def is_postgres() -> bool:
    return PG_URL.startswith("postgresql")


@contextmanager
def fresh_database(tmp_dir: Path) -> Iterator[str]:
    """A new, empty database URL, dropped afterwards."""
    if is_postgres():
        server = sa.make_url(PG_URL)
        name = f"lims_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        try:
            yield server.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.dispose()
    else:
        path = tmp_dir / f"lims-{uuid.uuid4().hex[:8]}.sqlite"
        yield f"sqlite:///{path}"


def make_app(url: str, **overrides: object) -> Flask:
    config: dict[str, object] = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "DATABASE_URL": url,
        "WTF_CSRF_ENABLED": False,
        # Tests read English pages unless they choose a language (the lab's default is ru).
        "BABEL_DEFAULT_LOCALE": "en",
    }
    config.update(overrides)
    return create_app(config)


def migrate_and_seed(app: Flask) -> None:
    from lims.monitoring.seed import seed_reference_data

    with app.app_context():
        dbtools.upgrade(db.engine)
        seed_reference_data(db.session, now=FIXED_NOW)
        db.session.commit()
        db.engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        migrate_and_seed(make_app(url))
        yield url


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    application = make_app(database_url)
    yield application
    with application.app_context():
        db.engine.dispose()


@contextmanager
def isolated(app: Flask) -> Iterator[None]:
    """Run everything on one connection inside a transaction that is rolled back at the end;
    sessions join it through SAVEPOINTs, so their commits are real but never leave the test.

    Flask-SQLAlchemy-Lite's ``test_isolation`` patches ``engine.connect``, and SQLAlchemy 2.1
    lets a session that connected by itself take over the outer transaction (its close then
    rolls it back), so the session is bound to the connection instead.
    """
    with app.app_context():
        engine = db.engine
        sessionmaker = db.sessionmaker
    connection = engine.connect()
    outer = connection.begin()
    try:
        with (
            mock.patch.dict(sessionmaker.kw,
                            {"bind": connection, "join_transaction_mode": "create_savepoint"}),
            mock.patch.object(engine, "connect", lambda: connection),
            mock.patch.object(connection, "close", lambda: None),
        ):
            yield
    finally:
        outer.rollback()
        connection.close()


@pytest.fixture()
def session(app: Flask) -> Iterator[sa.orm.Session]:
    """The request-scoped session of an app context, inside a rolled-back transaction."""
    with isolated(app), app.app_context():
        yield db.session


@pytest.fixture()
def client(app: Flask, session: sa.orm.Session) -> FlaskClient:
    return app.test_client()


@pytest.fixture()
def new_database(tmp_path: Path) -> Iterator[Callable[[], str]]:
    """For tests that need real commits from several connections: a fresh migrated database."""
    created: list[object] = []

    def factory() -> str:
        ctx = fresh_database(tmp_path)
        url = ctx.__enter__()
        created.append(ctx)
        migrate_and_seed(make_app(url))
        return url

    yield factory
    for ctx in reversed(created):
        ctx.__exit__(None, None, None)  # type: ignore[attr-defined]


pytest_plugins = ["tests.factories", "tests.race"]
