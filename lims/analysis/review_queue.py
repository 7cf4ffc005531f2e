"""The review queue: current preliminary results under the reviewer's filters, flagged first.

Read-only. Every filter is a column of ``results`` or of the sample (region) joined by its
primary key; the order is "flagged first, then newest", read in two keyset phases — the flagged
rows (a backward scan of the partial index ``ix_results_review_flagged``), then the others (of
``ix_results_status_id``, where nearly every row qualifies), so a page costs the same at ten
results to review or a hundred thousand. The total is counted up to :data:`COUNT_CAP` rows and shown as
"more than" beyond it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from lims.analysis.models import AnalyticalRun, Analyte, MethodVersionRow, Result, ResultStatus
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample

#: Counts stop here: beyond it a page says "more than 1,000" (a reviewer needs to know there
#: are over a thousand, not how many exactly; the count then costs one bounded index range).
COUNT_CAP = 1000


def has_flags() -> sa.ColumnElement[bool]:
    """True for a result with at least one flag (the JSON list is not empty): the same
    expression as the index, on SQLite and PostgreSQL alike."""
    return sa.func.json_array_length(Result.flags) > 0


@dataclass(frozen=True)
class ReviewFilter:
    method_code: str | None = None
    run_id: int | None = None
    analyte: Analyte | None = None
    flagged: bool | None = None  # True: only flagged; False: only unflagged
    entered_by_id: int | None = None
    entered_from: datetime | None = None  # inclusive
    entered_to: datetime | None = None  # exclusive
    region_id: int | None = None
    verifiable_by_id: int | None = None  # only the rows this user may verify (four eyes)


@dataclass(frozen=True)
class ReviewCursor:
    """The last row of a page: whether it was flagged, and its id."""

    flagged: bool
    result_id: int

    def encode(self) -> str:
        return f"{'f' if self.flagged else 'u'}{self.result_id}"

    @classmethod
    def decode(cls, raw: str | None) -> ReviewCursor | None:
        """None for an absent cursor; ``ValueError`` for a malformed one (a 400)."""
        if not raw:
            return None
        if len(raw) > 20 or raw[0] not in "fu" or not raw[1:].isascii() or not raw[1:].isdigit():
            raise ValueError(raw)
        result_id = int(raw[1:])
        if not 0 < result_id < 2**63:
            raise ValueError(raw)
        return cls(raw[0] == "f", result_id)


def conditions(flt: ReviewFilter) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Result.status == ResultStatus.PRELIMINARY,
                                           Result.is_current]
    if flt.method_code:
        where.append(Result.method_version_id.in_(
            sa.select(MethodVersionRow.id).where(MethodVersionRow.code == flt.method_code)))
    if flt.run_id is not None:
        where.append(Result.run_id == flt.run_id)
    if flt.analyte is not None:
        where.append(Result.analyte == flt.analyte)
    if flt.flagged is not None:
        where.append(has_flags() if flt.flagged else ~has_flags())
    if flt.entered_by_id is not None:
        where.append(Result.created_by_id == flt.entered_by_id)
    if flt.entered_from is not None:
        where.append(Result.created_at >= flt.entered_from)
    if flt.entered_to is not None:
        where.append(Result.created_at < flt.entered_to)
    if flt.region_id is not None:
        # a sample whose result waits for review is pending review (or, while a retest of its
        # other analyte runs, in analysis): naming the statuses keeps the region's samples to
        # the few thousand of ``ix_samples_region_status_id``, not the region's whole survey
        where.append(Result.sample_id.in_(sa.select(Sample.id).where(
            Sample.region_id == flt.region_id,
            Sample.status.in_((SampleStatus.PENDING_REVIEW, SampleStatus.IN_ANALYSIS)))))
    if flt.verifiable_by_id is not None:
        me = flt.verifiable_by_id
        where.append(Result.created_by_id != me)
        where.append(~sa.exists().where(
            AnalyticalRun.id == Result.run_id,
            sa.or_(AnalyticalRun.created_by_id == me, AnalyticalRun.measured_by_id == me)))
    return where


def review_page(session: Session, flt: ReviewFilter, *, limit: int,
                after: ReviewCursor | None = None) -> list[Result]:
    """Up to ``limit`` rows after ``after``: flagged rows (newest first), then the others."""
    rows: list[Result] = []
    phases = [True, False] if flt.flagged is None else [flt.flagged]
    for flagged in phases:
        if after is not None and after.flagged is False and flagged:
            continue  # the flagged phase is behind this cursor
        stmt = sa.select(Result).where(*conditions(flt))
        if flt.flagged is None:
            stmt = stmt.where(has_flags() if flagged else ~has_flags())
        if after is not None and after.flagged is flagged:
            stmt = stmt.where(Result.id < after.result_id)
        rows += session.scalars(
            stmt.order_by(Result.id.desc()).limit(limit - len(rows))
            .options(selectinload(Result.sample).selectinload(Sample.region),
                     selectinload(Result.run), selectinload(Result.method_version),
                     selectinload(Result.created_by)))
        if len(rows) >= limit:
            break
    return rows


def review_count(session: Session, flt: ReviewFilter, *, cap: int = COUNT_CAP) -> int:
    """How many rows the filters match, counted up to ``cap + 1``: without filters, or with
    "mine" (who entered it, on which run), an index-only scan of ``ix_results_to_review``."""
    inner = sa.select(Result.id).where(*conditions(flt)).limit(cap + 1).subquery()
    return int(session.scalar(sa.select(sa.func.count()).select_from(inner)) or 0)
