"""What an analyser really does after a PC crash, end to end over a real pty, and what the lab
manager sees of a driver that died.

1. Simulated analyser → pty → ``lims-driver`` (SIGKILLed after k results were spooled and
   acknowledged) → live LIMS; the analyser sends the whole session again with a new H-14 to a
   restarted driver: the LIMS ends with exactly n readings attached and no Inbox item.
2. A driver reports its health; SIGKILLed, it shows as silent on the Instruments page once its
   limit has passed.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from instruments.codecs import astm_link as link
from instruments.health import health_file, read_health_file
from instruments.simulators import AstmAnalyzer, PtyPort, parse_faults
from instruments.simulators.astm import session_records, uic_values
from lims.capture.models import ReadingStatus, ReadingType
from lims.core.dt import now_utc
from lims.equipment.queries import driver_states
from lims.extensions import db
from tests.conftest import make_app
from tests.instruments.harness import running, wait_for
from tests.system.conftest import LIMS_DRIVER, LiveLims
from tests.system.test_capture_end_to_end import PROFILE, attached_values


def driver(lims: LiveLims, profile: Path, port: str, spool: Path, *extra: str
           ) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [LIMS_DRIVER, "run", "--profile", str(profile), "--port", port, "--spool", str(spool),
         "--lims", lims.url, "--token", lims.token, *extra],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop(*processes: subprocess.Popen[bytes] | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(10)


def test_session_resent_with_a_new_h14_after_the_driver_was_killed(
        live_lims: LiveLims, tmp_path: Path) -> None:
    profile = tmp_path / "icpms.toml"
    profile.write_text(PROFILE)
    accessions = live_lims.accessions[:10]
    k = 6
    pty = PtyPort()
    # the line goes quiet right after the frame of the k-th R record: k readings spooled and
    # acknowledged by the driver, the last ACK lost with the line; the analyser re-sends
    cut = 1 + sum(len(f) for f in link.frames_of(
        session_records(uic_values(accessions))[:1 + 3 * k]))
    # (the line stays dead long enough for the first k to reach the LIMS before the kill)
    sim = AstmAnalyzer(pty, accessions, faults=parse_faults([f"unplug@{cut}"], unplug_for=6.0),
                       ack_timeout=0.5, retry_wait=0.3, new_header_on_resend=True)
    spool = tmp_path / "spool.sqlite"
    first = driver(live_lims, profile, pty.slave_path, spool, "--heartbeat", "0.2")
    second: subprocess.Popen[bytes] | None = None
    try:
        # the analyser starts once the driver listens (its health file says the port is open),
        # so no ENQ goes unanswered and the cut falls exactly after the k-th result
        wait_for(lambda: (found := read_health_file(health_file(spool))) and found[0]["port_open"],
                 timeout=20)
        with running(sim.run):
            assert sim.line.unplugged.wait(20), "the first driver never received the session"
            wait_for(lambda: len(attached_values(live_lims)) >= k, timeout=20)  # k went through
            first.kill()
            assert first.wait(10) == -signal.SIGKILL
            second = driver(live_lims, profile, pty.slave_path, spool)
            assert sim.done.wait(30), "the session was not delivered to the restarted driver"
            wait_for(lambda: len(attached_values(live_lims)) >= len(accessions), timeout=30)
    finally:
        stop(first, second)
        pty.close()
    assert sim.transfers >= 2 and sim.records[0] != session_records(uic_values(accessions))[0]
    assert attached_values(live_lims) == sorted(sim.values.items())
    results = [r for r in live_lims.readings() if r.type is ReadingType.RESULT]
    assert len(results) == len(accessions)
    # no Inbox item at all: not a duplicate, not a broken frame
    assert [r for r in live_lims.readings() if r.status is ReadingStatus.UNMATCHED] == []
    assert all(r.idempotency_key.startswith("m:") for r in results)


def test_a_killed_driver_shows_as_silent_after_its_limit(live_lims: LiveLims,
                                                         tmp_path: Path) -> None:
    profile = tmp_path / "icpms.toml"
    profile.write_text(PROFILE)
    pty = PtyPort()
    limit_minutes = 0.05  # 3 s
    app = make_app(live_lims.database_url, INSTRUMENT_SILENT_LIMITS={"ICPMS-01": limit_minutes})

    def state() -> str:
        with app.app_context():
            [row] = [d for d in driver_states(db.session, now_utc())
                     if d.instrument.code == "ICPMS-01"]
            return row.state

    process = driver(live_lims, profile, pty.slave_path, tmp_path / "spool.sqlite",
                     "--heartbeat", "0.5")
    try:
        assert state() == "never"
        wait_for(lambda: state() == "online", timeout=20)
        process.kill()
        assert process.wait(10) == -signal.SIGKILL
        assert state() == "online"  # within its limit a missed beat is not silence yet
        wait_for(lambda: state() == "silent", timeout=20)
        client = app.test_client()
        login = client.post("/login", data={"username": "sysadmin",
                                            "password": "system-test-password-1"})
        assert login.status_code == 302
        page = client.get("/equipment/instruments").get_data(as_text=True)
        assert "silent for" in page and "ICPMS-01" in page
        # the spool file beside it tells the PC's user the same
        out = subprocess.run([LIMS_DRIVER, "status", "--spool", str(tmp_path / "spool.sqlite")],
                             capture_output=True, text=True, check=True, env=os.environ).stdout
        assert "port:              open" in out and "instrument:        ICPMS-01" in out
    finally:
        stop(process)
        pty.close()
        with app.app_context():
            db.engine.dispose()

