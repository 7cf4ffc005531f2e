"""What a participating laboratory's account may see: its own enrolments, sample codes, results,
scores and documents, and nothing else.

Every lookup by id that a participant page or the participant API makes goes through here and
is filtered by the account's laboratory *in the query*: another laboratory's enrolment, result or
document is answered exactly like one that does not exist (404, never 403), so ids cannot be
probed and no other laboratory's name is ever loaded for a participant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import Session, joinedload

from lims.auth.models import User
from lims.core.errors import NotFoundError
from lims.eqa.models import (
    CorrectionStatus,
    DocumentKind,
    EqaDocument,
    EqaEnrolment,
    EqaLabAccount,
    EqaLaboratory,
    EqaResult,
    EqaRound,
    EqaSampleCode,
    EqaScore,
    RoundStatus,
)


def laboratory_of(session: Session, user: User) -> EqaLaboratory | None:
    """The laboratory a participant account belongs to (None: an account not linked yet)."""
    return session.scalar(sa.select(EqaLaboratory).join(
        EqaLabAccount, EqaLabAccount.laboratory_id == EqaLaboratory.id)
        .where(EqaLabAccount.user_id == user.id))


def _own(user: User) -> sa.ColumnElement[bool]:
    """The condition "this enrolment is the account's laboratory's"."""
    return EqaEnrolment.laboratory_id.in_(
        sa.select(EqaLabAccount.laboratory_id).where(EqaLabAccount.user_id == user.id)
        .scalar_subquery())


def own_enrolments(session: Session, user: User) -> list[EqaEnrolment]:
    """The account's laboratory's enrolments, newest round first."""
    return list(session.scalars(
        sa.select(EqaEnrolment).join(EqaRound, EqaEnrolment.round_id == EqaRound.id)
        .where(_own(user)).options(joinedload(EqaEnrolment.round).joinedload(EqaRound.programme))
        .order_by(EqaRound.dispatch_date.desc(), EqaEnrolment.id.desc())))


def own_enrolment(session: Session, user: User, enrolment_id: int) -> EqaEnrolment:
    enrolment = session.scalar(sa.select(EqaEnrolment).where(
        EqaEnrolment.id == enrolment_id, _own(user)))
    if enrolment is None:
        raise NotFoundError(_("No such enrolment of your laboratory."), field="enrolment_id")
    return enrolment


def scores_released(round_: EqaRound) -> bool:
    """Assigned values and scores are shown to participants once the round is reported: before
    that a consensus value would tell a late laboratory what to submit."""
    return round_.status is RoundStatus.REPORTED


@dataclass(frozen=True)
class SheetLine:
    """One tube the laboratory received, with what it has submitted for it."""

    sample_code: str
    material_id: int
    result: EqaResult | None
    pending: EqaResult | None
    score: EqaScore | None
    #: Shown only when scores are released (the material's label and assigned value).
    material_code: str | None
    x_pt: float | None
    sigma_pt: float | None


def enrolment_sheet(session: Session, enrolment: EqaEnrolment) -> list[SheetLine]:
    """The laboratory's sample codes in code order, each with its current result, a pending
    correction and (once released) its current score."""
    codes = session.scalars(sa.select(EqaSampleCode).where(
        EqaSampleCode.enrolment_id == enrolment.id).options(joinedload(EqaSampleCode.material))
        .order_by(EqaSampleCode.code)).all()
    results = session.scalars(sa.select(EqaResult).where(
        EqaResult.enrolment_id == enrolment.id,
        sa.or_(EqaResult.is_current.is_(True),
               EqaResult.correction_status == CorrectionStatus.PENDING))).all()
    current = {r.material_id: r for r in results if r.is_current}
    pending = {r.material_id: r for r in results
               if r.correction_status is CorrectionStatus.PENDING}
    released = scores_released(enrolment.round)
    scores: dict[int, EqaScore] = {}
    if released and current:
        scores = {s.result_id: s for s in session.scalars(sa.select(EqaScore).where(
            EqaScore.result_id.in_([r.id for r in current.values()]),
            EqaScore.is_current.is_(True)))}
    lines = []
    for code in codes:
        result = current.get(code.material_id)
        material = code.material
        lines.append(SheetLine(
            sample_code=code.code, material_id=code.material_id, result=result,
            pending=pending.get(code.material_id),
            score=scores.get(result.id) if result is not None else None,
            material_code=material.code if released else None,
            x_pt=material.x_pt if released else None,
            sigma_pt=material.sigma_pt if released else None))
    return lines


@dataclass(frozen=True)
class DocumentLine:
    id: int
    kind: DocumentKind
    language: str
    version: int
    issued_at: datetime
    round_code: str


def _visible_documents(user: User) -> sa.ColumnElement[bool]:
    """A laboratory's own report and certificate, and the summary of a round it took part in
    (the summary names laboratories by code only)."""
    own_enrolment_ids = sa.select(EqaEnrolment.id).where(_own(user))
    own_round_ids = sa.select(EqaEnrolment.round_id).where(_own(user))
    return sa.or_(
        sa.and_(EqaDocument.kind != DocumentKind.SUMMARY,
                EqaDocument.enrolment_id.in_(own_enrolment_ids)),
        sa.and_(EqaDocument.kind == DocumentKind.SUMMARY,
                EqaDocument.round_id.in_(own_round_ids)))


def own_documents(session: Session, user: User, enrolment: EqaEnrolment) -> list[DocumentLine]:
    """The documents of one of the laboratory's rounds, latest version of each kind and
    language first."""
    rows = session.execute(
        sa.select(EqaDocument.id, EqaDocument.kind, EqaDocument.language, EqaDocument.version,
                  EqaDocument.issued_at, EqaRound.code)
        .join(EqaRound, EqaDocument.round_id == EqaRound.id)
        .where(_visible_documents(user), EqaDocument.round_id == enrolment.round_id,
               sa.or_(EqaDocument.enrolment_id.is_(None),
                      EqaDocument.enrolment_id == enrolment.id))
        .order_by(EqaDocument.kind, EqaDocument.language, EqaDocument.version.desc())).all()
    return [DocumentLine(*row) for row in rows]


def own_document(session: Session, user: User, document_id: int) -> EqaDocument:
    document = session.scalar(sa.select(EqaDocument).where(
        EqaDocument.id == document_id, _visible_documents(user)))
    if document is None:
        raise NotFoundError(_("No such document of your laboratory."), field="document_id")
    return document


def document_filename(document: EqaDocument, lab_code: str | None) -> str:
    """The download name: round, kind, the laboratory's own code (never its name), version."""
    parts = [document.round.code, document.kind.value]
    if lab_code and document.kind is not DocumentKind.SUMMARY:
        parts.append(lab_code)
    parts += [document.language, f"v{document.version}"]
    return "eqa-" + "-".join(parts) + ".pdf"

