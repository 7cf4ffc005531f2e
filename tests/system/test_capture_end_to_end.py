"""Simulated instrument → real pty → `lims-driver` → live LIMS over HTTP → database rows.

The faults the issue names, each end to end: a bad checksum (NAK, retransmit, one reading), a lost
ACK (duplicate frame dropped), garbage on the line (quarantined, kept), the LIMS stopped during a
batch and restarted, and the driver killed with SIGKILL mid-message and restarted. In every case
each reading is in the database exactly once, attached to its sample with the value sent.
"""

from __future__ import annotations

import signal
import subprocess
import threading
from collections import Counter
from pathlib import Path

from instruments.codecs import astm_link as link
from instruments.simulators import AstmAnalyzer, PtyPort, parse_faults
from instruments.simulators.astm import session_records, uic_values
from instruments.spool import Spool, SpoolEntry
from instruments.uplink import Uplink
from lims.capture.models import ReadingStatus, ReadingType
from lims.capture.reasons import describe
from tests.instruments.harness import driver_on, example_profile, running, wait_for
from tests.system.conftest import LIMS_DRIVER, LiveLims

PROFILE = """
[[instrument]]
name = "icpms"
instrument_id = "ICPMS-01"
protocol = "astm"
batch_size = 3
[instrument.serial]
timeout = 0.05
[instrument.astm]
frame_timeout = 0.3
idle_timeout = 0.6
[instrument.astm.test_codes]
"127I" = "uic"
"""


def attached_values(lims: LiveLims) -> list[tuple[str, float]]:
    names = lims.accession_of()
    return sorted((names[r.sample_id], r.value) for r in lims.readings()
                  if r.type is ReadingType.RESULT and r.status is ReadingStatus.ATTACHED
                  and r.sample_id is not None and r.value is not None)


def test_faulty_line_and_a_lims_restart_lose_nothing_and_duplicate_nothing(
        live_lims: LiveLims, tmp_path: Path) -> None:
    accessions = live_lims.accessions[:6]
    pty = PtyPort()
    sim = AstmAnalyzer(pty, [*accessions, "U-2026-999999"],
                       faults=parse_faults(["bad-checksum@4", "lost-ack@6", "garbage@8"]),
                       ack_timeout=2.0, retry_wait=0.2)
    try:
        with Spool(tmp_path / "spool.sqlite") as spool:
            uplink = Uplink(spool, live_lims.url, live_lims.token, batch_size=2,
                            idle_interval=0.05, backoff_base=0.05, backoff_cap=0.5)
            with driver_on(example_profile("icpms"), pty.slave_path, spool), running(sim.run):
                assert sim.done.wait(20), "the analyzer did not finish its session"
                live_lims.stop()  # the LIMS goes down with the whole session still spooled
                with running(uplink.run):
                    wait_for(lambda: uplink.failures > 0, timeout=10)  # it found the LIMS down
                    live_lims.start()
                    wait_for(lambda: not spool.items("queued"), timeout=30)
            assert not spool.items("failed")
        rows = live_lims.readings()
        assert attached_values(live_lims) == sorted(
            (a, v) for a, v in sim.values.items() if a in accessions)
        unknown = [r for r in rows if r.sample_ref == "U-2026-999999"]
        assert len(unknown) == 1 and unknown[0].status is ReadingStatus.UNMATCHED
        assert describe(unknown[0].reason) == "no sample with accession U-2026-999999"
        quarantined = [r for r in rows if r.type is ReadingType.QUARANTINE]
        assert quarantined and all(r.raw for r in quarantined)  # the garbage, kept with its bytes
        keys = Counter(r.idempotency_key for r in rows)
        assert max(keys.values()) == 1
    finally:
        pty.close()


def test_lims_killed_in_the_middle_of_a_stream_then_restarted(
        live_lims: LiveLims, tmp_path: Path) -> None:
    accessions = live_lims.accessions[:10]
    pty = PtyPort()
    sim = AstmAnalyzer(pty, accessions, ack_timeout=2.0, retry_wait=0.2)
    try:
        with Spool(tmp_path / "spool.sqlite") as spool:
            uplink = Uplink(spool, live_lims.url, live_lims.token, batch_size=1,
                            idle_interval=0.01, backoff_base=0.05, backoff_cap=0.5)
            with driver_on(example_profile("icpms"), pty.slave_path, spool), \
                    running(sim.run, uplink.run):
                wait_for(lambda: len(spool.items("sent")) >= 3, timeout=20)
                live_lims.stop()  # mid-stream: some sent, the rest still arriving
                assert sim.done.wait(20)
                live_lims.start()
                wait_for(lambda: not spool.items("queued"), timeout=30)
        assert attached_values(live_lims) == sorted(sim.values.items())
    finally:
        pty.close()


def test_driver_killed_mid_message_then_restarted(live_lims: LiveLims, tmp_path: Path) -> None:
    profile = tmp_path / "icpms.toml"
    profile.write_text(PROFILE)
    accessions = live_lims.accessions[:8]
    pty = PtyPort()
    # the line goes quiet 10 bytes into the frame after the 4th R record: 4 readings spooled
    cut = 1 + sum(len(f) for f in link.frames_of(session_records(uic_values(accessions))[:13])) + 10
    sim = AstmAnalyzer(pty, accessions, faults=parse_faults([f"unplug@{cut}"], unplug_for=1.0),
                       ack_timeout=0.5, retry_wait=0.3)
    spool_path = tmp_path / "spool.sqlite"

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [LIMS_DRIVER, "run", "--profile", str(profile), "--port", pty.slave_path,
             "--spool", str(spool_path), "--lims", live_lims.url, "--token", live_lims.token],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    first = start()
    second: subprocess.Popen[bytes] | None = None
    try:
        with running(sim.run):
            assert sim.line.unplugged.wait(20), "the first driver never received the session"
            first.kill()
            assert first.wait(10) == -signal.SIGKILL
            second = start()
            assert sim.done.wait(30), "the session was not delivered to the restarted driver"
            wait_for(lambda: len(attached_values(live_lims)) >= len(accessions), timeout=30)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(10)
        pty.close()
    assert sim.transfers >= 2  # the analyzer really did send the session again
    assert attached_values(live_lims) == sorted(sim.values.items())
    results = [r for r in live_lims.readings() if r.type is ReadingType.RESULT]
    assert len(results) == len(accessions)


def test_lims_threads_answer_concurrent_drivers_once_each(live_lims: LiveLims, tmp_path: Path) -> None:
    """Two uplinks sending the same spooled items at once (a copied spool, a retry crossing its
    first attempt): the unique key per instrument keeps one row per reading."""
    from instruments.records import Reading
    from instruments.wire import envelope_for

    with Spool(tmp_path / "a.sqlite") as first, Spool(tmp_path / "b.sqlite") as second:
        envelopes = [envelope_for("ICPMS-01", Reading(
            instrument_id="ICPMS-01", sample_id=a, analyte="uic", raw_value="101.5", value=101.5,
            unit="ug/L", raw=f"R|1|^^^127I|101.5|ug/L||||F||||{a}")) for a in live_lims.accessions[:8]]
        for spool in (first, second):
            spool.add([SpoolEntry(e, e.payload["raw"].encode()) for e in envelopes])
        uplinks = [Uplink(s, live_lims.url, live_lims.token, batch_size=2, idle_interval=0.01)
                   for s in (first, second)]
        threads = [threading.Thread(target=u.run_once) for u in uplinks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        for u in uplinks:
            while u.spool.items("queued"):
                u.run_once()
    results = [r for r in live_lims.readings() if r.type is ReadingType.RESULT]
    assert len(results) == 8
