"""What the provider's EQA pages read: the rounds and laboratories as lists of the list
machinery, a round's results table by lab code with the current scores, method-group
statistics, and a laboratory's history across rounds."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from lims.core.listing import Column, Filter, ListSpec, enum_choices, enum_parser, text_parser
from lims.eqa.models import (
    CorrectionStatus,
    EqaEnrolment,
    EqaLaboratory,
    EqaMaterial,
    EqaProgramme,
    EqaResult,
    EqaRound,
    EqaScore,
    RoundStatus,
    ScoreClass,
)
from reports import eqa_stats

__all__ = [
    "LABORATORY_LIST",
    "ROUND_LIST",
    "ClosedRound",
    "DueRound",
    "History",
    "HistoryRow",
    "ResultRow",
    "closed_rounds",
    "laboratory_history",
    "method_groups",
    "pending_corrections",
    "round_results",
    "rounds_due",
]

ROUND_LIST = ListSpec(
    name="eqa_rounds",
    title=_l("EQA rounds"),
    source=EqaRound,
    id=EqaRound.id,
    columns=(
        Column("id", None, EqaRound.id, kind="int", sortable=True, unique=True),
        Column("programme", _l("Programme"), EqaProgramme.code),
        Column("code", _l("Round"), EqaRound.code),
        Column("dispatch", _l("Dispatch date"), EqaRound.dispatch_date),
        Column("deadline", _l("Deadline"), EqaRound.deadline),
        Column("status", _l("Status"), EqaRound.status, kind="label"),
    ),
    filters=(
        Filter("status", _l("Status"), enum_parser(RoundStatus),
               lambda v: EqaRound.status == v, choices=enum_choices(RoundStatus)),
    ),
    default_sort="-id",
    joins=lambda stmt: stmt.join(EqaProgramme, EqaProgramme.id == EqaRound.programme_id),
)

LABORATORY_LIST = ListSpec(
    name="eqa_laboratories",
    title=_l("EQA laboratories"),
    source=EqaLaboratory,
    id=EqaLaboratory.id,
    columns=(
        Column("id", None, EqaLaboratory.id, kind="int"),
        Column("name", _l("Laboratory"), EqaLaboratory.name, sortable=True, unique=True),
        Column("country", _l("Country"), EqaLaboratory.country),
        Column("contact", _l("Contact"), EqaLaboratory.contact),
    ),
    filters=(
        Filter("q", _l("Name contains"), text_parser(),
               lambda v: EqaLaboratory.name.ilike(f"%{v}%"), kind="text"),
    ),
    default_sort="name",
)


@dataclass(frozen=True)
class ResultRow:
    """One current result of a round with its current score (None before scoring)."""
    lab_code: str
    material_code: str
    result: EqaResult
    score: EqaScore | None


def round_results(session: Session, round_: EqaRound) -> list[ResultRow]:
    """The round's current results by lab code then material, with their current scores."""
    rows = session.execute(
        sa.select(EqaEnrolment.lab_code, EqaMaterial.code, EqaResult, EqaScore)
        .join(EqaEnrolment, EqaEnrolment.id == EqaResult.enrolment_id)
        .join(EqaMaterial, EqaMaterial.id == EqaResult.material_id)
        .outerjoin(EqaScore, sa.and_(EqaScore.result_id == EqaResult.id,
                                     EqaScore.is_current.is_(True)))
        .where(EqaEnrolment.round_id == round_.id, EqaResult.is_current.is_(True))
        .order_by(EqaEnrolment.lab_code, EqaMaterial.code))
    return [ResultRow(lab, material, result, score) for lab, material, result, score in rows]


def method_groups(session: Session, material: EqaMaterial) -> list[eqa_stats.GroupStats]:
    """Method-group statistics of a material's current results (robust ones where a group has
    the programme's ``min_p`` results)."""
    by_method: dict[str, list[float]] = defaultdict(list)
    for method, value in session.execute(
            sa.select(EqaResult.method, EqaResult.value)
            .where(EqaResult.material_id == material.id, EqaResult.is_current.is_(True))):
        by_method[method.value].append(value)
    return eqa_stats.method_group_stats(by_method, min_p=material.round.programme.min_p)


@dataclass(frozen=True)
class HistoryRow:
    round_id: int
    round_code: str
    dispatch_date: date
    lab_code: str
    material_code: str
    value: float
    score: float
    score_kind: str
    score_class: ScoreClass


@dataclass(frozen=True)
class History:
    rows: list[HistoryRow]

    @property
    def share_satisfactory(self) -> float | None:
        """The share of satisfactory scores, None before any score."""
        if not self.rows:
            return None
        return sum(r.score_class is ScoreClass.SATISFACTORY for r in self.rows) / len(self.rows)


def laboratory_history(session: Session, laboratory: EqaLaboratory) -> History:
    """A laboratory's current scores across rounds, oldest round first."""
    rows = session.execute(
        sa.select(EqaRound.id, EqaRound.code, EqaRound.dispatch_date, EqaEnrolment.lab_code,
                  EqaMaterial.code, EqaResult.value, EqaScore)
        .join(EqaResult, EqaResult.id == EqaScore.result_id)
        .join(EqaEnrolment, EqaEnrolment.id == EqaResult.enrolment_id)
        .join(EqaRound, EqaRound.id == EqaEnrolment.round_id)
        .join(EqaMaterial, EqaMaterial.id == EqaResult.material_id)
        .where(EqaEnrolment.laboratory_id == laboratory.id, EqaScore.is_current.is_(True),
               EqaResult.is_current.is_(True))
        .order_by(EqaRound.dispatch_date, EqaRound.id, EqaMaterial.code))
    return History([HistoryRow(round_id, code, day, lab_code, material, value, score.score,
                               score.score_kind.value, score.score_class)
                    for round_id, code, day, lab_code, material, value, score in rows])


# -- the provider's dashboard panel ----------------------------------------------------------------

@dataclass(frozen=True)
class DueRound:
    """A dispatched round near or past its deadline, with how many of its enrolled laboratories
    still lack a current result for some material."""
    round_id: int
    programme_code: str
    code: str
    deadline: date
    enrolled: int
    missing: int


def rounds_due(session: Session, today: date, within_days: int, limit: int) -> list[DueRound]:
    """Dispatched rounds whose deadline is within ``within_days`` or past, soonest first, at most
    ``limit``: one query over ``ix_eqa_rounds_status_dispatch``, the enrolments' unique
    (round, laboratory) index and the current results' partial unique index."""
    incomplete = (sa.select(EqaMaterial.id)
                  .where(EqaMaterial.round_id == EqaEnrolment.round_id,
                         ~sa.select(EqaResult.id)
                         .where(EqaResult.enrolment_id == EqaEnrolment.id,
                                EqaResult.material_id == EqaMaterial.id,
                                EqaResult.is_current.is_(True))
                         .correlate(EqaEnrolment, EqaMaterial).exists())
                  .correlate(EqaEnrolment).exists())
    rows = session.execute(
        sa.select(EqaRound.id, EqaProgramme.code, EqaRound.code, EqaRound.deadline,
                  sa.func.count(EqaEnrolment.id),
                  sa.func.coalesce(sa.func.sum(sa.case((incomplete, 1), else_=0)), 0))
        .join(EqaProgramme, EqaProgramme.id == EqaRound.programme_id)
        .outerjoin(EqaEnrolment, EqaEnrolment.round_id == EqaRound.id)
        .where(EqaRound.status == RoundStatus.DISPATCHED,
               EqaRound.deadline <= today + timedelta(days=within_days))
        .group_by(EqaRound.id, EqaProgramme.code, EqaRound.code, EqaRound.deadline)
        .order_by(EqaRound.deadline, EqaRound.id).limit(limit))
    return [DueRound(round_id, programme, code, deadline, int(enrolled), int(missing))
            for round_id, programme, code, deadline, enrolled, missing in rows]


@dataclass(frozen=True)
class ClosedRound:
    """A closed round, not reported yet; ``scored``: some material has current scores."""
    round_id: int
    programme_code: str
    code: str
    scored: bool


def closed_rounds(session: Session, limit: int) -> list[ClosedRound]:
    """Closed rounds (results no longer accepted, documents not issued), oldest deadline first,
    at most ``limit``."""
    scored = (sa.select(EqaScore.id).join(EqaMaterial, EqaMaterial.id == EqaScore.material_id)
              .where(EqaMaterial.round_id == EqaRound.id, EqaScore.is_current.is_(True))
              .correlate(EqaRound).exists())
    rows = session.execute(
        sa.select(EqaRound.id, EqaProgramme.code, EqaRound.code, scored)
        .join(EqaProgramme, EqaProgramme.id == EqaRound.programme_id)
        .where(EqaRound.status == RoundStatus.CLOSED)
        .order_by(EqaRound.deadline, EqaRound.id).limit(limit))
    return [ClosedRound(round_id, programme, code, bool(is_scored))
            for round_id, programme, code, is_scored in rows]


def pending_corrections() -> sa.Select[tuple[int]]:
    """Corrections sent after the deadline that wait for the provider's decision (the partial
    index ``uq_eqa_results_pending`` holds exactly these)."""
    return sa.select(EqaResult.id).where(EqaResult.correction_status == CorrectionStatus.PENDING)
