"""What the shipment pages read: the list (``lims.core.listing``), a shipment's live tally
(expected / scanned / missing / unexpected) and its manifest and discrepancies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session, selectinload

from lims.core.labels import label
from lims.core.listing import Column, Filter, ListSpec, enum_choices, enum_parser, id_parser
from lims.logistics.shipment_models import (
    OPEN_STATUSES,
    Shipment,
    ShipmentDiscrepancy,
    ShipmentItem,
    ShipmentStatus,
)
from lims.monitoring.models import Cluster, Region
from lims.samples.models import Sample
from lims.samples.queries import _region_choices, _region_name

#: How many accessions each live list sends at most (the counts are always exact).
LIVE_LIST_MAX = 500


SHIPMENT_LIST = ListSpec(
    name="shipments",
    title=_l("Shipments"),
    source=Shipment,
    id=Shipment.id,
    columns=(
        Column("shipment", _l("Shipment"), Shipment.id, kind="int", sortable=True, unique=True,
               display=lambda value: f"SHP-{value:06d}"),
        Column("created", _l("Announced at"), Shipment.created_at, kind="datetime",
               sortable=True),
        Column("dispatched", _l("Dispatched at"), Shipment.dispatched_at, kind="datetime",
               sortable=True),
        Column("region", _l("Region"), _region_name),
        Column("cluster", _l("Cluster"), Cluster.code),
        Column("courier", _l("Courier"), Shipment.courier),
        Column("boxes", _l("Boxes"), Shipment.box_count, kind="int"),
        Column("status", _l("Status"), Shipment.status, kind="label", display=label),
        Column("excursion", _l("Logger excursion"), Shipment.logger_excursion, kind="bool"),
    ),
    filters=(
        Filter("status", _l("Status"), enum_parser(ShipmentStatus),
               lambda v: Shipment.status == v, choices=enum_choices(ShipmentStatus)),
        Filter("region", _l("Region"), id_parser, lambda v: Shipment.region_id == v,
               choices=_region_choices),
    ),
    default_sort="-created",
    joins=lambda stmt: (stmt.join(Region, Region.id == Shipment.region_id)
                        .outerjoin(Cluster, Cluster.id == Shipment.cluster_id)),
)


@dataclass(frozen=True)
class Tally:
    """The live counts of a shipment (``scanned`` counts every sample scanned, extra ones too)
    and (up to `LIVE_LIST_MAX` each) the accessions behind
    the two that need attention."""

    expected: int
    scanned: int
    missing: int
    unexpected: int
    missing_accessions: list[str]
    unexpected_accessions: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"expected": self.expected, "scanned": self.scanned, "missing": self.missing,
                "unexpected": self.unexpected, "missing_accessions": self.missing_accessions,
                "unexpected_accessions": self.unexpected_accessions}


def tally(session: Session, shipment_id: int) -> Tally:
    """Counted in one grouped query over the shipment's items; the two lists in two more."""
    scanned = ShipmentItem.scanned_at.is_not(None)
    row = session.execute(sa.select(
        sa.func.count().filter(ShipmentItem.expected),
        sa.func.count().filter(scanned),
        sa.func.count().filter(ShipmentItem.expected, ~scanned),
        sa.func.count().filter(~ShipmentItem.expected),
    ).where(ShipmentItem.shipment_id == shipment_id)).one()

    def accessions(*where: sa.ColumnElement[bool]) -> list[str]:
        return list(session.scalars(
            sa.select(Sample.accession).join(ShipmentItem, ShipmentItem.sample_id == Sample.id)
            .where(ShipmentItem.shipment_id == shipment_id, *where)
            .order_by(Sample.accession).limit(LIVE_LIST_MAX)))

    return Tally(expected=row[0], scanned=row[1], missing=row[2], unexpected=row[3],
                 missing_accessions=accessions(ShipmentItem.expected, ~scanned),
                 unexpected_accessions=accessions(~ShipmentItem.expected))


def manifest(session: Session, shipment_id: int) -> Sequence[ShipmentItem]:
    """The shipment's items by box, then accession (extra samples last)."""
    return list(session.scalars(
        sa.select(ShipmentItem).join(Sample, Sample.id == ShipmentItem.sample_id)
        .where(ShipmentItem.shipment_id == shipment_id)
        .options(selectinload(ShipmentItem.sample), selectinload(ShipmentItem.scanned_by))
        .order_by(ShipmentItem.expected.desc(), sa.func.coalesce(ShipmentItem.box_number, 0),
                  Sample.accession)))


def discrepancies(session: Session, shipment_id: int) -> Sequence[ShipmentDiscrepancy]:
    return list(session.scalars(
        sa.select(ShipmentDiscrepancy).join(Sample, Sample.id == ShipmentDiscrepancy.sample_id)
        .where(ShipmentDiscrepancy.shipment_id == shipment_id)
        .options(selectinload(ShipmentDiscrepancy.sample))
        .order_by(ShipmentDiscrepancy.kind, Sample.accession)))


def open_shipments(session: Session, limit: int) -> list[Shipment]:
    """Shipments on the way or being received, oldest first (the dashboard's panel)."""
    return list(session.scalars(
        sa.select(Shipment).where(Shipment.status.in_(OPEN_STATUSES))
        .options(selectinload(Shipment.region))
        .order_by(Shipment.created_at, Shipment.id).limit(limit)))
