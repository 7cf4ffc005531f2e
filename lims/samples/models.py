from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.auth.models import User
from lims.core.models import Base, format_repr, intpk, str_enum
from lims.monitoring.models import Cluster, Household, Participant, Region, SurveyRound
from lims.samples.lifecycle import SampleStatus


class SampleKind(enum.StrEnum):
    URINE = "urine"
    SALT = "salt"


class UrineContainer(enum.StrEnum):
    SCREW_CAP_TUBE = "screw_cap_tube"
    CRYOVIAL = "cryovial"
    URINE_CUP = "urine_cup"


class SaltSource(enum.StrEnum):
    HOUSEHOLD = "household"
    RETAIL = "retail"
    PRODUCTION = "production"


class SaltPackaging(enum.StrEnum):
    SEALED_PLASTIC = "sealed_plastic"
    OPEN_PLASTIC = "open_plastic"
    PAPER = "paper"
    BULK = "bulk"
    OTHER = "other"


class RejectionReason(enum.StrEnum):
    INSUFFICIENT_VOLUME = "insufficient_volume"
    LEAKING = "leaking"
    UNLABELLED = "unlabelled"
    TOO_OLD = "too_old"
    CONTAMINATED = "contaminated"
    #: the shipment's temperature logger recorded an excursion (lims.logistics.shipments)
    COLD_CHAIN = "cold_chain"
    OTHER = "other"


class ReceiptDecision(enum.StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


# Accessions are compared byte-wise so a prefix search is an index range scan on both backends.
ACCESSION_TYPE = sa.String(20).with_variant(sa.String(20, collation="C"), "postgresql")


#: The samples the disposal list may offer: received, not disposed of, with no work left to do. Written out, as
#: the disposal query spells it, so that the planner matches it to ``ix_samples_disposable``.
DISPOSABLE_STATUSES = (SampleStatus.VERIFIED, SampleStatus.REPORTED, SampleStatus.REJECTED,
                       SampleStatus.CANCELLED)
DISPOSABLE_WHERE = ("received_at IS NOT NULL AND disposed_at IS NULL AND status IN ("
                    + ", ".join(f"'{s.value}'" for s in DISPOSABLE_STATUSES) + ")")


class Sample(Base):
    """A urine or salt sample. Kind-specific columns are nullable; CHECK constraints keep each
    kind's required fields present. ``region_id`` and ``round_id`` are copied from the cluster
    at intake so the list pages filter on one indexed table at any size."""

    __tablename__ = "samples"
    __table_args__ = (
        sa.Index("ix_samples_region_status_id", "region_id", "status", "id"),
        sa.Index("ix_samples_status_id", "status", "id"),
        sa.Index("ix_samples_round_status_id", "round_id", "status", "id"),
        sa.Index("ix_samples_kind_status_id", "kind", "status", "id"),
        # the analysis worklist: received samples of a kind, priority first, oldest first
        sa.Index("ix_samples_worklist", "kind", "status", "priority", "received_at", "id"),
        # the sample list's sort keys, and its usual filters in front of the default order
        sa.Index("ix_samples_registered", "registered_at", "id"),
        sa.Index("ix_samples_collected", "collected_at", "id"),
        sa.Index("ix_samples_status_registered", "status", "registered_at", "id"),
        sa.Index("ix_samples_status_collected", "status", "collected_at", "id"),
        sa.Index("ix_samples_region_status_registered", "region_id", "status", "registered_at",
                 "id"),
        # the dashboard's survey progress: a round's urine samples, counted from the index
        sa.Index("ix_samples_round_kind_status", "round_id", "kind", "status"),
        # the disposal list (lims.logistics.disposal): received samples with no work left, not
        # disposed of, oldest collection first, a range scan up to the retention cut-off
        sa.Index("ix_samples_disposable", "collected_at", "id",
                 postgresql_where=sa.text(DISPOSABLE_WHERE), sqlite_where=sa.text(DISPOSABLE_WHERE)),
        sa.CheckConstraint(
            "kind <> 'urine' OR (volume_ml IS NOT NULL AND container IS NOT NULL"
            " AND participant_id IS NOT NULL)",
            name="urine_fields",
        ),
        sa.CheckConstraint("kind <> 'salt' OR salt_source IS NOT NULL", name="salt_fields"),
        sa.CheckConstraint("volume_ml IS NULL OR volume_ml >= 0", name="volume_not_negative"),
    )

    id: Mapped[intpk]
    accession: Mapped[str] = mapped_column(ACCESSION_TYPE, unique=True)
    kind: Mapped[SampleKind] = mapped_column(str_enum(SampleKind, "sample_kind"))
    status: Mapped[SampleStatus] = mapped_column(
        str_enum(SampleStatus, "sample_status"), default=SampleStatus.REGISTERED
    )
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_rounds.id"))
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id"), index=True)
    region_id: Mapped[int] = mapped_column(sa.ForeignKey("regions.id"))
    household_id: Mapped[int | None] = mapped_column(sa.ForeignKey("households.id"), index=True)
    participant_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("participants.id"), index=True
    )
    collected_at: Mapped[datetime]
    registered_at: Mapped[datetime]
    registered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    received_at: Mapped[datetime | None]
    #: When the sample was disposed of; who, the witness and why are its ``SampleDisposal``
    #: (lims.logistics). Kept on the sample too so that ``ix_samples_disposable`` leaves the
    #: disposed out: after years of disposals the list would otherwise walk past them all.
    disposed_at: Mapped[datetime | None]
    intake_batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("intake_batches.id"),
                                                        index=True)
    notes: Mapped[str | None] = mapped_column(sa.Text)
    #: Higher is analysed sooner (the worklist orders by priority, then receipt time).
    priority: Mapped[int] = mapped_column(sa.SmallInteger, default=0, server_default="0")

    # urine
    volume_ml: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 2))
    container: Mapped[UrineContainer | None] = mapped_column(
        str_enum(UrineContainer, "urine_container")
    )
    # salt
    salt_source: Mapped[SaltSource | None] = mapped_column(str_enum(SaltSource, "salt_source"))
    brand: Mapped[str | None] = mapped_column(sa.String(120))
    packaging: Mapped[SaltPackaging | None] = mapped_column(
        str_enum(SaltPackaging, "salt_packaging")
    )
    iodized_per_label: Mapped[bool | None]

    round: Mapped[SurveyRound] = relationship()
    cluster: Mapped[Cluster] = relationship()
    region: Mapped[Region] = relationship()
    household: Mapped[Household | None] = relationship()
    participant: Mapped[Participant | None] = relationship()
    registered_by: Mapped[User | None] = relationship(foreign_keys=[registered_by_id])
    receipts: Mapped[list[SampleReceipt]] = relationship(
        back_populates="sample", order_by="SampleReceipt.id"
    )

    def __repr__(self) -> str:
        return format_repr(self, "id", "accession", "status")


class SampleReceipt(Base):
    """What the lab saw when the sample arrived, and whether it was accepted.

    A sample is accepted once and rejected once at most (a rejection may follow an acceptance,
    e.g. contamination found later): the database refuses a second receipt of the same decision.
    ``superseded`` marks a duplicate that concurrent clicks stored before that rule existed
    (kept for the record, repaired by migration 0007)."""

    __tablename__ = "sample_receipts"
    __table_args__ = (
        sa.CheckConstraint(
            "decision <> 'rejected' OR rejection_reason IS NOT NULL", name="rejection_has_reason"
        ),
        sa.Index("uq_sample_receipts_one_decision", "sample_id", "decision", unique=True,
                 postgresql_where=sa.text("NOT superseded"), sqlite_where=sa.text("NOT superseded")),
        # the rejection-reason summary of a filtered sample list (migration 0022)
        sa.Index("ix_sample_receipts_rejected", "sample_id",
                 postgresql_include=["rejection_reason"],
                 postgresql_where=sa.text("decision = 'rejected' AND NOT superseded"),
                 sqlite_where=sa.text("decision = 'rejected' AND NOT superseded")),
    )

    id: Mapped[intpk]
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("samples.id"), index=True)
    received_at: Mapped[datetime]
    received_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    temperature_c: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 1))
    volume_ml: Mapped[Decimal | None] = mapped_column(sa.Numeric(7, 2))
    container_intact: Mapped[bool | None]
    decision: Mapped[ReceiptDecision] = mapped_column(str_enum(ReceiptDecision, "receipt_decision"))
    rejection_reason: Mapped[RejectionReason | None] = mapped_column(
        str_enum(RejectionReason, "rejection_reason")
    )
    note: Mapped[str | None] = mapped_column(sa.Text)
    superseded: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    sample: Mapped[Sample] = relationship(back_populates="receipts")
    received_by: Mapped[User] = relationship()


class AccessionCounter(Base):
    """The last number issued per kind and year. Incremented with a single UPDATE … RETURNING,
    which takes a row lock, so concurrent intakes on PostgreSQL never get the same number."""

    __tablename__ = "accession_counters"

    kind: Mapped[SampleKind] = mapped_column(str_enum(SampleKind, "sample_kind"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)


class IntakeBatch(Base):
    """One uploaded CSV/XLSX file registered as a whole."""

    __tablename__ = "intake_batches"

    id: Mapped[intpk]
    filename: Mapped[str] = mapped_column(sa.String(255), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[SampleKind] = mapped_column(str_enum(SampleKind, "sample_kind"))
    row_count: Mapped[int]
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
