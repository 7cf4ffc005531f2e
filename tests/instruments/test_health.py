"""Driver health on the lab PC: the snapshot, its file, ``lims-driver status``, and a heartbeat
that cannot be delivered never holding up the readings."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from instruments.cli import main
from instruments.driver import Driver
from instruments.health import (
    HEARTBEAT_SCHEMA,
    DriverStatus,
    Heartbeat,
    classify,
    health_file,
    read_health_file,
)
from instruments.records import Quarantined, Reading
from instruments.simulators import AstmAnalyzer, PtyPort
from instruments.spool import Spool, SpoolEntry
from instruments.wire import envelope_for
from tests.instruments.harness import driver_on, example_profile, running, wait_for

SCHEMA = Draft202012Validator(HEARTBEAT_SCHEMA)


def classified(age: float | None, port: bool = True, oldest: float | None = None) -> str:
    return classify(age_seconds=age, silent_after_seconds=600, port_open=port,
                    oldest_unsent_seconds=oldest, backlog_after_seconds=300)


def test_classify() -> None:
    assert classified(None) == "never"
    assert classified(601, port=False, oldest=9999) == "silent"  # silence hides the rest
    assert classified(5, port=False, oldest=9999) == "port_down"
    assert classified(5, oldest=301) == "backlog"
    assert classified(5, oldest=299) == classified(600) == "online"


def entry(kind: str, n: int) -> SpoolEntry:
    item = (Reading(instrument_id="ICPMS-01", sample_id=f"U-{n}", analyte="uic", raw_value="1.0",
                    value=1.0) if kind == "result" else Quarantined("garbage", "\x00"))
    return SpoolEntry(envelope_for("ICPMS-01", item), b"raw")


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    with Spool(tmp_path / "icpms.sqlite") as s:
        yield s


def test_snapshot_counts_the_spool_and_is_written_beside_it(spool: Spool) -> None:
    spool.add([entry("result", n) for n in range(4)] + [entry("quarantine", 9)])
    first, second, *_ = spool.items()
    spool.mark_sent([(first.idempotency_key, "attached", 7, None)])
    spool.mark_failed([(second.idempotency_key, "HTTP 422: bad")])
    status = DriverStatus("ICPMS-01")
    status.closed("could not open port /dev/ttyUSB9")
    status.quarantined = 1
    beat = Heartbeat(status, spool.path)  # no LIMS: the file only
    body = beat.beat()
    assert not list(SCHEMA.iter_errors(body))
    assert (body["spool_depth"], body["spool_failed"], body["port_open"],
            body["quarantined_since_start"]) == (3, 1, False, 1)
    assert body["last_error"] == "could not open port /dev/ttyUSB9"
    assert body["last_reading_at"] is not None and body["oldest_unsent_seconds"] >= 0
    found = read_health_file(health_file(spool.path))
    assert found is not None and found[0] == body


def status_output(spool_path: Path) -> str:
    result = CliRunner().invoke(main, ["status", "--spool", str(spool_path)])
    assert result.exit_code == 0, result.output
    return result.output


def test_lims_driver_status_prints_the_driver_state(spool: Spool) -> None:
    assert "no health report yet" in status_output(spool.path)
    status = DriverStatus("ICPMS-01")
    status.opened()
    spool.add([entry("result", 1)])
    Heartbeat(status, spool.path).beat()
    out = status_output(spool.path)
    assert "state:             online" in out and "port:              open" in out
    assert "spool depth:       1 queued, 0 failed" in out
    # the driver stopped reporting 20 minutes ago (killed, PC off): silent
    path = health_file(spool.path)
    data = json.loads(path.read_text())
    data["written_at"] = (datetime.now(UTC) - timedelta(minutes=20)).isoformat()
    path.write_text(json.dumps(data))
    assert "state:             silent for 20 min" in status_output(spool.path)


def test_the_port_state_follows_the_driver(spool: Spool, tmp_path: Path) -> None:
    status = DriverStatus("ICPMS-01")
    driver = Driver(example_profile("icpms"), str(tmp_path / "no-such-tty"), spool, status=status,
                    reconnect_delay=0.05)
    with running(driver.run):
        wait_for(lambda: status.last_error is not None)
    assert status.port_open is False and "no-such-tty" in status.last_error


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A 'LIMS' that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()


def test_an_undeliverable_heartbeat_never_holds_up_the_readings(spool: Spool,
                                                                black_hole: str) -> None:
    accessions = [f"U26-0000{n}" for n in range(1, 6)]
    pty = PtyPort()
    try:
        profile = example_profile("icpms")
        status = DriverStatus(profile.instrument_id)
        heartbeat = Heartbeat(status, spool.path, black_hole, "token", interval=0.01, timeout=30)
        sim = AstmAnalyzer(pty, accessions, ack_timeout=5.0, retry_wait=0.2)
        stop = threading.Event()
        heartbeat.start(stop)  # its first post now hangs for up to 30 s
        try:
            with driver_on(profile, pty.slave_path, spool) as driver, running(sim.run):
                driver.status = status
                assert sim.done.wait(15), "the analyzer could not deliver its session"
            assert sim.transfers == 1  # every frame acknowledged in time, nothing re-sent
            assert len(spool.items(item_type="result")) == len(accessions)
            assert heartbeat.sent == 0
        finally:
            stop.set()
    finally:
        pty.close()
