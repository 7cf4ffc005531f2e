"""The readings Inbox at national scale (issue 17, item 3): 100,000 unmatched readings over HTTP.

Uses (or seeds, as ``bench_http.py`` does) a PostgreSQL database with the demo survey (default
1,000,000 samples), registers the demo instruments (``lims instruments demo``), then adds once, in
one SQL statement over ``generate_series``, 100,000 unmatched instrument readings (fixed keys
``bench-inbox-<n>``, so a second run adds nothing): spread over the demo instruments, received over
about six months, each with a coded reason of the kinds ingest writes (no such sample, no numeric
value, no sample ID, unknown analyte, unmapped test code). It serves the app under gunicorn, logs in
as an administrator and measures p50/p95/max of:

* the Inbox's first page (unmatched, newest arrival first: the page a technician opens);
* the Inbox filtered by each filter it offers: instrument, received dates (a one-month window),
  both, and a status other than the default (discarded: an empty list must be fast too);
* the Inbox sorted by each sort key (reading number, received at), both directions;
* deep pages reached by the keyset cursor (``after``) of random readings, in both sort keys;
* the CSV export's time to first bytes (the export streams; its length is not measured here),
  once with the requests 0.5 s apart (what a person clicking Export sees) and once back to back
  (each abandoned export keeps its worker busy until a write fails: on two cores the next
  request waits for CPU, so this line measures the benchmark's own hang-ups as much as the app).

Target (issue 17): p95 ≤ 100 ms per line. The load average is printed at the start and the end:
the machine is shared, and a loaded machine's figures say less.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_inbox.py --database lims_bench_1m
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import time
from urllib.parse import quote

import requests
import sqlalchemy as sa

from benchmarks.bench_http import BIN, ROOT, SERVER, ensure_database, gunicorn, login, report

ADMIN, ADMIN_PASSWORD = "bench-admin", "lists-benchmark-secret-2026"
P95_TARGET_MS = 100.0
READINGS = 100_000
KEY_PREFIX = "bench-inbox-"
#: A reading's link on the Inbox page: the page holds rows.
ROW = re.compile(r'href="/inbox/\d+"')

#: One row per reading: the instrument by ``g``, a reason of five kinds (the JSON ingest writes,
#: see ``lims.capture.reasons``), received every ~155 s back from now (about six months), the
#: instrument's own clock (local lab time, no zone) a few minutes before arrival.
SEED_SQL = """
WITH inst AS (
    SELECT id, protocol, (row_number() OVER (ORDER BY id)) - 1 AS k, count(*) OVER () AS n
    FROM instruments
)
INSERT INTO instrument_readings (instrument_id, idempotency_key, type, source, status, reason,
                                 sample_ref, analyte, test_code, raw_value, value, unit,
                                 measured_at, received_at, payload, raw)
SELECT i.id, :prefix || g, 'result',
       CASE i.protocol WHEN 'manual' THEN 'manual' WHEN 'file' THEN 'file' ELSE 'driver' END,
       'unmatched',
       CASE g % 5
           WHEN 0 THEN json_build_object('code', 'no_sample',
                                         'accession', 'U-2026-9' || lpad((g % 100000)::text, 5, '0'))::text
           WHEN 1 THEN '{"code": "not_a_number", "raw": "***"}'
           WHEN 2 THEN '{"code": "no_sample_id"}'
           WHEN 3 THEN json_build_object('code', 'unknown_analyte', 'analyte', 'ui' || (g % 7))::text
           ELSE json_build_object('code', 'unmapped_test_code', 'test_code', 'T' || (g % 13))::text
       END,
       CASE WHEN g % 5 = 2 THEN NULL ELSE 'U-2026-9' || lpad((g % 100000)::text, 5, '0') END,
       CASE g % 5 WHEN 3 THEN 'ui' || (g % 7) WHEN 4 THEN NULL ELSE 'uic' END,
       CASE g % 5 WHEN 4 THEN 'T' || (g % 13) ELSE 'UIC' END,
       CASE g % 5 WHEN 1 THEN '***' ELSE (40 + g % 300) || '.5' END,
       CASE g % 5 WHEN 1 THEN NULL ELSE 40.5 + g % 300 END,
       'µg/L',
       (ts.at AT TIME ZONE 'Asia/Almaty') - make_interval(mins => (g % 9)::int),
       ts.at, '{}', ''
FROM generate_series(1, :readings) AS g
CROSS JOIN LATERAL (SELECT now() - make_interval(secs => g * 155 + (g * 7919) % 120)) AS ts(at)
JOIN inst AS i ON i.k = g % i.n
ON CONFLICT (instrument_id, idempotency_key) DO NOTHING
"""


def seed_readings(engine: sa.Engine) -> None:
    """The 100,000 unmatched readings, once: skipped when they are there."""
    with engine.begin() as conn:
        have = conn.scalar(sa.text("SELECT count(*) FROM instrument_readings "
                                   "WHERE idempotency_key LIKE :p"), {"p": KEY_PREFIX + "%"})
        if have >= READINGS:
            return
        start = time.perf_counter()
        conn.execute(sa.text(SEED_SQL), {"prefix": KEY_PREFIX, "readings": READINGS})
    # What autovacuum does soon after a bulk insert in production: the statistics, and the
    # visibility map without which the Inbox's count reads the heap (25 ms instead of 9 ms).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE instrument_readings")
        conn.exec_driver_sql("ANALYZE instruments")
    print(f"seeded {READINGS - have:,} unmatched readings in {time.perf_counter() - start:.1f} s")


def first_bytes(http: requests.Session, urls: list[str], pause: float = 0.0) -> list[float]:
    """Time to the first bytes of a streamed export (the rest is not read), ``pause`` seconds
    apart: a worker whose reader hung up goes on querying and writing until a write fails, so
    back to back the next export shares the machine's cores with the abandoned ones."""
    timings = []
    for url in urls:
        time.sleep(pause)
        start = time.perf_counter()
        with http.get(url, stream=True, timeout=60) as r:
            if r.status_code != 200:
                raise SystemExit(f"{url}: HTTP {r.status_code}")
            next(r.iter_content(chunk_size=256))
            timings.append((time.perf_counter() - start) * 1000)
    return timings


def timed(http: requests.Session, urls: list[str]) -> list[float]:
    """``bench_http.measure``, but the page must hold rows (an empty inbox measures nothing) unless
    the URL asks for an empty status."""
    timings = []
    for url in urls:
        start = time.perf_counter()
        r = http.get(url, timeout=30)
        timings.append((time.perf_counter() - start) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code}")
        if "status=discarded" not in url and not ROW.search(r.text):
            raise SystemExit(f"{url}: no readings on the page")
    return timings


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lims_bench_1m")
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5631)
    args = parser.parse_args()
    print(f"load average at start: {load()}")

    env = {k: v for k, v in os.environ.items() if k != "LIMS_CONFIG"}
    env.update(LIMS_DATABASE_URL=f"{SERVER}/{args.database}", LIMS_SECRET_KEY="bench-secret",
               LIMS_SESSION_COOKIE_SECURE="false")  # plain http on 127.0.0.1
    ensure_database(args.database, args.samples, env)
    subprocess.run([str(BIN / "lims"), "users", "create", ADMIN, "--role", "admin",  # may exist
                    "--password", ADMIN_PASSWORD], check=False, env=env, cwd=ROOT,
                   capture_output=True)
    subprocess.run([str(BIN / "lims"), "instruments", "demo", "--by", ADMIN], env=env, cwd=ROOT,
                   check=True, capture_output=True)

    engine = sa.create_engine(env["LIMS_DATABASE_URL"])
    seed_readings(engine)
    with engine.connect() as conn:
        instruments = list(conn.scalars(sa.text("SELECT id FROM instruments ORDER BY id")))
        sampled = [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, received_at FROM instrument_readings WHERE status = 'unmatched' "
            "ORDER BY random() LIMIT 3000"))]
        unmatched = conn.scalar(sa.text(
            "SELECT count(*) FROM instrument_readings WHERE status = 'unmatched'"))
        samples = conn.scalar(sa.text("SELECT count(*) FROM samples"))
    engine.dispose()
    print(f"database {args.database}: {samples:,} samples, {unmatched:,} unmatched readings, "
          f"{len(instruments)} instruments")

    base = f"http://127.0.0.1:{args.port}"
    inbox = f"{base}/inbox/"
    with gunicorn(env, args.port, args.workers):
        http = login(base, ADMIN, ADMIN_PASSWORD)
        rng = random.Random(17)
        n = args.requests

        def month() -> str:
            day = rng.randint(10, 170)  # a window inside the ~six months of arrivals
            start = time.gmtime(time.time() - day * 86400)
            end = time.gmtime(time.time() - (day - 30) * 86400)
            return (f"received_from={time.strftime('%Y-%m-%d', start)}"
                    f"&received_to={time.strftime('%Y-%m-%d', end)}")

        def after(sort: str) -> str:
            reading_id, received = rng.choice(sampled)
            key = str(reading_id) if sort.lstrip("-") == "reading" \
                else f"{received.isoformat()}~{reading_id}"
            return f"{inbox}?sort={sort}&after={quote(key, safe='')}"

        sorts = ("-received", "received", "-reading", "reading")
        lines = {
            "first page (unmatched, newest)": [inbox] * n,
            "by instrument": [f"{inbox}?instrument={rng.choice(instruments)}" for _ in range(n)],
            "by received dates (a month)": [f"{inbox}?{month()}" for _ in range(n)],
            "by instrument + dates": [f"{inbox}?instrument={rng.choice(instruments)}&{month()}"
                                      for _ in range(n)],
            "status discarded (empty)": [f"{inbox}?status=discarded"] * n,
            "sorted (4 sorts, first pages)": [f"{inbox}?sort={sorts[i % 4]}" for i in range(n)],
            "deep pages by cursor (4 sorts)": [after(sorts[i % 4]) for i in range(n)],
        }
        for urls in lines.values():
            timed(http, urls[:15])  # warm up
        print(f"target: p95 <= {P95_TARGET_MS:.0f} ms per line")
        for name, urls in lines.items():
            report(name, timed(http, urls))
        csv = f"{inbox}?export=csv"
        first_bytes(http, [csv] * 5)
        report("CSV export, first bytes, 0.5 s apart", first_bytes(http, [csv] * n, pause=0.5))
        report("CSV export, first bytes, back to back", first_bytes(http, [csv] * n))
    print(f"load average at end: {load()}")


if __name__ == "__main__":
    main()
