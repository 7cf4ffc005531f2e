"""The EQA documents: the stored round, materials, results and scores mapped to
``reports.eqa_report``'s input dataclasses, and issued versions frozen in ``eqa_documents``.

A document prints the stored figures (the scores computed by `lims.eqa.service.score_round`),
never a recomputation. Issuing renders the PDF once, keeps its bytes and SHA-256 with who and
when, and numbers the versions per (kind, round, laboratory, language); a re-issue is a new
version, the old one stays downloadable as it was sent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.audit.sealing import head_text
from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.errors import BusinessRuleViolation, ValidationError
from lims.core.locking import lock
from lims.core.templating import lab_name
from lims.eqa import queries
from lims.eqa.models import (
    DocumentKind,
    EqaDocument,
    EqaEnrolment,
    EqaMaterial,
    EqaResult,
    EqaRound,
    EqaSampleCode,
    RoundStatus,
)
from lims.eqa.service import ROUND_ENTITY
from lims.reporting.jobs import report_catalogue
from reports import eqa_report as doc
from reports import eqa_stats
from reports.texts import LANGUAGES

__all__ = [
    "MAX_COMMENT",
    "history_points",
    "issue_document",
    "lab_results",
    "material_info",
    "round_info",
]

#: The provider's comments to a laboratory or to all (printed as typed).
MAX_COMMENT = 2000


def round_info(round_: EqaRound) -> doc.RoundInfo:
    programme = round_.programme
    return doc.RoundInfo(
        programme_code=programme.code, programme_name=programme.name,
        measurand=programme.measurand.value,  # type: ignore[arg-type]
        unit=programme.unit.value, round_code=round_.code, dispatch_date=round_.dispatch_date,
        deadline=round_.deadline,
        assigned_value_method=round_.value_source.value,  # type: ignore[arg-type]
        sigma_kind=programme.sigma_kind.value,  # type: ignore[arg-type]
        sigma_percent=programme.sigma_percent, sigma_a=programme.sigma_a,
        sigma_b=programme.sigma_b, provider=lab_name(current_app.config))


def material_info(material: EqaMaterial) -> doc.Material:
    """A material with its assigned value (the caller has checked it has one)."""
    assert material.x_pt is not None and material.u_x_pt is not None
    assert material.sigma_pt is not None and material.value_source is not None
    return doc.Material(
        code=material.code, level=material.level, x_pt=material.x_pt, u_x_pt=material.u_x_pt,
        sigma_pt=material.sigma_pt,
        source=material.value_source.value,  # type: ignore[arg-type]
        uses_z_prime=bool(material.u_x_pt_large), p=material.consensus_p,
        source_note=material.pool_id, homogeneity_passed=material.homogeneity_passed,
        stability_passed=material.stability_passed)


def lab_results(session: Session, round_: EqaRound,
                enrolment: EqaEnrolment | None = None) -> tuple[doc.LabResult, ...]:
    """The round's current, scored results (one laboratory's when ``enrolment`` is given), with
    that laboratory's tube codes."""
    tube = dict(session.execute(
        sa.select(EqaSampleCode.material_id, EqaSampleCode.code)
        .where(EqaSampleCode.enrolment_id == enrolment.id)).all()) if enrolment else {}
    rows = []
    for row in queries.round_results(session, round_):
        if enrolment is not None and row.result.enrolment_id != enrolment.id:
            continue
        score, result = row.score, row.result
        if score is None:
            continue
        zeta_class = eqa_stats.classify(score.zeta).value if score.zeta is not None else None
        rows.append(doc.LabResult(
            lab_code=row.lab_code, material=row.material_code, value=result.value,
            u_x=result.u_x, method=result.method.value, z=score.z, z_prime=score.z_prime,
            zeta=score.zeta, score_class=score.score_class.value,  # type: ignore[arg-type]
            zeta_class=zeta_class,  # type: ignore[arg-type]
            en=score.en,
            en_class=score.en_class.value if score.en_class else None,  # type: ignore[arg-type]
            sample_code=tube.get(result.material_id, ""), late=result.late))
    return tuple(rows)


def history_points(session: Session, enrolment: EqaEnrolment) -> tuple[doc.HistoryPoint, ...]:
    """The laboratory's own scores over the rounds up to this one."""
    history = queries.laboratory_history(session, enrolment.laboratory)
    cutoff = enrolment.round.dispatch_date
    return tuple(doc.HistoryPoint(round_code=r.round_code, round_date=r.dispatch_date,
                                  material=r.material_code, score=r.score,
                                  kind=r.score_kind,  # type: ignore[arg-type]
                                  score_class=r.score_class.value)  # type: ignore[arg-type]
                 for r in history.rows if r.dispatch_date <= cutoff)


def _scored_materials(round_: EqaRound) -> tuple[doc.Material, ...]:
    missing = [m.code for m in round_.materials if m.x_pt is None]
    if missing or not round_.materials:
        raise BusinessRuleViolation(_("Materials %(codes)s have no assigned value yet.",
                                      codes=", ".join(missing) or "—"), field="kind")
    return tuple(material_info(m) for m in round_.materials)


def _comments(comments: Sequence[str]) -> tuple[str, ...]:
    kept = tuple(c.strip() for c in comments if c and c.strip())
    if sum(len(c) for c in kept) > MAX_COMMENT:
        raise ValidationError(_("At most %(num)d characters.", num=MAX_COMMENT), field="comments")
    return kept


def _render(session: Session, *, kind: DocumentKind, round_: EqaRound,
            enrolment: EqaEnrolment | None, lang: str, issue: doc.IssueInfo,
            comments: tuple[str, ...], signatory: str) -> bytes:
    info, catalogue = round_info(round_), report_catalogue(lang)
    if kind is DocumentKind.CERTIFICATE:
        assert enrolment is not None
        reported = session.scalar(sa.select(sa.func.count()).select_from(EqaResult).where(
            EqaResult.enrolment_id == enrolment.id, EqaResult.is_current.is_(True)))
        return doc.certificate_pdf(doc.Certificate(
            round=info, lab_name=enrolment.laboratory.name, country=enrolment.laboratory.country,
            lab_code=enrolment.lab_code, materials_received=len(round_.materials),
            materials_reported=int(reported or 0), issue=issue, signatory=signatory),
            lang=lang, catalogue=catalogue)
    materials = _scored_materials(round_)
    results = lab_results(session, round_)
    if not results:
        raise BusinessRuleViolation(_("Compute the scores before issuing the reports."),
                                    field="kind")
    if kind is DocumentKind.LAB_REPORT:
        assert enrolment is not None
        own = lab_results(session, round_, enrolment)  # with its tube codes
        return doc.lab_report_pdf(doc.LabReport(
            round=info, lab_code=enrolment.lab_code, materials=materials, results=own,
            history=history_points(session, enrolment), comments=comments, issue=issue,
            participants=len({r.lab_code for r in results})), lang=lang, catalogue=catalogue)
    groups = tuple(doc.MethodGroupStats(material=m.code, method=g.method, n=g.n, median=g.median,
                                        mean=g.mean, sd=g.sd, x_star=g.x_star, s_star=g.s_star)
                   for m in round_.materials for g in queries.method_groups(session, m))
    codes = [m.code for m in round_.materials]
    return doc.round_summary_pdf(doc.RoundSummary(
        round=info, materials=materials, results=results, method_groups=groups, issue=issue,
        youden_pair=(codes[0], codes[1]) if len(codes) >= 2 else None, comments=comments),
        lang=lang, catalogue=catalogue)


def issue_document(session: Session, *, actor: User, now: datetime, kind: DocumentKind,
                   round_: EqaRound, lang: str, enrolment: EqaEnrolment | None = None,
                   comments: Sequence[str] = (), signatory: str = "") -> EqaDocument:
    """Render and freeze the next version of a document of a closed or reported round. A lab
    report and a certificate are per enrolment of this round; the summary is for all."""
    if lang not in LANGUAGES:
        raise ValidationError(_("Choose one of the languages offered."), field="language")
    if (kind is DocumentKind.SUMMARY) != (enrolment is None):
        raise ValidationError(_("Choose the laboratory for a laboratory report or a "
                                "certificate, and none for the summary."), field="enrolment")
    if enrolment is not None and enrolment.round_id != round_.id:
        raise ValidationError(_("Choose a laboratory of this round."), field="enrolment")
    kept = _comments(comments)
    round_ = lock(session, round_)
    if round_.status not in (RoundStatus.CLOSED, RoundStatus.REPORTED):
        raise BusinessRuleViolation(_("Documents are issued once the round is closed."),
                                    field="kind")
    enrolment_id = enrolment.id if enrolment else None
    version = 1 + int(session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(EqaDocument.version), 0)).where(
            EqaDocument.kind == kind, EqaDocument.round_id == round_.id,
            EqaDocument.language == lang,
            EqaDocument.enrolment_id.is_(None) if enrolment_id is None
            else EqaDocument.enrolment_id == enrolment_id)) or 0)
    issue = doc.IssueInfo(version=version, issued_at=now,
                          issued_by=actor.full_name or actor.username,
                          audit_seal=head_text(session.connection()))
    data = _render(session, kind=kind, round_=round_, enrolment=enrolment, lang=lang,
                   issue=issue, comments=kept, signatory=signatory.strip()[:200])
    digest = hashlib.sha256(data).hexdigest()
    document = EqaDocument(kind=kind, round_id=round_.id, enrolment_id=enrolment_id,
                           language=lang, version=version, sha256=digest, data=data,
                           issued_at=now, issued_by_id=actor.id)
    session.add(document)
    session.flush()
    record_event(session, actor=actor, now=now, action="eqa_document_issued",
                 entity_type=ROUND_ENTITY, entity_id=round_.id, entity_label=round_.code,
                 changes={"kind": kind.value, "lab_code": enrolment.lab_code if enrolment else None,
                          "language": lang, "version": version, "sha256": digest})
    return document
