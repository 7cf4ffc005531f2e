"""Every state transition is atomic under concurrent clicks (PostgreSQL, READ COMMITTED).

Each race releases a few threads at once on the same row through the real service (one test
also through the HTTP layer) and is repeated ``REPEAT`` times on fresh rows: exactly one thread
wins, exactly one audit event is written, the others are refused with the ``ConflictError``
(409) a sequential second click gets, and the invariants hold in the database afterwards.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from lims.analysis import catalogue, review, runs
from lims.analysis.models import AnalyticalRun, Analyte, Result, ResultStatus, RunStatus
from lims.audit.models import AuditEvent
from lims.auth import services as auth
from lims.auth import throttle
from lims.auth.models import ApiToken, LoginFailure, ThrottleScope, User
from lims.capture import service as capture
from lims.capture.models import (
    InstrumentReading,
    Protocol,
    ReadingSource,
    ReadingStatus,
    ReadingType,
)
from lims.capture.service import InstrumentFields, create_instrument
from lims.core.errors import ConflictError
from lims.core.permissions import Role
from lims.extensions import db
from lims.monitoring.models import Cluster
from lims.samples import transitions
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import (
    ReceiptDecision,
    RejectionReason,
    SaltSource,
    Sample,
    SampleKind,
    SampleReceipt,
)
from tests.conftest import FIXED_NOW
from tests.race import needs_postgres, race, race_clients, school_cluster, split

pytestmark = [pytest.mark.postgres, needs_postgres]

REPEAT = 20
N = 6
PASSWORD = "correct-horse-battery-9"
NOW = FIXED_NOW
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Lab:
    tech: int
    reviewer: int
    admin: int
    cluster: int
    method_version: int
    instrument: int


@pytest.fixture(scope="module", autouse=True)
def cheap_passwords() -> Iterator[None]:
    """Password hashes of one iteration: the races are about rows, not about scrypt."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(auth, "hash_password",
                      lambda password: generate_password_hash(password, "pbkdf2:sha256:1"))
        yield


@pytest.fixture(scope="module")
def lab(race_app: Flask, cheap_passwords: None) -> Lab:
    """Users, a cluster, the method catalogue and an instrument, committed once per module."""
    with race_app.app_context():
        session = db.session
        cluster = school_cluster(session, NOW)

        def user(role: Role, name: str) -> User:
            return auth.create_user(session, actor=None, now=NOW, username=name,
                                    password=PASSWORD, roles=[role])

        tech, reviewer, admin = (user(Role.TECHNICIAN, "tech"), user(Role.REVIEWER, "reviewer"),
                                 user(Role.ADMIN, "admin"))
        catalogue.seed_methods(session, now=NOW)
        instrument = create_instrument(session, actor=admin, now=NOW, fields=InstrumentFields(
            "READER-1", "Plate reader", Protocol.BIORAD))
        session.flush()
        lab = Lab(tech.id, reviewer.id, admin.id, cluster.id,
                  catalogue.current_version(session, "SALT-TITR").id, instrument.id)
        session.commit()
        return lab


def committed(app: Flask, build: Callable[[Any], Any]) -> Any:
    """Build rows in their own transaction and commit them; return ``build``'s ids."""
    with app.app_context():
        ids = build(db.session)
        db.session.commit()
        return ids


def scalar(app: Flask, stmt: Any) -> Any:
    with app.app_context():
        return db.session.scalar(stmt)


def events(app: Flask, action: str, entity_type: str, entity_id: int) -> int:
    return scalar(app, sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.entity_type == entity_type,
        AuditEvent.entity_id == entity_id))


def new_sample(session: Any, lab: Lab, status: SampleStatus) -> Sample:
    sample = Sample(kind=SampleKind.SALT, status=status, cluster_id=lab.cluster,
                    round_id=session.get(Cluster, lab.cluster).round_id,
                    region_id=session.get(Cluster, lab.cluster).region_id,
                    accession=f"S-2026-{next(_numbers):06d}", salt_source=SaltSource.HOUSEHOLD,
                    collected_at=NOW - timedelta(days=1), registered_at=NOW,
                    received_at=None if status is SampleStatus.REGISTERED else NOW)
    session.add(sample)
    session.flush()
    return sample


def new_result(session: Any, lab: Lab, sample: Sample, status: ResultStatus,
               run_id: int | None = None) -> Result:
    result = Result(sample_id=sample.id, analyte=Analyte.SALT_IODINE,
                    method_version_id=lab.method_version, run_id=run_id, version=1,
                    is_current=True, status=status, value=30.0, unit="mg/kg", flags=[], details={},
                    created_at=NOW, created_by_id=lab.tech,
                    verified_at=NOW if status is ResultStatus.VERIFIED else None,
                    verified_by_id=lab.admin if status is ResultStatus.VERIFIED else None)
    session.add(result)
    session.flush()
    return result


def new_run(session: Any, lab: Lab, status: RunStatus, **kwargs: Any) -> AnalyticalRun:
    run = AnalyticalRun(method_version_id=lab.method_version, status=status, created_at=NOW,
                        created_by_id=lab.tech, **kwargs)
    session.add(run)
    session.flush()
    return run


def actor(user_id: int) -> User:
    return db.session.get(User, user_id)


def one_winner(outcomes: list[Any]) -> list[ConflictError]:
    """Exactly one thread succeeded; every other one got a ConflictError (409)."""
    won, refused = split(outcomes)
    assert len(won) == 1, f"{len(won)} winners: {[type(o).__name__ for o in outcomes]}"
    assert all(isinstance(e, ConflictError) and e.http_status == 409 for e in refused), refused
    assert len(refused) == len(outcomes) - 1
    return refused


# -- receipt, cancel -------------------------------------------------------------------------

def _receipts(app: Flask, sample_id: int) -> list[tuple[ReceiptDecision, bool]]:
    with app.app_context():
        return list(db.session.execute(sa.select(SampleReceipt.decision, SampleReceipt.superseded)
                                       .where(SampleReceipt.sample_id == sample_id)).all())


def _receive(sample_id: int, lab: Lab, decision: ReceiptDecision) -> SampleReceipt:
    sample = db.session.get(Sample, sample_id)
    return transitions.receive_sample(
        db.session, actor=actor(lab.tech), now=NOW, sample=sample, decision=decision,
        rejection_reason=RejectionReason.LEAKING if decision is ReceiptDecision.REJECTED else None)


@pytest.mark.parametrize("mixed", [False, True], ids=["accept-x6", "accept-x3+reject-x3"])
def test_receipt_race_has_one_winner(race_app: Flask, lab: Lab, mixed: bool) -> None:
    for _ in range(REPEAT):
        sample_id = committed(race_app, lambda s: new_sample(s, lab, SampleStatus.REGISTERED).id)

        def act(i: int, _: None) -> SampleReceipt:
            decision = ReceiptDecision.REJECTED if mixed and i % 2 else ReceiptDecision.ACCEPTED
            return _receive(sample_id, lab, decision)

        refused = one_winner(race(race_app, N, lambda i: None, act))
        assert all("was already" in e.message for e in refused)  # the sequential message
        receipts = _receipts(race_app, sample_id)
        assert len(receipts) == 1
        status = scalar(race_app, sa.select(Sample.status).where(Sample.id == sample_id))
        expected = {ReceiptDecision.ACCEPTED: SampleStatus.RECEIVED,
                    ReceiptDecision.REJECTED: SampleStatus.REJECTED}[receipts[0][0]]
        assert status is expected
        action = "receive" if receipts[0][0] is ReceiptDecision.ACCEPTED else "reject"
        assert events(race_app, action, "sample", sample_id) == 1


def test_cancel_race_has_one_winner(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        sample_id = committed(race_app, lambda s: new_sample(s, lab, SampleStatus.RECEIVED).id)

        def act(i: int, _: None) -> object:
            return transitions.cancel_sample(db.session, actor=actor(lab.tech), now=NOW,
                                             sample=db.session.get(Sample, sample_id),
                                             reason=f"duplicate {i}")

        one_winner(race(race_app, N, lambda i: None, act))
        assert events(race_app, "cancel", "sample", sample_id) == 1


def test_fast_scan_race_through_http(race_app: Flask, lab: Lab) -> None:
    """Six desks scan the same tube in fast mode: one receipt, the others see the sample's
    'already accepted' page with 409 — what a second scan shows."""
    clients = [race_app.test_client() for _ in range(N)]
    for client in clients:
        assert client.post("/login", data={"username": "tech", "password": PASSWORD}
                           ).status_code == 302
    for _ in range(REPEAT):
        sample_id, accession = committed(race_app, lambda s: (
            (smp := new_sample(s, lab, SampleStatus.REGISTERED)).id, smp.accession))

        def scan(client: FlaskClient, i: int) -> int:
            response = client.post("/samples/receive", data={
                "accession": accession, "pending": "", "fast": "y", "container_intact": "yes",
                "decision": "accepted"})
            return response.status_code

        codes = race_clients(clients, scan)
        assert sorted(codes) == [302] + [409] * (N - 1), codes
        assert len(_receipts(race_app, sample_id)) == 1
        assert events(race_app, "receive", "sample", sample_id) == 1


# -- results ---------------------------------------------------------------------------------

def _pending_result(app: Flask, lab: Lab, status: ResultStatus = ResultStatus.PRELIMINARY,
                    sample_status: SampleStatus = SampleStatus.PENDING_REVIEW) -> tuple[int, int]:
    def build(session: Any) -> tuple[int, int]:
        sample = new_sample(session, lab, sample_status)
        return new_result(session, lab, sample, status).id, sample.id

    return committed(app, build)


def _current(app: Flask, sample_id: int) -> int:
    return scalar(app, sa.select(sa.func.count()).select_from(Result).where(
        Result.sample_id == sample_id, Result.is_current))


def test_verify_result_race_has_one_winner(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        result_id, sample_id = _pending_result(race_app, lab)

        def act(i: int, _: None) -> Result:
            return review.verify_result(db.session, actor=actor(lab.reviewer), now=NOW,
                                        result=db.session.get(Result, result_id))

        one_winner(race(race_app, N, lambda i: None, act))
        assert events(race_app, "result_verified", "result", result_id) == 1
        assert events(race_app, "verify", "sample", sample_id) == 1


def test_verify_versus_send_back_has_one_winner(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        result_id, sample_id = _pending_result(race_app, lab)

        def act(i: int, _: None) -> Result:
            result = db.session.get(Result, result_id)
            if i % 2:
                return review.send_back_result(db.session, actor=actor(lab.reviewer), now=NOW,
                                               result=result, reason="spread too wide")
            return review.verify_result(db.session, actor=actor(lab.reviewer), now=NOW,
                                        result=result)

        one_winner(race(race_app, N, lambda i: None, act))
        verified = events(race_app, "result_verified", "result", result_id)
        sent_back = events(race_app, "result_sent_back", "result", result_id)
        assert verified + sent_back == 1
        status = scalar(race_app, sa.select(Sample.status).where(Sample.id == sample_id))
        assert status is (SampleStatus.VERIFIED if verified else SampleStatus.IN_ANALYSIS)


def test_amend_race_leaves_one_current_version(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        result_id, sample_id = _pending_result(race_app, lab, ResultStatus.VERIFIED,
                                               SampleStatus.VERIFIED)

        def act(i: int, _: None) -> Result:
            return review.amend_result(db.session, actor=actor(lab.reviewer), now=NOW,
                                       result=db.session.get(Result, result_id),
                                       reason=f"typo {i}", value=31.0 + i)

        one_winner(race(race_app, N, lambda i: None, act))
        assert _current(race_app, sample_id) == 1
        assert scalar(race_app, sa.select(sa.func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "result_amended", AuditEvent.entity_label.like("S-%"),
            AuditEvent.entity_id.in_(sa.select(Result.id).where(Result.sample_id == sample_id))
        )) == 1


def test_verify_run_race_verifies_each_result_once(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        def build(session: Any) -> tuple[int, list[int]]:
            run = new_run(session, lab, RunStatus.ACCEPTED, measured_by_id=lab.tech)
            results = [new_result(session, lab, new_sample(session, lab,
                                                           SampleStatus.PENDING_REVIEW),
                                  ResultStatus.PRELIMINARY, run.id).id for _ in range(3)]
            return run.id, results

        run_id, result_ids = committed(race_app, build)

        def act(i: int, _: None) -> int:
            return runs_verify(run_id, lab)

        one_winner(race(race_app, N, lambda i: None, act))
        for result_id in result_ids:
            assert events(race_app, "result_verified", "result", result_id) == 1


def runs_verify(run_id: int, lab: Lab) -> int:
    return review.verify_run(db.session, actor=actor(lab.reviewer), now=NOW,
                             run=db.session.get(AnalyticalRun, run_id))


# -- runs ------------------------------------------------------------------------------------

def test_run_accept_versus_reject_has_one_winner(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        def build(session: Any) -> tuple[int, int]:
            run = new_run(session, lab, RunStatus.CALCULATED, curve_accepted=True,
                          qc_accepted=True, measured_by_id=lab.tech)
            sample = new_sample(session, lab, SampleStatus.IN_ANALYSIS)
            new_result(session, lab, sample, ResultStatus.HELD, run.id)
            return run.id, sample.id

        run_id, sample_id = committed(race_app, build)

        def act(i: int, _: None) -> AnalyticalRun:
            run = db.session.get(AnalyticalRun, run_id)
            if i % 2:
                return runs.reject_run(db.session, actor=actor(lab.tech), now=NOW, run=run,
                                       reason="pipetting error")
            return runs.accept_run(db.session, actor=actor(lab.tech), now=NOW, run=run)

        one_winner(race(race_app, N, lambda i: None, act))
        accepted = events(race_app, "run_accepted", "analytical_run", run_id)
        rejected = events(race_app, "run_rejected", "analytical_run", run_id)
        assert accepted + rejected == 1
        assert events(race_app, "submit_for_review", "sample", sample_id) == accepted


def test_plate_claimed_by_one_run(race_app: Flask, lab: Lab) -> None:
    """Six runs take the same plate (measure): one gets it, the plate is claimed once."""
    layout = {"method": "UIC-SK-PLATE", "wells": [], "sample_capacity": 0}
    for _ in range(REPEAT):
        def build(session: Any) -> tuple[list[int], int]:
            run_ids = [new_run(session, lab, RunStatus.OPEN, layout=layout).id for _ in range(N)]
            reading = InstrumentReading(
                instrument_id=lab.instrument, idempotency_key=f"plate-{next(_numbers)}",
                type=ReadingType.PLATE, source=ReadingSource.DRIVER,
                status=ReadingStatus.PENDING, received_at=NOW, payload={"wells": {}})
            session.add(reading)
            session.flush()
            return run_ids, reading.id

        run_ids, reading_id = committed(race_app, build)

        def act(i: int, _: None) -> AnalyticalRun:
            return runs.attach_plate(db.session, actor=actor(lab.tech), now=NOW,
                                     run=db.session.get(AnalyticalRun, run_ids[i]),
                                     reading=db.session.get(InstrumentReading, reading_id))

        one_winner(race(race_app, N, lambda i: None, act))
        assert events(race_app, "plate_claimed", "instrument_reading", reading_id) == 1
        assert scalar(race_app, sa.select(sa.func.count()).select_from(AnalyticalRun).where(
            AnalyticalRun.reading_id == reading_id)) == 1


# -- inbox, users, tokens --------------------------------------------------------------------

def test_inbox_discard_versus_discard_has_one_winner(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        reading_id = committed(race_app, lambda s: _unmatched(s, lab))

        def act(i: int, _: None) -> InstrumentReading:
            return capture.discard_reading(db.session, actor=actor(lab.tech), now=NOW,
                                           reading=db.session.get(InstrumentReading, reading_id),
                                           reason=f"test strip {i}")

        one_winner(race(race_app, N, lambda i: None, act))
        assert events(race_app, "reading_discarded", "instrument_reading", reading_id) == 1


def _unmatched(session: Any, lab: Lab) -> int:
    reading = InstrumentReading(
        instrument_id=lab.instrument, idempotency_key=f"res-{next(_numbers)}",
        type=ReadingType.RESULT, source=ReadingSource.DRIVER, status=ReadingStatus.UNMATCHED,
        received_at=NOW, payload={})
    session.add(reading)
    session.flush()
    return reading.id


def test_unlock_user_race_has_one_winner(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        def build(session: Any) -> int:
            user = auth.create_user(session, actor=None, now=NOW,
                                    username=f"locked{next(_numbers)}", password=PASSWORD,
                                    roles=[Role.TECHNICIAN])
            user.locked_until = NOW + timedelta(minutes=15)
            session.flush()
            return user.id

        user_id = committed(race_app, build)

        def act(i: int, _: None) -> User:
            return auth.unlock_user(db.session, actor=actor(lab.admin), now=NOW,
                                    user=db.session.get(User, user_id))

        one_winner(race(race_app, N, lambda i: None, act))
        assert events(race_app, "user_unlocked", "user", user_id) == 1


def test_wrong_passwords_at_once_lock_the_account_once(race_app: Flask, lab: Lab) -> None:
    """N wrong passwords at the same moment are N failures (no lost update): the account is
    locked, and locked once."""
    for _ in range(REPEAT):
        username = f"victim{next(_numbers)}"
        user_id = committed(race_app, lambda s: auth.create_user(
            s, actor=None, now=NOW, username=username, password=PASSWORD,
            roles=[Role.TECHNICIAN]).id)

        def act(i: int, _: None) -> auth.LoginOutcome:
            return auth.authenticate(db.session, username=username, password="wrong", now=NOW,
                                     max_failures=N, lockout=timedelta(minutes=15))

        outcomes = race(race_app, N, lambda i: None, act)
        assert all(isinstance(o, auth.LoginOutcome) and o.user is None for o in outcomes)
        assert events(race_app, "account_locked", "user", user_id) == 1
        assert scalar(race_app, sa.select(User.locked_until).where(User.id == user_id))


def test_token_revoke_race_has_one_winner(race_app: Flask, lab: Lab) -> None:
    for _ in range(REPEAT):
        token_id = committed(race_app, lambda s: auth.create_api_token(
            s, actor=s.get(User, lab.admin), now=NOW, name=f"driver {next(_numbers)}")[0].id)

        def act(i: int, _: None) -> ApiToken:
            return auth.revoke_api_token(db.session, actor=actor(lab.admin), now=NOW,
                                         token_id=token_id)

        one_winner(race(race_app, N, lambda i: None, act))
        assert events(race_app, "token_revoked", "api_token", token_id) == 1


def test_failed_logins_at_once_are_each_counted_by_the_throttle(race_app: Flask, lab: Lab) -> None:
    """N failed logins at the same moment, for N names from one address, each pruning the same
    stale failures: no deadlock, no error, every failure counted against the address."""
    limits = throttle.ThrottleLimits(window=timedelta(minutes=15), per_address=1000, per_username=1000)
    for _ in range(REPEAT):
        address = f"192.0.2.{next(_numbers) % 250}"
        committed(race_app, lambda s: [throttle.record_login_failure(
            s, address="198.51.100.1", username=f"old{i}", now=NOW - timedelta(hours=1),
            limits=limits) for i in range(20)])

        def act(i: int, _: None) -> auth.LoginOutcome:
            return auth.authenticate(db.session, username=f"nobody{next(_numbers)}",
                                     password="wrong", now=NOW, max_failures=5,
                                     lockout=timedelta(minutes=15), address=address,
                                     throttle=limits)

        outcomes = race(race_app, N, lambda i: None, act)
        assert all(isinstance(o, auth.LoginOutcome) and o.user is None for o in outcomes)
        counted = scalar(race_app, sa.select(sa.func.count()).select_from(LoginFailure).where(
            LoginFailure.scope == ThrottleScope.ADDRESS,
            LoginFailure.key == hashlib.sha256(address.encode()).hexdigest(),
            LoginFailure.failed_at == NOW))
        assert counted == N
        assert scalar(race_app, sa.select(sa.func.count()).select_from(LoginFailure)
                      .where(LoginFailure.failed_at < NOW - limits.window)) == 0
