"""HTTP latency of the home dashboard, the header search and the filtered review queue at
national scale (issue 13's benchmark). Target: p95 ≤ 100 ms each.

Uses the 1,000,000-sample demo database of ``bench_http.py`` (created and filled on first run,
~9 min), then — once — takes half of the received samples past analysis straight in SQL: one in
twenty of them preliminary (a review backlog of ~25,000 results, 2 % flagged, spread over 600
accepted runs and two technicians), the others verified; adds a few QC-rejected runs and report
jobs. Serves the app under gunicorn, logs in as a technician who is also a reviewer (every panel
of the dashboard) and measures:

* the dashboard (every count of every panel),
* the header search: exact accessions (a redirect), accession prefixes, participant codes,
  household codes alone (in every cluster) and as CLUSTER/CODE, cluster codes, run labels,
* the review queue under random filters (method, analyte, flag, region, entered by, mine, run)
  and its second page.

    .venv/bin/python benchmarks/bench_home.py --database lims_bench_1m --samples 1000000
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
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_http import BIN, ROOT, SERVER, ensure_database, gunicorn  # noqa: E402

USER, PASSWORD = "bench-reviewer", "bench-password-2026"
TARGET_MS = 100.0

BACKLOG_SQL = """
WITH m AS (SELECT
    (SELECT id FROM method_versions WHERE code = 'UIC-SK-PLATE' ORDER BY version DESC LIMIT 1) AS uic,
    (SELECT id FROM method_versions WHERE code = 'SALT-TITR' ORDER BY version DESC LIMIT 1) AS salt,
    (SELECT id FROM users WHERE username = 'tech') AS tech,
    (SELECT id FROM users WHERE username = 'tech2') AS tech2,
    (SELECT id FROM users WHERE username = 'admin') AS admin)
INSERT INTO analytical_runs (method_version_id, status, layout, entries, problems, created_at,
                             created_by_id, measured_at, measured_by_id, calculated_at,
                             curve_accepted, qc_accepted, decided_at, decided_by_id, overridden,
                             decision_reason)
SELECT CASE WHEN g % 3 = 0 THEN m.salt ELSE m.uic END,
       CASE WHEN g % 100 = 0 THEN 'rejected' ELSE 'accepted' END, '{}', '{}', '[]',
       now() - (g || ' hours')::interval, m.tech, now() - (g || ' hours')::interval, m.tech2,
       now() - (g || ' hours')::interval, true, g % 100 <> 0,
       now() - (g || ' hours')::interval, m.tech,
       false, CASE WHEN g % 100 = 0 THEN 'Westgard 1-3s' END
FROM generate_series(1, 600) AS g, m
"""

RESULTS_SQL = """
WITH m AS (SELECT
    (SELECT id FROM method_versions WHERE code = 'UIC-SK-PLATE' ORDER BY version DESC LIMIT 1) AS uic,
    (SELECT id FROM method_versions WHERE code = 'SALT-TITR' ORDER BY version DESC LIMIT 1) AS salt,
    (SELECT id FROM users WHERE username = 'tech') AS tech,
    (SELECT id FROM users WHERE username = 'tech2') AS tech2,
    (SELECT id FROM users WHERE username = 'admin') AS admin,
    (SELECT min(id) FROM analytical_runs) AS run0)
INSERT INTO results (sample_id, analyte, method_version_id, run_id, version, is_current, status,
                     value, unit, flags, details, created_at, created_by_id, verified_at,
                     verified_by_id)
SELECT s.id, CASE s.kind WHEN 'urine' THEN 'uic' ELSE 'salt_iodine' END,
       CASE s.kind WHEN 'urine' THEN m.uic ELSE m.salt END,
       m.run0 + (s.id % 600), 1, true, CASE s.status WHEN 'verified' THEN 'verified'
                                                      ELSE 'preliminary' END,
       CASE s.kind WHEN 'urine' THEN 40 + (s.id % 400) ELSE 5 + (s.id % 60) END,
       CASE s.kind WHEN 'urine' THEN 'ug/L' ELSE 'mg/kg' END,
       (CASE WHEN s.id % 53 = 7 THEN '["replicate spread 14 %"]' ELSE '[]' END)::json, '{}',
       coalesce(s.received_at, s.registered_at) + interval '2 days',
       CASE WHEN s.id % 2 = 0 THEN m.tech ELSE m.tech2 END,
       CASE s.status WHEN 'verified' THEN coalesce(s.received_at, s.registered_at)
                                          + interval '3 days' END,
       CASE s.status WHEN 'verified' THEN m.admin END
FROM samples s, m WHERE s.status IN ('verified', 'pending_review')
"""


def seed_backlog(url: str) -> None:
    """Half the received samples past analysis, in SQL (once): verified, or preliminary."""
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        if conn.scalar(sa.text("SELECT count(*) FROM results")) > 1000:
            engine.dispose()
            return
        started = time.perf_counter()
        conn.execute(sa.text(
            "UPDATE samples SET status = CASE WHEN id % 20 = 1 THEN 'pending_review'"
            " ELSE 'verified' END WHERE status = 'received' AND id % 2 = 1"))
        conn.execute(sa.text(BACKLOG_SQL))
        conn.execute(sa.text(RESULTS_SQL))
        conn.execute(sa.text(
            "INSERT INTO report_jobs (kind, params, params_key, lang, title, status, progress,"
            " progress_message, requested_at, attempts) SELECT 'monitoring', '{}',"
            " md5(g::text) || md5(g::text), 'ru', 'Bench ' || g, CASE WHEN g % 2 = 0 THEN"
            " 'failed' ELSE 'queued' END, 0, '', now(), 0 FROM generate_series(1, 6) g"))
        print(f"review backlog seeded in {time.perf_counter() - started:.0f} s")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    engine.dispose()


def login(base: str) -> requests.Session:
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=10).text
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page)
    assert token, "no CSRF token on the login page"
    answer = http.post(f"{base}/login", data={"csrf_token": token.group(1), "username": USER,
                                              "password": PASSWORD},
                       allow_redirects=False, timeout=10)
    if answer.status_code != 302:
        raise SystemExit(f"login failed: HTTP {answer.status_code}")
    return http


def measure(http: requests.Session, urls: list[str]) -> list[float]:
    timings = []
    for url in urls:
        start = time.perf_counter()
        answer = http.get(url, timeout=30, allow_redirects=False)
        timings.append((time.perf_counter() - start) * 1000)
        if answer.status_code not in (200, 302):
            raise SystemExit(f"{url}: HTTP {answer.status_code}")
    return timings


def report(name: str, timings: list[float]) -> None:
    q = statistics.quantiles(timings, n=100)
    verdict = "ok" if q[94] <= TARGET_MS else "OVER"
    print(f"{name:<44} n={len(timings):<5} p50={q[49]:7.1f} ms  p95={q[94]:7.1f} ms"
          f"  max={max(timings):7.1f} ms  (target p95 ≤ {TARGET_MS:.0f} ms: {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lims_bench_1m")
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5078)
    args = parser.parse_args()

    env = {k: v for k, v in os.environ.items() if k != "LIMS_CONFIG"}
    env.update(LIMS_DATABASE_URL=f"{SERVER}/{args.database}", LIMS_SECRET_KEY="bench-secret",
               LIMS_SESSION_COOKIE_SECURE="false")  # plain http on 127.0.0.1
    ensure_database(args.database, args.samples, env)
    subprocess.run([str(BIN / "lims"), "demo-users", "--quiet"], env=env, cwd=ROOT,
                   capture_output=True)
    subprocess.run([str(BIN / "lims"), "users", "create", USER, "--role", "technician",
                    "--role", "reviewer", "--password", PASSWORD], env=env, cwd=ROOT,
                   capture_output=True)
    seed_backlog(env["LIMS_DATABASE_URL"])

    engine = sa.create_engine(env["LIMS_DATABASE_URL"])
    with engine.connect() as conn:
        def column(sql: str) -> list[str]:
            return [str(v) for v in conn.scalars(sa.text(sql))]

        accessions = column("SELECT accession FROM samples TABLESAMPLE SYSTEM (1) LIMIT 2000")
        participants = column("SELECT code FROM participants TABLESAMPLE SYSTEM (1) LIMIT 500")
        households = column("SELECT c.code || '/' || h.code FROM households h TABLESAMPLE"
                            " SYSTEM (1) JOIN clusters c ON c.id = h.cluster_id LIMIT 500")
        clusters = column("SELECT code FROM clusters")
        runs = column("SELECT id FROM analytical_runs")
        regions = column("SELECT DISTINCT region_id FROM samples")
        users = column("SELECT id FROM users WHERE username IN ('tech', 'tech2')")
        backlog = conn.scalar(sa.text("SELECT count(*) FROM results WHERE status ="
                                      " 'preliminary'"))
        total = conn.scalar(sa.text("SELECT count(*) FROM samples"))
    engine.dispose()
    print(f"database {args.database}: {total:,} samples, {backlog:,} results to review")

    base = f"http://127.0.0.1:{args.port}"
    with gunicorn(env, args.port, args.workers):
        http = login(base)
        rng = random.Random(13)
        n = args.requests
        dashboard = [f"{base}/"] * n
        searches = [f"{base}/search?q={q}" for q in (
            [rng.choice(accessions) for _ in range(n // 6)]
            + [rng.choice(accessions)[:rng.randint(9, 11)] for _ in range(n // 6)]
            + [rng.choice(participants) for _ in range(n // 6)]
            + [rng.choice(households) for _ in range(n // 6)]
            + [rng.choice(households).split("/")[1] for _ in range(n // 12)]
            + [rng.choice(clusters) for _ in range(n // 12)]
            + [f"RUN-{int(rng.choice(runs)):06d}" for _ in range(n // 6)])]
        rng.shuffle(searches)
        filters = [
            lambda: "method=" + rng.choice(["UIC-SK-PLATE", "SALT-TITR"]),
            lambda: "analyte=" + rng.choice(["uic", "salt_iodine"]),
            lambda: "flag=" + rng.choice(["flagged", "unflagged"]),
            lambda: f"region={rng.choice(regions)}",
            lambda: f"entered_by={rng.choice(users)}",
            lambda: "mine=y",
            lambda: f"run=RUN-{int(rng.choice(runs)):06d}",
            lambda: "entered_from=2026-03-01&entered_to=2026-06-30",
        ]
        queue = [f"{base}/analysis/review?" + "&".join(f() for f in rng.sample(filters, 2))
                 for _ in range(n)]
        measure(http, dashboard[:20] + searches[:20] + queue[:20])  # warm up
        report("dashboard (every panel)", measure(http, dashboard))
        report("header search (7 kinds of query)", measure(http, searches))
        report("review queue, two random filters", measure(http, queue))
        page = http.get(f"{base}/analysis/review?flag=unflagged", timeout=30).text
        cursor = re.search(r'href="[^"]*after=([fu][0-9]+)', page)  # & is written &amp;
        if cursor:
            second = [f"{base}/analysis/review?flag=unflagged&after={cursor.group(1)}"] * (n // 3)
            report("review queue, second page", measure(http, second))


if __name__ == "__main__":
    main()
