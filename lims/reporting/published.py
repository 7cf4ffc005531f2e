"""Issued reports as open data: the listing, one report, its tidy indicator table. Read-only;
shared by the JSON API (``lims.api.views``) and the DHIS2 export (``lims.reporting.dhis2``),
so both serve the figures frozen with the issued version, never a recomputation."""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session, undefer

from lims.core.errors import NotFoundError
from lims.reporting.data import region_names
from lims.reporting.jobs import report_catalogue
from lims.reporting.models import ReportJob
from reports import exports, indicators, texts

#: Page size of the listing: the default and the most a client may ask for.
PAGE_DEFAULT = 50
PAGE_MAX = 100


def issued_page(session: Session, *, before: int | None, limit: int) -> list[ReportJob]:
    """Issued versions, newest first, keyset-paginated by id (``before``: the last id seen)."""
    query = sa.select(ReportJob).where(ReportJob.version.is_not(None))
    if before is not None:
        query = query.where(ReportJob.id < before)
    return list(session.scalars(query.order_by(ReportJob.id.desc()).limit(limit)))


def issued_report(session: Session, report_id: int, *columns: Any) -> ReportJob:
    """An issued version with ``columns`` (deferred blobs) loaded; 404 for anything else."""
    job = session.scalar(sa.select(ReportJob).options(*(undefer(c) for c in columns))
                         .where(ReportJob.id == report_id, ReportJob.version.is_not(None)))
    if job is None:
        raise NotFoundError(f"there is no issued report {report_id}", field="report_id")
    return job


def report_indicators(session: Session, job: ReportJob) -> pd.DataFrame:
    """The tidy indicator table of an issued report, read from its frozen workbook (``job.xlsx``
    loaded). A report whose tables are still being written answers 404 saying so."""
    if job.xlsx is None:
        raise NotFoundError(f"report {job.id} is issued; its tables are still being written or "
                            "could not be written", field="report_id")
    tr = texts.translator(job.lang, report_catalogue(job.lang))
    codes = indicators.decoders(region_names(session), tr)
    return indicators.indicator_table(exports.workbook_tables(job.xlsx), codes)
