"""What the pages show about backups (the administration page, the home dashboard)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.backup.models import BackupOutcome, BackupRun

#: A daily backup plus two hours of grace: past this without a successful one, the status is red.
STALE_AFTER = timedelta(hours=26)


@dataclass(frozen=True)
class BackupStatus:
    """The last successful backup, the last failure after it (if any), and whether to alarm:
    red when there has been no successful backup for `STALE_AFTER`, or none at all, or the
    latest attempt failed."""

    last_ok: BackupRun | None
    last_failure: BackupRun | None
    red: bool
    overdue: bool


def _latest(session: Session, outcome: BackupOutcome) -> BackupRun | None:
    return session.scalar(sa.select(BackupRun).where(BackupRun.outcome == outcome)
                          .order_by(BackupRun.finished_at.desc(), BackupRun.id.desc()).limit(1))


def backup_status(session: Session, now: datetime) -> BackupStatus:
    last_ok = _latest(session, BackupOutcome.OK)
    failure = _latest(session, BackupOutcome.FAILED)
    if failure is not None and last_ok is not None and failure.finished_at < last_ok.finished_at:
        failure = None
    overdue = last_ok is None or now - last_ok.finished_at > STALE_AFTER
    return BackupStatus(last_ok, failure, overdue or failure is not None, overdue)


def recent_runs(session: Session, limit: int = 20) -> list[BackupRun]:
    return list(session.scalars(sa.select(BackupRun).order_by(BackupRun.id.desc()).limit(limit)))
