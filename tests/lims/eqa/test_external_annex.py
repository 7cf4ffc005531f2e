"""The monitoring report's QA annex shows the latest EQA status: the latest round of each
external scheme in the report's period, and "Not supplied." when there is none; the PDF prints
it (read back with pypdf)."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date

import pypdf
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Role
from lims.eqa import external
from lims.reporting.data import ReportScope
from lims.reporting.qa import qa_sections
from reports.monitoring_report import build_monitoring_report
from reports.qa_annex import AnnexSection
from tests.conftest import FIXED_NOW
from tests.lims.eqa.external_helpers import analyse, make_round, make_scheme


def _eqa(session: Session, scope: ReportScope) -> AnnexSection:
    sections = qa_sections(session, scope, [], lang="en")
    [eqa] = [s for s in sections if s.title == "External quality assessment"]
    assert sections[-1] is eqa
    return eqa


def test_the_annex_says_not_supplied_without_rounds(session: Session) -> None:
    eqa = _eqa(session, ReportScope(year=2026))
    assert eqa.rows == () and eqa.empty == "Not supplied."


def test_the_annex_shows_the_latest_round_per_scheme(
        session: Session, make_user: Callable[...,
        User]) -> None:
    tech, reviewer = make_user(Role.TECHNICIAN), make_user(Role.REVIEWER)
    scheme = make_scheme(session, tech, FIXED_NOW)
    older = make_round(session, tech, FIXED_NOW, scheme, code="2026-0",
                       received_on=date(2026, 1, 10))
    external.register_material(session, actor=tech, now=FIXED_NOW, external_round=older,
                               code="OLD")
    rnd = make_round(session, tech, FIXED_NOW, scheme, code="2026-1")
    a = external.register_material(session, actor=tech, now=FIXED_NOW, external_round=rnd,
                                   code="A")
    b = external.register_material(session, actor=tech, now=FIXED_NOW, external_round=rnd,
                                   code="B")
    analyse(session, tech, reviewer, FIXED_NOW, a, [(50.0, 52.0), (49.0, 51.0), (50.0, 48.0)])
    analyse(session, tech, reviewer, FIXED_NOW, b, [(200.0, 204.0), (198.0, 202.0),
                                                    (201.0, 199.0)])
    external.submit_round(session, actor=reviewer, now=FIXED_NOW, external_round=rnd)
    # A: target 70, below 100 µg/L the absolute ±15 applies: |50 − 70| = 20 → no
    external.record_evaluation(session, actor=reviewer, now=FIXED_NOW, material=a, target=70.0,
                               scheme_verdict="outside")
    eqa = _eqa(session, ReportScope(year=2026))
    assert eqa.rows == (("EQUIP", "2026-1", "A", 50.0, 70.0, "no", "outside"),
                        ("EQUIP", "2026-1", "B", 200.7, None, "awaiting targets", "—"))
    assert _eqa(session, ReportScope(year=2025)).rows == ()
    # the survey round's period is the year 2026 (tests.race.school_cluster)
    assert len(_eqa(session, ReportScope(round_id=scheme.cluster.round_id)).rows) == 2


def test_the_pdf_prints_the_eqa_lines(session: Session, make_user: Callable[..., User]) -> None:
    from tests.reports.test_monitoring_report import PARAMS, frames

    tech, reviewer = make_user(Role.TECHNICIAN), make_user(Role.REVIEWER)
    scheme = make_scheme(session, tech, FIXED_NOW)
    rnd = make_round(session, tech, FIXED_NOW, scheme)
    a = external.register_material(session, actor=tech, now=FIXED_NOW, external_round=rnd,
                                   code="MAT-A")
    analyse(session, tech, reviewer, FIXED_NOW, a, [(50.0, 52.0), (49.0, 51.0), (50.0, 48.0)])
    external.submit_round(session, actor=reviewer, now=FIXED_NOW, external_round=rnd)
    external.record_evaluation(session, actor=reviewer, now=FIXED_NOW, material=a, target=55.0,
                               scheme_verdict="acceptable")
    urine, salt, previous = frames()
    pdf = build_monitoring_report(urine, salt, params=PARAMS, lang="en", previous=previous,
                                  qc_annex={"sections": qa_sections(
                                      session, ReportScope(year=2026), [], lang="en")})
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "External quality assessment" in text
    assert "MAT-A" in text and "acceptable" in text and "55.0" in text
