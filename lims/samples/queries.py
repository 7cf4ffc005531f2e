"""Read-side queries for the sample pages, shaped for a million rows.

The sample list is declared once (``SAMPLE_LIST``) for the list machinery of ``lims.core.listing``:
sorted on the server by registration time (newest first, the default), collection time or
accession, each over an index ``(key, id)`` of migration 0016, and cut by keyset. The status and
region filters have the index ``(region_id, status, registered_at, id)`` / ``(status,
registered_at, id)`` in front of the default order, so a filtered first page is one short index
scan. An accession prefix search is read by accession (highest first): one backward range scan
of the unique index that stops after a page, however many accessions share the prefix.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from lims.core.listing import (
    Column,
    Filter,
    ListQuery,
    ListSpec,
    date_range_filters,
    enum_choices,
    enum_parser,
    id_parser,
)
from lims.extensions import db
from lims.monitoring.models import Cluster, Participant, Region, SurveyRound
from lims.samples.accession import normalise_query, prefix_upper_bound
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import ReceiptDecision, RejectionReason, Sample, SampleKind, SampleReceipt


def _region_choices() -> list[tuple[str, str]]:
    locale = str(get_locale() or "en")
    regions = sorted(db.session.scalars(sa.select(Region)), key=lambda r: r.name(locale))
    return [(str(r.id), r.name(locale)) for r in regions]


def _round_choices() -> list[tuple[str, str]]:
    rounds = db.session.scalars(sa.select(SurveyRound).order_by(SurveyRound.id.desc()))
    return [(str(r.id), f"{r.code} · {r.name}") for r in rounds]


def _prefix(raw: str) -> str:
    text = normalise_query(raw)
    if not text:
        raise ValueError(_l("type an accession or its beginning."))
    return text


def _accession_range(prefix: str) -> list[sa.ColumnElement[bool]]:
    return [Sample.accession >= prefix, Sample.accession < prefix_upper_bound(prefix)]


def _region_name(locale: str) -> sa.ColumnElement[str]:
    return {"kk": Region.name_kk, "ru": Region.name_ru}.get(locale, Region.name_en)


SAMPLE_LIST = ListSpec(
    name="samples",
    title=_l("Samples"),
    source=Sample,
    id=Sample.id,
    columns=(
        Column("accession", _l("Accession"), Sample.accession, sortable=True, unique=True),
        Column("kind", _l("Kind"), Sample.kind, kind="label"),
        Column("status", _l("Status"), Sample.status, kind="label"),
        Column("region", _l("Region"), _region_name),
        Column("round", _l("Round"), SurveyRound.code),
        Column("cluster", _l("Cluster"), Cluster.code),
        Column("participant", _l("Participant"), Participant.code),
        Column("collected", _l("Collected"), Sample.collected_at, kind="datetime",
               sortable=True),
        Column("registered", _l("Registered"), Sample.registered_at, kind="datetime",
               sortable=True),
        Column("received", _l("Received"), Sample.received_at, kind="datetime"),
    ),
    filters=(
        Filter("q", _l("Accession"), _prefix, _accession_range, kind="text",
               prefers_sort="-accession"),
        Filter("kind", _l("Kind"), enum_parser(SampleKind), lambda v: Sample.kind == v,
               choices=enum_choices(SampleKind)),
        Filter("status", _l("Status"), enum_parser(SampleStatus), lambda v: Sample.status == v,
               choices=enum_choices(SampleStatus)),
        Filter("region", _l("Region"), id_parser, lambda v: Sample.region_id == v,
               choices=_region_choices),
        Filter("round", _l("Survey round"), id_parser, lambda v: Sample.round_id == v,
               choices=_round_choices),
        *date_range_filters(Sample.collected_at, "collected", _l("Collected from"),
                            _l("Collected to")),
        *date_range_filters(Sample.registered_at, "registered", _l("Registered from"),
                            _l("Registered to")),
    ),
    default_sort="-registered",
    joins=lambda stmt: (stmt.join(Region, Region.id == Sample.region_id)
                        .join(SurveyRound, SurveyRound.id == Sample.round_id)
                        .join(Cluster, Cluster.id == Sample.cluster_id)
                        .outerjoin(Participant, Participant.id == Sample.participant_id)),
)


def rejection_counts(session: Session, query: ListQuery) -> dict[RejectionReason, int]:
    """Rejected samples by reason under the list's filters (with the status filter on
    ``rejected``). Bounded by the rejected samples (the (…, status, …) indexes find them),
    never a count over the whole table."""
    stmt = (
        sa.select(SampleReceipt.rejection_reason, sa.func.count())
        .join(Sample, Sample.id == SampleReceipt.sample_id)
        .where(SampleReceipt.decision == ReceiptDecision.REJECTED, ~SampleReceipt.superseded,
               *query.conditions())
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
