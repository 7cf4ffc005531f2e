"""The request form works first time: its defaults build, round or year is a radio choice, a
preview says what would be included and excluded, and an empty scope is refused on the form."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import Flask

from lims.extensions import db
from lims.monitoring.models import SurveyRound
from lims.reporting.data import ReportScope, preview_scope
from lims.reporting.models import ReportJob
from lims.reporting.worker import run_worker
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.lims.reporting.test_jobs import PASSWORD, report_app  # noqa: F401


def _login(app: Flask):  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert client.post("/login", data={"username": "minister", "password": PASSWORD}).status_code == 302
    return client


def _defaults(page: str) -> dict[str, str]:
    """The form as a browser would post it untouched: checked radios, selected options, values."""
    form: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="(\w+)"[^>]*value="([^"]*)"', page):
        form.setdefault(name, value)
    for tag in re.findall(r'<input[^>]*type="radio"[^>]*>', page):
        if "checked" in tag:
            form[re.search(r'name="(\w+)"', tag)[1]] = re.search(r'value="([^"]*)"', tag)[1]
    for name, body in re.findall(r'<select[^>]*name="(\w+)"[^>]*>(.*?)</select>', page, re.S):
        chosen = re.search(r'<option[^>]*selected[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*selected', body)
        first = re.search(r'<option[^>]*value="([^"]*)"', body)
        form[name] = (chosen[1] or chosen[2]) if chosen else (first[1] if first else "")
    return form


def test_the_defaults_build_a_report(report_app: Flask) -> None:  # noqa: F811
    client = _login(report_app)
    page = client.get("/reports/").get_data(as_text=True)
    form = _defaults(page)
    with report_app.app_context():
        latest = db.session.scalar(sa.select(SurveyRound.id))
    assert form["scope"] == "round" and form["round"] == str(latest)
    assert form["scheme"] == "WHO2007" and form["year"] == "2026"
    assert "by year instead" not in page
    preview = client.post("/reports/", data={**form, "action": "preview"})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "report-preview" in text
    with report_app.app_context():
        found = preview_scope(db.session, ReportScope(round_id=latest))
        verified = found.verified
    assert verified > 0 and f"{verified:,}".replace(",", "\u202f") in text or str(verified) in text
    with report_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReportJob.id))) == 0  # a preview queues nothing
    form = _defaults(client.get("/reports/").get_data(as_text=True))
    assert client.post("/reports/", data={**form, "action": "request"}).status_code == 302
    assert run_worker(report_app, once=True) == 1
    with report_app.app_context():
        job = db.session.scalar(sa.select(ReportJob))
        assert job is not None and job.version == 1, job.error


def test_the_year_is_a_radio_choice(report_app: Flask) -> None:  # noqa: F811
    client = _login(report_app)
    form = _defaults(client.get("/reports/").get_data(as_text=True))
    assert client.post("/reports/", data={**form, "scope": "year"}).status_code == 302
    with report_app.app_context():
        job = db.session.scalar(sa.select(ReportJob))
        assert job is not None and job.params["scope"]["year"] == 2026
        assert job.params["scope"]["round_id"] is None
    form = _defaults(client.get("/reports/").get_data(as_text=True))  # a fresh form nonce
    blank = client.post("/reports/", data={**form, "scope": "year", "year": ""})
    assert blank.status_code == 422 and "Give the year" in blank.get_data(as_text=True)


def test_preview_counts_what_is_excluded(report_app: Flask) -> None:  # noqa: F811
    with report_app.app_context():
        rid = db.session.scalar(sa.select(SurveyRound.id))
        before = preview_scope(db.session, ReportScope(round_id=rid)).cancelled
        some = db.session.scalars(sa.select(Sample.id).where(
            Sample.kind == SampleKind.URINE, Sample.status != SampleStatus.CANCELLED).limit(3)).all()
        db.session.execute(sa.update(Sample).where(Sample.id.in_(some))
                           .values(status=SampleStatus.CANCELLED))
        db.session.commit()
        found = preview_scope(db.session, ReportScope(round_id=rid))
        assert found.cancelled == before + 3
        urine_verified = sum(c.verified for c in found.urine)
        counted = db.session.scalar(sa.select(sa.func.count(Sample.id)).where(
            Sample.kind == SampleKind.URINE, Sample.round_id == rid,
            Sample.status == SampleStatus.VERIFIED))
        assert urine_verified == counted
        assert all(c.clusters >= 1 for c in found.urine if c.verified)


def test_an_empty_scope_is_refused_on_the_form(report_app: Flask) -> None:  # noqa: F811
    client = _login(report_app)
    form = _defaults(client.get("/reports/").get_data(as_text=True))
    answer = client.post("/reports/", data={**form, "scope": "year", "year": "2001"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "no verified results in this scope" in text
    with report_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ReportJob.id))) == 0
    form = _defaults(client.get("/reports/").get_data(as_text=True))
    preview = client.post("/reports/", data={**form, "scope": "year", "year": "2001",
                                             "action": "preview"})
    assert "no verified results in this scope" in preview.get_data(as_text=True)


def test_a_report_before_the_2022_split_maps_its_own_units(report_app: Flask) -> None:  # noqa: F811
    """The regions' lineage decides the map's units: in 2021 Abai, Jetisu and Ulytau were part
    of East Kazakhstan, Almaty and Karaganda regions."""
    from lims.reporting.data import merged_units

    with report_app.app_context():
        assert merged_units(db.session, ReportScope(year=2021)) == {
            "KZ-10": "KZ-63", "KZ-33": "KZ-19", "KZ-62": "KZ-35"}
        assert merged_units(db.session, ReportScope(year=2026)) == {}
