"""Plate reader, titrator and balance drivers over real ptys against their simulators."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from instruments.simulators import Balance, PlateReader, PtyPort, Titrator, parse_faults
from instruments.simulators.plate_reader import seeded_plate
from instruments.spool import Spool
from tests.instruments.harness import driver_on, example_profile, running, wait_for


@pytest.fixture
def pty() -> Iterator[PtyPort]:
    port = PtyPort()
    yield port
    port.close()


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    with Spool(tmp_path / "spool.sqlite") as s:
        yield s


def payloads(spool: Spool, item_type: str) -> list[dict]:
    return [i.envelope["payload"] for i in spool.items(item_type=item_type)]


def test_plate_reader_with_a_corrupted_plate(pty: PtyPort, spool: Spool) -> None:
    sim = PlateReader(pty, count=3, seed=40, faults=parse_faults(["bad-checksum@2", "garbage@3"]))
    with driver_on(example_profile("sk-reader"), pty.slave_path, spool), running(sim.run):
        assert sim.done.wait(5)
        wait_for(lambda: len(spool.items()) == 4)
    plates = payloads(spool, "plate")
    assert [p["wells"] for p in plates] == [dict(seeded_plate(40)), dict(seeded_plate(42))]
    assert all(len(p["over_range"]) == 1 and p["wavelength_nm"] == 415 for p in plates)
    reasons = [q["reason"] for q in payloads(spool, "quarantine")]
    assert reasons[0].startswith("plate checksum mismatch") and reasons[1] == "unexpected line"
    assert spool.items(item_type="quarantine")[0].raw.startswith(b"BIO-RAD Model 680")


def test_plate_reader_answers_rplate_and_rtplate(pty: PtyPort) -> None:
    sim = PlateReader(pty, count=1, seed=5, respond=True)
    with running(sim.run):
        fd = os.open(pty.slave_path, os.O_RDWR | os.O_NOCTTY)
        try:
            os.write(fd, b"RPLATE\r")
            wait_for(lambda: sim.sent == 1)
            os.write(fd, b"RTPLATE\rHELLO\r")
            data = b""
            while data.count(b".end") < 2 or not data.endswith(b"ERE 00 unknown command\r"):
                data += os.read(fd, 65536)
        finally:
            os.close(fd)
    assert data.count(sim.plates[0]) == 2


def test_titrator_reports_become_readings_and_replay_adds_nothing(
    pty: PtyPort, spool: Spool
) -> None:
    accessions = ["S26-000101", "S26-000102"]
    sim = Titrator(pty, accessions, seed=3)
    profile = example_profile("titrator")
    with driver_on(profile, pty.slave_path, spool) as driver, running(sim.run):
        assert sim.done.wait(5)
        wait_for(lambda: len(spool.items()) == 6)
    readings = payloads(spool, "result")
    assert [(r["sample_id"], r["analyte"]) for r in readings] == [
        (a, analyte)
        for a in accessions
        for analyte in ("titrant_volume", "sample_mass", "salt_iodine")
    ]
    (_, mass, ep) = sim.samples[0]
    assert (
        readings[0]["value"] == ep and readings[1]["value"] == mass and readings[1]["unit"] == "g"
    )
    assert readings[2]["value"] == pytest.approx(ep * 211.5 / mass, abs=0.05)
    driver.feed(b"".join(sim.blocks))  # the titrator sends the same reports again
    assert len(spool.items()) == 6


def test_balance_print_mode(pty: PtyPort, spool: Spool) -> None:
    sim = Balance(pty, count=3, seed=8, faults=parse_faults(["garbage@2"]))
    with driver_on(example_profile("balance"), pty.slave_path, spool), running(sim.run):
        assert sim.done.wait(5)
        wait_for(lambda: len(spool.items()) == 3)
    readings = payloads(spool, "result")
    assert [r["value"] for r in readings] == sim.masses
    assert all(
        r["sample_id"] is None and r["analyte"] == "salt_mass" and r["unit"] == "g"
        for r in readings
    )
    assert len({i.idempotency_key for i in spool.items()}) == 3
    # the noise line is not a weight: MT-SICS treats it as an unknown response, logged only
    assert payloads(spool, "quarantine") == []


def test_balance_polled_records_each_new_stable_mass_once(pty: PtyPort, spool: Spool) -> None:
    sim = Balance(pty, count=3, seed=9, print_mode=False, interval=0.4)
    profile = example_profile("balance", poll_command="S", poll_interval=0.03)
    with driver_on(profile, pty.slave_path, spool), running(sim.run):
        wait_for(lambda: len(spool.items()) == 3, timeout=5)
        time.sleep(0.3)  # the pan is unchanged now: further polls must add nothing
    assert [r["value"] for r in payloads(spool, "result")] == sim.masses
