"""A driver process killed with SIGKILL mid-message: the analyzer retransmits the session to the
restarted driver, and the spool holds every reading exactly once (content-derived keys)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from instruments.codecs import astm_link as link
from instruments.simulators import AstmAnalyzer, PtyPort, parse_faults
from instruments.simulators.astm import session_records, uic_values
from instruments.spool import Spool
from tests.instruments.harness import running

LIMS_DRIVER = str(Path(sys.executable).parent / "lims-driver")
ACCESSIONS = [f"U26-{n:06d}" for n in range(1, 9)]
PROFILE = """
[[instrument]]
name = "icpms"
instrument_id = "ICPMS-01"
protocol = "astm"
[instrument.serial]
timeout = 0.05
[instrument.astm]
frame_timeout = 0.3
idle_timeout = 0.6
[instrument.astm.test_codes]
"127I" = "uic"
"""


def start_driver(profile: Path, port: str, spool: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [LIMS_DRIVER, "run", "--profile", str(profile), "--port", port, "--spool", str(spool)],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def test_sigkill_mid_message_then_restart(tmp_path: Path) -> None:
    profile = tmp_path / "icpms.toml"
    profile.write_text(PROFILE)
    spool_path = tmp_path / "spool.sqlite"
    pty = PtyPort()
    # the cable "comes out" 10 bytes into the frame after the 4th R record: 4 readings spooled
    cut = 1 + sum(len(f) for f in link.frames_of(session_records(uic_values(ACCESSIONS))[:13])) + 10
    sim = AstmAnalyzer(
        pty,
        ACCESSIONS,
        faults=parse_faults([f"unplug@{cut}"], unplug_for=1.0),
        ack_timeout=0.5,
        retry_wait=0.3,
    )
    first = start_driver(profile, pty.slave_path, spool_path, tmp_path / "first.log")
    try:
        with running(sim.run):
            assert sim.line.unplugged.wait(20), "the first driver never received the session"
            first.kill()
            assert first.wait(10) == -signal.SIGKILL
            with Spool(spool_path) as spool:
                assert len(spool.items(item_type="result")) == 4
            second = start_driver(profile, pty.slave_path, spool_path, tmp_path / "second.log")
            try:
                assert sim.done.wait(30), "the session was not delivered to the restarted driver"
            finally:
                second.send_signal(signal.SIGTERM)
                second.wait(10)
            assert second.returncode == 0, (tmp_path / "second.log").read_text()
    finally:
        first.kill()
        pty.close()
    assert sim.transfers >= 2
    with Spool(spool_path) as spool:
        readings = [i.envelope["payload"] for i in spool.items(item_type="result")]
    assert sorted((r["sample_id"], r["value"]) for r in readings) == sorted(sim.values.items())
