"""Issued EQA documents: the stored scores go into ``reports.eqa_report``'s PDFs (read back
with pypdf), each issue is a frozen new version with its SHA-256, a laboratory's report names
no other laboratory, and issuing is refused before the round is closed or for a mismatched
laboratory; the provider downloads exactly the bytes issued."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.core.errors import BusinessRuleViolation, ValidationError
from lims.core.permissions import Role
from lims.eqa import documents, service
from lims.eqa.models import DocumentKind, EqaScore, RoundStatus, ValueSource
from tests.conftest import FIXED_NOW
from tests.lims.eqa.room import Round, add_result, planned_round

VALUES = (100.0, 103.0, 97.5, 131.0)


def text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def scored_round(session: Session, actor: User) -> Round:
    built = planned_round(session, actor, labs=len(VALUES), means=(100.0, 250.0))
    service.change_round_status(session, actor=actor, now=FIXED_NOW, round_=built.round,
                                to=RoundStatus.DISPATCHED)
    for enrolment, value in zip(built.enrolments, VALUES, strict=True):
        add_result(session, actor, enrolment, built.materials[0], value, u_x=2.0)
        add_result(session, actor, enrolment, built.materials[1], 2.5 * value)
    for material, x_pt in zip(built.materials, (100.0, 250.0), strict=True):
        service.assign_value(session, actor=actor, now=FIXED_NOW, material=material,
                             source=ValueSource.REFERENCE, x_pt=x_pt, u_x_pt=1.0)
    service.change_round_status(session, actor=actor, now=FIXED_NOW, round_=built.round,
                                to=RoundStatus.CLOSED)
    service.score_round(session, actor=actor, now=FIXED_NOW, round_=built.round)
    return built


@pytest.fixture()
def admin(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN)


def test_summary_and_lab_report_print_the_stored_scores(session: Session, admin: User) -> None:
    built = scored_round(session, admin)
    summary = documents.issue_document(session, actor=admin, now=FIXED_NOW,
                                       kind=DocumentKind.SUMMARY, round_=built.round, lang="ru")
    assert summary.version == 1 and summary.sha256 == hashlib.sha256(summary.data).hexdigest()
    printed = text(summary.data)
    for enrolment in built.enrolments:
        assert enrolment.lab_code in printed
        assert enrolment.laboratory.name not in printed  # by code only
    # the outlier's stored z (131 − 100)/10 = 3,10 in the Russian decimal notation
    outlier = built.enrolments[3]
    stored = session.scalars(sa.select(EqaScore).join(EqaScore.result).where(
        EqaScore.material_id == built.materials[0].id, EqaScore.is_current.is_(True),
        EqaScore.result.has(enrolment_id=outlier.id))).one()
    assert stored.z == pytest.approx(3.1) and "3,10" in printed

    report = documents.issue_document(session, actor=admin, now=FIXED_NOW,
                                      kind=DocumentKind.LAB_REPORT, round_=built.round,
                                      lang="ru", enrolment=outlier,
                                      comments=["Check the calibrator lot."])
    own = text(report.data)
    assert outlier.lab_code in own and "3,10" in own and "Check the calibrator lot." in own
    assert all(e.lab_code not in own for e in built.enrolments[:3])
    again = documents.issue_document(session, actor=admin, now=FIXED_NOW,
                                     kind=DocumentKind.LAB_REPORT, round_=built.round,
                                     lang="ru", enrolment=outlier)
    assert again.version == 2 and report.version == 1 and report.data  # the first stays
    events = session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "eqa_document_issued", AuditEvent.entity_id == built.round.id)).all()
    assert [e.changes["version"] for e in events] == [1, 1, 2]


def test_certificate_names_its_laboratory(session: Session, admin: User) -> None:
    built = scored_round(session, admin)
    enrolment = built.enrolments[0]
    certificate = documents.issue_document(session, actor=admin, now=FIXED_NOW,
                                           kind=DocumentKind.CERTIFICATE, round_=built.round,
                                           lang="en", enrolment=enrolment,
                                           signatory="A. Head of laboratory")
    printed = text(certificate.data)
    assert enrolment.laboratory.name in printed and built.round.code in printed


def test_issuing_is_refused_when_it_cannot_be_right(session: Session, admin: User) -> None:
    built = planned_round(session, admin, labs=1)
    with pytest.raises(BusinessRuleViolation):
        documents.issue_document(session, actor=admin, now=FIXED_NOW, kind=DocumentKind.SUMMARY,
                                 round_=built.round, lang="ru")
    other = planned_round(session, admin, labs=1)
    for kind, enrolment, lang, field in [
            (DocumentKind.SUMMARY, built.enrolments[0], "ru", "enrolment"),
            (DocumentKind.LAB_REPORT, None, "ru", "enrolment"),
            (DocumentKind.LAB_REPORT, other.enrolments[0], "ru", "enrolment"),
            (DocumentKind.SUMMARY, None, "de", "language")]:
        with pytest.raises(ValidationError) as refused:
            documents.issue_document(session, actor=admin, now=FIXED_NOW, kind=kind,
                                     round_=built.round, lang=lang, enrolment=enrolment)
        assert refused.value.field == field


def test_issue_and_download_over_http(client: FlaskClient, session: Session,
                                      login: Callable[[User], FlaskClient], admin: User) -> None:
    built = scored_round(session, admin)
    session.commit()
    login(admin)
    base = f"/eqa/rounds/{built.round.id}"
    response = client.post(f"{base}/documents", data={"kind": "summary", "enrolment": "",
                                                      "language": "kk"})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    page = client.get(base).get_data(as_text=True)
    link = page.split("/eqa/documents/", 1)[1].split('"', 1)[0]
    pdf = client.get(f"/eqa/documents/{link}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["X-Content-SHA256"] == hashlib.sha256(pdf.data).hexdigest()
    refused = client.post(f"{base}/documents", data={"kind": "lab_report", "enrolment": "",
                                                     "language": "ru"})
    assert refused.status_code == 422 and 'id="enrolment-error"' in refused.get_data(as_text=True)
