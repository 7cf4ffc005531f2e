"""Monitoring reports end to end on a real database: the ministry requests one on the web, a
worker builds it (progress visible), the PDF and XLSX are downloaded and read back; issuing again
makes version 2 and leaves version 1 as it was. Also the `lims report monitoring` command."""

from __future__ import annotations

import io
import math
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader

from lims.analysis.catalogue import seed_methods
from lims.analysis.models import MethodVersionRow, Result, ResultStatus
from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.auth.services import create_user
from lims.cli import main
from lims.core.dt import now_utc
from lims.core.errors import ConflictError
from lims.core.permissions import Role
from lims.extensions import db
from lims.monitoring.demo import generate_demo_data
from lims.monitoring.models import Participant, PopulationGroup, SurveyRound
from lims.reporting import worker
from lims.reporting.data import ReportScope
from lims.reporting.jobs import (
    ReportRequest,
    attach_tables,
    build_pdf,
    build_tables,
    claim_next,
    issue_pdf,
    report_catalogue,
    request_report,
)
from lims.reporting.models import JobStatus, ReportJob
from lims.reporting.worker import run_worker
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from reports import exports
from tests.conftest import FIXED_NOW, is_postgres, make_app

PASSWORD = "report-test-password-1"


def verify_received(seed: int = 5) -> None:
    """Verified results for every received sample: log-normal UIC (a few censored), titrated salt."""
    session = db.session
    seed_methods(session, now=FIXED_NOW)
    create_user(session, actor=None, now=FIXED_NOW, username="rtech", password=PASSWORD,
                roles=(Role.TECHNICIAN,))
    create_user(session, actor=None, now=FIXED_NOW, username="rrev", password=PASSWORD,
                roles=(Role.REVIEWER,))
    add_verified_results(seed)
    create_user(session, actor=None, now=FIXED_NOW, username="minister", password=PASSWORD,
                roles=(Role.MINISTRY,))
    session.commit()


def add_verified_results(seed: int, uic_median: float = 110.0) -> None:
    session = db.session
    tech = session.scalar(sa.select(User).where(User.username == "rtech"))
    reviewer = session.scalar(sa.select(User).where(User.username == "rrev"))
    assert tech is not None and reviewer is not None
    methods = {m.code: m.id for m in session.scalars(sa.select(MethodVersionRow))}
    rng = random.Random(seed)
    rows = []
    for sample_id, kind in session.execute(sa.select(Sample.id, Sample.kind)
                                           .where(Sample.status == SampleStatus.RECEIVED)):
        common = dict(sample_id=sample_id, status=ResultStatus.VERIFIED, created_at=FIXED_NOW,
                      created_by_id=tech.id, verified_at=FIXED_NOW, verified_by_id=reviewer.id,
                      version=1, is_current=True, flags=[], details={})
        if kind == SampleKind.URINE:
            value = rng.lognormvariate(math.log(uic_median), 0.6)
            censored = value < 14
            rows.append({**common, "analyte": "uic", "method_version_id": methods["UIC-SK-PLATE"],
                         "unit": "µg/L", "value": None if censored else round(value, 1),
                         "comparator": "<" if censored else None, "limit": 14.0 if censored else None})
        else:
            rows.append({**common, "analyte": "salt_iodine", "method_version_id": methods["SALT-TITR"],
                         "unit": "mg/kg", "value": round(rng.gauss(30, 9), 1), "comparator": None,
                         "limit": None})
    session.execute(sa.insert(Result.__table__), rows)
    session.execute(sa.update(Sample).where(Sample.status == SampleStatus.RECEIVED)
                    .values(status=SampleStatus.VERIFIED))
    session.flush()


@pytest.fixture()
def report_app(new_database: Callable[[], str]) -> Iterator[Flask]:
    app = make_app(new_database())
    with app.app_context():
        generate_demo_data(db.session, seed=11, samples=600, now=FIXED_NOW, year=2026,
                           chunk_size=1000)
        db.session.commit()
        verify_received()
    yield app
    with app.app_context():
        db.engine.dispose()


def round_id(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(SurveyRound.id)))


def test_ministry_requests_a_report_a_worker_builds_it(report_app: Flask) -> None:
    client = report_app.test_client()
    assert client.post("/login", data={"username": "minister", "password": PASSWORD}).status_code == 302
    rid = round_id(report_app)
    form = {"round": str(rid), "region": "", "group": "", "lang": "ru", "scheme": "WHO2007"}
    assert client.post("/reports/", data=form).status_code == 302
    with report_app.app_context():
        job = db.session.scalar(sa.select(ReportJob))
        assert job is not None and job.status is JobStatus.QUEUED
        job_id = job.id
    assert client.get(f"/reports/jobs/{job_id}").get_json()["status"] == "queued"
    assert run_worker(report_app, once=True) == 1
    state = client.get(f"/reports/jobs/{job_id}").get_json()
    assert (state["status"], state["progress"], state["version"]) == ("done", 100, 1)
    pdf = client.get(f"/reports/{job_id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Алматы" in text or "Астана" in text  # Cyrillic region names rendered as text
    assert "ICCIDD 2007" in text  # the scheme is named
    with report_app.app_context():  # the worker sealed the trail; its head is on the cover
        seals = dict(db.session.execute(sa.text("SELECT event_id, seal FROM audit_seals")).all())
    printed = re.search(r"#(\d+)([0-9a-f]{64})", "".join(text.split()))
    assert printed is not None and seals[int(printed[1])] == printed[2]
    with report_app.app_context():  # in Russian wherever the catalogue has the words
        russian = report_catalogue("ru").gettext("Pooled table") == "Сводная таблица"
    assert ("Сводная таблица" in text and "Pooled table" not in text) if russian else True
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/{job_id}.xlsx").data))
    assert "urine_summary" in [sheet.sheet_properties.codeName for sheet in book.worksheets]
    assert ("Йод в моче по регионам" in book.sheetnames) if russian else True
    csv = client.get(f"/reports/{job_id}/urine_results.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    header = csv.data.decode("utf-8-sig").splitlines()[0]
    assert "uic" in header and "participant" not in header  # de-identified
    assert client.get(f"/reports/{job_id}/nothing.csv").status_code == 404
    summary = client.get(f"/reports/{job_id}/urine_summary.csv")
    header = summary.data.decode("utf-8-sig").splitlines()[0].lower()
    assert summary.status_code == 200 and ("median" in header or "медиана" in header)
    archive = client.get(f"/reports/{job_id}-results.zip")
    assert archive.mimetype == "application/zip" and archive.data[:2] == b"PK"
    # asking again: version 2, same data fingerprint; version 1 unchanged
    assert client.post("/reports/", data=form).status_code == 302
    assert run_worker(report_app, once=True) == 1
    with report_app.app_context():
        first, second = db.session.scalars(
            sa.select(ReportJob).options(sa.orm.undefer(ReportJob.pdf)).order_by(ReportJob.id)).all()
        assert (first.version, second.version) == (1, 2)
        assert first.dataset_sha256 == second.dataset_sha256 and first.dataset_rows == second.dataset_rows
        assert first.pdf == pdf.data
    listing = client.get("/reports/").get_data(as_text=True)
    assert f"/reports/{job_id}.pdf" in listing


def test_children_6_59_months_are_reported_without_a_class(report_app: Flask) -> None:
    """No WHO table covers 6–59-month-olds as one group: their statistics are printed and their
    class says so, instead of the whole report failing or a class being guessed."""
    with report_app.app_context():
        young = db.session.scalar(sa.select(PopulationGroup.id).where(PopulationGroup.code == "C6-59"))
        some = db.session.scalars(sa.select(Participant.id).limit(40)).all()
        db.session.execute(sa.update(Participant).where(Participant.id.in_(some))
                           .values(population_group_id=young))
        db.session.commit()
    client = report_app.test_client()
    client.post("/login", data={"username": "minister", "password": PASSWORD})
    form = {"round": str(round_id(report_app)), "lang": "en", "scheme": "WHO2007"}
    assert client.post("/reports/", data=form).status_code == 302
    run_worker(report_app, once=True)
    with report_app.app_context():
        job = db.session.scalar(sa.select(ReportJob))
        assert job is not None and job.status is JobStatus.DONE, job.error
        job_id = job.id
    pdf = client.get(f"/reports/{job_id}.pdf")
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
                    .split())
    assert "children 6–59 months" in text and "no WHO criteria for this group" in text


def test_a_report_that_cannot_be_built_is_marked_failed(report_app: Flask) -> None:
    """A verified salt result measured with a urine method is a data error a report must not
    paper over: the job fails saying which method version and how many rows, the page shows it,
    and nothing is half-issued."""
    with report_app.app_context():
        uic_method = db.session.scalar(sa.select(MethodVersionRow.id)
                                       .where(MethodVersionRow.code == "UIC-SK-PLATE"))
        salt_result = db.session.scalar(sa.select(Result.id).where(Result.analyte == "salt_iodine")
                                        .limit(1))
        db.session.execute(sa.update(Result).where(Result.id == salt_result)
                           .values(method_version_id=uic_method))
        db.session.commit()
    client = report_app.test_client()
    client.post("/login", data={"username": "minister", "password": PASSWORD})
    form = {"round": str(round_id(report_app)), "lang": "en", "scheme": "WHO2007"}
    assert client.post("/reports/", data=form).status_code == 302
    run_worker(report_app, once=True)
    with report_app.app_context():
        job = db.session.scalar(sa.select(ReportJob).options(sa.orm.undefer(ReportJob.pdf)))
        assert job is not None and job.status is JobStatus.FAILED
        assert f"not a salt method (titration, WYD, rapid test kit): id {uic_method} (1 row)" in (
            job.error or "")
        assert job.pdf is None and job.version is None
    assert "not a salt method" in client.get("/reports/").get_data(as_text=True)


def test_cli_issues_a_report(report_app: Flask, tmp_path) -> None:  # type: ignore[no-untyped-def]
    out, sheet = tmp_path / "report.pdf", tmp_path / "report.xlsx"
    result = report_app.test_cli_runner().invoke(main, [
        "report", "monitoring", "--round", str(round_id(report_app)), "--lang", "kk",
        "--out", str(out), "--xlsx", str(sheet)])
    assert result.exit_code == 0, result.output
    assert "version 1" in result.output
    text = "\n".join(page.extract_text() for page in PdfReader(out).pages)
    assert "Қазақстан" in text
    assert openpyxl.load_workbook(sheet).sheetnames
    refused = report_app.test_cli_runner().invoke(main, [
        "report", "monitoring", "--round", "999999", "--out", str(out)])
    assert refused.exit_code != 0 and "no survey round with id 999999" in refused.output


def test_the_pdf_is_issued_before_the_spreadsheet_is_written(report_app: Flask) -> None:
    """The ministry can download the PDF as soon as it is issued; the spreadsheet and results
    follow, and asking for them before says they are still being written."""
    client = report_app.test_client()
    client.post("/login", data={"username": "minister", "password": PASSWORD})
    with report_app.app_context():
        session = db.session
        request_report(session, actor=None, now=FIXED_NOW,
                       request=ReportRequest(ReportScope(round_id=round_id(report_app)), lang="en"))
        session.commit()
        job = claim_next(session, now=FIXED_NOW)
        assert job is not None
        job_id = job.id
        built = build_pdf(session, job, now=now_utc, progress=lambda pct, msg: None)
        session.rollback()
        issue_pdf(session, session.get_one(ReportJob, job_id), built, now=FIXED_NOW)
        session.commit()
    state = client.get(f"/reports/jobs/{job_id}").get_json()
    assert (state["status"], state["version"], state["xlsx"]) == ("running", 1, None)
    assert state["pdf"] == f"/reports/{job_id}.pdf"
    pdf = client.get(state["pdf"])
    assert pdf.status_code == 200 and pdf.data == built.pdf
    early = client.get(f"/reports/{job_id}.xlsx")
    assert early.status_code == 404 and "still being written" in early.get_data(as_text=True)
    listing = client.get("/reports/").get_data(as_text=True)
    assert f"/reports/{job_id}.pdf" in listing and f"/reports/{job_id}.xlsx" not in listing
    with report_app.app_context():
        xlsx, results = build_tables(built.data, built.lang)
        attach_tables(db.session, db.session.get_one(ReportJob, job_id), xlsx, results,
                      now=FIXED_NOW)
        db.session.commit()
    assert client.get(f"/reports/jobs/{job_id}").get_json()["status"] == "done"
    assert client.get(f"/reports/{job_id}.xlsx").data == xlsx


def test_a_version_is_issued_once(report_app: Flask) -> None:
    """Two builds of the same report that both printed version 1: the second to issue is refused
    (the unique index backs the check when the two race)."""
    with report_app.app_context():
        session = db.session
        request = ReportRequest(ReportScope(round_id=round_id(report_app)), lang="ru")
        for _ in range(2):
            request_report(session, actor=None, now=FIXED_NOW, request=request)
        session.commit()
        first, second = claim_next(session, now=FIXED_NOW), claim_next(session, now=FIXED_NOW)
        assert first is not None and second is not None
        built = [build_pdf(session, job, now=now_utc, progress=lambda pct, msg: None)
                 for job in (first, second)]
        assert [b.version for b in built] == [1, 1]
        session.rollback()
        issue_pdf(session, session.get_one(ReportJob, first.id), built[0], now=FIXED_NOW)
        session.commit()
        with pytest.raises(ConflictError, match="issued meanwhile"):
            issue_pdf(session, session.get_one(ReportJob, second.id), built[1], now=FIXED_NOW)
        session.rollback()
        # the check bypassed, as when both checked before either committed: the index refuses
        job = session.get_one(ReportJob, second.id)
        job.version = 1
        with pytest.raises(sa.exc.IntegrityError):
            session.flush()
        session.rollback()


def test_tables_that_fail_leave_the_issued_pdf(report_app: Flask,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The spreadsheet failing after the PDF was issued: the PDF stays issued and downloadable,
    and the job says what failed."""
    def disk_full(data: object, lang: str, params: object = None) -> tuple[bytes, bytes]:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(worker, "build_tables", disk_full)
    client = report_app.test_client()
    client.post("/login", data={"username": "minister", "password": PASSWORD})
    form = {"round": str(round_id(report_app)), "lang": "en", "scheme": "IGN3"}
    assert client.post("/reports/", data=form).status_code == 302
    assert run_worker(report_app, once=True) == 1
    with report_app.app_context():
        job = db.session.scalar(sa.select(ReportJob))
        assert job is not None and job.status is JobStatus.FAILED and job.version == 1
        assert "the PDF was issued" in (job.error or "") and "No space left" in (job.error or "")
        job_id = job.id
    assert client.get(f"/reports/{job_id}.pdf").status_code == 200
    refused = client.get(f"/reports/{job_id}.xlsx")
    assert refused.status_code == 404 and "No space left" in refused.get_data(as_text=True)


@pytest.mark.skipif(not is_postgres(), reason="LISTEN/NOTIFY is PostgreSQL's; elsewhere the worker polls")
def test_an_idle_worker_wakes_up_when_a_report_is_requested(report_app: Flask) -> None:
    """The worker waits for NOTIFY, not for its next poll: with a 60-second poll, a request is
    built within seconds."""
    stop = threading.Event()
    built: list[int] = []
    thread = threading.Thread(target=lambda: built.append(run_worker(
        report_app, poll=60, should_stop=stop.is_set)))
    thread.start()
    try:
        time.sleep(0.5)  # the worker has looked at the empty queue and is waiting
        with report_app.app_context():
            job = request_report(db.session, actor=None, now=FIXED_NOW, request=ReportRequest(
                ReportScope(round_id=round_id(report_app)), lang="en"))
            db.session.commit()
            job_id = job.id
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with report_app.app_context():
                if db.session.get_one(ReportJob, job_id).status is JobStatus.DONE:
                    break
            time.sleep(0.1)
        with report_app.app_context():
            assert db.session.get_one(ReportJob, job_id).status is JobStatus.DONE
    finally:
        stop.set()
        with report_app.app_context():  # a last request wakes the worker so that it sees stop
            request_report(db.session, actor=None, now=FIXED_NOW, request=ReportRequest(
                ReportScope(round_id=round_id(report_app)), lang="ru"))
            db.session.commit()
        thread.join(timeout=60)
    assert not thread.is_alive() and built


def test_a_report_compares_with_the_earlier_round(report_app: Flask) -> None:
    """A programme's earlier round, with lower UIC, gives the trend table and chart: the
    difference in medians per region and group, and the earlier data in the fingerprint."""
    with report_app.app_context():
        current = db.session.get_one(SurveyRound, round_id(report_app))
        generate_demo_data(db.session, seed=12, samples=600, now=FIXED_NOW, year=2021,
                           round_code="NIS-2021", chunk_size=1000)
        add_verified_results(seed=6, uic_median=70.0)
        db.session.commit()
        current_code = current.code
    client = report_app.test_client()
    client.post("/login", data={"username": "minister", "password": PASSWORD})
    form = {"round": str(round_id_of(report_app, current_code)), "lang": "en", "scheme": "WHO2007"}
    assert client.post("/reports/", data=form).status_code == 302
    assert run_worker(report_app, once=True) == 1
    with report_app.app_context():
        job = db.session.scalar(sa.select(ReportJob))
        assert job is not None and job.status is JobStatus.DONE, job.error
        current_rows = db.session.scalar(sa.select(sa.func.count()).select_from(Sample).where(
            Sample.round_id == round_id_of(report_app, current_code),
            Sample.status != SampleStatus.CANCELLED))
        assert job.dataset_rows > current_rows  # the earlier round's urine rows count too
        job_id = job.id
    pages = [" ".join(page.extract_text().split()) for page in PdfReader(
        io.BytesIO(client.get(f"/reports/{job_id}.pdf").data)).pages]
    text = " ".join(pages)
    assert "NIS-2021" in text and "Trends" in text
    # the decision makers' page says how the national median moved since the earlier round
    assert re.search(r"School-age children, national median UIC: [\d.]+ µg/L in NIS-20\d\d "
                     r"against [\d.]+ µg/L in NIS-2021 \(difference [\d.]+", text), text
    book = openpyxl.load_workbook(io.BytesIO(client.get(f"/reports/{job_id}.xlsx").data))
    assert book.sheetnames == ["Headline figures", "Urinary iodine by region",
                               "Iodine in household salt", "Trends", "Indicators (long)", "About"]
    trends = exports.workbook_tables(client.get(f"/reports/{job_id}.xlsx").data)["urine_trends"]
    assert len(trends) and set(trends["Earlier"]) == {"NIS-2021"}
    national = trends[trends["Region"] == "Republic of Kazakhstan"]
    assert len(national) and (national["Difference in medians, µg/L"] > 0).all()


def round_id_of(app: Flask, code: str) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(SurveyRound.id).where(SurveyRound.code == code)))


def test_a_job_abandoned_by_its_worker_is_recovered(report_app: Flask) -> None:
    """A worker killed mid-build leaves its job running: after ten minutes without a heartbeat
    the next worker queues it again (and builds it); a job killed after its PDF was issued is
    marked failed with its PDF kept; a job with a recent heartbeat is left alone."""
    long_ago = now_utc() - timedelta(minutes=11)
    with report_app.app_context():
        session = db.session
        scope = ReportScope(round_id=round_id(report_app))
        for lang in ("en", "ru", "kk"):
            request_report(session, actor=None, now=long_ago, request=ReportRequest(scope, lang=lang))
        session.commit()
        lost = claim_next(session, now=long_ago, worker="lost-host")
        issued = claim_next(session, now=long_ago, worker="lost-host")
        busy = claim_next(session, now=now_utc(), worker="busy-host")
        assert lost is not None and issued is not None and busy is not None
        ids = (lost.id, issued.id, busy.id)
        built = build_pdf(session, issued, now=now_utc, progress=lambda pct, msg: None)
        session.rollback()
        issue_pdf(session, session.get_one(ReportJob, ids[1]), built, now=long_ago)
        session.commit()
    assert run_worker(report_app, once=True) == 1  # the requeued one, built again
    with report_app.app_context():
        lost, issued, busy = (db.session.get_one(ReportJob, i) for i in ids)
        assert lost.status is JobStatus.DONE and lost.version == 1 and lost.worker != "lost-host"
        assert issued.status is JobStatus.FAILED and issued.version == 1
        assert "lost-host stopped responding after the PDF was issued" in (issued.error or "")
        assert busy.status is JobStatus.RUNNING and busy.worker == "busy-host"
        actions = db.session.scalars(sa.select(AuditEvent.entity_id).where(
            AuditEvent.action == "report_recovered")).all()
        assert sorted(actions) == sorted(ids[:2])
    client = report_app.test_client()
    client.post("/login", data={"username": "minister", "password": PASSWORD})
    assert client.get(f"/reports/{ids[1]}.pdf").status_code == 200


def test_statistics_take_the_national_salt_range_and_flag_groups_from_the_configuration(
        app, monkeypatch) -> None:
    from lims.reporting.jobs import stats_params

    with app.app_context():
        assert stats_params("WHO2007").salt.national_range == (25.0, 55.0)
        assert stats_params("WHO2007").flag_groups == frozenset({"SAC"})
        monkeypatch.setitem(app.config, "REPORT_SALT_NATIONAL_RANGE", [20, 40])
        monkeypatch.setitem(app.config, "REPORT_FLAG_GROUPS", ["SAC", "WRA"])
        params = stats_params("IGN3")
        assert params.salt.national_range == (20.0, 40.0)
        assert params.flag_groups == frozenset({"SAC", "WRA"}) and params.scheme.code == "IGN3"


def test_a_report_by_year_is_issued(report_app: Flask) -> None:
    """A year scope binds time-zone-aware bounds (on PostgreSQL through COPY's parameters), and
    its salt samples not yet analysed are a line of their own, never under a method."""
    with report_app.app_context():
        request = ReportRequest(ReportScope(year=2026), "en")
        job_id = request_report(db.session, actor=None, now=FIXED_NOW, request=request).id
        db.session.commit()
    assert run_worker(report_app, once=True) == 1
    with report_app.app_context():
        job = db.session.get(ReportJob, job_id)
        assert job.status is JobStatus.DONE, job.error
        text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(job.pdf)).pages)
        words = "".join(text.split())  # cells wrap their words onto lines
        assert "notanalysed" in words
        assert "15–40mg/kg(WHOhouseholdrange)" in words
        for group in ("lactating women", "children under 2 years", "children 6–59 months"):
            assert "".join(group.split()) in words
