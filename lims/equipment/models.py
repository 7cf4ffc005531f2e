"""The latest health report of each instrument's driver: one row per instrument, upserted.

Why one row and not a log: a driver reports every few seconds; what a lab manager needs is its
state now (online, silent, port down, spool backing up), and a growing table of heartbeats would
be thousands of rows a day per instrument that nobody reads. The readings themselves, and every
decision about them, keep their own history (`lims.capture`).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.capture.models import Instrument
from lims.core.models import Base, format_repr


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
