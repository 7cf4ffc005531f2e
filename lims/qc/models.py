"""Internal QC: control materials, their lots with target mean/SD, and each run's control values.

Targets belong to a lot (a new lot gets its own mean; its SD may be carried over, domain.md
§4.2). Control values are kept per run so the Westgard across-run rules and the Levey-Jennings
chart read the lot's history from one indexed table.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.core.models import Base, format_repr, intpk, str_enum


class TargetSource(enum.StrEnum):
    SET = "set"  # typed in (manufacturer's or a previous lot's values)
    ESTABLISHED = "established"  # computed from this lot's own runs


class ControlMaterial(Base):
    """A control level of a method (e.g. the low urine pool of the S-K methods)."""

    __tablename__ = "control_materials"
    __table_args__ = (sa.UniqueConstraint("method_code", "level"),)

    id: Mapped[intpk]
    method_code: Mapped[str] = mapped_column(sa.String(32))
    level: Mapped[str] = mapped_column(sa.String(16))
    name: Mapped[str] = mapped_column(sa.String(200))
    unit: Mapped[str] = mapped_column(sa.String(16))
    lots: Mapped[list[ControlLot]] = relationship(back_populates="material",
                                                   order_by="ControlLot.id")

    def __repr__(self) -> str:
        return format_repr(self, "id", "method_code", "level")


class ControlLot(Base):
    __tablename__ = "control_lots"
    __table_args__ = (sa.UniqueConstraint("material_id", "lot_number"),)

    id: Mapped[intpk]
    material_id: Mapped[int] = mapped_column(sa.ForeignKey("control_materials.id"))
    lot_number: Mapped[str] = mapped_column(sa.String(64))
    target_mean: Mapped[float | None] = mapped_column(sa.Double)
    target_sd: Mapped[float | None] = mapped_column(sa.Double)
    target_n: Mapped[int | None]
    target_source: Mapped[TargetSource | None] = mapped_column(
        str_enum(TargetSource, "control_target_source"))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    material: Mapped[ControlMaterial] = relationship(back_populates="lots")

    @property
    def has_target(self) -> bool:
        return self.target_mean is not None and self.target_sd is not None and self.target_sd > 0

    def __repr__(self) -> str:
        return format_repr(self, "id", "lot_number")


class ControlResult(Base):
    """One control measurement of one run (replicates are separate rows)."""

    __tablename__ = "control_results"
    __table_args__ = (sa.Index("ix_control_results_lot_id", "lot_id", "run_id", "id"),
                      sa.Index("ix_control_results_run_id", "run_id", "id"))

    id: Mapped[intpk]
    run_id: Mapped[int] = mapped_column(sa.ForeignKey("analytical_runs.id"))
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("control_lots.id"))
    level: Mapped[str] = mapped_column(sa.String(16))
    replicate: Mapped[int] = mapped_column(default=1)
    value: Mapped[float | None] = mapped_column(sa.Double)
    #: False when the run was rejected: the value stays visible but leaves the lot's statistics.
    counts: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]

    lot: Mapped[ControlLot] = relationship()
