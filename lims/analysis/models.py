"""Analytical runs and results: method versions, reagent lots, runs with their samples, results.

A reading is not a result: a run turns instrument readings (plate absorbances, titrant volumes)
into results through a standard curve or a formula, judged by its controls; a result is released
only when a second person verifies it. Every table here is append-mostly: runs change status,
results never change their value (an amendment is a new row).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.analysis.methods import MethodVersion as MethodDefinition
from lims.auth.models import User
from lims.capture.models import Instrument, InstrumentReading
from lims.core.models import Base, format_repr, intpk, str_enum
from lims.samples.models import Sample


class MethodVersionRow(Base):
    """One frozen version of a method; ``definition`` is ``MethodVersion.to_dict()``.

    A new version is a new row (admins add them); results keep the id of the version they were
    computed with, so a change never rewrites how an old result was obtained.
    """

    __tablename__ = "method_versions"
    __table_args__ = (sa.UniqueConstraint("code", "version"),)

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(32))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    matrix: Mapped[str] = mapped_column(sa.String(16))
    definition: Mapped[dict[str, Any]]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(sa.Text)

    @property
    def method(self) -> MethodDefinition:
        return MethodDefinition.from_dict(self.definition)

    @property
    def key(self) -> str:
        return f"{self.code}@v{self.version}"

    def __repr__(self) -> str:
        return format_repr(self, "id", "code", "version")


class ReagentLot(Base):
    """A titrant lot with its standardised molarity (domain.md §3.1: never the nominal 0.005)."""

    __tablename__ = "reagent_lots"
    __table_args__ = (sa.UniqueConstraint("reagent", "lot_number"),)

    id: Mapped[intpk]
    reagent: Mapped[str] = mapped_column(sa.String(64))  # "thiosulfate"
    lot_number: Mapped[str] = mapped_column(sa.String(64))
    molarity: Mapped[float | None] = mapped_column(sa.Double)
    standardised_at: Mapped[datetime | None]
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    def __repr__(self) -> str:
        return format_repr(self, "id", "reagent", "lot_number")


class RunStatus(enum.StrEnum):
    OPEN = "open"  # layout made, samples placed; waiting for the measurement
    MEASURED = "measured"  # plate attached or values entered
    CALCULATED = "calculated"  # curve fitted, results computed, QC evaluated
    ACCEPTED = "accepted"  # results released for review
    REJECTED = "rejected"  # results held; samples go back to the worklist


class AnalyticalRun(Base):
    """A plate or batch: the calibration and controls that all its samples' results depend on.

    ``layout`` is ``PlateLayout.to_dict()`` for plate methods (or the sample list for batch
    methods); ``curve`` is ``CalibrationCurve.to_dict()`` plus the acceptance verdict; ``qc``
    holds the Westgard evaluation. Who did what is kept for the four-eyes rule: the reviewer
    may be neither ``created_by`` nor ``measured_by``.
    """

    __tablename__ = "analytical_runs"
    __table_args__ = (
        sa.Index("ix_analytical_runs_status_id", "status", "id"),
        sa.Index("ix_analytical_runs_created", "created_at", "id"),
        sa.Index("ix_analytical_runs_status_created", "status", "created_at", "id"),
        # the home dashboard's QC alerts: runs calculated in the last days
        sa.Index("ix_analytical_runs_calculated_at", "calculated_at"),
        sa.CheckConstraint("status <> 'rejected' OR decision_reason IS NOT NULL",
                           name="rejected_has_reason"),
        sa.CheckConstraint("NOT overridden OR qc_override_reason IS NOT NULL",
                           name="override_has_reason"),
    )

    id: Mapped[intpk]
    method_version_id: Mapped[int] = mapped_column(sa.ForeignKey("method_versions.id"))
    instrument_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instruments.id"))
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus, "run_status"),
                                              default=RunStatus.OPEN)
    calibration_model: Mapped[str | None] = mapped_column(sa.String(16))
    reagent_lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("reagent_lots.id"))
    layout: Mapped[dict[str, Any]] = mapped_column(default=dict)
    reading_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instrument_readings.id"),
                                                   unique=True)
    #: Values typed in for batch (non-plate) methods: {"samples": {...}, "controls": {...}}.
    entries: Mapped[dict[str, Any]] = mapped_column(default=dict)
    curve: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    curve_accepted: Mapped[bool | None]
    qc: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    qc_accepted: Mapped[bool | None]
    problems: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    measured_at: Mapped[datetime | None]
    measured_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    calculated_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decision_reason: Mapped[str | None] = mapped_column(sa.Text)
    overridden: Mapped[bool] = mapped_column(default=False)
    qc_override_reason: Mapped[str | None] = mapped_column(sa.Text)

    method_version: Mapped[MethodVersionRow] = relationship()
    instrument: Mapped[Instrument | None] = relationship()
    reagent_lot: Mapped[ReagentLot | None] = relationship()
    reading: Mapped[InstrumentReading | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    measured_by: Mapped[User | None] = relationship(foreign_keys=[measured_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    items: Mapped[list[RunSample]] = relationship(back_populates="run",
                                                  order_by="RunSample.position")

    @property
    def label(self) -> str:
        return f"RUN-{self.id:06d}"

    def __repr__(self) -> str:
        return format_repr(self, "id", "status")


class RunSample(Base):
    """A sample placed on a run (its wells, its dilution, and the result it was a retest of)."""

    __tablename__ = "run_samples"
    __table_args__ = (sa.UniqueConstraint("run_id", "sample_id"),
                      sa.Index("ix_run_samples_sample_id", "sample_id", "id"))

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("analytical_runs.id"))
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("samples.id"))
    position: Mapped[int]
    dilution_factor: Mapped[float] = mapped_column(sa.Double, default=1.0)
    wells: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    retest_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("results.id"))

    run: Mapped[AnalyticalRun] = relationship(back_populates="items")
    sample: Mapped[Sample] = relationship()


#: Current preliminary results: what waits for a reviewer.
TO_REVIEW = "status = 'preliminary' AND is_current"
#: Those with at least one flag (the review queue's first phase).
REVIEW_FLAGGED = f"{TO_REVIEW} AND json_array_length(flags) > 0"


class ResultStatus(enum.StrEnum):
    """Where a result stands. Reports use ``verified`` rows with ``is_current``.

    - ``held``: computed, but its run is not accepted (not yet decided, or rejected by QC).
    - ``preliminary``: the run was accepted; waits for a second person's verification.
    - ``verified``: checked by a reviewer who neither ran the plate nor entered the values.
    - ``repeat``: no reportable value (dilute and repeat, replicate CV, missing reading, sent
      back by a reviewer); the sample goes back to the worklist and the retest links here.
    - ``superseded``: replaced by a newer version (amendment) or by a retest.
    """

    HELD = "held"
    PRELIMINARY = "preliminary"
    VERIFIED = "verified"
    REPEAT = "repeat"
    SUPERSEDED = "superseded"


class Analyte(enum.StrEnum):
    UIC = "uic"
    SALT_IODINE = "salt_iodine"


class Result(Base):
    """One analytical result of one sample — THE table the ministry reports read.

    Contract (issue 5 reads ``analyte, status = 'verified', is_current``):

    - ``analyte``: ``uic`` (µg/L) or ``salt_iodine`` (mg/kg; a rapid test kit is salt_iodine
      with ``category`` set and ``value`` NULL).
    - ``value``: the number, NULL when censored or ordinal. ``comparator`` ``'<'`` with
      ``limit`` = the LOD (already multiplied by the dilution factor) for "< LOD";
      ``'>'`` is reserved for a value above a limit reported as such.
    - ``category``: rapid test kit class ("0", "<15", "≥15"), never a number.
    - ``flags``: JSON list of strings (below LOQ, replicate spread, QC override, …); ``details``
      keeps the inputs (replicate responses, volumes, molarity, masses, dilution).
    - ``version`` / ``supersedes_id``: an amendment is a new row with version + 1 pointing at
      the one it replaces, which becomes ``superseded`` and not current; ``retest_of_id``
      links a retest to the result that asked for it. Exactly one row per (sample, analyte)
      has ``is_current`` true.
    - ``created_by``: who computed or entered the value; ``verified_by``: the second person.
    """

    __tablename__ = "results"
    __table_args__ = (
        sa.Index("ix_results_analyte_status_current", "analyte", "status", "is_current"),
        sa.Index("ix_results_sample_id", "sample_id", "id"),
        sa.Index("ix_results_run_id", "run_id", "id"),
        sa.Index("ix_results_status_id", "status", "id"),
        sa.Index("ix_results_created", "created_at", "id"),
        sa.Index("ix_results_status_created", "status", "created_at", "id"),
        # the results to review, and who entered them on which run: the review queue's and the
        # dashboard's counts (four eyes: "mine to verify") read this index alone
        sa.Index("ix_results_to_review", "created_by_id", "run_id",
                 postgresql_where=sa.text(TO_REVIEW), sqlite_where=sa.text(TO_REVIEW)),
        # the review queue shows flagged results first: the few among thousands (review_queue.py)
        sa.Index("ix_results_review_flagged", "id", postgresql_where=sa.text(REVIEW_FLAGGED),
                 sqlite_where=sa.text(REVIEW_FLAGGED)),
        # the home dashboard: a technician's results sent back for a retest
        sa.Index("ix_results_created_by_status", "created_by_id", "status"),
        # the last line behind the row locks: one current version per sample and analyte
        sa.Index("uq_results_one_current", "sample_id", "analyte", unique=True,
                 postgresql_where=sa.text("is_current"), sqlite_where=sa.text("is_current")),
        sa.CheckConstraint("comparator IS NULL OR comparator IN ('<', '>')", name="comparator"),
        sa.CheckConstraint("status <> 'verified' OR verified_by_id IS NOT NULL",
                           name="verified_has_verifier"),
        sa.CheckConstraint("version = 1 OR amendment_reason IS NOT NULL",
                           name="amendment_has_reason"),
    )

    id: Mapped[intpk]
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("samples.id"))
    analyte: Mapped[Analyte] = mapped_column(str_enum(Analyte, "result_analyte"))
    method_version_id: Mapped[int] = mapped_column(sa.ForeignKey("method_versions.id"))
    run_id: Mapped[int | None] = mapped_column(sa.ForeignKey("analytical_runs.id"))
    version: Mapped[int] = mapped_column(default=1)
    supersedes_id: Mapped[int | None] = mapped_column(sa.ForeignKey("results.id"))
    retest_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("results.id"))
    is_current: Mapped[bool] = mapped_column(default=True)
    status: Mapped[ResultStatus] = mapped_column(str_enum(ResultStatus, "result_status"))
    value: Mapped[float | None] = mapped_column(sa.Double)
    comparator: Mapped[str | None] = mapped_column(sa.String(1))
    limit: Mapped[float | None] = mapped_column(sa.Double)
    category: Mapped[str | None] = mapped_column(sa.String(16))
    unit: Mapped[str] = mapped_column(sa.String(16))
    flags: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    amendment_reason: Mapped[str | None] = mapped_column(sa.Text)

    sample: Mapped[Sample] = relationship()
    method_version: Mapped[MethodVersionRow] = relationship()
    run: Mapped[AnalyticalRun | None] = relationship()
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id])
    verified_by: Mapped[User | None] = relationship(foreign_keys=[verified_by_id])

    @property
    def display(self) -> str:
        """The value as a report shows it: "< 14", "152.3", "≥15", or the instruction."""
        if self.category is not None:
            return self.category
        if self.comparator and self.limit is not None:
            return f"{self.comparator} {self.limit:g}"
        if self.value is not None:
            return f"{self.value:.1f}"
        return "—"

    def __repr__(self) -> str:
        return format_repr(self, "id", "analyte", "status", "value")
