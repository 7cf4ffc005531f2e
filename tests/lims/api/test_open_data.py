"""Open data: issued reports, their indicators and files over the API — token auth for users who
may view reports (never an instrument's token), keyset pages, ETags (If-None-Match → 304), the
figures exactly as the frozen spreadsheet published them."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from openapi_spec_validator import validate

from lims.api.openapi import OPENAPI
from lims.auth.models import User
from lims.auth.services import create_api_token
from lims.capture.models import Protocol
from lims.capture.service import InstrumentFields, create_instrument, issue_instrument_token
from lims.extensions import db
from lims.monitoring.demo import generate_demo_data
from lims.reporting.data import ReportScope
from lims.reporting.jobs import ReportRequest, request_report
from lims.reporting.models import ReportJob
from lims.reporting.worker import run_worker
from reports import exports
from tests.conftest import FIXED_NOW, make_app
from tests.lims.reporting.test_jobs import verify_received

PROBLEM = "application/problem+json"


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def token_for(username: str) -> str:
    user = db.session.scalar(sa.select(User).where(User.username == username))
    assert user is not None
    _token, secret = create_api_token(db.session, actor=user, now=FIXED_NOW, name=username)
    db.session.commit()
    return secret


@pytest.fixture()
def open_app(new_database: Callable[[], str]) -> Iterator[Flask]:
    """A database with one issued monitoring report (version 1) and tokens of every kind."""
    app = make_app(new_database())
    with app.app_context():
        generate_demo_data(db.session, seed=11, samples=300, now=FIXED_NOW, year=2026,
                           chunk_size=1000)
        db.session.commit()
        verify_received()
        request_report(db.session, actor=None, now=FIXED_NOW,
                       request=ReportRequest(ReportScope(year=2026), lang="ru",
                                             scheme="WHO2007"))
        db.session.commit()
    assert run_worker(app, once=True) == 1
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture()
def tokens(open_app: Flask) -> dict[str, str]:
    with open_app.app_context():
        minister = token_for("minister")
        technician = token_for("rtech")
        reviewer = db.session.scalar(sa.select(User).where(User.username == "rrev"))
        instrument = create_instrument(db.session, actor=reviewer, now=FIXED_NOW,
                                       fields=InstrumentFields(code="PH-1", name="Photometer",
                                                               protocol=Protocol.ASTM))
        driver = issue_instrument_token(db.session, actor=reviewer, now=FIXED_NOW,
                                        instrument=instrument)
        db.session.commit()
    return {"ministry": minister, "technician": technician, "instrument": driver}


def report_id(app: Flask) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(ReportJob.id).where(ReportJob.version == 1)))


def test_the_ministry_lists_reads_and_downloads_an_issued_report(
        open_app: Flask, tokens: dict[str, str]) -> None:
    client = open_app.test_client()
    auth = bearer(tokens["ministry"])
    rid = report_id(open_app)
    page = client.get("/api/v1/reports", headers=auth)
    assert page.status_code == 200, page.get_data(as_text=True)
    body = page.get_json()
    assert [item["id"] for item in body["items"]] == [rid] and body["next"] is None
    assert body["items"][0]["version"] == 1 and body["items"][0]["lang"] == "ru"

    meta = client.get(f"/api/v1/reports/{rid}", headers=auth)
    assert meta.status_code == 200 and meta.headers["ETag"]
    links = meta.get_json()["links"]
    assert set(links["files"]) == {"report.pdf", "tables.xlsx", "results.zip"}
    assert meta.get_json()["dataset_rows"] > 0

    pdf = client.get(links["files"]["report.pdf"], headers=auth)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data[:5] == b"%PDF-"
    xlsx = client.get(links["files"]["tables.xlsx"], headers=auth)
    zipped = client.get(links["files"]["results.zip"], headers=auth)
    assert xlsx.data[:2] == b"PK" and zipped.mimetype == "application/zip"

    table = client.get(links["indicators"], headers=auth)
    assert table.status_code == 200
    rows = table.get_json()["items"]
    # the figures are the ones the frozen workbook published
    urine = exports.workbook_tables(xlsx.data)["urine_summary"]
    national = [r for r in rows if r["indicator"] == "uic_median" and r["region_code"] == "national"]
    assert national, rows[:3]

    def number(value: object) -> float | None:
        return value if isinstance(value, float) and not math.isnan(value) else None

    printed = sorted((row[3], row[6], number(row[7]), number(row[8]))
                     for row in urine.itertuples(index=False, name=None)
                     if number(row[6]) is not None)
    served = sorted((r["n"], r["estimate"], r["ci_low"], r["ci_high"])
                    for r in rows if r["indicator"] == "uic_median" and r["estimate"] is not None)
    assert served == printed and served
    assert {r["unit_of_measure"] for r in rows} == {"µg/L", "%", "mg/kg"}
    regional = {r["region_code"] for r in rows} - {"national"}
    assert regional and all(code.startswith("KZ-") for code in regional)
    groups = {r["group"] for r in rows if r["indicator"].startswith("uic")}
    assert "SAC" in groups


def test_etags_answer_304_when_nothing_changed(open_app: Flask, tokens: dict[str, str]) -> None:
    client = open_app.test_client()
    auth = bearer(tokens["ministry"])
    rid = report_id(open_app)
    for url in (f"/api/v1/reports/{rid}", f"/api/v1/reports/{rid}/indicators",
                f"/api/v1/reports/{rid}/files/report.pdf"):
        first = client.get(url, headers=auth)
        tag = first.headers["ETag"]
        assert first.status_code == 200 and tag.startswith('"')
        again = client.get(url, headers={**auth, "If-None-Match": tag})
        assert again.status_code == 304 and again.data == b"", url
        assert again.headers["ETag"] == tag
        other = client.get(url, headers={**auth, "If-None-Match": '"something-else"'})
        assert other.status_code == 200 and other.data == first.data


def test_pages_are_keyset_and_bounded(open_app: Flask, tokens: dict[str, str]) -> None:
    with open_app.app_context():
        first = db.session.get(ReportJob, report_id(open_app))
        assert first is not None
        for number in (2, 3):  # more versions of the same report, as the worker would issue
            db.session.add(ReportJob(kind=first.kind, params=first.params,
                                     params_key=first.params_key, lang="kk", title=first.title,
                                     status=first.status, requested_at=FIXED_NOW,
                                     version=number, pdf=b"%%PDF-1.4 v%d" % number))
        db.session.commit()
    client = open_app.test_client()
    auth = bearer(tokens["technician"])
    one = client.get("/api/v1/reports?limit=2", headers=auth).get_json()
    assert [i["version"] for i in one["items"]] == [3, 2] and one["next"]
    two = client.get(one["next"], headers=auth).get_json()
    assert [i["version"] for i in two["items"]] == [1] and two["next"] is None
    for bad in ("0", "101", "-1", "abc", "9" * 30, "\u00b2"):
        response = client.get(f"/api/v1/reports?limit={bad}", headers=auth)
        assert response.status_code == 400 and response.mimetype == PROBLEM, bad
        response = client.get(f"/api/v1/reports?before={bad}", headers=auth)
        assert response.status_code in (200, 400) and response.status_code != 500
    # a version without its tables yet: no indicators, no spreadsheet, but its PDF
    newest = one["items"][0]["id"]
    meta = client.get(f"/api/v1/reports/{newest}", headers=auth).get_json()
    assert list(meta["links"]["files"]) == ["report.pdf"]
    assert client.get(f"/api/v1/reports/{newest}/indicators", headers=auth).status_code == 404
    assert client.get(f"/api/v1/reports/{newest}/files/tables.xlsx",
                      headers=auth).status_code == 404


def test_only_report_readers_get_in(open_app: Flask, tokens: dict[str, str]) -> None:
    client = open_app.test_client()
    rid = report_id(open_app)
    urls = ("/api/v1/reports", f"/api/v1/reports/{rid}", f"/api/v1/reports/{rid}/indicators",
            f"/api/v1/reports/{rid}/files/report.pdf")
    for url in urls:
        assert client.get(url).status_code == 401
        refused = client.get(url, headers=bearer(tokens["instrument"]))
        assert refused.status_code == 403 and refused.mimetype == PROBLEM
        assert "instrument" in refused.get_json()["detail"]
    # a browser session is not enough either
    client.post("/login", data={"username": "minister", "password": "report-test-password-1"})
    assert client.get(urls[0]).status_code == 401


def test_unknown_reports_and_files_are_problems(open_app: Flask, tokens: dict[str, str]) -> None:
    client = open_app.test_client()
    auth = bearer(tokens["ministry"])
    rid = report_id(open_app)
    for url in ("/api/v1/reports/999999", "/api/v1/reports/99999999999999999999999",
                "/api/v1/reports/999999/indicators", f"/api/v1/reports/{rid}/files/secret.txt",
                f"/api/v1/reports/{rid}/files/%E2%80%AEfdp.pdf", "/api/v1/reports/abc"):
        response = client.get(url, headers={**auth, "Accept": "application/json"})
        assert response.status_code == 404, url


def test_openapi_describes_the_open_data_endpoints() -> None:
    validate(OPENAPI)
    for path in ("/reports", "/reports/{report_id}", "/reports/{report_id}/indicators",
                 "/reports/{report_id}/files/{name}"):
        assert "get" in OPENAPI["paths"][path]
    row = OPENAPI["components"]["schemas"]["IndicatorRow"]
    assert {"estimate", "ci_low", "ci_high", "unit_of_measure", "n"} <= set(row["required"])
