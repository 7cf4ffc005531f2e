"""Read-side queries of the analysis pages, keyset-paged for a million samples.

The worklist has two parts: retests (samples whose current result asks for a repeat or was held
by a rejected run, and that are on no open run) — few, found through the results index — and
received samples of the method's kind, priority first, oldest receipt first, read by keyset over
``ix_samples_worklist`` (kind, status, priority, received_at, id). Nothing counts a whole table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, aliased, selectinload

from lims.analysis.labels import analysis_label
from lims.analysis.models import (
    AnalyticalRun,
    Analyte,
    MethodVersionRow,
    Result,
    ResultStatus,
    RunSample,
    RunStatus,
)
from lims.auth.models import User
from lims.capture.models import Instrument
from lims.core.listing import (
    Column,
    Filter,
    ListSpec,
    choice_parser,
    date_range_filters,
    enum_parser,
    id_parser,
)
from lims.extensions import db
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


# -- the lists of runs and results (lims.core.listing) ------------------------------------------

def run_label(run_id: int) -> str:
    return f"RUN-{run_id:06d}"


def _analysis_choices(enum_cls: type[RunStatus] | type[ResultStatus] | type[Analyte]
                      ) -> Callable[[], list[tuple[str, str]]]:
    return lambda: [(m.value, analysis_label(m)) for m in enum_cls]


def _method_codes() -> list[str]:
    return list(db.session.scalars(sa.select(MethodVersionRow.code).distinct()
                                   .order_by(MethodVersionRow.code)))


def _method_choices() -> list[tuple[str, str]]:
    return [(code, code) for code in _method_codes()]


def _method_parser(raw: str) -> str:
    return choice_parser(_method_codes())(raw)


def _instrument_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(sa.select(Instrument.id, Instrument.code).order_by(Instrument.code))
    return [(str(i), code) for i, code in rows]


def _method_of(column: sa.ColumnElement[int]) -> Callable[[str], sa.ColumnElement[bool]]:
    """A method filter as a subquery on the main table (the count reads no join)."""
    return lambda code: column.in_(sa.select(MethodVersionRow.id)
                                   .where(MethodVersionRow.code == code))


_RUN_BY = aliased(User, name="run_by")
_RUN_METHOD = aliased(MethodVersionRow, name="run_method")

RUN_LIST = ListSpec(
    name="runs",
    title=_l("Analytical runs"),
    source=AnalyticalRun,
    id=AnalyticalRun.id,
    columns=(
        Column("run", _l("Run"), AnalyticalRun.id, kind="int", sortable=True, unique=True,
               display=run_label),
        Column("method", _l("Method"), _RUN_METHOD.code),
        Column("method_version", _l("Method version"), _RUN_METHOD.version, kind="int"),
        Column("instrument", _l("Instrument"), Instrument.code),
        Column("status", _l("Status"), AnalyticalRun.status, display=analysis_label),
        Column("created", _l("Created"), AnalyticalRun.created_at, kind="datetime",
               sortable=True),
        Column("created_by", _l("By"), _RUN_BY.username),
        Column("curve_accepted", _l("Curve accepted"), AnalyticalRun.curve_accepted,
               kind="bool"),
        Column("qc_accepted", _l("QC accepted"), AnalyticalRun.qc_accepted, kind="bool"),
        Column("overridden", _l("QC overridden"), AnalyticalRun.overridden, kind="bool"),
        Column("decided", _l("Decided"), AnalyticalRun.decided_at, kind="datetime"),
    ),
    filters=(
        Filter("status", _l("Status"), enum_parser(RunStatus),
               lambda v: AnalyticalRun.status == v, choices=_analysis_choices(RunStatus)),
        Filter("method", _l("Method"), _method_parser,
               _method_of(AnalyticalRun.method_version_id), choices=_method_choices),
        Filter("instrument", _l("Instrument"), id_parser,
               lambda v: AnalyticalRun.instrument_id == v, choices=_instrument_choices),
        *date_range_filters(AnalyticalRun.created_at, "created", _l("Created from"),
                            _l("Created to")),
    ),
    default_sort="-created",
    joins=lambda stmt: (stmt.join(_RUN_METHOD, _RUN_METHOD.id == AnalyticalRun.method_version_id)
                        .join(_RUN_BY, _RUN_BY.id == AnalyticalRun.created_by_id)
                        .outerjoin(Instrument, Instrument.id == AnalyticalRun.instrument_id)),
)


_ENTERED_BY = aliased(User, name="entered_by")
_VERIFIED_BY = aliased(User, name="verified_by")
_RESULT_METHOD = aliased(MethodVersionRow, name="result_method")


def _flags_text(flags: list[str] | None) -> str:
    return "; ".join(analysis_label(f) for f in flags or [])


RESULT_LIST = ListSpec(
    name="results",
    title=_l("Results"),
    source=Result,
    id=Result.id,
    columns=(
        Column("accession", _l("Sample"), Sample.accession),
        Column("analyte", _l("Analyte"), Result.analyte, display=analysis_label),
        Column("comparator", _l("Comparator"), Result.comparator),
        Column("value", _l("Value"), Result.value, kind="number", digits=1),
        Column("limit", _l("Limit"), Result.limit, kind="number", digits=1),
        Column("category", _l("Category"), Result.category),
        Column("unit", _l("Unit"), Result.unit),
        Column("status", _l("Status"), Result.status, display=analysis_label),
        Column("version", _l("Version"), Result.version, kind="int"),
        Column("flags", _l("Flags"), Result.flags, display=_flags_text),
        Column("method", _l("Method"), _RESULT_METHOD.code),
        Column("run", _l("Run"), Result.run_id, display=run_label),
        Column("entered", _l("Entered"), Result.created_at, kind="datetime", sortable=True),
        Column("entered_by", _l("Entered by"), _ENTERED_BY.username),
        Column("verified", _l("Verified"), Result.verified_at, kind="datetime"),
        Column("verified_by", _l("Verified by"), _VERIFIED_BY.username),
    ),
    filters=(
        Filter("status", _l("Status"), enum_parser(ResultStatus),
               lambda v: Result.status == v, choices=_analysis_choices(ResultStatus)),
        Filter("analyte", _l("Analyte"), enum_parser(Analyte), lambda v: Result.analyte == v,
               choices=_analysis_choices(Analyte)),
        Filter("method", _l("Method"), _method_parser, _method_of(Result.method_version_id),
               choices=_method_choices),
        Filter("run", _l("Run"), id_parser, lambda v: Result.run_id == v, kind="hidden"),
        *date_range_filters(Result.created_at, "entered", _l("Entered from"),
                            _l("Entered to")),
    ),
    default_sort="-entered",
    joins=lambda stmt: (stmt.join(Sample, Sample.id == Result.sample_id)
                        .join(_RESULT_METHOD, _RESULT_METHOD.id == Result.method_version_id)
                        .join(_ENTERED_BY, _ENTERED_BY.id == Result.created_by_id)
                        .outerjoin(_VERIFIED_BY, _VERIFIED_BY.id == Result.verified_by_id)),
)
