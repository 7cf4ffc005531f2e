"""The instrument register and the readings inbox.

A reading row is the LIMS's copy of what an instrument sent (or a technician keyed in from an
instrument without a data port): the wire payload, the raw bytes and where it went. Readings are
never deleted or rewritten: the only changes are the inbox decisions (attach to a sample, discard
with a reason), each written to the audit trail with the before and after.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.auth.models import ApiToken, User
from lims.core.models import Base, format_repr, intpk, str_enum
from lims.samples.models import Sample


class Protocol(enum.StrEnum):
    """How an instrument's data reaches the LIMS (the driver's codec, or a person)."""

    ASTM = "astm"
    BIORAD = "biorad"
    METROHM = "metrohm"
    MTSICS = "mtsics"
    MANUAL = "manual"  # no data port (WYD checker): keyed in on the entry screen
    FILE = "file"  # export files uploaded through the web


class ReadingType(enum.StrEnum):
    RESULT = "result"
    PLATE = "plate"
    QUARANTINE = "quarantine"


class ReadingStatus(enum.StrEnum):
    ATTACHED = "attached"  # belongs to a sample
    UNMATCHED = "unmatched"  # waits for a person: attach to the right sample or discard
    PENDING = "pending"  # a plate waiting for an analytical run to claim it
    CLAIMED = "claimed"  # a plate an analytical run has taken (the run names it)
    DISCARDED = "discarded"  # a person decided it is not a result (reason kept)


class ReadingSource(enum.StrEnum):
    DRIVER = "driver"
    MANUAL = "manual"
    FILE = "file"


class Instrument(Base):
    """One instrument of the lab. ``code`` is the id its driver puts in every reading; the
    driver authenticates with the instrument's own API token, so a token can only ever submit
    readings as this instrument."""

    __tablename__ = "instruments"

    id: Mapped[intpk]
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    model: Mapped[str] = mapped_column(sa.String(200), default="")
    serial_number: Mapped[str] = mapped_column(sa.String(100), default="")
    protocol: Mapped[Protocol] = mapped_column(str_enum(Protocol, "instrument_protocol"))
    location: Mapped[str] = mapped_column(sa.String(200), default="")
    #: Port and line settings as configured on the driver PC (baudrate, parity, …), for reference.
    serial_settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    api_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(sa.Text)

    api_token: Mapped[ApiToken | None] = relationship()

    def __repr__(self) -> str:
        return format_repr(self, "id", "code")


class InstrumentReading(Base):
    __tablename__ = "instrument_readings"
    __table_args__ = (
        sa.UniqueConstraint("instrument_id", "idempotency_key"),
        sa.Index("ix_instrument_readings_status_id", "status", "id"),
        sa.Index("ix_instrument_readings_instrument_status", "instrument_id", "status"),
        sa.Index("ix_instrument_readings_sample_id", "sample_id", "id"),
        sa.Index("ix_instrument_readings_received", "received_at", "id"),
        sa.Index("ix_instrument_readings_status_received", "status", "received_at", "id"),
        sa.CheckConstraint("status <> 'attached' OR sample_id IS NOT NULL", name="attached_has_sample"),
        sa.CheckConstraint(
            "status <> 'discarded' OR resolution_reason IS NOT NULL", name="discarded_has_reason"
        ),
    )

    id: Mapped[intpk]
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id"))
    idempotency_key: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[ReadingType] = mapped_column(str_enum(ReadingType, "reading_type"))
    source: Mapped[ReadingSource] = mapped_column(str_enum(ReadingSource, "reading_source"))
    status: Mapped[ReadingStatus] = mapped_column(str_enum(ReadingStatus, "reading_status"))
    #: Why it is unmatched (or was discarded): one sentence a technician can act on.
    reason: Mapped[str | None] = mapped_column(sa.Text)
    sample_id: Mapped[int | None] = mapped_column(sa.ForeignKey("samples.id"))
    #: The specimen ID exactly as the instrument sent it (may name no sample at all).
    sample_ref: Mapped[str | None] = mapped_column(sa.String(200))
    analyte: Mapped[str | None] = mapped_column(sa.String(64))
    test_code: Mapped[str] = mapped_column(sa.String(200), default="")
    raw_value: Mapped[str] = mapped_column(sa.String(200), default="")
    value: Mapped[float | None] = mapped_column(sa.Double)
    comparator: Mapped[str | None] = mapped_column(sa.String(1))
    unit: Mapped[str] = mapped_column(sa.String(40), default="")
    #: The instrument's own clock, local lab time as sent (instruments send no zone).
    measured_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=False))
    spooled_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    #: The whole wire payload (flags, status, plate wells, problems …) as the driver sent it.
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    raw: Mapped[str] = mapped_column(sa.Text, default="")
    entered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolution_reason: Mapped[str | None] = mapped_column(sa.Text)

    instrument: Mapped[Instrument] = relationship()
    sample: Mapped[Sample | None] = relationship()
    entered_by: Mapped[User | None] = relationship(foreign_keys=[entered_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])

    @property
    def no_instrument_time(self) -> bool:
        """A driver's result without the instrument's own time (ASTM R-13/R-12): its key cannot
        tell a re-send from a genuine repeat of the same value, so review pages flag it."""
        return (self.type is ReadingType.RESULT and self.source is ReadingSource.DRIVER
                and self.measured_at is None)

    def __repr__(self) -> str:
        return format_repr(self, "id", "type", "status", "sample_ref")
