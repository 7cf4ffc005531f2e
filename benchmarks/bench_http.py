"""HTTP latency of the sample list at national scale (issue 2's benchmark).

Seeds a PostgreSQL database with the deterministic demo survey (default 1,000,000 samples) unless
it already holds that many, serves the app under gunicorn, logs in as a technician and measures:

* the sample list filtered by region and status (a different region/status each request), and
* the accession prefix search,

printing p50/p95/max per scenario. Target (issue 2): p95 ≤ 100 ms for both.

    .venv/bin/python benchmarks/bench_http.py --database lims_bench_1m --samples 1000000
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
USER, PASSWORD = "bench-tech", "bench-password-2026"


def lims(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "lims"), *args], env=env, check=True, cwd=ROOT)



@contextmanager
def gunicorn(env: dict[str, str], port: int, workers: int,
             timeout: int | None = None) -> Iterator[subprocess.Popen[bytes]]:
    """The LIMS under gunicorn on 127.0.0.1:``port``, as in production, until the block ends;
    yields the master process once ``/healthz`` answers. ``timeout`` lifts gunicorn's worker timeout
    for a sync worker streaming a long export (it sends no heartbeat meanwhile)."""
    base = f"http://127.0.0.1:{port}"
    extra = ["--timeout", str(timeout)] if timeout else []
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(workers), *extra, "--bind", f"127.0.0.1:{port}",
         "--log-level", "warning", "lims:create_app()"], env=env, cwd=ROOT)
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)

def ensure_database(name: str, samples: int, env: dict[str, str]) -> None:
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        if not exists:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    lims(env, "db", "upgrade")
    lims(env, "seed")
    engine = sa.create_engine(env["LIMS_DATABASE_URL"])
    with engine.connect() as conn:
        have = conn.scalar(sa.text("SELECT count(*) FROM samples"))
    if have < samples:
        if have:
            raise SystemExit(f"{name} holds {have} samples, fewer than {samples}: use a new database")
        lims(env, "demo-data", "--seed", "1", "--samples", str(samples))
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    subprocess.run([str(BIN / "lims"), "users", "create", USER, "--role", "technician",
                    "--password", PASSWORD], env=env, cwd=ROOT, capture_output=True)


def login(base: str, user: str = USER, password: str = PASSWORD) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    r = http.post(f"{base}/login", data={"csrf_token": token.group(1), "username": user,
                                         "password": password}, allow_redirects=False, timeout=10)
    if r.status_code != 302:
        raise SystemExit(f"login failed: HTTP {r.status_code}")
    return http


def measure(http: requests.Session, urls: list[str]) -> list[float]:
    timings = []
    for url in urls:
        start = time.perf_counter()
        r = http.get(url, timeout=30)
        timings.append((time.perf_counter() - start) * 1000)
        if r.status_code != 200:
            raise SystemExit(f"{url}: HTTP {r.status_code}")
    return timings


def report(name: str, timings: list[float]) -> None:
    q = statistics.quantiles(timings, n=100)
    print(f"{name:<38} n={len(timings):<5} p50={q[49]:7.1f} ms  p95={q[94]:7.1f} ms"
          f"  max={max(timings):7.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lims_bench_1m")
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5077)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "LIMS_CONFIG"}
    env.update(LIMS_DATABASE_URL=f"{SERVER}/{args.database}", LIMS_SECRET_KEY="bench-secret",
               LIMS_SESSION_COOKIE_SECURE="false")  # plain http on 127.0.0.1
    ensure_database(args.database, args.samples, env)

    engine = sa.create_engine(env["LIMS_DATABASE_URL"])
    with engine.connect() as conn:
        region_ids = list(conn.scalars(sa.text("SELECT DISTINCT region_id FROM samples")))
        accessions = list(conn.scalars(sa.text(
            "SELECT accession FROM samples TABLESAMPLE SYSTEM (1) LIMIT 2000")))
        total = conn.scalar(sa.text("SELECT count(*) FROM samples"))
    engine.dispose()
    print(f"database {args.database}: {total:,} samples, {len(region_ids)} regions")

    base = f"http://127.0.0.1:{args.port}"
    with gunicorn(env, args.port, args.workers):
        http = login(base)
        rng = random.Random(7)
        statuses = ["received", "registered", "rejected", "cancelled"]
        list_urls = [f"{base}/samples/?region={rng.choice(region_ids)}&status={rng.choice(statuses)}"
                     for _ in range(args.requests)]
        # prefixes of 9–11 characters: 'U-2026-00' … 'U-2026-0012', tens to thousands of matches
        prefix_urls = [f"{base}/samples/?q={a[:rng.randint(9, 11)]}"
                       for a in rng.choices(accessions, k=args.requests)]
        measure(http, list_urls[:20] + prefix_urls[:20])  # warm up
        report("list filtered by region and status", measure(http, list_urls))
        report("accession prefix search", measure(http, prefix_urls))


if __name__ == "__main__":
    main()
