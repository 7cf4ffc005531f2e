"""``lims analysis …`` and ``lims demo-results``: catalogue and QC lots for the demo, the
simulated plate reader's text for an open run, and results for the demo's samples."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from lims.auth.models import User
from lims.auth.services import get_user_by_username
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.extensions import db


def _user(username: str) -> User:
    user = get_user_by_username(db.session, username)
    if user is None:
        raise click.ClickException(f"no user {username!r}: run 'lims demo-users' first")
    return user


@click.group("analysis")
def analysis_group() -> None:
    """Methods, QC lots and analytical runs."""


@analysis_group.command("demo")
@with_appcontext
def demo() -> None:
    """Method versions, a control lot with a target per level and a titrant lot (demo only)."""
    from lims.analysis.demo import seed_demo_qc

    admin = get_user_by_username(db.session, "admin")
    added = seed_demo_qc(db.session, actor=admin, now=now_utc())
    db.session.commit()
    click.echo(", ".join(f"{k}: {n} added" for k, n in added.items()))


@analysis_group.command("plate-text")
@click.argument("run_id", type=int)
@click.option("--seed", type=int, default=2026, show_default=True,
              help="the demo data's seed (true values of the samples)")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="file to write (default: standard output)")
@with_appcontext
def plate_text_command(run_id: int, seed: int, out: Path | None) -> None:
    """Bio-Rad plate-reader text for RUN_ID's layout, absorbances from the demo's true values
    through the method's curve: feed it to the simulated reader or a driver replay."""
    from lims.analysis.demo import plate_text
    from lims.analysis.runs import get_run

    try:
        run = get_run(db.session, run_id)
        data = plate_text(db.session, run, seed=seed, measured_at=now_utc().replace(tzinfo=None))
    except (LimsError, ValueError) as error:
        raise click.ClickException(getattr(error, "message", str(error))) from error
    if out is None:
        sys.stdout.buffer.write(data)
    else:
        out.write_bytes(data)
        click.echo(f"{run.label}: plate text written to {out}", err=True)


@click.command("demo-results")
@click.option("--seed", type=int, default=2026, show_default=True, help="the demo data's seed")
@click.option("--plates", type=click.IntRange(min=0), default=2, show_default=True,
              help="urine plates taken through the whole flow (received samples)")
@click.option("--titrations", type=click.IntRange(min=0), default=1, show_default=True,
              help="titration batches taken through the whole flow")
@click.option("--analysed-share", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="share of the other received samples taken past analysis first (verified,"
                   " one in ten still pending review), so reports have a national dataset")
@click.option("--if-empty", is_flag=True, help="do nothing when analytical runs exist already")
@with_appcontext
def demo_results_command(seed: int, plates: int, titrations: int, analysed_share: float,
                         if_empty: bool) -> None:
    """Results for the demo: a few real runs end to end (plate reader and titration, QC, a
    second person verifying), then results for every sample already past analysis (pending
    review, verified, reported) that has none, so the ministry reports have verified data."""
    from lims.analysis.demo import demo_results, demo_runs, past_analysis, seed_demo_qc
    from lims.analysis.models import AnalyticalRun
    from lims.capture.models import Instrument

    session = db.session
    if if_empty and session.scalar(sa.select(AnalyticalRun.id).limit(1)) is not None:
        click.echo("analytical runs exist already: no demo results generated")
        return
    started = time.perf_counter()
    now = now_utc()
    tech, tech2, reviewer = _user("tech"), _user("tech2"), _user("reviewer")
    seed_demo_qc(session, actor=get_user_by_username(session, "admin"), now=now)
    reader = session.scalar(sa.select(Instrument).where(Instrument.code == "SK-READER-01"))
    try:
        ran = demo_runs(session, seed=seed, technician=tech, second_technician=tech2,
                        reviewer=reviewer, now=now, plates=plates, titrations=titrations,
                        reader=reader)
        if analysed_share:
            past_analysis(session, seed=seed, share=analysed_share, actor=reviewer, now=now)
        bulk = demo_results(session, seed=seed, technician=tech, reviewer=reviewer, now=now)
    except LimsError as error:
        session.rollback()
        raise click.ClickException(error.message) from error
    session.commit()
    click.echo(f"runs {', '.join(ran.runs) or 'none'} ({ran.verified} results verified); "
               f"{bulk.results} results for samples past analysis ({bulk.verified} verified, "
               f"{bulk.preliminary} preliminary, {bulk.retests} above the range sent back for "
               f"a dilution retest) in {time.perf_counter() - started:.1f} s")
