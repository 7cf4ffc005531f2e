"""The lists at national scale (issue 13): sorted and filtered pages over HTTP, and a streamed
CSV export of a million rows.

Uses (or seeds, as ``bench_http.py`` does) a PostgreSQL database with the deterministic demo
survey (default 1,000,000 samples and their ~2 million audit events), serves the app under
gunicorn, logs in as an administrator and measures p50/p95/max of:

* the sample list sorted by each of its three sort keys (registration, collection, accession),
  alternating first pages and deep pages reached by a keyset cursor taken from random samples;
* filtered lists: samples by region + status, samples by status + collection dates, the audit
  trail by action and by person;

then downloads ``/samples/?export=csv`` (every sample) and reports rows, seconds and the peak
resident memory (``VmHWM``) of the gunicorn worker that streamed it. Targets: p95 ≤ 100 ms per
list; export peak RSS < 300 MB.

    PYTHONPATH=. .venv/bin/python benchmarks/bench_lists.py --database lims_bench_1m
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import time
from pathlib import Path

import requests
import sqlalchemy as sa

from benchmarks.bench_http import (
    BIN, ROOT, SERVER, ensure_database, gunicorn, login, measure, report,
)

ADMIN, ADMIN_PASSWORD = "bench-admin", "lists-benchmark-secret-2026"
P95_TARGET_MS = 100.0
RSS_TARGET_MB = 300.0


def worker_pids(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [int(pid) for pid in children]


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cursor_urls(base: str, rows: list[tuple], rng: random.Random, n: int) -> list[str]:
    """First pages and deep pages of each sort key, in a shuffled mix."""
    urls = []
    for sort, key in (("-registered", lambda r: f"{r[1].isoformat()}~{r[0]}"),
                      ("-collected", lambda r: f"{r[2].isoformat()}~{r[0]}"),
                      ("accession", lambda r: r[3])):
        for i in range(n // 3):
            if i % 2:
                urls.append(f"{base}/samples/?sort={sort}&after="
                            + requests.utils.quote(key(rng.choice(rows)), safe=""))
            else:
                urls.append(f"{base}/samples/?sort={sort}")
    rng.shuffle(urls)
    return urls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lims_bench_1m")
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5613)
    parser.add_argument("--no-export", action="store_true")
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "LIMS_CONFIG"}
    env.update(LIMS_DATABASE_URL=f"{SERVER}/{args.database}", LIMS_SECRET_KEY="bench-secret",
               LIMS_SESSION_COOKIE_SECURE="false")  # plain http on 127.0.0.1
    ensure_database(args.database, args.samples, env)
    subprocess.run([str(BIN / "lims"), "users", "create", ADMIN, "--role", "admin",
                    "--password", ADMIN_PASSWORD], env=env, cwd=ROOT, capture_output=True)

    engine = sa.create_engine(env["LIMS_DATABASE_URL"])
    with engine.connect() as conn:
        region_ids = list(conn.scalars(sa.text("SELECT DISTINCT region_id FROM samples")))
        sampled = [tuple(r) for r in conn.execute(sa.text(
            "SELECT id, registered_at, collected_at, accession FROM samples "
            "TABLESAMPLE SYSTEM (1) LIMIT 3000"))]
        actors = list(conn.scalars(sa.text("SELECT DISTINCT actor_name FROM audit_events")))
        actions = list(conn.scalars(sa.text(
            "SELECT action FROM audit_events GROUP BY action HAVING count(*) > 100")))
        total = conn.scalar(sa.text("SELECT count(*) FROM samples"))
        events = conn.scalar(sa.text("SELECT count(*) FROM audit_events"))
    engine.dispose()
    print(f"database {args.database}: {total:,} samples, {events:,} audit events")

    base = f"http://127.0.0.1:{args.port}"
    # A sync worker streaming a long export sends no heartbeat: give it the time the export takes.
    with gunicorn(env, args.port, args.workers, timeout=900) as server:
        http = login(base, ADMIN, ADMIN_PASSWORD)
        rng = random.Random(13)
        n = args.requests
        statuses = ["received", "registered", "rejected", "cancelled"]
        sorted_urls = cursor_urls(base, sampled, rng, n)
        region_status = [f"{base}/samples/?region={rng.choice(region_ids)}"
                         f"&status={rng.choice(statuses)}" for _ in range(n)]
        status_dates = [f"{base}/samples/?status={rng.choice(statuses)}"
                        f"&collected_from=2026-0{rng.randint(1, 4)}-01&sort=-collected"
                        for _ in range(n)]
        audit_action = [f"{base}/audit/?action={rng.choice(actions)}" for _ in range(n)]
        audit_actor = [f"{base}/audit/?actor={rng.choice(actors)}" for _ in range(n)]
        for urls in (sorted_urls, region_status, status_dates, audit_action, audit_actor):
            measure(http, urls[:15])  # warm up
        print(f"target: p95 <= {P95_TARGET_MS:.0f} ms per list")
        report("samples sorted (3 keys, first+deep)", measure(http, sorted_urls))
        report("samples by region + status", measure(http, region_status))
        report("samples by status + dates, by coll.", measure(http, status_dates))
        report("audit trail by action", measure(http, audit_action))
        report("audit trail by person", measure(http, audit_actor))

        if not args.no_export:
            before = {pid: peak_rss_mb(pid) for pid in worker_pids(server.pid)}
            start = time.perf_counter()
            lines = size = 0
            with http.get(f"{base}/samples/?export=csv", stream=True, timeout=900) as r:
                r.raise_for_status()
                for chunk in r.iter_content(chunk_size=1 << 16):
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            seconds = time.perf_counter() - start
            after = {pid: peak_rss_mb(pid) for pid in worker_pids(server.pid)}
            grown = max(after, key=lambda pid: after[pid] - before.get(pid, 0.0))
            print(f"CSV export: {lines - 1:,} rows, {size / 1e6:.0f} MB in {seconds:.0f} s; "
                  f"peak RSS of the streaming worker {after[grown]:.0f} MB "
                  f"(before the export {before.get(grown, 0.0):.0f} MB; "
                  f"target < {RSS_TARGET_MB:.0f} MB)")


if __name__ == "__main__":
    main()
