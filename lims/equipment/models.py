"""Equipment: the latest health report of each instrument's driver, and equipment records.

Health: one row per instrument, upserted.

Why one row and not a log: a driver reports every few seconds; what a lab manager needs is its
state now (online, silent, port down, spool backing up), and a growing table of heartbeats would
be thousands of rows a day per instrument that nobody reads. The readings themselves, and every
decision about them, keep their own history (`lims.capture`).

Equipment records (ISO/IEC 17025 §6.4): identity, status with its reason, and calibration
certificates. A reading, run or manual entry on equipment that is out of service, or whose
calibration did not cover the measurement date, is refused or held (`lims.equipment.queries`).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.capture.models import Instrument
from lims.core.models import Base, format_repr, intpk, str_enum


class InstrumentHealth(Base):
    __tablename__ = "instrument_health"
    __table_args__ = (
        sa.CheckConstraint("spool_depth >= 0 AND spool_failed >= 0 AND quarantined_since_start >= 0",
                           name="counts_not_negative"),
    )

    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id"), primary_key=True)
    #: When the LIMS received the latest heartbeat (its own clock: "silent since" is measured here).
    received_at: Mapped[datetime]
    driver_version: Mapped[str] = mapped_column(sa.String(40))
    #: The driver's start, on the driver PC's clock.
    started_at: Mapped[datetime | None]
    port_open: Mapped[bool]
    last_error: Mapped[str | None] = mapped_column(sa.String(1000))
    last_bytes_at: Mapped[datetime | None]
    #: The last reading the LIMS confirmed to the driver (driver PC's clock).
    last_reading_at: Mapped[datetime | None]
    spool_depth: Mapped[int]
    spool_failed: Mapped[int]
    oldest_unsent_seconds: Mapped[float | None] = mapped_column(sa.Double)
    quarantined_since_start: Mapped[int]

    instrument: Mapped[Instrument] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "instrument_id", "received_at")


class EquipmentStatus(enum.StrEnum):
    IN_SERVICE = "in_service"
    OUT_OF_SERVICE = "out_of_service"


class CalibrationOutcome(enum.StrEnum):
    PASS = "pass"  # within the tolerances: the equipment may be used until valid_until
    FAIL = "fail"  # a failed calibration never makes equipment usable


class Equipment(Base):
    """A piece of measuring equipment the methods use (ISO/IEC 17025 §6.4): an instrument with a
    data connection (``instrument_id``) or not (pipettes, a balance in print mode, the WYD
    checker). Out of service needs a reason; so does putting it back."""

    __tablename__ = "equipment"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    serial_number: Mapped[str] = mapped_column(sa.String(100), default="")
    instrument_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instruments.id"), unique=True)
    status: Mapped[EquipmentStatus] = mapped_column(str_enum(EquipmentStatus, "equipment_status"))
    status_reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime]

    instrument: Mapped[Instrument | None] = relationship()
    calibrations: Mapped[list[Calibration]] = relationship(
        back_populates="equipment", order_by="Calibration.valid_until")

    def __repr__(self) -> str:
        return format_repr(self, "id", "code", "status")


class Calibration(Base):
    """A calibration certificate: valid from ``calibrated_on`` through ``valid_until``."""

    __tablename__ = "equipment_calibrations"
    __table_args__ = (
        sa.CheckConstraint("valid_until >= calibrated_on", name="valid_after_calibration"),
        sa.Index("ix_equipment_calibrations_equipment_valid", "equipment_id", "valid_until"),
    )

    id: Mapped[intpk]
    equipment_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment.id"))
    calibrated_on: Mapped[date]
    valid_until: Mapped[date]
    performed_by: Mapped[str] = mapped_column(sa.String(200))
    outcome: Mapped[CalibrationOutcome] = mapped_column(
        str_enum(CalibrationOutcome, "calibration_outcome"))
    certificate_no: Mapped[str] = mapped_column(sa.String(100), default="")
    file_name: Mapped[str | None] = mapped_column(sa.String(200))
    file_type: Mapped[str | None] = mapped_column(sa.String(40))
    file_data: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    equipment: Mapped[Equipment] = relationship(back_populates="calibrations")

    def __repr__(self) -> str:
        return format_repr(self, "id", "equipment_id", "valid_until")


class MaintenanceKind(enum.StrEnum):
    VERIFICATION = "verification"  # an intermediate check (§6.4.10), e.g. a balance's test weight
    MAINTENANCE = "maintenance"


class MaintenanceEntry(Base):
    """A verification or maintenance, planned (``planned_on``) and/or done (``done_on``)."""

    __tablename__ = "equipment_maintenance"
    __table_args__ = (
        sa.CheckConstraint("planned_on IS NOT NULL OR done_on IS NOT NULL", name="has_a_date"),
        sa.Index("ix_equipment_maintenance_equipment_planned", "equipment_id", "planned_on"),
    )

    id: Mapped[intpk]
    equipment_id: Mapped[int] = mapped_column(sa.ForeignKey("equipment.id"))
    kind: Mapped[MaintenanceKind] = mapped_column(str_enum(MaintenanceKind, "maintenance_kind"))
    planned_on: Mapped[date | None]
    done_on: Mapped[date | None]
    performed_by: Mapped[str] = mapped_column(sa.String(200), default="")
    notes: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_at: Mapped[datetime]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    equipment: Mapped[Equipment] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "equipment_id", "kind", "planned_on", "done_on")
