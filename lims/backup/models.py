from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from lims.core.models import Base, format_repr, intpk, str_enum


class BackupOutcome(enum.StrEnum):
    OK = "ok"
    FAILED = "failed"


class BackupRun(Base):
    """One ``lims backup`` attempt, written when it ends, so that the administration page (and
    the dashboard) can show the last successful backup and the last failure. Stored in the
    database being backed up: a restored instance knows when its backup was taken."""

    __tablename__ = "backup_runs"
    __table_args__ = (sa.Index("ix_backup_runs_outcome_finished", "outcome", "finished_at"),)

    id: Mapped[intpk]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[BackupOutcome] = mapped_column(str_enum(BackupOutcome, "backup_outcome"))
    file_name: Mapped[str | None] = mapped_column(sa.String(255))
    size_bytes: Mapped[int | None] = mapped_column(sa.BigInteger)
    message: Mapped[str | None] = mapped_column(sa.Text)

    def __repr__(self) -> str:
        return format_repr(self, "id", "outcome", "file_name")
