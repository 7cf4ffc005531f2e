"""The uplink against a fake LIMS that implements the wire contract: no loss, no duplicates."""

from __future__ import annotations

import random
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from instruments.records import WELLS, PlateReading, Quarantined, Reading
from instruments.spool import Spool, SpoolEntry, random_key
from instruments.uplink import Uplink
from instruments.wire import envelope_for
from tests.instruments.fake_lims import FakeLims
from tests.instruments.harness import wait_for

TOKEN = "secret-token"
NOW = datetime(2026, 5, 14, 8, 30, tzinfo=UTC)


def reading(n: int, *, raw_value: str | None = None, sample: str | None = None) -> SpoolEntry:
    value = 100.0 + n
    r = Reading(
        "ICPMS-01",
        sample if sample is not None else f"U26-{n:06d}",
        "uic",
        raw_value if raw_value is not None else f"{value:.1f}",
        value,
        unit="ug/L",
        raw=f"R|1|^^^UIC|{value}",
    )
    return SpoolEntry(envelope_for("ICPMS-01", r, key=random_key(), now=NOW), r.raw.encode())


@pytest.fixture
def spool(tmp_path: Path) -> Iterator[Spool]:
    with Spool(tmp_path / "spool.sqlite") as s:
        yield s


@pytest.fixture
def lims() -> Iterator[FakeLims]:
    with FakeLims(TOKEN) as fake:
        yield fake


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_batches_and_outcomes(spool: Spool, lims: FakeLims) -> None:
    plate = PlateReading("SK-READER-01", {w: 0.5 for w in WELLS})
    spool.add(
        [reading(n) for n in range(7)]
        + [reading(7, sample="")]
        + [
            SpoolEntry(envelope_for("SK-READER-01", plate, now=NOW), b"plate"),
            SpoolEntry(
                envelope_for("ICPMS-01", Quarantined("noise", "\x00\xff"), now=NOW), b"\x00\xff"
            ),
        ]
    )
    report = Uplink(spool, lims.url, TOKEN, batch_size=3).run_once()
    assert report.sent == 10 and report.failed == 0 and report.error is None
    assert report.outcomes == {"attached": 7, "unmatched": 3}
    assert lims.requests == 4  # 3 + 3 + 3 + 1
    assert len(lims.stored) == 10
    sent = spool.items("sent")
    assert len(sent) == 10 and all(i.reading_id for i in sent)
    assert {i.envelope["idempotency_key"] for i in sent} == set(lims.stored)


def test_lims_down_then_up_loses_nothing_and_duplicates_nothing(spool: Spool) -> None:
    port = free_port()
    spool.add([reading(n) for n in range(5)])
    uplink = Uplink(
        spool, f"http://127.0.0.1:{port}", TOKEN, batch_size=2, timeout=2, rng=random.Random(1)
    )
    for _ in range(3):
        report = uplink.run_once()
        assert report.sent == 0 and "ConnectionError" in (report.error or "")
    assert uplink.failures == 3
    assert 2.0 <= uplink.backoff() <= 4.0  # 1 s doubled twice, equal jitter
    first = spool.items()[0]
    assert first.state == "queued" and first.attempts == 3 and "ConnectionError" in first.last_error
    with FakeLims(TOKEN, port=port) as lims:
        lims.fail_next = 1  # still starting: one 503
        report = uplink.run_once()
        assert report.sent == 0 and report.error.startswith("HTTP 503")
        lims.drop_next = 1  # stored, but the answer is lost
        report = uplink.run_once()
        assert report.sent == 0 and len(lims.stored) == 2
        report = uplink.run_once()
        assert report.sent == 5 and report.outcomes == {"duplicate": 2, "attached": 3}
        assert len(lims.stored) == 5  # nothing stored twice
        assert uplink.failures == 0
    assert len(spool.items("sent")) == 5 and not spool.items("queued")


def test_422_sets_aside_exactly_the_bad_item(spool: Spool, lims: FakeLims) -> None:
    spool.add([reading(0), reading(1, raw_value="9" * 300), reading(2)])
    report = Uplink(spool, lims.url, TOKEN).run_once()
    assert report.sent == 2 and report.failed == 1
    (failed,) = spool.items("failed")
    assert failed.envelope["payload"]["raw_value"] == "9" * 300
    assert failed.last_error.startswith("HTTP 422: /items/1/payload/raw_value:")
    assert len(lims.stored) == 2 and failed.idempotency_key not in lims.stored


def test_401_keeps_items_failed_with_reason_until_retried(spool: Spool, lims: FakeLims) -> None:
    spool.add([reading(n) for n in range(3)])
    report = Uplink(spool, lims.url, "wrong-token", batch_size=2).run_once()
    assert report.failed == 2 and lims.requests == 1  # the round stops at the first refusal
    assert all("HTTP 401: token rejected" in i.last_error for i in spool.items("failed"))
    assert len(spool.items("queued")) == 1 and not lims.stored
    good = Uplink(spool, lims.url, TOKEN)
    assert good.run_once().sent == 1  # the failed ones wait for a person
    assert len(spool.items("failed")) == 2
    assert good.retry_failed() == 2
    assert good.run_once().sent == 2
    assert len(lims.stored) == 3


def test_thread_runs_until_stopped(spool: Spool, lims: FakeLims) -> None:
    uplink = Uplink(spool, lims.url, TOKEN, idle_interval=0.02)
    stop = threading.Event()
    thread = uplink.start(stop)
    spool.add([reading(n) for n in range(4)])
    wait_for(lambda: len(spool.items("sent")) == 4, timeout=5)
    stop.set()
    thread.join(5)
    assert not thread.is_alive()


def test_backoff_is_capped_and_jittered(spool: Spool) -> None:
    uplink = Uplink(spool, "http://127.0.0.1:9", TOKEN, rng=random.Random(7))
    uplink.failures = 20
    delays = {uplink.backoff() for _ in range(20)}
    assert all(30.0 <= d <= 60.0 for d in delays) and len(delays) > 1
