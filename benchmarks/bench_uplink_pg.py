"""Uplink into PostgreSQL: readings/s from drivers' spools through ``POST /api/v1/readings``.

Creates (or reuses) a PostgreSQL database with the seeded demo survey, registers ICP-MS
instruments (ICPMS-01 … ICPMS-0N) and issues their tokens, serves the LIMS under gunicorn
(4 workers), then deals seeded ASTM readings for real demo accessions (received samples attach;
samples in other states land unmatched with a reason — both paths cost what they cost in the
lab) among N uplink processes (`benchmarks/bench_driver.py`'s `bench_uplinks`), each pushing its
spool in batches, shuffled (as instruments working on the same racks interleave) unless
``--in-order``. Each run starts without the benchmark's earlier readings and uses new values.
Printed beside the rate: the target (issue 17: ≥ 5,000 readings/s; ≥ 1,500/s with faults), the
floor (the same rows by plain ``executemany``, one commit per batch, into a copy of the table
with its indexes) and the ratio, the load average, lost and duplicated readings, and the CPU
time of the gunicorn workers and PostgreSQL backends per 1,000 readings (steadier than the rate
on a shared machine). ``--fault`` kills a gunicorn worker and restarts PostgreSQL (the shared
server: other sessions' connections drop too) during the run.

    .venv/bin/python benchmarks/bench_uplink_pg.py --readings 20000 --repeat 3
    .venv/bin/python benchmarks/bench_uplink_pg.py --readings 20000 --fault
    .venv/bin/python benchmarks/bench_uplink_pg.py --uplinks 1 --batch-size 500 --batch-size 1000

Where the time went (pyinstrument, 39 batches of 500 in-process on this 2-core machine, before
the changes of 2026-12-08): the server's work per batch was about 130 ms of CPU, of which
validating the batch a third — fastjsonschema decides the schema's ``if``/``then`` per item by
raising and catching an exception that formats the whole sub-schema, twice per item (~35 ms),
and the JSON depth check ran a per-character regex alternation over the body (~10 ms) — then
rendering and converting IN lists of 500 parameters for the three look-ups (known keys, samples,
attached readings; ~10 ms, uncached since every list differs), reading the new rows' ids back by
key after the COPY (~8 ms), per-value type checks while writing the COPY (~6 ms); PostgreSQL's
own COPY (six indexes, foreign keys) about 15 ms. Changes: per-type payload validators, the
depth measured on the parsed document, ``= ANY(:array)`` look-ups, ids reserved from the
sequence (no read-back), COPY conversions by column type, rows inserted in key order (no
deadlock between batches carrying the same keys after an outage).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_driver import bench_uplink, bench_uplinks, uplink_entries  # noqa: E402
from benchmarks.bench_http import SERVER, lims  # noqa: E402


def prepare(name: str, samples: int, env: dict[str, str], instruments: list[str]) -> dict[str, str]:
    """The database with the demo survey, and a fresh token for each instrument (code → token);
    instruments beyond the demo set are registered as further ICP-MS units."""
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    lims(env, "db", "upgrade")
    lims(env, "seed")
    lims(env, "demo-data", "--seed", "3", "--samples", str(samples), "--if-empty")
    lims(env, "demo-users")
    lims(env, "instruments", "demo")
    engine = sa.create_engine(env["LIMS_DATABASE_URL"])
    with engine.connect() as conn:
        known = set(conn.scalars(sa.text("SELECT code FROM instruments")))
    engine.dispose()
    tokens = {}
    for code in instruments:
        if code not in known:
            lims(env, "instruments", "create", code, "--name", f"ICP-MS {code}", "--protocol",
                 "astm", "--by", "admin")
        token = subprocess.run([str(BIN / "lims"), "instruments", "token", code, "--by", "admin"],
                               env=env, cwd=ROOT, check=True, capture_output=True, text=True)
        tokens[code] = token.stdout.strip().splitlines()[-1]
    return tokens


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def stored(url: str, keys: list[str]) -> tuple[int, int]:
    """Rows stored under the run's keys, and how many distinct keys they have."""
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT idempotency_key) FROM instrument_readings"
            " WHERE idempotency_key = ANY(:keys)"), {"keys": keys}).one()
    engine.dispose()
    return row[0], row[1]


def floor(url: str, n: int, fmt: str, seed: int, batch_size: int) -> float:
    """Readings/s of the floor: the same rows (every column the ingest fills) sent by one plain
    ``executemany`` INSERT per batch, one commit per batch, into a temporary copy of the
    readings table with the same indexes — what storing costs with no HTTP, no JSON, no
    matching."""
    entries = uplink_entries(n, fmt, seed)
    rows = []
    now = datetime.now(UTC)
    for e in entries:
        env = e.envelope
        payload = dict(env.payload)
        raw = payload.pop("raw", "")
        rows.append((1, env.idempotency_key, "result", "driver", "unmatched", "no_sample", None,
                     payload["sample_id"], payload["analyte"], payload.get("test_code", ""),
                     payload["raw_value"], payload["value"], None, payload["unit"],
                     None, env.spooled_at, now, json.dumps(payload), raw))
    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql")) as conn:
        conn.execute("CREATE TEMP TABLE floor_readings"
                     " (LIKE instrument_readings INCLUDING DEFAULTS INCLUDING INDEXES)")
        conn.commit()
        sql = ("INSERT INTO floor_readings (instrument_id, idempotency_key, type, source, status,"
               " reason, sample_id, sample_ref, analyte, test_code, raw_value, value, comparator,"
               " unit, measured_at, spooled_at, received_at, payload, raw)"
               " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")
        start = time.perf_counter()
        for i in range(0, len(rows), batch_size):
            with conn.cursor() as cur:
                cur.executemany(sql, rows[i:i + batch_size])
            conn.commit()
        elapsed = time.perf_counter() - start
    return n / elapsed


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes (Linux /proc), 0 for one that has gone."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def backends(url: str) -> list[int]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        pids = list(conn.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()")))
    engine.dispose()
    return pids


def workers_of(server: subprocess.Popen[bytes]) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(server.pid)], capture_output=True,
                         text=True).stdout
    return [int(x) for x in out.split()]


def fault(server: subprocess.Popen[bytes], after: float) -> Callable[[], None]:
    """Kill one gunicorn worker (SIGKILL: its requests in flight are cut off), then restart the
    PostgreSQL cluster (every pooled connection of every worker dies)."""
    def inject() -> None:
        time.sleep(after)
        victim = workers_of(server)[0]
        os.kill(victim, signal.SIGKILL)
        print(f"  killed gunicorn worker {victim} at {after:.1f} s")
        time.sleep(after / 2)
        version = sorted(os.listdir("/etc/postgresql"))[-1]
        t = time.perf_counter()
        subprocess.run(["pg_ctlcluster", version, "main", "restart"], check=True)
        print(f"  restarted PostgreSQL {version} in {time.perf_counter() - t:.1f} s")
    return inject


def serve(env: dict[str, str], workers: int, port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "lims:create_app()"], env=env, cwd=ROOT)
    for _ in range(150):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.2)
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lims_bench_uplink")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, action="append")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--uplinks", type=int, default=4,
                        help="instruments pushing at once (1: the single-uplink figure)")
    parser.add_argument("--in-order", action="store_true",
                        help="each uplink sends its readings in accession order, not shuffled")
    parser.add_argument("--fault", action="store_true",
                        help="kill a worker and restart PostgreSQL during the run (shared server!)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per batch size, back to back")
    parser.add_argument("--port", type=int, default=5078)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "LIMS_CONFIG"}
    url = f"{SERVER}/{args.database}"
    env.update(LIMS_DATABASE_URL=url, LIMS_SECRET_KEY="bench-secret", PYTHONPATH=str(ROOT))
    codes = ["ICPMS-01", *(f"ICPMS-{i:02d}" for i in range(2, args.uplinks + 1))]
    tokens = prepare(args.database, args.samples, env, codes)
    base = f"http://127.0.0.1:{args.port}"
    fmt = f"U-{time.gmtime().tm_year}-{{n:06d}}"
    server = serve(env, args.workers, args.port)
    try:
        engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        for batch_size in args.batch_size or [500]:
            # fresh planner statistics, as autovacuum would keep them (it may be off on a test box)
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
            if args.uplinks == 1:
                bench_uplink(args.readings, fmt, 1394, base, tokens["ICPMS-01"], batch_size)
                continue
            for _ in range(args.repeat):
                # every run starts from the same state: none of the benchmark's readings (a
                # sample's attached readings are compared with each new one: they would pile up)
                with engine.connect() as conn:
                    conn.execute(sa.text(
                        "DELETE FROM instrument_readings WHERE instrument_id IN"
                        " (SELECT id FROM instruments WHERE code = ANY(:codes))"), {"codes": codes})
                    conn.exec_driver_sql("VACUUM ANALYZE instrument_readings")
                seed = int(time.time())
                base_rate = floor(url, args.readings, fmt, seed, batch_size)
                during = fault(server, after=1.0) if args.fault else None
                watched = workers_of(server) + backends(url)
                cpu_before = cpu_seconds(watched)
                run = bench_uplinks(args.readings, fmt, seed, base, tokens, batch_size,
                                    shuffle=not args.in_order, during=during)
                # processes started during the run (pool connections, a respawned worker) count whole
                cpu = cpu_seconds(workers_of(server) + backends(url)) - cpu_before
                rows, distinct = stored(url, run.keys)
                rate = args.readings / run.elapsed
                target = 1500 if args.fault else 5000
                print(f"{args.uplinks} uplinks, batch {batch_size},"
                      f" {'in order' if args.in_order else 'shuffled'}{', FAULTS' if args.fault else ''}:"
                      f" {args.readings} readings in {run.elapsed:.2f} s = {rate:,.0f} readings/s"
                      f" (target >= {target:,}); floor (plain executemany) {base_rate:,.0f}/s,"
                      f" ratio {rate / base_rate:.2f}; {load()}")
                print(f"  outcomes {run.outcomes}; failed {run.failed}; outage rounds {run.outages};"
                      f" stored {rows} rows, {distinct} keys: lost {args.readings - distinct},"
                      f" duplicated {rows - distinct}; server CPU (gunicorn workers + PostgreSQL"
                      f" backends) {1000 * cpu / args.readings * 1000:,.0f} ms per 1,000 readings,"
                      f" uplink processes {run.client_cpu / args.readings * 1e6:,.0f} ms")
        engine.dispose()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
