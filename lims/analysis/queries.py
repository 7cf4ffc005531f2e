"""Read-side queries of the analysis pages, keyset-paged for a million samples.

The worklist has two parts: retests (samples whose current result asks for a repeat or was held
by a rejected run, and that are on no open run) — few, found through the results index — and
received samples of the method's kind, priority first, oldest receipt first, read by keyset over
``ix_samples_worklist`` (kind, status, priority, received_at, id). Nothing counts a whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from lims.analysis.models import (
    AnalyticalRun,
    Analyte,
    Result,
    ResultStatus,
    RunSample,
    RunStatus,
)
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind

UNDECIDED = (RunStatus.OPEN, RunStatus.MEASURED, RunStatus.CALCULATED)


@dataclass(frozen=True)
class WorklistCursor:
    """The last row of a worklist page: (priority, received_at, id)."""

    priority: int
    received_at: datetime
    sample_id: int

    def encode(self) -> str:
        return f"{self.priority}_{self.received_at.isoformat()}_{self.sample_id}"

    @classmethod
    def decode(cls, raw: str | None) -> WorklistCursor | None:
        if not raw:
            return None
        try:
            priority, when, sample_id = raw.split("_")
            return cls(int(priority), datetime.fromisoformat(when), int(sample_id))
        except ValueError:
            return None


def on_open_run() -> sa.Exists:
    return (sa.select(RunSample.id).join(AnalyticalRun, AnalyticalRun.id == RunSample.run_id)
            .where(RunSample.sample_id == Sample.id, AnalyticalRun.status.in_(UNDECIDED))
            .exists())


def worklist_statement(kind: SampleKind, priority: int, *, limit: int,
                       after: WorklistCursor | None = None) -> sa.Select[tuple[Sample]]:
    """One priority level of the worklist, oldest receipt first: a range scan of
    ``ix_samples_worklist`` that stops after ``limit`` rows."""
    stmt = sa.select(Sample).where(Sample.kind == kind, Sample.status == SampleStatus.RECEIVED,
                                   Sample.priority == priority)
    if after is not None and after.priority == priority:
        stmt = stmt.where(sa.tuple_(Sample.received_at, Sample.id)
                          > sa.tuple_(sa.literal(after.received_at, Sample.received_at.type),
                                      sa.literal(after.sample_id)))
    return stmt.order_by(Sample.received_at, Sample.id).limit(limit)


def _next_priority(session: Session, kind: SampleKind, below: int | None) -> int | None:
    stmt = sa.select(sa.func.max(Sample.priority)).where(
        Sample.kind == kind, Sample.status == SampleStatus.RECEIVED)
    if below is not None:
        stmt = stmt.where(Sample.priority < below)
    return session.scalar(stmt)


def received_samples(session: Session, kind: SampleKind, *, limit: int,
                     after: WorklistCursor | None = None) -> list[Sample]:
    """Received samples of ``kind``, highest priority first, then oldest receipt.

    Read one priority level at a time (a max() on the index, then a range scan), because one
    index cannot serve "priority descending, receipt ascending" in a single scan everywhere;
    a page touches only the few levels it shows.
    """
    rows: list[Sample] = []
    priority = after.priority if after is not None else _next_priority(session, kind, None)
    while priority is not None and len(rows) < limit:
        rows += session.scalars(worklist_statement(kind, priority, limit=limit - len(rows),
                                                   after=after))
        priority = _next_priority(session, kind, priority)
    return rows


def retests(session: Session, analyte: Analyte, *, limit: int) -> list[tuple[Sample, Result]]:
    """Samples whose current result needs a repeat or was held, not yet on an open run (a held
    result of an undecided run is on that run, so only rejected runs' held results show)."""
    stmt = (sa.select(Sample, Result).join(Result, Result.sample_id == Sample.id)
            .where(Result.analyte == analyte, Result.is_current,
                   Result.status.in_((ResultStatus.REPEAT, ResultStatus.HELD)),
                   ~on_open_run())
            .order_by(Sample.priority.desc(), Result.id).limit(limit))
    return [(s, r) for s, r in session.execute(stmt)]


def runs_page(session: Session, *, status: RunStatus | None, limit: int,
              before: int | None = None) -> list[AnalyticalRun]:
    stmt = sa.select(AnalyticalRun).options(selectinload(AnalyticalRun.method_version),
                                            selectinload(AnalyticalRun.instrument),
                                            selectinload(AnalyticalRun.created_by))
    if status is not None:
        stmt = stmt.where(AnalyticalRun.status == status)
    if before is not None:
        stmt = stmt.where(AnalyticalRun.id < before)
    return list(session.scalars(stmt.order_by(AnalyticalRun.id.desc()).limit(limit)))


def results_for_sample(session: Session, sample_id: int) -> list[Result]:
    """Every version of every result of a sample, oldest first (amendments stay visible)."""
    return list(session.scalars(
        sa.select(Result).where(Result.sample_id == sample_id)
        .options(selectinload(Result.created_by), selectinload(Result.verified_by),
                 selectinload(Result.method_version))
        .order_by(Result.id)))


def results_for_run(session: Session, run_id: int, *, current_only: bool = True) -> list[Result]:
    stmt = (sa.select(Result).where(Result.run_id == run_id)
            .options(selectinload(Result.sample), selectinload(Result.verified_by)))
    if current_only:
        stmt = stmt.where(Result.status != ResultStatus.SUPERSEDED)
    return list(session.scalars(stmt.order_by(Result.id)))
