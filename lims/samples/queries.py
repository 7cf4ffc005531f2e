"""Read-side queries for the sample pages, shaped for a million rows.

Pages are cut by keyset, never by OFFSET, and nothing counts the whole table: a page asks for
one row more than it shows to know whether another page follows. Lists are ordered by ``id``
(newest first) and the filters map onto the composite indexes on ``samples`` ((region_id,
status, id), (status, id), (round_id, status, id), (kind, status, id)). An accession prefix
search is ordered by accession instead (highest first, which for sequential numbers is newest
first): it is then one backward range scan of the unique index that stops after a page, however
many thousands of accessions share the prefix. Ordered by ``id`` it would have to read and sort
every match, or walk the whole primary key.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from lims.core.inputs import query_id
from lims.samples.accession import prefix_upper_bound
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import ReceiptDecision, RejectionReason, Sample, SampleKind, SampleReceipt


@dataclass(frozen=True)
class SampleFilter:
    kind: SampleKind | None = None
    status: SampleStatus | None = None
    region_id: int | None = None
    round_id: int | None = None
    collected_from: datetime | None = None  # inclusive
    collected_to: datetime | None = None  # exclusive
    accession_prefix: str | None = None


Cursor = int | str


@dataclass(frozen=True)
class SamplePage:
    rows: list[Sample]
    has_newer: bool
    has_older: bool
    sort_attr: str = "id"

    @property
    def first_key(self) -> Cursor | None:
        return getattr(self.rows[0], self.sort_attr) if self.rows else None

    @property
    def last_key(self) -> Cursor | None:
        return getattr(self.rows[-1], self.sort_attr) if self.rows else None


def sort_column(flt: SampleFilter) -> sa.orm.InstrumentedAttribute[Cursor]:
    return Sample.accession if flt.accession_prefix else Sample.id  # type: ignore[return-value]


def parse_cursor(flt: SampleFilter, args: Mapping[str, str], name: str) -> Cursor | None:
    """The ``before``/``after`` value ``name`` of a URL, of the type the list is ordered by: an
    accession, or an id (anything but a valid id is a 400 naming the parameter)."""
    raw = args.get(name)
    if not raw:
        return None
    if flt.accession_prefix:
        return raw.strip().upper()
    return query_id(args, name)


def filter_conditions(flt: SampleFilter) -> list[sa.ColumnElement[bool]]:
    conditions: list[sa.ColumnElement[bool]] = []
    if flt.kind is not None:
        conditions.append(Sample.kind == flt.kind)
    if flt.status is not None:
        conditions.append(Sample.status == flt.status)
    if flt.region_id is not None:
        conditions.append(Sample.region_id == flt.region_id)
    if flt.round_id is not None:
        conditions.append(Sample.round_id == flt.round_id)
    if flt.collected_from is not None:
        conditions.append(Sample.collected_at >= flt.collected_from)
    if flt.collected_to is not None:
        conditions.append(Sample.collected_at < flt.collected_to)
    if flt.accession_prefix:
        conditions.append(Sample.accession >= flt.accession_prefix)
        conditions.append(Sample.accession < prefix_upper_bound(flt.accession_prefix))
    return conditions


def sample_list_statement(
    flt: SampleFilter, *, limit: int, before: Cursor | None = None, after: Cursor | None = None
) -> sa.Select[tuple[Sample]]:
    """Newest first, or (with ``after``) the rows just newer than ``after`` oldest first."""
    key = sort_column(flt)
    stmt = sa.select(Sample).where(*filter_conditions(flt))
    if after is not None:
        stmt = stmt.where(key > after).order_by(key.asc())
    else:
        if before is not None:
            stmt = stmt.where(key < before)
        stmt = stmt.order_by(key.desc())
    return stmt.limit(limit)


_LIST_LOADS = (
    selectinload(Sample.region),
    selectinload(Sample.cluster),
    selectinload(Sample.round),
    selectinload(Sample.participant),
)


def list_samples(
    session: Session,
    flt: SampleFilter,
    *,
    page_size: int,
    before: Cursor | None = None,
    after: Cursor | None = None,
) -> SamplePage:
    """One page of samples, with what the list shows (region, cluster, round, participant)
    loaded in a fixed number of queries. A ``newer`` page that is not full means the start of
    the list was reached, so the first page is shown instead: the top is always full."""

    sort_attr = sort_column(flt).key

    def fetch(before_key: Cursor | None, after_key: Cursor | None) -> list[Sample]:
        stmt = sample_list_statement(flt, limit=page_size + 1, before=before_key, after=after_key)
        return list(session.scalars(stmt.options(*_LIST_LOADS)))

    if after is not None:
        rows = fetch(None, after)
        if len(rows) > page_size:
            return SamplePage(rows=rows[:page_size][::-1], has_newer=True, has_older=True,
                              sort_attr=sort_attr)
        before = None
    rows = fetch(before, None)
    return SamplePage(rows=rows[:page_size], has_newer=before is not None,
                      has_older=len(rows) > page_size, sort_attr=sort_attr)


def rejection_counts(session: Session, flt: SampleFilter) -> dict[RejectionReason, int]:
    """Rejected samples by reason under the list's filters. Bounded by the rejected samples
    (the (…, status, id) indexes find them), never a count over the whole table."""
    stmt = (
        sa.select(SampleReceipt.rejection_reason, sa.func.count())
        .join(Sample, Sample.id == SampleReceipt.sample_id)
        .where(
            SampleReceipt.decision == ReceiptDecision.REJECTED, ~SampleReceipt.superseded,
            *filter_conditions(replace(flt, status=SampleStatus.REJECTED)),
        )
        .group_by(SampleReceipt.rejection_reason)
    )
    counts = {reason: int(n) for reason, n in session.execute(stmt) if reason is not None}
    return {reason: counts[reason] for reason in RejectionReason if reason in counts}


def household_samples(session: Session, sample: Sample) -> Sequence[Sample]:
    """The other samples of the same household: the salt sample beside the urine samples."""
    if sample.household_id is None:
        return []
    stmt = (
        sa.select(Sample)
        .where(Sample.household_id == sample.household_id, Sample.id != sample.id)
        .order_by(Sample.id)
        .options(selectinload(Sample.participant))
    )
    return list(session.scalars(stmt))
