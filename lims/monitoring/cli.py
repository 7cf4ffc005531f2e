"""Monitoring commands: ``lims demo-data`` (a synthetic national survey)."""

from __future__ import annotations

import sys
import time

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.extensions import db


@click.command("demo-data")
@click.option("--seed", type=int, default=1, show_default=True, help="same seed, same data")
@click.option("--samples", type=click.IntRange(min=1), default=2000, show_default=True,
              help="number of samples (urine + salt) to generate")
@click.option("--if-empty", is_flag=True, help="do nothing when the database already has samples")
@click.option("--if-new-round", is_flag=True, help="do nothing when the survey round exists already")
@click.option("--round-code", default=None, help="code of the new survey round (default NIS-<year>)")
@click.option("--year", type=click.IntRange(2000, 2100), default=None,
              help="survey year (default: this year)")
@click.option("--with-wra/--without-wra", default=True, show_default=True,
              help="also sample non-pregnant women of reproductive age in settlements")
@click.option("--chunk-size", type=click.IntRange(min=100), default=10_000, show_default=True)
@with_appcontext
def demo_data(seed: int, samples: int, if_empty: bool, if_new_round: bool, round_code: str | None,
              year: int | None, with_wra: bool, chunk_size: int) -> None:
    """Generate a deterministic synthetic national survey with linked salt and urine samples."""
    from lims.monitoring.demo import default_round_code, generate_demo_data
    from lims.monitoring.models import SurveyRound
    from lims.samples.models import Sample

    session = db.session
    if if_empty and session.scalar(sa.select(Sample.id).limit(1)) is not None:
        click.echo("samples exist already: no demo data generated")
        return
    code = round_code or default_round_code(year, now_utc())
    if if_new_round and session.scalar(sa.select(SurveyRound.id).where(SurveyRound.code == code)):
        click.echo(f"survey round {code} exists already: no demo data generated")
        return
    started = time.perf_counter()
    try:
        with click.progressbar(length=samples, label="generating samples",
                               file=sys.stderr) as bar:
            summary = generate_demo_data(session, seed=seed, samples=samples, now=now_utc(),
                                         round_code=round_code, year=year, include_wra=with_wra,
                                         chunk_size=chunk_size, progress=bar.update)
    except LimsError as error:
        session.rollback()
        raise click.ClickException(error.message) from error
    session.commit()
    elapsed = time.perf_counter() - started
    by_status = ", ".join(f"{kind} {status}: {n}" for (kind, status), n in sorted(summary.samples.items()))
    click.echo(f"round {summary.round_code}: {summary.districts} districts, {summary.clusters} clusters,"
               f" {summary.households} households, {summary.participants} participants,"
               f" {summary.sample_total} samples in {elapsed:.1f} s")
    click.echo(by_status)


def register(group: click.Group) -> None:
    group.add_command(demo_data)
