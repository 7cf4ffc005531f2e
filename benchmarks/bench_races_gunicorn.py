"""State-transition races over HTTP: gunicorn with 4 workers on a fresh PostgreSQL database.

Seeds the database with the app's own commands and services (reference data, a demo survey,
QC lots, accepted analytical runs whose results wait for review, one run verified), logs in
one `requests.Session` per client (CSRF token and form nonce scraped from the pages, as a
browser sends them), then for each race releases its clients together with a barrier, round
after round, and counts what the database holds afterwards:

    race                                 clients        rounds   one winner, no extra rows?
    8x accept receipt of one sample      8 technicians  5
    4 accept + 4 reject one sample       8 technicians  5
    8x fast-mode scan of one sample      8 technicians  5
    2x verify one result                 2 reviewers    10
    2x verify a whole run                2 reviewers    3
    2x amend one verified result         2 reviewers    10
    verify vs send back one result       2 reviewers    10

A winner is a client whose answer says its action was done; extra rows are rows beyond the one
a single action writes (a second receipt, a second verification event, a second amendment).
Without row locks on the transitions both counts show the races; with them every round has
one winner and no extra row. Only 127.0.0.1 is contacted; every loop is bounded; the server and
the database are removed at the end (``--keep`` keeps the database).

    .venv/bin/python benchmarks/bench_races_gunicorn.py
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_http import BIN, SERVER

PASSWORD = "bench-races-password-2026"
TECHS = [f"race-tech-{i}" for i in range(1, 9)]
REVIEWERS = ["race-rev-1", "race-rev-2"]
SEED = 3
TIMEOUT = 30
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')
NONCE = re.compile(r'name="form_nonce" type="hidden" value="([^"]+)"')
FLASH = re.compile(r'class="flash (\w+)"')


def lims(env: dict[str, str], *args: str) -> None:
    subprocess.run([str(BIN / "lims"), *args], env=env, check=True, cwd=ROOT,
                   stdout=subprocess.DEVNULL)


def fresh_database(name: str) -> str:
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return f"{SERVER}/{name}"


def drop_database(name: str) -> None:
    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@dataclass
class Targets:
    """What each round of each race acts on."""

    registered: list[str] = field(default_factory=list)  # accessions
    preliminary: list[int] = field(default_factory=list)  # result ids waiting for review
    runs: list[int] = field(default_factory=list)  # accepted runs, results waiting for review
    verified: list[int] = field(default_factory=list)  # result ids, verified


def seed(env: dict[str, str], rounds: dict[str, int]) -> Targets:
    """Reference data, users and a demo survey through the CLI; accepted runs through the
    analysis services (as `lims demo-results` does, stopping before the review)."""
    for command in (["db", "upgrade"], ["seed"], ["demo-users"], ["instruments", "demo"],
                    ["analysis", "demo"], ["demo-data", "--seed", str(SEED), "--samples", "1500"]):
        lims(env, *command)
    for name in TECHS:
        lims(env, "users", "create", name, "--role", "technician", "--password", PASSWORD)
    for name in REVIEWERS:
        lims(env, "users", "create", name, "--role", "reviewer", "--password", PASSWORD)
    os.environ.update(env)
    from instruments.codecs.plate_reader import format_plate
    from lims import create_app
    from lims.analysis import review, runs
    from lims.analysis.catalogue import current_version
    from lims.analysis.demo import simulated_plate
    from lims.analysis.models import Result, ResultStatus
    from lims.auth.services import get_user_by_username
    from lims.capture.models import (
        Instrument,
        InstrumentReading,
        ReadingSource,
        ReadingStatus,
        ReadingType,
    )
    from lims.core.dt import now_utc
    from lims.extensions import db
    from lims.samples.lifecycle import SampleStatus
    from lims.samples.models import Sample, SampleKind

    app = create_app()
    targets = Targets()
    with app.app_context():
        session, now = db.session, now_utc()
        receipts = rounds["accept"] + rounds["accept_reject"] + rounds["fast"]
        targets.registered = list(session.scalars(
            sa.select(Sample.accession).where(Sample.status == SampleStatus.REGISTERED,
                                              Sample.kind == SampleKind.URINE)
            .order_by(Sample.id).limit(receipts)))
        tech, tech2 = (get_user_by_username(session, n) for n in ("tech", "tech2"))
        reviewer = get_user_by_username(session, "reviewer")
        reader = session.scalar(sa.select(Instrument).where(Instrument.code == "SK-READER-01"))
        plate = current_version(session, "UIC-SK-PLATE")
        accepted: list[Any] = []
        needed_results = rounds["verify"] + rounds["verify_send_back"]
        for _ in range(20):  # bounded: plates until enough results and runs
            have = sum(len(run_results(session, r)) for r in accepted[:-rounds["verify_run"] - 1])
            if len(accepted) >= rounds["verify_run"] + 2 and have >= needed_results:
                break
            if not runs.worklist(session, plate, limit=1):
                break
            run = runs.create_run(session, actor=tech, now=now, method_version=plate,
                                  instrument=reader)
            wells = simulated_plate(session, run, seed=SEED)
            reading = InstrumentReading(
                instrument_id=reader.id, idempotency_key=f"race-plate-{run.id}",
                type=ReadingType.PLATE, source=ReadingSource.DRIVER,
                status=ReadingStatus.PENDING, received_at=now, raw=format_plate(wells).decode(),
                reason="plate waiting for an analytical run",
                payload={"wells": wells, "over_range": [w for w, v in wells.items() if v is None]})
            session.add(reading)
            session.flush()
            runs.attach_plate(session, actor=tech2, now=now, run=run, reading=reading)
            runs.calculate_run(session, actor=tech2, now=now, run=run)
            if runs.acceptance_problems(run):
                continue
            runs.accept_run(session, actor=tech, now=now, run=run)
            accepted.append(run)
        if len(accepted) < rounds["verify_run"] + 2:
            raise SystemExit(f"only {len(accepted)} runs could be accepted; more samples needed")
        amend_run, whole = accepted[-1], accepted[-1 - rounds["verify_run"]:-1]
        review.verify_run(session, actor=reviewer, now=now, run=amend_run)
        singles = [rid for run in accepted[:-1 - rounds["verify_run"]]
                   for rid in run_results(session, run)]
        session.commit()
        targets.preliminary = singles[:needed_results]
        targets.runs = [run.id for run in whole]
        targets.verified = list(session.scalars(
            sa.select(Result.id).where(Result.id.in_(run_results(session, amend_run, any_status=True)),
                                       Result.status == ResultStatus.VERIFIED,
                                       Result.value.is_not(None)).order_by(Result.id)
            .limit(rounds["amend"])))
        db.engine.dispose()
    if len(targets.preliminary) < needed_results or len(targets.verified) < rounds["amend"]:
        raise SystemExit("not enough results to race on; more samples needed")
    return targets


def run_results(session: Any, run: Any, *, any_status: bool = False) -> list[int]:
    """The ids of a run's current results (preliminary unless ``any_status``)."""
    from lims.analysis.models import Result, ResultStatus, RunSample

    stmt = (sa.select(Result.id).join(RunSample, RunSample.sample_id == Result.sample_id)
            .where(RunSample.run_id == run.id, Result.is_current).order_by(Result.id))
    if not any_status:
        stmt = stmt.where(Result.status == ResultStatus.PRELIMINARY)
    return list(session.scalars(stmt))


class Client:
    """One browser: a logged-in session that sends a form the way the page renders it."""

    def __init__(self, base: str, username: str) -> None:
        self.base, self.http = base, requests.Session()
        page = self.http.get(f"{base}/login", timeout=TIMEOUT).text
        token = CSRF.search(page)
        assert token, "no CSRF token on the login page"
        answer = self.http.post(f"{base}/login", timeout=TIMEOUT, allow_redirects=False, data={
            "csrf_token": token.group(1), "username": username, "password": PASSWORD})
        if answer.status_code != 302:
            raise SystemExit(f"{username}: login failed with HTTP {answer.status_code}")

    def prepare(self, page: str, data: dict[str, str]) -> dict[str, str]:
        """The form's fields as the page gives them: CSRF token and (for a LimsForm) nonce."""
        html = self.http.get(f"{self.base}{page}", timeout=TIMEOUT).text
        token, nonce = CSRF.search(html), NONCE.search(html)
        assert token, f"no CSRF token on {page}"
        return {"csrf_token": token.group(1), **({"form_nonce": nonce.group(1)} if nonce else {}),
                **data}

    def send(self, path: str, data: dict[str, str]) -> bool:
        """Post; True when the answer (after its redirect) says the action was done."""
        answer = self.http.post(f"{self.base}{path}", data=data, timeout=TIMEOUT)
        flashes = set(FLASH.findall(answer.text))
        return answer.status_code == 200 and bool(flashes & {"success", "warning"}) and (
            "error" not in flashes)


@dataclass
class Race:
    name: str
    rounds: int
    #: (client, round) → (page to read the form from, path to post, form data)
    plan: Callable[[int, int], tuple[str, str, dict[str, str]]]
    #: round → rows written beyond the one a single action writes
    extra: Callable[[sa.Connection, int], int]
    clients: list[Client]


def _go(barrier: threading.Barrier, done: list[bool], client: Client, path: str,
        data: dict[str, str]) -> None:
    """One client's request, sent when the barrier releases every client of the round."""
    try:
        barrier.wait(timeout=TIMEOUT)
        done.append(client.send(path, data))
    except (requests.RequestException, threading.BrokenBarrierError):
        done.append(False)


def run_race(race: Race) -> tuple[list[int], int, int]:
    """Every round: each client reads its form, the barrier releases them, the rows are
    counted. Returns the winners per round, the extra rows, and the rounds with an error."""
    winners, extra, errors = [], 0, 0
    engine = sa.create_engine(os.environ["LIMS_DATABASE_URL"])
    for number in range(race.rounds):
        forms = [(c, *race.plan(i, number)) for i, c in enumerate(race.clients)]
        sends = [(c, path, c.prepare(page, data)) for c, page, path, data in forms]
        barrier = threading.Barrier(len(sends))
        done: list[bool] = []
        threads = [threading.Thread(target=_go, args=(barrier, done, *s)) for s in sends]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=TIMEOUT * 2)
        errors += len(sends) - len(done)
        winners.append(sum(done))
        with engine.connect() as conn:
            extra += race.extra(conn, number)
    engine.dispose()
    return winners, extra, errors


def count(conn: sa.Connection, sql: str, **params: Any) -> int:
    return int(conn.scalar(sa.text(sql), params) or 0)


def races(targets: Targets, techs: list[Client], reviewers: list[Client],
          rounds: dict[str, int]) -> list[Race]:
    receive = "/samples/receive"
    conditions = {"temperature_c": "4.0", "container_intact": "yes", "rejection_reason": "",
                  "note": "", "volume_ml": "5.0"}
    accept_at = 0
    reject_from = rounds["accept"]
    fast_from = reject_from + rounds["accept_reject"]

    def receipts(offset: int) -> Callable[[sa.Connection, int], int]:
        def extra(conn: sa.Connection, number: int) -> int:
            return max(0, count(conn, "SELECT count(*) FROM sample_receipts r JOIN samples s ON"
                                      " s.id = r.sample_id WHERE s.accession = :a",
                                a=targets.registered[offset + number]) - 1)
        return extra

    def confirm(offset: int, decision: Callable[[int], str]
                ) -> Callable[[int, int], tuple[str, str, dict[str, str]]]:
        def plan(client: int, number: int) -> tuple[str, str, dict[str, str]]:
            chosen = decision(client)
            return receive, receive, {
                **conditions, "accession": "", "pending": targets.registered[offset + number],
                "decision": chosen,
                "rejection_reason": "leaking" if chosen == "rejected" else ""}
        return plan

    def fast(client: int, number: int) -> tuple[str, str, dict[str, str]]:
        return receive, receive, {**conditions, "accession": targets.registered[fast_from + number],
                                  "pending": "", "decision": "accepted", "fast": "y"}

    def result_action(ids: list[int], actions: Callable[[int], tuple[str, dict[str, str]]]
                      ) -> Callable[[int, int], tuple[str, str, dict[str, str]]]:
        def plan(client: int, number: int) -> tuple[str, str, dict[str, str]]:
            action, data = actions(client)
            rid = ids[number]
            return f"/analysis/results/{rid}", f"/analysis/results/{rid}/{action}", data
        return plan

    def events(ids: list[int], *actions: str) -> Callable[[sa.Connection, int], int]:
        def extra(conn: sa.Connection, number: int) -> int:
            return max(0, count(conn, "SELECT count(*) FROM audit_events WHERE entity_type ="
                                      " 'result' AND entity_id = :i AND action = ANY(:a)",
                                i=ids[number], a=list(actions)) - 1)
        return extra

    def run_verify(client: int, number: int) -> tuple[str, str, dict[str, str]]:
        run_id = targets.runs[number]
        return f"/analysis/runs/{run_id}", f"/analysis/runs/{run_id}/verify", {}

    def run_extra(conn: sa.Connection, number: int) -> int:
        return count(conn, "SELECT count(*) - count(DISTINCT e.entity_id) FROM audit_events e"
                           " JOIN results r ON r.id = e.entity_id JOIN run_samples rs ON"
                           " rs.sample_id = r.sample_id WHERE e.entity_type = 'result' AND"
                           " e.action = 'result_verified' AND rs.run_id = :r",
                     r=targets.runs[number])

    def amend_extra(conn: sa.Connection, number: int) -> int:
        return max(0, count(conn, "SELECT count(*) FROM results WHERE version > 1 AND sample_id ="
                                  " (SELECT sample_id FROM results WHERE id = :i)",
                            i=targets.verified[number]) - 1)

    singles = targets.preliminary[:rounds["verify"]]
    contested = targets.preliminary[rounds["verify"]:]
    return [
        Race("8x accept receipt of one sample", rounds["accept"],
             confirm(accept_at, lambda c: "accepted"), receipts(accept_at), techs),
        Race("4 accept + 4 reject one sample", rounds["accept_reject"],
             confirm(reject_from, lambda c: "accepted" if c % 2 else "rejected"),
             receipts(reject_from), techs),
        Race("8x fast-mode scan of one sample", rounds["fast"], fast, receipts(fast_from), techs),
        Race("2x verify one result", rounds["verify"],
             result_action(singles, lambda c: ("verify", {})),
             events(singles, "result_verified"), reviewers),
        Race("2x verify a whole run", rounds["verify_run"], run_verify, run_extra, reviewers),
        Race("2x amend one verified result", rounds["amend"],
             result_action(targets.verified, lambda c: (
                 "amend", {"value": f"{150 + c}.0", "comparator": "", "limit": "",
                           "category": "", "reason": f"transcription error (client {c})"})),
             amend_extra, reviewers),
        Race("verify vs send back one result", rounds["verify_send_back"],
             result_action(contested, lambda c: ("verify", {}) if c == 0 else (
                 "send-back", {"reason": "pipetting doubt"})),
             events(contested, "result_verified", "result_sent_back"), reviewers),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="lims_bench_races")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5078)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    rounds = {"accept": 5, "accept_reject": 5, "fast": 5, "verify": 10, "verify_run": 3,
              "amend": 10, "verify_send_back": 10}

    env = {k: v for k, v in os.environ.items() if k != "LIMS_CONFIG"}
    env.update(LIMS_DATABASE_URL=fresh_database(args.database), LIMS_SECRET_KEY="bench-secret",
               LIMS_SESSION_COOKIE_SECURE="false",  # plain http on 127.0.0.1
               PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    server = None
    try:
        targets = seed(env, rounds)
        print(f"seeded in {time.perf_counter() - started:.0f} s: {len(targets.registered)} samples"
              f" to receive, {len(targets.preliminary)} results and {len(targets.runs)} runs to"
              f" verify, {len(targets.verified)} verified results to amend")
        base = f"http://127.0.0.1:{args.port}"
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "--workers", str(args.workers), "--bind",
             f"127.0.0.1:{args.port}", "--log-level", "warning", "lims:create_app()"],
            env=env, cwd=ROOT)
        for _ in range(150):
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not answer on /healthz")
        techs = [Client(base, name) for name in TECHS]
        reviewers = [Client(base, name) for name in REVIEWERS]
        print(f"{'race':<34} {'rounds':>6}  {'winners per round':<32} {'extra rows':>10}")
        for race in races(targets, techs, reviewers, rounds):
            winners, extra, errors = run_race(race)
            note = f"  ({errors} requests failed)" if errors else ""
            print(f"{race.name:<34} {race.rounds:>6}  {' '.join(map(str, winners)):<32}"
                  f" {extra:>10}{note}", flush=True)
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if not args.keep:
            drop_database(args.database)


if __name__ == "__main__":
    main()
