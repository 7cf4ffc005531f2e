"""Driver throughput: can the PC keep up with an instrument? And the uplink with the LIMS?

Default mode: a simulated ASTM analyzer streams one session of seeded UIC results over a real pty
as fast as the link protocol lets it (every frame waits for its ACK), and the driver decodes,
spools (SQLite, synchronous=FULL, one commit per message *before* its ACK) and acknowledges.
Reported: readings/s, and the ratio to what a 9600-baud line can carry (960 bytes/s divided by
the instrument's bytes per reading). Target: ≥ 50× the line. A second figure replays the same
bytes through the codec and spool without the pty (no round trips) to show where time goes.

    .venv/bin/python benchmarks/bench_driver.py --readings 2000

Uplink mode: fills a spool with seeded readings for accessions ``--accession-format`` (default
``U26-{n:06d}``) and pushes them to a running LIMS, reporting items/s per batch size:

    .venv/bin/python benchmarks/bench_driver.py --lims http://127.0.0.1:8000 --token "$TOKEN" \\
        --readings 5000 --batch-size 500
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from instruments.codecs import astm_link as link
from instruments.driver import Driver
from instruments.profiles import load_profiles
from instruments.records import Reading
from instruments.simulators import AstmAnalyzer, PtyPort
from instruments.simulators.astm import session_records, uic_values
from instruments.spool import Spool, SpoolEntry, content_key
from instruments.uplink import Uplink, UplinkReport
from instruments.wire import envelope_for

LINE_BYTES_PER_S = 9600 / 10  # 8N1: 10 bits per byte


def accessions(n: int, fmt: str) -> list[str]:
    return [fmt.format(n=i) for i in range(1, n + 1)]


def bench_pty(n: int, fmt: str, seed: int) -> None:
    profile = load_profiles(ROOT / "config" / "instruments.example.toml")["icpms"]
    profile = replace(profile, serial=replace(profile.serial, timeout=0.01))
    ids = accessions(n, fmt)
    with tempfile.TemporaryDirectory() as tmp:
        pty = PtyPort()
        spool = Spool(Path(tmp) / "spool.sqlite")
        driver = Driver(profile, pty.slave_path, spool)
        sim = AstmAnalyzer(pty, ids, seed=seed, ack_timeout=15.0)
        stop = threading.Event()
        t_driver = threading.Thread(target=driver.run, args=(stop,))
        t_driver.start()
        driver.connected.wait(5)
        start = time.perf_counter()
        t_sim = threading.Thread(target=sim.run, args=(stop,))
        t_sim.start()
        if not sim.done.wait(600):
            raise SystemExit("simulator did not finish")
        elapsed = time.perf_counter() - start
        stop.set()
        t_driver.join()
        t_sim.join()
        readings = len(spool.items(item_type="result"))
        spool.close()
        pty.close()
    assert readings == n, f"expected {n} readings, spooled {readings}"
    wire_bytes = sim.line.written  # instrument → host: ENQ, frames, EOT
    per_reading = wire_bytes / n
    line_rate = LINE_BYTES_PER_S / per_reading
    rate = n / elapsed
    print(f"pty + driver + spool: {n} readings in {elapsed:.2f} s = {rate:,.0f} readings/s")
    print(
        f"  instrument sent {wire_bytes:,} bytes = {per_reading:.0f} bytes/reading (P, O, R frames)"
    )
    print(
        f"  a 9600-baud line carries {line_rate:.1f} readings/s"
        f" -> driver is {rate / line_rate:,.0f}x the line"
        f" (target >= 50x)"
    )

    # the same bytes without the pty round trips: codec + spool only
    frames = link.frames_of(sim.records)
    capture = bytes([link.ENQ]) + b"".join(frames) + bytes([link.EOT])
    with tempfile.TemporaryDirectory() as tmp, Spool(Path(tmp) / "replay.sqlite") as spool:
        replay = Driver(profile, "replay", spool)
        start = time.perf_counter()
        for frame in [capture[:1], *frames, capture[-1:]]:
            replay.feed(frame)
        elapsed = time.perf_counter() - start
        assert len(spool.items(item_type="result")) == n
    print(f"codec + spool (replay, no pty): {n / elapsed:,.0f} readings/s")


def uplink_entries(n: int, fmt: str, seed: int, instrument: str = "ICPMS-01") -> list[SpoolEntry]:
    """Spool entries for seeded UIC results, one per accession, with keys new to this run (so
    nothing is a duplicate of an earlier run)."""
    values = uic_values(accessions(n, fmt), seed)
    run = datetime.now(UTC).strftime("%Y%m%d%H%M%S.%f")
    records = session_records(values)
    entries = []
    for i, (accession, value) in enumerate(values.items()):
        raw = records[3 + 3 * i].decode("latin-1").rstrip("\r")
        reading = Reading(instrument, accession, "uic", f"{value:.1f}", value, unit="ug/L",
                          status="F", raw=raw, test_code="127I")
        key = content_key(instrument, "result", run, raw, str(i))
        entries.append(SpoolEntry(envelope_for(instrument, reading, key=key), raw.encode("latin-1")))
    return entries


def bench_uplink(n: int, fmt: str, seed: int, lims: str, token: str, batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, Spool(Path(tmp) / "uplink.sqlite") as spool:
        spool.add(uplink_entries(n, fmt, seed))
        uplink = Uplink(spool, lims, token, batch_size=batch_size)
        start = time.perf_counter()
        report = uplink.run_once()
        elapsed = time.perf_counter() - start
    print(
        f"uplink: {report.sent} of {n} items in {elapsed:.2f} s"
        f" = {report.sent / elapsed:,.0f} items/s (batch {batch_size});"
        f" outcomes {report.outcomes}; failed {report.failed}; error {report.error}"
    )


@dataclass(frozen=True)
class UplinksRun:
    """What `bench_uplinks` measured: wall time from the common start to the last uplink done."""

    sent: int
    elapsed: float
    outcomes: dict[str, int]
    failed: int
    outages: int  # rounds that ended with "LIMS unavailable" and were tried again
    keys: list[str]
    client_cpu: float  # CPU seconds of the uplink processes (spool, JSON, HTTP)


def _uplink_process(spool_path: str, lims: str, token: str, batch_size: int,
                    barrier: Any, answers: Any) -> None:
    """One driver PC: push its spool until it is empty, retrying outages at once (a benchmark
    wants the restart's cost, not the backoff's)."""
    outages = 0
    total = UplinkReport()
    with Spool(spool_path) as spool:
        uplink = Uplink(spool, lims, token, batch_size=batch_size, timeout=60)
        barrier.wait()
        while spool.pending(1):
            report = uplink.run_once()
            total.sent += report.sent
            total.failed += report.failed
            for k, v in report.outcomes.items():
                total.outcomes[k] = total.outcomes.get(k, 0) + v
            if report.error and spool.pending(1):
                outages += 1
                time.sleep(0.1)
            if report.failed:
                break
    answers.put((time.perf_counter(), total.sent, total.failed, total.outcomes, outages))


def bench_uplinks(n: int, fmt: str, seed: int, lims: str, tokens: dict[str, str],
                  batch_size: int, *, shuffle: bool = True,
                  during: Callable[[], None] | None = None) -> UplinksRun:
    """One uplink process per instrument in `tokens`, started together: the n readings are
    dealt out among them and, with `shuffle`, each spool holds its share in random order (as
    instruments working on the same sample racks interleave), so concurrent batches touch the
    same samples' neighbourhoods in different orders. `during` runs in this process while the
    uplinks push (a fault to inject); the uplinks keep retrying until every item is answered."""
    codes = sorted(tokens)
    entries = {code: [] for code in codes}  # type: dict[str, list[SpoolEntry]]
    order = list(range(n))
    if shuffle:
        random.Random(seed).shuffle(order)
    by_instrument = {code: uplink_entries(n, fmt, seed, code) for code in codes}
    for j, i in enumerate(order):
        code = codes[j % len(codes)]
        entries[code].append(by_instrument[code][i])
    ctx = multiprocessing.get_context("fork")
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    barrier = ctx.Barrier(len(codes) + 1)
    answers = ctx.Queue()
    with tempfile.TemporaryDirectory() as tmp:
        procs = []
        for code in codes:
            path = str(Path(tmp) / f"{code}.sqlite")
            with Spool(path) as spool:
                spool.add(entries[code])
            procs.append(ctx.Process(target=_uplink_process,
                                     args=(path, lims, tokens[code], batch_size, barrier, answers)))
        for p in procs:
            p.start()
        barrier.wait()
        start = time.perf_counter()
        if during is not None:
            during()
        done = [answers.get(timeout=900) for _ in procs]
        for p in procs:
            p.join()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    outcomes: dict[str, int] = {}
    for *_, got, _ in done:
        for k, v in got.items():
            outcomes[k] = outcomes.get(k, 0) + v
    return UplinksRun(
        sent=sum(d[1] for d in done), elapsed=max(d[0] for d in done) - start, outcomes=outcomes,
        failed=sum(d[2] for d in done), outages=sum(d[4] for d in done),
        keys=[e.envelope.idempotency_key for es in entries.values() for e in es],
        client_cpu=(children.ru_utime + children.ru_stime
                    - children_before.ru_utime - children_before.ru_stime))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--readings", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1394)
    parser.add_argument("--accession-format", default="U26-{n:06d}")
    parser.add_argument("--lims", help="LIMS base URL: measure the uplink instead of the driver")
    parser.add_argument("--token", help="API token for --lims")
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    if args.lims:
        if not args.token:
            parser.error("--lims needs --token")
        bench_uplink(
            args.readings, args.accession_format, args.seed, args.lims, args.token, args.batch_size
        )
    else:
        bench_pty(args.readings, args.accession_format, args.seed)


if __name__ == "__main__":
    main()
