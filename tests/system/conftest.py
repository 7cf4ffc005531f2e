"""A live LIMS for system tests: a fresh migrated database (SQLite file or PostgreSQL, as for the
rest of the suite), demo data, an instrument with its token, and the web app served by a process
of its own so a test can stop and restart it like a real server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from lims.capture.models import InstrumentReading, Protocol
from lims.capture.service import InstrumentFields, create_instrument, issue_instrument_token
from lims.core.permissions import Role
from lims.extensions import db
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW, make_app

LIMS_DRIVER = str(Path(sys.executable).parent / "lims-driver")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveLims:
    database_url: str
    token: str
    accessions: list[str]
    log: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tests.system.serve", self.database_url, str(self.port)],
                cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/api/v1/openapi.json", timeout=1).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("the LIMS did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None

    def readings(self) -> list[InstrumentReading]:
        """Every reading in the database, read through a connection of the test's own."""
        engine = sa.create_engine(self.database_url)
        try:
            with sa.orm.Session(engine) as session:
                rows = list(session.scalars(sa.select(InstrumentReading).order_by(InstrumentReading.id)))
                session.expunge_all()
                return rows
        finally:
            engine.dispose()

    def accession_of(self) -> dict[int, str]:
        engine = sa.create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                return dict(conn.execute(sa.select(Sample.id, Sample.accession)).all())
        finally:
            engine.dispose()


def prepare(url: str) -> tuple[str, list[str]]:
    """Demo survey, an admin, the ICP-MS instrument and its token; received urine accessions."""
    from lims.auth.services import create_user
    from lims.monitoring.demo import generate_demo_data

    app = make_app(url)
    with app.app_context():
        session = db.session
        generate_demo_data(session, seed=7, samples=400, now=FIXED_NOW, round_code=None, year=2026,
                           include_wra=False, chunk_size=1000, progress=lambda n: None)
        admin = create_user(session, actor=None, now=FIXED_NOW, username="sysadmin",
                            password="system-test-password-1", roles=(Role.ADMIN,))
        instrument = create_instrument(session, actor=admin, now=FIXED_NOW, fields=InstrumentFields(
            "ICPMS-01", "ICP-MS", Protocol.ASTM))
        token = issue_instrument_token(session, actor=admin, now=FIXED_NOW, instrument=instrument)
        accessions = list(session.scalars(
            sa.select(Sample.accession).where(Sample.kind == SampleKind.URINE,
                                              Sample.status == SampleStatus.RECEIVED)
            .order_by(Sample.accession).limit(12)))
        session.commit()
        db.engine.dispose()
    assert len(accessions) >= 8, "the demo survey should hold received urine samples"
    return token, accessions


@pytest.fixture()
def live_lims(new_database: Callable[[], str], tmp_path: Path) -> Iterator[LiveLims]:
    url = new_database()
    token, accessions = prepare(url)
    lims = LiveLims(url, token, accessions, tmp_path / "lims.log")
    lims.start()
    try:
        yield lims
    finally:
        lims.stop()
