"""Uplink into PostgreSQL: readings/s from a driver's spool through ``POST /api/v1/readings``.

Creates (or reuses) a PostgreSQL database with the seeded demo survey, registers the ICP-MS
instrument and issues its token, serves the LIMS under gunicorn, then pushes seeded ASTM readings
for real demo accessions (a mix of received samples, which attach, and samples in other states,
which land unmatched with a reason — both paths cost what they cost in the lab) with
`benchmarks/bench_driver.py`'s uplink measurement, once per batch size. Target (issue 3):
≥ 5,000 readings/s in batches.

    .venv/bin/python benchmarks/bench_uplink_pg.py --readings 20000 --batch-size 500 --batch-size 1000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))

from benchmarks.bench_driver import bench_uplink  # noqa: E402
from benchmarks.bench_http import SERVER, lims  # noqa: E402


def prepare(name: str, samples: int, env: dict[str, str]) -> str:
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
    token = subprocess.run([str(BIN / "lims"), "instruments", "token", "ICPMS-01", "--by", "admin"],
                           env=env, cwd=ROOT, check=True, capture_output=True, text=True)
    return token.stdout.strip().splitlines()[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lims_bench_uplink")
    parser.add_argument("--samples", type=int, default=20_000)
    parser.add_argument("--readings", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, action="append")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--port", type=int, default=5078)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "LIMS_CONFIG"}
    env.update(LIMS_DATABASE_URL=f"{SERVER}/{args.database}", LIMS_SECRET_KEY="bench-secret")
    token = prepare(args.database, args.samples, env)
    base = f"http://127.0.0.1:{args.port}"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "--workers", str(args.workers), "--bind", f"127.0.0.1:{args.port}",
         "--log-level", "warning", "lims:create_app()"], env=env, cwd=ROOT)
    try:
        for _ in range(100):
            try:
                if requests.get(f"{base}/api/v1/openapi.json", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        year = time.gmtime().tm_year
        engine = sa.create_engine(env["LIMS_DATABASE_URL"], isolation_level="AUTOCOMMIT")
        for batch_size in args.batch_size or [500, 1000]:
            # fresh planner statistics, as autovacuum would keep them (it may be off on a test box)
            with engine.connect() as conn:
                conn.exec_driver_sql("ANALYZE")
            bench_uplink(args.readings, f"U-{year}-{{n:06d}}", 1394, base, token, batch_size)
        engine.dispose()
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
