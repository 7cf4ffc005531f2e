"""What the external-scheme pages, the dashboard and the QA annex read: our values of each blind
material from the verified results of its samples, rounds near their deadline, and the latest
round of each scheme in a period. Reads only."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis.models import Result, ResultStatus
from lims.eqa.external_models import (
    ExternalEvaluation,
    ExternalMaterial,
    ExternalMaterialSample,
    ExternalRound,
    ExternalRoundStatus,
    ExternalScheme,
)
from lims.samples.models import Sample
from reports.eqa_external import ReplicateSummary, summarise


@dataclass(frozen=True)
class DayValues:
    """One analysis day of a material: its sample and the replicate values of its current
    verified result (empty while there is none; ``censored`` e.g. "<20" for a value below
    the LOD, which is not a number to average)."""

    day: int
    sample_id: int
    accession: str
    sample_status: str
    values: tuple[float, ...]
    censored: str = ""

    @property
    def verified(self) -> bool:
        return bool(self.values) or bool(self.censored)


@dataclass(frozen=True)
class MaterialValues:
    material: ExternalMaterial
    days: tuple[DayValues, ...]
    summary: ReplicateSummary
    evaluation: ExternalEvaluation | None

    @property
    def values(self) -> list[float]:
        return [v for d in self.days for v in d.values]

    @property
    def complete(self) -> bool:
        return bool(self.days) and all(d.verified for d in self.days)


def _replicates(result: Result) -> tuple[float, ...]:
    """The result's replicate values as stored with it, else its one value."""
    stored = (result.details or {}).get("replicates") or []
    values = tuple(float(v) for v in stored if isinstance(v, int | float) and math.isfinite(v))
    if values:
        return values
    return (float(result.value),) if result.value is not None else ()


def material_values(session: Session, materials: Sequence[ExternalMaterial]
                    ) -> list[MaterialValues]:
    """Our values of ``materials`` (a round's handful) in three queries."""
    ids = [m.id for m in materials]
    links = session.execute(
        sa.select(ExternalMaterialSample.material_id, ExternalMaterialSample.day, Sample.id,
                  Sample.accession, Sample.status)
        .join(Sample, Sample.id == ExternalMaterialSample.sample_id)
        .where(ExternalMaterialSample.material_id.in_(ids))
        .order_by(ExternalMaterialSample.material_id, ExternalMaterialSample.day)).all()
    results = {r.sample_id: r for r in session.scalars(
        sa.select(Result).where(Result.sample_id.in_([link.id for link in links]),
                                Result.is_current, Result.status == ResultStatus.VERIFIED))}
    evaluations = {e.material_id: e for e in session.scalars(
        sa.select(ExternalEvaluation).where(ExternalEvaluation.material_id.in_(ids),
                                            ExternalEvaluation.is_current))}
    days: dict[int, list[DayValues]] = {i: [] for i in ids}
    for link in links:
        result = results.get(link.id)
        values = _replicates(result) if result is not None else ()
        censored = (f"{result.comparator}{result.limit:g}" if result is not None
                    and result.comparator and result.limit is not None else "")
        days[link.material_id].append(DayValues(link.day, link.id, link.accession,
                                                str(link.status), values, censored))
    out = []
    for material in materials:
        material_days = tuple(days[material.id])
        out.append(MaterialValues(material, material_days,
                                  summarise([v for d in material_days for v in d.values]),
                                  evaluations.get(material.id)))
    return out


def rounds_due(session: Session, today: date, within_days: int) -> list[ExternalRound]:
    """Open rounds (results not sent) whose deadline is within ``within_days`` or past."""
    return list(session.scalars(
        sa.select(ExternalRound).join(ExternalScheme)
        .where(ExternalRound.status == ExternalRoundStatus.OPEN,
               ExternalRound.deadline <= today + timedelta(days=within_days))
        .order_by(ExternalRound.deadline, ExternalRound.id)))


def latest_rounds(session: Session, start: date, end: date) -> list[ExternalRound]:
    """Per scheme, its latest round received within [start, end] (a scheme with none in the
    period has no line: the annex says what was done in the report's period)."""
    ranked = (sa.select(ExternalRound.id, sa.func.row_number().over(
        partition_by=ExternalRound.scheme_id,
        order_by=(ExternalRound.received_on.desc(), ExternalRound.id.desc())).label("rank"))
        .where(ExternalRound.received_on >= start, ExternalRound.received_on <= end)
        .subquery())
    return list(session.scalars(
        sa.select(ExternalRound).join(ranked, ranked.c.id == ExternalRound.id)
        .join(ExternalScheme).where(ranked.c.rank == 1).order_by(ExternalScheme.code)))


def annex_rows(session: Session, start: date, end: date, *, yes: str, no: str, pending: str
               ) -> list[tuple[Any, ...]]:
    """The QA annex's EQA lines: scheme, round, material, our mean, target, within our limits
    (``yes``/``no``, ``pending`` before the scheme's targets), and the scheme's verdict."""
    rows: list[tuple[Any, ...]] = []
    for external_round in latest_rounds(session, start, end):
        for m in material_values(session, external_round.materials):
            e = m.evaluation
            rows.append((external_round.scheme.code, external_round.code, m.material.code,
                         e.our_mean if e else m.summary.mean, e.target if e else None,
                         pending if e is None else (yes if e.within_limits else no),
                         (e.scheme_verdict or None) if e else None))
    return rows
