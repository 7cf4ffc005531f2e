"""``lims report``: build a monitoring report now (``monitoring``) or serve the queue (``worker``)."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.extensions import db
from lims.reporting.data import ReportScope
from lims.reporting.jobs import ReportRequest, request_report
from lims.reporting.models import JobStatus
from lims.reporting.worker import run_one, run_worker
from reports.criteria import SCHEMES
from reports.texts import LANGUAGES


@click.group("report")
def report_group() -> None:
    """Monitoring reports for the health ministry."""


@report_group.command("monitoring")
@click.option("--round", "round_id", type=int, help="survey round id")
@click.option("--period", "year", type=int, help="every sample collected in this year")
@click.option("--region", help="one region (ISO 3166-2 code, e.g. KZ-75)")
@click.option("--group", help="one population group code (e.g. SAC)")
@click.option("--lang", type=click.Choice(LANGUAGES), default="ru", show_default=True)
@click.option("--scheme", type=click.Choice(list(SCHEMES)), default="WHO2007", show_default=True)
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="where to write the PDF")
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the report's tables as XLSX")
@click.option("--results", type=click.Path(dir_okay=False, path_type=Path),
              help="also write the de-identified results (CSV files in a ZIP)")
@with_appcontext
def monitoring(round_id: int | None, year: int | None, region: str | None, group: str | None,
               lang: str, scheme: str, out: Path, xlsx: Path | None, results: Path | None) -> None:
    """Issue a monitoring report now (stored as a new version, like one requested on the web)."""
    try:
        request = ReportRequest(ReportScope(round_id=round_id, year=year, region=region, group=group),
                                lang=lang, scheme=scheme)
        job = request_report(db.session, actor=None, now=now_utc(), request=request)
        db.session.commit()
    except LimsError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    with click.progressbar(length=100, label="building the report", file=sys.stderr) as bar:
        done = [0]

        def advance(percent: int, message: str) -> None:
            bar.label = message
            bar.update(percent - done[0])
            done[0] = percent

        built = run_one(advance)
    if built is None or built.id != job.id:
        raise click.ClickException("another report worker took the job; see the reports page")
    if built.status is not JobStatus.DONE:
        raise click.ClickException(f"the report failed: {built.error}")
    out.write_bytes(built.pdf or b"")
    if xlsx is not None:
        xlsx.write_bytes(built.xlsx or b"")
    if results is not None:
        results.write_bytes(built.results_zip or b"")
    click.echo(f"{built.title}: version {built.version}, {built.dataset_rows:,} rows,"
               f" dataset sha256 {built.dataset_sha256}; PDF written to {out}")


@report_group.command("worker")
@click.option("--once", is_flag=True, help="stop when the queue is empty")
@click.option("--poll", type=float, default=2.0, show_default=True, help="seconds between looks")
@with_appcontext
def worker(once: bool, poll: float) -> None:
    """Build queued reports until stopped (SIGTERM or Ctrl-C finish the current one first)."""
    stopping = {"flag": False}

    def stop(*_: Any) -> None:
        stopping["flag"] = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    built = run_worker(app, once=once, poll=poll, should_stop=lambda: stopping["flag"])
    click.echo(f"report worker stopped after {built} report(s)")
