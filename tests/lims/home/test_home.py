"""The home dashboard per role (each count links to the list that shows exactly those rows)
and the header search (one hit jumps there, several are grouped with their counts)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from lims.analysis.models import AnalyticalRun, Analyte, Result, ResultStatus, RunStatus
from lims.analysis import catalogue
from lims.capture.models import InstrumentReading
from lims.core.dt import now_utc
from lims.core.permissions import Permission, Role
from lims.home import panels
from lims.home.search import MAX_QUERY, search
from lims.monitoring.models import Household
from lims.reporting.models import JobStatus, ReportJob
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import IntakeBatch, SampleKind
from lims.extensions import db
from tests.conftest import FIXED_NOW
from tests.factories import PASSWORD
from tests.lims.api.test_open_data import open_app  # noqa: F401 (fixture: an issued report)


def tiles(client: Any) -> dict[str, tuple[str, str]]:
    """The dashboard's tiles: label → (count as shown, link)."""
    page = client.get("/").get_data(as_text=True)
    found = re.findall(r'<a href="([^"]+)" class="tile[^"]*"><span class="count">([^<]+)</span>'
                       r' <span class="what">([^<]+)</span>', page)
    return {what: (count, href.replace("&amp;", "&")) for href, count, what in found}


def test_technician_sees_late_samples_and_the_link_lists_exactly_them(
        client, login, make_user, make_sample):
    now = now_utc()
    five = make_sample(status=SampleStatus.REGISTERED, collected_at=now - timedelta(days=5))
    ten = make_sample(status=SampleStatus.REGISTERED, collected_at=now - timedelta(days=10))
    make_sample(status=SampleStatus.REGISTERED, collected_at=now - timedelta(hours=20))
    make_sample(status=SampleStatus.RECEIVED, collected_at=now - timedelta(days=30))
    login(make_user(Role.TECHNICIAN))
    shown = tiles(client)
    over3 = shown["Registered, not received, collected over 3 days ago"]
    over7 = shown["Registered, not received, collected over 7 days ago"]
    assert (over3[0], over7[0]) == ("2", "1")
    listed = client.get(over3[1]).get_data(as_text=True)
    assert five.accession in listed and ten.accession in listed
    listed = client.get(over7[1]).get_data(as_text=True)
    assert ten.accession in listed and five.accession not in listed
    assert shown["Received, waiting for a run"][0] == "1"
    assert "Unmatched Inbox readings" in shown and "Preliminary, to review" not in shown


def test_reviewer_counts_mine_flagged_and_qc_alerts(session, client, login, make_user,
                                                    make_sample):
    tech, reviewer = make_user(Role.TECHNICIAN), make_user(Role.REVIEWER, Role.TECHNICIAN)
    catalogue.seed_methods(session, now=FIXED_NOW)
    mv = catalogue.current_version(session, "SALT-TITR")

    def result(by: Any, flags: list[str]) -> Result:
        sample = make_sample(SampleKind.SALT, status=SampleStatus.PENDING_REVIEW)
        row = Result(sample_id=sample.id, analyte=Analyte.SALT_IODINE, method_version_id=mv.id,
                     status=ResultStatus.PRELIMINARY, value=20.0, unit="mg/kg", flags=flags,
                     details={}, created_at=FIXED_NOW, created_by_id=by.id)
        session.add(row)
        return row

    result(tech, []), result(tech, ["below LOQ"]), result(reviewer, [])
    session.add(AnalyticalRun(method_version_id=mv.id, status=RunStatus.REJECTED,
                              created_at=now_utc(), created_by_id=tech.id, qc_accepted=False,
                              calculated_at=now_utc() - timedelta(days=1), decision_reason="1-3s"))
    session.add(AnalyticalRun(method_version_id=mv.id, status=RunStatus.REJECTED,
                              created_at=now_utc(), created_by_id=tech.id, qc_accepted=False,
                              calculated_at=now_utc() - timedelta(days=30), decision_reason="old"))
    session.flush()
    login(reviewer)
    shown = tiles(client)
    assert shown["Preliminary, to review"][0] == "3"
    assert shown["Mine to verify"][0] == "2"
    assert shown["Flagged, to review"][0] == "1"
    assert shown["QC alerts: Westgard rejections in the last 7 days"][0] == "1"
    mine = client.get(shown["Mine to verify"][1]).get_data(as_text=True)
    assert len(re.findall(r'name="result" value="[0-9]', mine)) == 2


def test_ministry_sees_reports_and_the_round_not_the_lab(session, client, login, make_user,
                                                         make_cluster, make_sample):
    cluster = make_cluster(target_count=40)
    for _ in range(3):
        make_sample(cluster=cluster, status=SampleStatus.RECEIVED)
    make_sample(cluster=cluster, status=SampleStatus.CANCELLED)
    session.add_all([
        ReportJob(params={}, params_key="k" * 64, lang="ru", title="Monitoring 2026",
                  status=JobStatus.DONE, requested_at=FIXED_NOW, version=2),
        ReportJob(params={}, params_key="f" * 64, lang="ru", title="Broken",
                  status=JobStatus.FAILED, requested_at=FIXED_NOW)])
    session.flush()
    login(make_user(Role.MINISTRY))
    page = client.get("/").get_data(as_text=True)
    assert 'data-fill="/home/survey-progress"' in page
    assert client.get("/home/survey-progress").json == {
        "label": "3 of 40 urine samples collected", "note": "8% of the target"}
    shown = tiles(client)
    assert "Monitoring 2026, version 2" in page
    assert shown["Report jobs failed"][0] == "1"
    assert "Received, waiting for a run" not in shown and "Intake" not in page


def test_capped_counts_say_over(session, make_sample, monkeypatch):
    monkeypatch.setattr(panels, "COUNT_CAP", 2)
    for _ in range(3):
        make_sample(status=SampleStatus.RECEIVED)
    count = panels.capped_count(session, sa.select(sa.literal(1)).select_from(
        sa.table("samples")), cap=2)
    assert count == 3
    shown = panels.tile("x", count, "/")
    assert shown.capped and shown.count == 2


def test_panel_registry_is_extensible(app, session, make_user):
    """Another room adds a panel under a permission; only those holding it see it."""

    @panels.panel("test-extra", Permission.MANAGE_USERS)
    def extra(session: Any, actor: Any, now: Any) -> panels.Panel:
        return panels.Panel("Silent instruments", tiles=[panels.tile("Silent", 0, "/")])

    try:
        def titles(role: Role) -> list[str]:
            with app.test_request_context():
                return [p.title for p in panels.panels_for(session, make_user(role), now_utc())]

        assert titles(Role.ADMIN)[-1] == "Silent instruments"
        assert "Silent instruments" not in titles(Role.MINISTRY)
    finally:
        panels.REGISTRY[:] = [r for r in panels.REGISTRY if r.key != "test-extra"]


# -- search --------------------------------------------------------------------------------------

def test_exact_accession_and_scans_jump_to_the_sample(client, login, make_user, make_sample):
    sample = make_sample()
    login(make_user(Role.TECHNICIAN))
    for typed in (sample.accession, f" {sample.accession.lower()}\r\n", sample.accession + "\x1d"):
        response = client.get("/search", query_string={"q": typed})
        assert response.status_code == 302, typed
        assert response.headers["Location"].endswith(f"/samples/{sample.accession}")


def test_household_code_finds_the_households_samples(session, client, login, make_user,
                                                     make_cluster, make_participant,
                                                     make_sample):
    cluster, other = make_cluster(), make_cluster()
    home = Household(cluster=cluster, code="H0042")
    elsewhere = Household(cluster=other, code="H0042")
    mother = make_participant(cluster, household=home)
    child = make_participant(cluster, household=home)
    samples = [make_sample(cluster=cluster, participant=mother),
               make_sample(cluster=cluster, participant=child),
               make_sample(SampleKind.SALT, cluster=cluster, household=home)]
    stranger = make_sample(cluster=other, participant=make_participant(other, household=elsewhere))
    login(make_user(Role.TECHNICIAN))
    page = client.get("/search?q=H0042").get_data(as_text=True)
    assert "Samples of household H0042" in page and "(4)" in page
    assert all(s.accession in page for s in [*samples, stranger])
    page = client.get(f"/search?q={cluster.code}/H0042").get_data(as_text=True)
    assert all(s.accession in page for s in samples) and stranger.accession not in page
    assert "(3)" in page


def test_codes_runs_reports_and_batches(session, client, login, make_user, make_cluster,
                                        make_participant, make_sample):
    cluster = make_cluster()
    participant = make_participant(cluster, code="P-7781")
    sample = make_sample(cluster=cluster, participant=participant)
    admin = make_user(Role.ADMIN)
    batch = IntakeBatch(filename="school-12 march.xlsx", sha256="0" * 64, kind=SampleKind.URINE,
                        row_count=1, created_at=FIXED_NOW, created_by_id=admin.id)
    session.add(batch)
    session.flush()
    batched = make_sample(cluster=cluster, intake_batch_id=batch.id)
    catalogue.seed_methods(session, now=FIXED_NOW)
    run = AnalyticalRun(method_version_id=catalogue.current_version(session, "SALT-TITR").id,
                        created_at=FIXED_NOW, created_by_id=admin.id)
    job = ReportJob(params={}, params_key="a" * 64, lang="ru", title="Report",
                    status=JobStatus.QUEUED, requested_at=FIXED_NOW)
    session.add_all([run, job])
    session.flush()
    login(admin)

    def jump(q: str) -> str:
        response = client.get("/search", query_string={"q": q})
        assert response.status_code == 302, (q, response.get_data(as_text=True)[:300])
        return response.headers["Location"]

    assert jump("p-7781").endswith(f"/samples/{sample.accession}")
    assert jump("school-12 march.xlsx").endswith(f"/samples/{batched.accession}")
    assert jump(run.label).endswith(f"/analysis/runs/{run.id}")
    assert jump(f"run-{run.id}").endswith(f"/analysis/runs/{run.id}")
    assert jump(f"#{job.id}").endswith(f"/reports/#job-{job.id}")
    assert jump(cluster.code).endswith(f"/surveys/clusters/{cluster.id}")
    prefix = sample.accession[:9]
    page = client.get("/search", query_string={"q": prefix}).get_data(as_text=True)
    assert f"Samples whose accession starts with {prefix}" in page
    assert sample.accession in page and batched.accession in page
    nothing = client.get("/search?q=NO-SUCH-THING").get_data(as_text=True)
    assert "Nothing found for NO-SUCH-THING." in nothing
    assert client.get("/search", query_string={"q": "x" * (MAX_QUERY + 1)}).status_code == 400
    assert client.get("/search", query_string={"q": ""}).status_code == 200


def test_search_shows_only_what_the_user_may_open(session, client, login, make_user,
                                                  make_sample):
    sample = make_sample()
    ministry = make_user(Role.MINISTRY)
    assert search(session, ministry, sample.accession).groups == []
    login(ministry)
    assert client.get("/search", query_string={"q": sample.accession}).status_code == 200


def test_inbox_tile_counts_unmatched_readings(session, client, login, make_user):
    login(make_user(Role.TECHNICIAN))
    before = tiles(client)["Unmatched Inbox readings"][0]
    assert before == str(session.scalar(sa.select(sa.func.count()).select_from(InstrumentReading)
                                        .where(InstrumentReading.status == "unmatched")))
    url = tiles(client)["Unmatched Inbox readings"][1]
    assert parse_qs(urlsplit(url).query) == {"status": ["unmatched"]}


@pytest.mark.parametrize("role", [role for role in Role if role is not Role.EQA_PARTICIPANT])
def test_every_lab_role_gets_a_dashboard(client, login, make_user, role):
    """Every role but a participating laboratory's account (its home is its EQA rounds: see
    tests/lims/eqa/test_participant_access.py)."""
    login(make_user(role))
    response = client.get("/")
    assert response.status_code == 200
    assert 'id="header-search-q"' in response.get_data(as_text=True)


def test_ministry_sees_the_latest_issued_reports_national_figures(open_app):
    """From the frozen workbook of the issued report, as published."""
    from lims.auth.services import create_user

    with open_app.app_context():
        create_user(db.session, actor=None, now=FIXED_NOW, username="minister-home",
                    password=PASSWORD, roles=(Role.MINISTRY,))
        db.session.commit()
        job_id = int(db.session.scalar(sa.select(ReportJob.id).where(ReportJob.version == 1)))
        rows = panels.national_rows(db.session, job_id)
    assert {r["indicator"] for r in rows} == set(panels.HEADLINES)
    client = open_app.test_client()
    assert client.post("/login", data={"username": "minister-home",
                                       "password": PASSWORD}).status_code == 302
    page = client.get("/").get_data(as_text=True)
    uic = next(r for r in rows if r["indicator"] == "uic_median" and r["estimate"] is not None)
    assert "National figures: " in page and "Median urinary iodine, " in page
    assert f'{uic["estimate"]:.1f} µg/L' in page
    assert "Household salt adequately iodised (" in page
