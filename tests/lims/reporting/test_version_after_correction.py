"""A report version issued after a registration correction says its data changed (issue 13,
item 6): the cover of version 2 names the version it differs from and how many fields of its
samples were corrected, and the issue's audit event records it; version 1 said nothing."""

from __future__ import annotations

import io

import sqlalchemy as sa
from flask import Flask
from pypdf import PdfReader

from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.core.dt import now_utc
from lims.extensions import db
from lims.reporting.data import ReportScope
from lims.reporting.jobs import ReportRequest, request_report
from lims.reporting.models import ReportJob
from lims.reporting.worker import run_worker
from lims.samples.corrections import Correction, correct_sample
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.lims.reporting.test_jobs import report_app, round_id  # noqa: F401 - the fixture


def _issue(app: Flask) -> ReportJob:
    with app.app_context():
        request = ReportRequest(ReportScope(round_id=round_id(app)), lang="en")
        request_report(db.session, actor=None, now=now_utc(), request=request)
        db.session.commit()
    assert run_worker(app, once=True) == 1
    with app.app_context():
        job = db.session.scalars(sa.select(ReportJob).options(sa.orm.undefer(ReportJob.pdf))
                                 .order_by(ReportJob.id.desc())).first()
        db.session.expunge(job)
        return job


def _text(job: ReportJob) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(job.pdf)).pages)


def test_the_next_version_says_the_data_changed(report_app: Flask) -> None:  # noqa: F811
    first = _issue(report_app)
    assert first.version == 1 and "Changes since the previous version" not in _text(first)
    unchanged = _issue(report_app)
    assert unchanged.version == 2 and "Changes since the previous version" not in _text(unchanged)
    with report_app.app_context():
        session = db.session
        reviewer = session.scalar(sa.select(User).where(User.username == "rrev"))
        sample = session.scalar(sa.select(Sample).where(Sample.kind == SampleKind.URINE,
                                                        Sample.status == SampleStatus.VERIFIED)
                                .limit(1))
        correct_sample(session, actor=reviewer, now=now_utc(), sample=sample,
                       reason="household code mistyped", correction=Correction(
                           household_code="H-CORRECTED"))
        session.commit()
    second = _issue(report_app)
    text = " ".join(_text(second).split())
    assert second.version == 3
    assert "Changes since the previous version" in text
    assert "The data changed since version 2: 1 registration field was corrected" in text
    with report_app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(
            AuditEvent.action == "report_issued", AuditEvent.entity_id == second.id))
        assert "since version 2" in event.changes["data_changed"]
