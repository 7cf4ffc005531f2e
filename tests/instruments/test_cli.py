"""``lims-driver`` commands: status, retry-failed, replay, config errors, and simulate on a pty."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from instruments.cli import main
from instruments.profiles import load_profiles
from instruments.spool import Spool
from tests.instruments.chunking import DATA
from tests.instruments.harness import EXAMPLE, driver_on, wait_for

LIMS_DRIVER = str(Path(sys.executable).parent / "lims-driver")


def replay(tmp_path: Path, capture: str = "iodine_peer_session.astm") -> tuple[Path, object]:
    spool = tmp_path / "spool.sqlite"
    result = CliRunner().invoke(
        main,
        [
            "replay",
            str(DATA / capture),
            "--config",
            str(EXAMPLE),
            "--profile",
            "icpms",
            "--spool",
            str(spool),
            "--chunk",
            "7",
        ],
    )
    return spool, result


def test_replay_spools_a_capture_once(tmp_path: Path) -> None:
    spool_path, result = replay(tmp_path)
    assert result.exit_code == 0, result.output
    assert "3 new item(s) spooled" in result.output
    with Spool(spool_path) as spool:
        assert [
            (i.envelope["payload"]["sample_id"], i.envelope["payload"]["value"])
            for i in spool.items()
        ] == [("U25-0001", 142.5), ("U25-0002", 87.3), ("U25-0003", 312.0)]
    _, again = replay(tmp_path)
    assert "0 new item(s) spooled" in again.output


def test_status_and_retry_failed(tmp_path: Path) -> None:
    spool_path, _ = replay(tmp_path)
    with Spool(spool_path) as spool:
        first, second, _ = spool.items()
        spool.mark_sent([(first.idempotency_key, "attached", 1, None)])
        spool.mark_failed([(second.idempotency_key, "HTTP 401: token rejected")])
    runner = CliRunner()
    out = runner.invoke(main, ["status", "--spool", str(spool_path)]).output
    lines = out.splitlines()
    assert lines[0].split() == ["type", "queued", "sent", "failed"]
    assert lines[1].split() == ["result", "1", "1", "1"]
    assert "last error: HTTP 401: token rejected" in out
    assert (
        "1 item(s) queued again"
        in runner.invoke(main, ["retry-failed", "--spool", str(spool_path)]).output
    )
    with Spool(spool_path) as spool:
        assert len(spool.items("queued")) == 2


def test_usage_errors_are_precise(tmp_path: Path) -> None:
    runner = CliRunner()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[instrument]]\nname = "x"\ninstrument_id = "X"\nprotocol = "hl7"\n')
    result = runner.invoke(main, ["run", "--profile", str(bad), "--port", "loop://"])
    assert result.exit_code == 2 and "protocol: must be one of" in result.output
    result = runner.invoke(
        main,
        [
            "run",
            "--config",
            str(EXAMPLE),
            "--profile",
            "icpms",
            "--port",
            "loop://",
            "--lims",
            "http://127.0.0.1:9",
        ],
        env={"LIMS_DRIVER_TOKEN": ""},
    )
    assert result.exit_code == 2 and "--lims needs --token" in result.output
    result = runner.invoke(main, ["status"])
    assert result.exit_code == 2 and "give --spool" in result.output
    result = runner.invoke(main, ["simulate", "astm", "--port", "pty", "--fault", "melt@3"])
    assert result.exit_code == 2 and "unknown fault" in result.output


def test_simulate_on_a_pty_feeds_a_driver(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [
            LIMS_DRIVER,
            "simulate",
            "astm",
            "--port",
            "pty",
            "--accession",
            "U26-000042",
            "--accession",
            "U26-000043",
            "--ack-timeout",
            "0.5",
            "--retry-wait",
            "0.2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert proc.stdout is not None
        slave = proc.stdout.readline().decode().strip()
        assert slave.startswith("/dev/pts/")
        profile = load_profiles(EXAMPLE)["icpms"]
        with Spool(tmp_path / "spool.sqlite") as spool, driver_on(profile, slave, spool):
            wait_for(lambda: len(spool.items(item_type="result")) == 2, timeout=20)
            samples = [i.envelope["payload"]["sample_id"] for i in spool.items()]
        assert samples == ["U26-000042", "U26-000043"]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
        proc.stdout.close()
    assert proc.returncode == 0
