"""Shipments from the field and their manifests.

A shipment is a courier's consignment of boxes from one region (or one cluster team) in one
survey round. Its manifest says which samples should be in it (``ShipmentItem`` rows with
``expected``); the receipt desk scans what arrived, and a sample that was not on the manifest
but is received from the box becomes an item with ``expected`` false. Closing the shipment
writes its discrepancies (missing, extra, damaged) as rows of their own and freezes it.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.auth.models import User
from lims.core.models import Base, format_repr, intpk, str_enum
from lims.monitoring.models import Cluster, Region, SurveyRound
from lims.samples.models import Sample


class ShipmentStatus(enum.StrEnum):
    IN_TRANSIT = "in_transit"  # announced, nothing scanned yet
    RECEIVING = "receiving"  # the desk has scanned at least one sample
    CLOSED = "closed"  # discrepancies recorded; frozen


OPEN_STATUSES = (ShipmentStatus.IN_TRANSIT, ShipmentStatus.RECEIVING)


class DiscrepancyKind(enum.StrEnum):
    MISSING = "missing"
    EXTRA = "extra"
    DAMAGED = "damaged"


class Shipment(Base):
    __tablename__ = "shipments"
    __table_args__ = (
        sa.CheckConstraint("box_count >= 1", name="has_boxes"),
        sa.CheckConstraint("NOT logger_excursion OR excursion_details IS NOT NULL",
                           name="excursion_described"),
        # the list's default order and its status filter; the dashboard's open shipments
        sa.Index("ix_shipments_created", "created_at", "id"),
        sa.Index("ix_shipments_status_created", "status", "created_at", "id"),
        sa.Index("ix_shipments_dispatched", "dispatched_at", "id"),
        sa.Index("ix_shipments_region_status", "region_id", "status", "id"),
    )

    id: Mapped[intpk]
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_rounds.id"))
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    #: The cluster team that packed it, when one team sends its own boxes.
    cluster_id: Mapped[int | None] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    courier: Mapped[str] = mapped_column(sa.String(120))
    dispatched_at: Mapped[datetime]
    box_count: Mapped[int]
    logger_id: Mapped[str | None] = mapped_column(sa.String(64))
    status: Mapped[ShipmentStatus] = mapped_column(
        str_enum(ShipmentStatus, "shipment_status"), default=ShipmentStatus.IN_TRANSIT)
    #: What the desk measured in the boxes on arrival, and what the logger says of the journey.
    arrival_temperature_c: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 1))
    logger_excursion: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    excursion_details: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    close_note: Mapped[str | None] = mapped_column(sa.Text)

    round: Mapped[SurveyRound] = relationship()
    region: Mapped[Region] = relationship()
    cluster: Mapped[Cluster | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])

    @property
    def reference(self) -> str:
        """How people name it on paper and on the phone with the courier."""
        return f"SHP-{self.id:06d}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def __repr__(self) -> str:
        return format_repr(self, "id", "status")


class ShipmentItem(Base):
    """One sample of a shipment: on the manifest (``expected``) or found in a box (extra).

    ``is_open`` copies whether the shipment is open, so a partial unique index lets a sample be
    in at most one open shipment — the database's guard behind the service's row-named check."""

    __tablename__ = "shipment_items"
    __table_args__ = (
        sa.UniqueConstraint("shipment_id", "sample_id"),
        sa.Index("uq_shipment_items_one_open_shipment", "sample_id", unique=True,
                 postgresql_where=sa.text("is_open"), sqlite_where=sa.text("is_open")),
        sa.Index("ix_shipment_items_shipment_scanned", "shipment_id", "scanned_at"),
        sa.CheckConstraint("box_number IS NULL OR box_number >= 1", name="box_positive"),
        sa.CheckConstraint("expected OR scanned_at IS NOT NULL", name="extra_was_scanned"),
    )

    id: Mapped[intpk]
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id"))
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("samples.id"))
    expected: Mapped[bool]
    is_open: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    #: The box the manifest puts it in (optional), and the box it was scanned from.
    box_number: Mapped[int | None]
    scanned_box: Mapped[int | None]
    scanned_at: Mapped[datetime | None]
    scanned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    shipment: Mapped[Shipment] = relationship()
    sample: Mapped[Sample] = relationship()
    scanned_by: Mapped[User | None] = relationship()


class ShipmentDiscrepancy(Base):
    """What did not match when the shipment was closed, with the reason given."""

    __tablename__ = "shipment_discrepancies"
    __table_args__ = (
        sa.UniqueConstraint("shipment_id", "sample_id", "kind"),
    )

    id: Mapped[intpk]
    shipment_id: Mapped[int] = mapped_column(sa.ForeignKey("shipments.id"), index=True)
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("samples.id"), index=True)
    kind: Mapped[DiscrepancyKind] = mapped_column(str_enum(DiscrepancyKind, "discrepancy_kind"))
    reason: Mapped[str] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    sample: Mapped[Sample] = relationship()
