"""Report jobs, which become the issued reports once built.

A request is a row; a worker claims it, builds it and stores the PDF, the spreadsheet and the
dataset's fingerprint (SHA-256 and row count) with the parameters. A done row is frozen: asking
again for the same parameters makes a new row with the next version, so what the ministry
downloaded once can always be downloaded again, byte for byte, with what it was built from.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from lims.auth.models import User
from lims.core.models import Base, format_repr, intpk, str_enum


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ReportJob(Base):
    __tablename__ = "report_jobs"
    __table_args__ = (
        sa.Index("ix_report_jobs_status_id", "status", "id"),
        sa.Index("ix_report_jobs_requested", "requested_at", "id"),
        # One version number per report: two workers racing to issue the same one cannot both win.
        sa.Index("ux_report_jobs_params_key_version", "params_key", "version", unique=True),
    )

    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(sa.String(32), default="monitoring")
    #: Scope and options as requested (round or year, region, group, scheme, language).
    params: Mapped[dict[str, Any]]
    #: SHA-256 of the canonical params: the reports that are versions of one another share it.
    params_key: Mapped[str] = mapped_column(sa.String(64))
    lang: Mapped[str] = mapped_column(sa.String(8))
    title: Mapped[str] = mapped_column(sa.String(300))
    status: Mapped[JobStatus] = mapped_column(str_enum(JobStatus, "report_job_status"))
    progress: Mapped[int] = mapped_column(default=0)
    progress_message: Mapped[str] = mapped_column(sa.String(300), default="")
    error: Mapped[str | None] = mapped_column(sa.Text)
    requested_at: Mapped[datetime]
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    started_at: Mapped[datetime | None]
    #: Last sign of life of the worker building it (claim, each progress step): a running job
    #: without one for long was abandoned by its worker (`jobs.recover_abandoned`).
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    worker: Mapped[str | None] = mapped_column(sa.String(120))
    #: How many times a worker claimed it: a job whose workers keep dying (out of memory…) is
    #: failed after `REPORT_MAX_ATTEMPTS` instead of being taken over for ever.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Set when the PDF is issued (before the spreadsheet and results are attached): an issued
    #: report is one with a version.
    version: Mapped[int | None]
    dataset_sha256: Mapped[str | None] = mapped_column(sa.String(64))
    dataset_rows: Mapped[int | None]
    pdf: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    #: The report's tables (summaries, trends); small at any scale.
    xlsx: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    #: The de-identified results behind it, one CSV per kind in a ZIP: a national dataset is a
    #: million rows, over what a spreadsheet sheet holds and tens of seconds to write as XLSX.
    results_zip: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))

    requested_by: Mapped[User | None] = relationship()

    @property
    def issued(self) -> bool:
        return self.version is not None

    def __repr__(self) -> str:
        return format_repr(self, "id", "status", "version")
