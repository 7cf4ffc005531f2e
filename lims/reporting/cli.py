"""``lims report``: build a monitoring report now (``monitoring``) or serve the queue (``worker``)."""

from __future__ import annotations

import json
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
from lims.reporting import dhis2 as dhis2_push
from lims.reporting import published
from lims.reporting.data import ReportScope
from lims.reporting.jobs import ReportRequest, request_report
from lims.reporting.models import JobStatus
from lims.reporting.worker import run_one, run_worker
from reports.criteria import SCHEMES
from reports.dhis2 import MappingError
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


@report_group.command("export-dhis2")
@click.argument("report_id", metavar="REPORT_VERSION", type=click.IntRange(1, 2**63 - 1))
@click.option("--mapping", "mapping_path", type=click.Path(exists=True, dir_okay=False,
              path_type=Path), required=True,
              help="indicators and regions → DHIS2 UIDs (see config/dhis2.example.toml)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path),
              help="write the dataValueSets JSON here (default: standard output)")
@click.option("--push", "url", help="POST it to this DHIS2 dataValueSets URL "
              "(e.g. https://dhis2.example.org/api/dataValueSets)")
@click.option("--username", envvar="DHIS2_USERNAME", help="basic auth user [DHIS2_USERNAME]")
@click.option("--password", envvar="DHIS2_PASSWORD", help="basic auth password "
              "[DHIS2_PASSWORD; prefer the variable to the command line]")
@click.option("--token", envvar="DHIS2_TOKEN", help="DHIS2 personal access token [DHIS2_TOKEN]")
@click.option("--attempts", type=click.IntRange(1, 10), default=3, show_default=True)
@click.option("--backoff", type=click.FloatRange(0, 60), default=2.0, show_default=True,
              help="seconds before the first retry, doubling after each")
@with_appcontext
def export_dhis2(report_id: int, mapping_path: Path, out: Path | None, url: str | None,
                 username: str | None, password: str | None, token: str | None, attempts: int,
                 backoff: float) -> None:
    """Write (and optionally push) an issued report's indicators as a DHIS2 dataValueSets
    document; a push's import summary or failure is recorded in the report's audit trail."""
    try:
        payload = dhis2_push.build_payload(db.session, report_id,
                                           mapping_path.read_text(encoding="utf-8"))
    except MappingError as error:
        raise click.ClickException(f"{mapping_path}: {error}") from error
    except LimsError as error:
        raise click.ClickException(error.message) from error
    text = json.dumps(payload.document, ensure_ascii=False, indent=2)
    if out is not None:
        out.write_text(text + "\n", encoding="utf-8")
    elif url is None:
        click.echo(text)
    values = len(payload.document["dataValues"])
    click.echo(f"report {report_id}: {values} data values, {payload.skipped} rows not mapped",
               err=True)
    if url is None:
        return
    if not url.startswith(("http://", "https://")):
        raise click.ClickException(f"--push needs an http(s) URL, not {url!r}")
    outcome = dhis2_push.push_payload(
        url, payload.document,
        dhis2_push.Credentials(username=username, password=password, token=token),
        attempts=attempts, backoff=backoff)
    job = published.issued_report(db.session, report_id)
    dhis2_push.record_push(db.session, actor=None, now=now_utc(), job=job, url=url,
                           outcome=outcome, values=values)
    db.session.commit()
    summary = outcome.summary or {}
    counts = ", ".join(f"{k} {summary[k]}" for k in ("imported", "updated", "ignored")
                       if k in summary)
    conflicts = len(summary.get("conflicts", []))
    if not outcome.ok:
        raise click.ClickException(f"push failed after {outcome.attempts} attempt(s): "
                                   f"{outcome.error}; {counts or 'no import summary'}"
                                   f"{f', {conflicts} conflict(s)' if conflicts else ''}"
                                   "; recorded in the audit trail, run again to retry")
    click.echo(f"pushed to DHIS2: {summary.get('status', '')} {counts}"
               f"{f', {conflicts} conflict(s)' if conflicts else ''}", err=True)
