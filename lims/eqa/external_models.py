"""External schemes our laboratory takes part in (CDC EQUIP for urinary iodine, a salt scheme):
the scheme with its acceptance limits, its rounds, the blind materials received in a round, the
samples that carry each material through our runs, and the scheme's evaluation of our results.

Why a link table and not a flag on ``samples``: a blind material is registered and received like
any sample so it goes through the ordinary worklist, runs and verification, and the samples
table stays as every other room knows it; the monitoring report leaves out exactly the samples
listed in ``eqa_external_material_samples`` (``lims.reporting.data``).

EQUIP asks for each unknown in duplicate on three different days: each material has one sample
per day (``day`` 1…``days``), and each sample's verified result keeps its duplicate values
(``details["replicates"]``), so the six values come from stored results, never retyped.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.auth.models import User
from lims.core.models import Base, format_repr, intpk, str_enum
from lims.monitoring.models import Cluster, PopulationGroup


class ExternalMeasurand(enum.StrEnum):
    UIC = "uic"
    SALT_IODINE = "salt_iodine"


class ExternalRoundStatus(enum.StrEnum):
    OPEN = "open"            # materials received, being analysed
    SUBMITTED = "submitted"  # our results sent to the scheme
    EVALUATED = "evaluated"  # the scheme's targets returned for every material


class ExternalScheme(Base):
    """A scheme we take part in. The acceptance limit is configuration (EQUIP's criterion is not
    published): ``limit_percent`` of the target, or ``limit_absolute`` below ``absolute_below``
    (everywhere if that is empty); ``limit_note`` says where the figures come from.
    ``cluster_id`` (and for urine ``population_group_id``) is where its blind materials are
    registered as samples: a cluster of a survey round the laboratory keeps for QA materials."""

    __tablename__ = "eqa_external_schemes"
    __table_args__ = (
        sa.CheckConstraint("limit_percent IS NOT NULL OR limit_absolute IS NOT NULL",
                           name="has_a_limit"),
        sa.CheckConstraint("(limit_percent IS NULL OR limit_percent > 0) AND "
                           "(limit_absolute IS NULL OR limit_absolute > 0)",
                           name="limits_positive"),
        sa.CheckConstraint("days BETWEEN 1 AND 10", name="days_range"),
        sa.CheckConstraint("measurand <> 'uic' OR population_group_id IS NOT NULL",
                           name="urine_has_group"),
    )

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    provider: Mapped[str] = mapped_column(sa.String(200))
    measurand: Mapped[ExternalMeasurand] = mapped_column(
        str_enum(ExternalMeasurand, "eqa_external_measurand"))
    limit_percent: Mapped[float | None] = mapped_column(sa.Double)
    limit_absolute: Mapped[float | None] = mapped_column(sa.Double)
    absolute_below: Mapped[float | None] = mapped_column(sa.Double)
    limit_note: Mapped[str] = mapped_column(sa.Text, default="")
    #: Analysis days per material (EQUIP: three, each in duplicate).
    days: Mapped[int] = mapped_column(default=3)
    cluster_id: Mapped[int] = mapped_column(sa.ForeignKey("clusters.id"))
    population_group_id: Mapped[int | None] = mapped_column(sa.ForeignKey("population_groups.id"))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    cluster: Mapped[Cluster] = relationship()
    population_group: Mapped[PopulationGroup | None] = relationship()

    @property
    def unit(self) -> str:
        return "µg/L" if self.measurand is ExternalMeasurand.UIC else "mg/kg"

    def __repr__(self) -> str:
        return format_repr(self, "id", "code")


class ExternalRound(Base):
    """One round of a scheme. ``submission`` is what we sent (per material: the values, mean,
    SD), frozen at submission with who and when."""

    __tablename__ = "eqa_external_rounds"
    __table_args__ = (
        sa.UniqueConstraint("scheme_id", "code"),
        sa.CheckConstraint("deadline >= received_on", name="deadline_after_receipt"),
        sa.CheckConstraint("status = 'open' OR (submitted_at IS NOT NULL AND "
                           "submitted_by_id IS NOT NULL)", name="submitted_has_who"),
        # the dashboard: open rounds by deadline; the annex: a scheme's rounds by receipt date
        sa.Index("ix_eqa_external_rounds_status_deadline", "status", "deadline"),
        sa.Index("ix_eqa_external_rounds_scheme_received", "scheme_id", "received_on"),
    )

    id: Mapped[intpk]
    scheme_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_external_schemes.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    received_on: Mapped[date]
    deadline: Mapped[date]
    status: Mapped[ExternalRoundStatus] = mapped_column(
        str_enum(ExternalRoundStatus, "eqa_external_round_status"),
        default=ExternalRoundStatus.OPEN)
    submission: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    scheme: Mapped[ExternalScheme] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    materials: Mapped[list[ExternalMaterial]] = relationship(
        back_populates="round", order_by="ExternalMaterial.code")

    def __repr__(self) -> str:
        return format_repr(self, "id", "code", "status")


class ExternalMaterial(Base):
    """A blind material of a round, as the scheme labels it."""

    __tablename__ = "eqa_external_materials"
    __table_args__ = (sa.UniqueConstraint("round_id", "code"),)

    id: Mapped[intpk]
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_external_rounds.id"))
    code: Mapped[str] = mapped_column(sa.String(32))
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    round: Mapped[ExternalRound] = relationship(back_populates="materials")
    samples: Mapped[list[ExternalMaterialSample]] = relationship(
        order_by="ExternalMaterialSample.day")

    def __repr__(self) -> str:
        return format_repr(self, "id", "round_id", "code")


class ExternalMaterialSample(Base):
    """The sample that carries a material through our runs on one analysis day."""

    __tablename__ = "eqa_external_material_samples"
    __table_args__ = (sa.UniqueConstraint("material_id", "day"),)

    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("samples.id"), primary_key=True)
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_external_materials.id"))
    day: Mapped[int]

    def __repr__(self) -> str:
        return format_repr(self, "sample_id", "material_id", "day")


class ExternalEvaluation(Base):
    """The scheme's target for a material and our verdict against the configured limit, as
    computed when recorded (the limit used is kept: a later change of configuration does not
    rewrite a past verdict). A correction is a new row with a reason; one row is current."""

    __tablename__ = "eqa_external_evaluations"
    __table_args__ = (
        sa.Index("uq_eqa_external_evaluations_current", "material_id", unique=True,
                 postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current")),
        sa.CheckConstraint("version = 1 OR reason IS NOT NULL", name="correction_has_reason"),
        sa.CheckConstraint("allowed > 0", name="allowed_positive"),
    )

    id: Mapped[intpk]
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("eqa_external_materials.id"),
                                             index=True)
    version: Mapped[int] = mapped_column(default=1)
    is_current: Mapped[bool] = mapped_column(default=True)
    target: Mapped[float] = mapped_column(sa.Double)
    our_mean: Mapped[float] = mapped_column(sa.Double)
    n: Mapped[int]
    allowed: Mapped[float] = mapped_column(sa.Double)
    within_limits: Mapped[bool]
    #: What the scheme's own report says (e.g. "acceptable"), when it gives a verdict.
    scheme_verdict: Mapped[str] = mapped_column(sa.String(200), default="")
    reason: Mapped[str | None] = mapped_column(sa.Text)
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    recorded_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "material_id", "version", "within_limits")
