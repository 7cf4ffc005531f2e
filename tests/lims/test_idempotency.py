"""A double-submitted form acts once: the same form nonce posted twice (one after the other,
or at the same moment from several clients) performs its action once, and the second answer
is the first one's redirect with a notice; never a 500."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from lims.auth.services import create_user
from lims.core.idempotency import NONCE_FIELD, FormSubmission
from lims.core.permissions import Role
from lims.extensions import db
from lims.reporting.models import ReportJob
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind, SampleReceipt
from tests.conftest import FIXED_NOW, is_postgres, make_app
from tests.factories import PASSWORD

REPORTS = "/reports/"
NONCE = re.compile(rf'name="{NONCE_FIELD}" type="hidden" value="([^"]+)"')


def nonce_of(page: str) -> str:
    found = NONCE.search(page)
    assert found, "no form nonce on the page"
    return found.group(1)


def report_form(nonce: str, **fields: str) -> dict[str, str]:
    return {"round": "", "year": "2026", "region": "", "group": "", "lang": "ru",
            "scheme": "WHO2007", NONCE_FIELD: nonce, **fields}


def jobs(session: sa.orm.Session) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(ReportJob)) or 0


@pytest.fixture()
def verified_result(session: sa.orm.Session, make_sample, make_user) -> None:  # type: ignore[no-untyped-def]
    """One verified salt result collected in 2026, made as ``lims demo-results`` makes them: a
    report of an empty scope is refused at the request, and these tests need one that is not."""
    from lims.analysis.catalogue import seed_methods
    from lims.analysis.demo import demo_results

    seed_methods(session, now=FIXED_NOW)
    make_sample(SampleKind.SALT, status=SampleStatus.VERIFIED)
    demo_results(session, seed=1, technician=make_user(Role.TECHNICIAN),
                 reviewer=make_user(Role.REVIEWER), now=FIXED_NOW)
    session.commit()


@pytest.fixture()
def ministry(client: FlaskClient, make_user, login,  # type: ignore[no-untyped-def]
             verified_result: None) -> FlaskClient:
    login(make_user(Role.MINISTRY))
    return client


def test_every_rendering_carries_a_fresh_nonce(ministry: FlaskClient) -> None:
    first = nonce_of(ministry.get(REPORTS).get_data(as_text=True))
    second = nonce_of(ministry.get(REPORTS).get_data(as_text=True))
    assert first != second and len(first) >= 16


def test_a_form_sent_twice_acts_once(ministry: FlaskClient, session: sa.orm.Session) -> None:
    nonce = nonce_of(ministry.get(REPORTS).get_data(as_text=True))
    first = ministry.post(REPORTS, data=report_form(nonce))
    assert first.status_code == 302 and jobs(session) == 1
    second = ministry.post(REPORTS, data=report_form(nonce))
    assert second.status_code == 303 and second.location == first.location
    assert jobs(session) == 1
    page = ministry.get(second.location).get_data(as_text=True)
    assert "had already been sent, and was processed once" in page
    claim = session.scalar(sa.select(FormSubmission).where(FormSubmission.nonce == nonce))
    assert claim is not None and claim.endpoint == "reporting.index"
    assert (claim.status_code, claim.location) == (302, first.location)
    # a new rendering of the form is a new submission
    fresh = nonce_of(ministry.get(REPORTS).get_data(as_text=True))
    assert ministry.post(REPORTS, data=report_form(fresh)).status_code == 302
    assert jobs(session) == 2


def test_a_refused_form_can_be_corrected_and_sent_with_its_nonce(
        ministry: FlaskClient, session: sa.orm.Session) -> None:
    """Nothing was done, so nothing is claimed: the corrected form goes through."""
    nonce = nonce_of(ministry.get(REPORTS).get_data(as_text=True))
    refused = ministry.post(REPORTS, data=report_form(nonce, year="1999"))
    assert refused.status_code == 422 and jobs(session) == 0
    assert nonce_of(refused.get_data(as_text=True)) != nonce  # shown again with a new one
    assert ministry.post(REPORTS, data=report_form(nonce)).status_code == 302
    assert jobs(session) == 1


def test_a_damaged_or_foreign_nonce_is_refused_not_a_500(
        ministry: FlaskClient, session: sa.orm.Session, make_user, login) -> None:  # type: ignore[no-untyped-def]
    assert ministry.post(REPORTS, data=report_form("x' OR 1=1 --")).status_code == 400
    assert ministry.post(REPORTS, data=report_form("a" * 65)).status_code == 400
    nonce = nonce_of(ministry.get(REPORTS).get_data(as_text=True))
    assert ministry.post(REPORTS, data=report_form(nonce)).status_code == 302
    ministry.post("/logout")
    login(make_user(Role.MINISTRY))  # another person sending the first one's form
    assert ministry.post(REPORTS, data=report_form(nonce)).status_code == 409
    assert jobs(session) == 1


def test_a_double_scan_in_fast_mode_receives_once(client: FlaskClient, make_user, login,  # type: ignore[no-untyped-def]
                                                  make_sample, session: sa.orm.Session) -> None:
    login(make_user(Role.TECHNICIAN))
    sample = make_sample()
    nonce = nonce_of(client.get("/samples/receive").get_data(as_text=True))
    form = {"accession": sample.accession, "pending": "", "temperature_c": "-18.0",
            "container_intact": "yes", "decision": "accepted", "rejection_reason": "",
            "note": "", "fast": "y", NONCE_FIELD: nonce}
    first, second = client.post("/samples/receive", data=form), client.post("/samples/receive",
                                                                            data=form)
    assert (first.status_code, second.status_code) == (302, 303)
    assert second.location == first.location
    session.refresh(sample)
    assert sample.status is SampleStatus.RECEIVED
    assert session.scalar(sa.select(sa.func.count()).select_from(SampleReceipt)
                          .where(SampleReceipt.sample_id == sample.id)) == 1


@pytest.fixture()
def shared_app(new_database: Callable[[], str]) -> Flask:
    from lims.analysis.catalogue import seed_methods
    from lims.analysis.demo import demo_results, past_analysis
    from lims.monitoring.demo import generate_demo_data

    app = make_app(new_database())
    with app.app_context():
        create_user(db.session, actor=None, now=FIXED_NOW, username="ministry-1",
                    password=PASSWORD, roles=(Role.MINISTRY,))
        # a report of an empty scope is refused at the request: a small survey with results
        generate_demo_data(db.session, seed=3, samples=60, now=FIXED_NOW, year=2026,
                           chunk_size=1000, progress=lambda n: None)
        seed_methods(db.session, now=FIXED_NOW)
        tech, reviewer = (create_user(db.session, actor=None, now=FIXED_NOW, username=name,
                                      password=PASSWORD, roles=(role,))
                          for name, role in (("tech-1", Role.TECHNICIAN),
                                             ("reviewer-1", Role.REVIEWER)))
        past_analysis(db.session, seed=3, share=0.5, actor=reviewer, now=FIXED_NOW)
        demo_results(db.session, seed=3, technician=tech, reviewer=reviewer, now=FIXED_NOW)
        db.session.commit()
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("clients", [2, 6])
def test_the_same_form_sent_at_the_same_moment_acts_once(shared_app: Flask, clients: int) -> None:
    """Several clients (one person's double click, several tabs) send the same form at once,
    released by a barrier: one action, every answer the first one's redirect (or a 409 while it
    was still being answered), none a 500."""
    browsers = []
    for _ in range(clients):
        browser = shared_app.test_client()
        answer = browser.post("/login", data={"username": "ministry-1", "password": PASSWORD})
        assert answer.status_code == 302
        browsers.append(browser)
    nonce = nonce_of(browsers[0].get(REPORTS).get_data(as_text=True))
    barrier = threading.Barrier(clients)
    answers: list[tuple[int, str | None]] = []

    def send(browser: FlaskClient) -> None:
        barrier.wait(timeout=30)
        response = browser.post(REPORTS, data=report_form(nonce))
        answers.append((response.status_code, response.location))

    threads = [threading.Thread(target=send, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(answers) == clients
    codes = sorted(code for code, _ in answers)
    assert codes.count(302) == 1 and set(codes) <= {302, 303, 409}, codes
    assert len({location for code, location in answers if code != 409}) == 1
    with shared_app.app_context():
        assert jobs(db.session) == 1
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FormSubmission)) == 1
    if is_postgres():  # the duplicates waited for the first answer: no 409 needed
        assert 409 not in codes


def test_old_nonces_are_pruned(ministry: FlaskClient, session: sa.orm.Session,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PRUNE_EVERY-th submission removes the nonces older than KEEP_FOR."""
    from lims.core import idempotency

    monkeypatch.setattr(idempotency, "PRUNE_EVERY", 1)
    session.add(FormSubmission(nonce="o" * 22, endpoint="reporting.index", status_code=302,
                               submitted_at=FIXED_NOW.replace(year=2020)))
    session.commit()
    nonce = nonce_of(ministry.get(REPORTS).get_data(as_text=True))
    assert ministry.post(REPORTS, data=report_form(nonce)).status_code == 302
    assert session.scalars(sa.select(FormSubmission.nonce)).all() == [nonce]


def test_a_one_button_form_written_by_hand_acts_once(
        client: FlaskClient, make_user, login, make_cluster,  # type: ignore[no-untyped-def]
        session: sa.orm.Session) -> None:
    """Forms that write their CSRF input by hand (verify, accept, close a round…) carry the
    nonce too: the second click of a double click is answered with the first one's outcome."""
    from lims.audit.models import AuditEvent

    survey_round = make_cluster().round
    session.commit()
    login(make_user(Role.ADMIN))
    page = client.get(f"/surveys/rounds/{survey_round.id}").get_data(as_text=True)
    found = re.search(rf'name="{NONCE_FIELD}" value="([^"]+)"', page)
    assert found, "the round's status button carries no nonce"
    form = {"status": "closed", NONCE_FIELD: found.group(1)}
    first = client.post(f"/surveys/rounds/{survey_round.id}/status", data=form)
    second = client.post(f"/surveys/rounds/{survey_round.id}/status", data=form)
    assert first.status_code == 302
    assert second.status_code == 303 and second.location == first.location
    changes = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "round_status_changed",
        AuditEvent.entity_id == survey_round.id)).all()
    assert len(changes) == 1
