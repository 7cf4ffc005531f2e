"""Simulator → pty → driver → spool → uplink → (fake) LIMS, all running at once, as on a lab PC."""

from __future__ import annotations

from pathlib import Path

from instruments.simulators import AstmAnalyzer, PtyPort, parse_faults
from instruments.spool import Spool
from instruments.uplink import Uplink
from tests.instruments.fake_lims import FakeLims
from tests.instruments.harness import driver_on, example_profile, running, wait_for


def test_readings_reach_the_lims_once_while_it_restarts(tmp_path: Path) -> None:
    accessions = [f"U26-{n:06d}" for n in range(1, 6)]
    pty = PtyPort()
    sim = AstmAnalyzer(
        pty,
        accessions,
        faults=parse_faults(["bad-checksum@5", "garbage@9"]),
        ack_timeout=5.0,
        retry_wait=0.2,
    )
    try:
        with FakeLims("tok") as lims, Spool(tmp_path / "spool.sqlite") as spool:
            lims.fail_next, lims.drop_next = 2, 1  # down for two requests, then an answer lost
            uplink = Uplink(
                spool, lims.url, "tok", batch_size=2, idle_interval=0.02, backoff_base=0.02
            )
            with (
                driver_on(example_profile("icpms"), pty.slave_path, spool),
                running(sim.run, uplink.run),
            ):
                assert sim.done.wait(10)
                wait_for(lambda: len(spool.items("sent")) == 7 and not spool.items("queued"))
            results = [
                item["payload"] for _, item in lims.stored.values() if item["type"] == "result"
            ]
            assert sorted((r["sample_id"], r["value"]) for r in results) == sorted(
                sim.values.items()
            )
            assert len(lims.stored) == 7  # 5 results + bad frame + garbage, each stored once
    finally:
        pty.close()
