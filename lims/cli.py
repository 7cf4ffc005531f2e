"""The ``lims`` command: Flask's CLI plus the LIMS's own groups (db, seed, users, tokens)."""

from __future__ import annotations

import logging
from typing import Any, cast

import click
from flask import Flask
from flask.cli import FlaskGroup, NoAppException, ScriptInfo, run_command, with_appcontext
from werkzeug.serving import run_simple

from lims import create_app, dbtools
from lims.config import ConfigError
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.core.permissions import Role
from lims.extensions import db


class ConfigProblem(NoAppException):
    """A configuration mistake as the CLI reports it. A `NoAppException`, so that Flask's group
    prints it as one line where it loads the app for ``--help`` too (any other exception is
    printed there with its traceback); shown without the usage text a usage error carries."""

    def show(self, file: Any = None) -> None:
        click.ClickException.show(self, file)


def create_cli_app() -> Flask:
    """The app for a command; a configuration mistake (no secret key, a missing or broken
    config file) is one line saying what to fix and a non-zero exit, not a traceback."""
    try:
        return create_app()
    except ConfigError as error:
        raise ConfigProblem(str(error)) from error


@click.group(cls=FlaskGroup, create_app=create_cli_app)
def main() -> None:
    """IodineLIMS management commands."""


@main.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION (default: head)."""
    dbtools.upgrade(db.engine, revision)
    click.echo(f"database at {revision}: {db.engine.url.render_as_string(hide_password=True)}")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade(revision: str) -> None:
    dbtools.downgrade(db.engine, revision)


@db_group.command("check")
@with_appcontext
def db_check() -> None:
    """Fail if the models and the migrations disagree."""
    dbtools.check(db.engine)
    click.echo("models and migrations agree")


@main.command("seed")
@with_appcontext
def seed() -> None:
    """Load reference data (regions, population groups, sample kinds, method versions); safe
    to run again."""
    from lims.analysis.catalogue import seed_methods
    from lims.monitoring.seed import seed_reference_data

    counts = seed_reference_data(db.session, now=now_utc())
    counts["method versions"] = seed_methods(db.session, now=now_utc())
    db.session.commit()
    click.echo(", ".join(f"{name}: {n} added" for name, n in counts.items()))


@main.group("users")
def users_group() -> None:
    """User accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="repeat for several roles")
@click.option("--full-name", default="")
@click.option("--email", default=None)
@click.password_option(help="prompted for when not given")
@with_appcontext
def users_create(username: str, roles: tuple[str, ...], full_name: str, email: str | None,
                 password: str) -> None:
    """Create a user with one or more roles."""
    from lims.auth.services import create_user

    try:
        user = create_user(db.session, actor=None, now=now_utc(), username=username,
                           password=password, roles=[Role(r) for r in roles],
                           full_name=full_name, email=email)
    except LimsError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"created user {user.username} with roles {', '.join(sorted(roles))}")


DEMO_USERS: tuple[tuple[str, tuple[Role, ...], str], ...] = (
    ("admin", (Role.ADMIN,), "Demo administrator"),
    ("tech", (Role.TECHNICIAN,), "Demo lab technician"),
    ("tech2", (Role.TECHNICIAN,), "Second lab technician"),
    ("reviewer", (Role.REVIEWER,), "Demo reviewer"),
    ("ministry", (Role.MINISTRY,), "Ministry of Health analyst"),
)
DEMO_PASSWORD = "iodine-demo-2026"


@main.command("demo-users")
@click.option("--quiet", is_flag=True, help="create the accounts without printing them")
@click.option("--url", default=None, help="the address the demo is served at, printed last")
@with_appcontext
def demo_users(quiet: bool, url: str | None) -> None:
    """Create the demo accounts (if missing) and print how to log in. Never use in production."""
    from lims.auth.services import create_user, get_user_by_username

    for username, roles, full_name in DEMO_USERS:
        if get_user_by_username(db.session, username) is None:
            create_user(db.session, actor=None, now=now_utc(), username=username,
                        password=DEMO_PASSWORD, roles=roles, full_name=full_name)
    db.session.commit()
    if quiet:
        return
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for username, roles, full_name in DEMO_USERS:
        click.echo(f"  {username:<10} {', '.join(r.value for r in roles):<12} {full_name}")
    if url:
        click.echo(f"Open {url} and log in (Ctrl+C stops the server).")


def _run_with_quiet_option(run: click.Command) -> click.Command:
    """Flask's ``run`` with ``--quiet``: the server logs errors only, so what was printed just
    before it (``make run``'s logins and address) stays the last thing on the screen instead of
    scrolling away under a line per request."""
    serve = run.callback
    assert serve is not None

    def callback(quiet: bool, **options: Any) -> Any:
        if not quiet:
            return serve(**options)
        # Served by werkzeug directly, without Flask's banner ("* Debug mode: off"); its own
        # start-up and request lines are INFO records of the "werkzeug" logger.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = click.get_current_context().ensure_object(ScriptInfo).load_app()
        run_simple(options["host"], options["port"], app, use_reloader=False,
                   use_debugger=False, threaded=options["with_threads"],
                   ssl_context=options["cert"])
        return None

    quiet = click.Option(["--quiet"], is_flag=True,
                         help="print server errors only (no banners, no line per request)")
    return click.Command(run.name, callback=callback, params=[*run.params, quiet],
                         help=run.help, short_help=run.short_help, epilog=run.epilog)


main.add_command(_run_with_quiet_option(run_command))


@main.group("tokens")
def tokens_group() -> None:
    """API tokens for instrument drivers and scripts."""


@tokens_group.command("create")
@click.argument("name")
@click.option("--by", "by_username", required=True, help="the admin who issues the token")
@with_appcontext
def tokens_create(name: str, by_username: str) -> None:
    """Issue a token; the secret is printed once and never stored."""
    from lims.auth.services import create_api_token, get_user_by_username

    actor = get_user_by_username(db.session, by_username)
    if actor is None or Role.ADMIN not in actor.roles:
        raise click.ClickException(f"'{by_username}' is not an admin user")
    try:
        token, secret = create_api_token(db.session, actor=actor, now=now_utc(), name=name)
    except LimsError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"token {token.prefix}… ({token.name}) created; keep this secret, it is shown once:")
    click.echo(secret)


@main.command("demo")
@click.option("--samples", type=click.IntRange(min=1), default=3000, show_default=True,
              help="samples of this year's survey round")
@click.option("--earlier-samples", type=click.IntRange(min=0), default=1500, show_default=True,
              help="samples of an earlier round (2021), so that the reports show trends; 0: none")
@click.option("--analysed-share", type=click.FloatRange(0, 1), default=0.8, show_default=True,
              help="share of the received samples taken past analysis, so reports have data")
@click.option("--url", default=None, help="the address the demo is served at, printed last")
@click.pass_context
@with_appcontext
def demo(ctx: click.Context, samples: int, earlier_samples: int, analysed_share: float,
         url: str | None) -> None:
    """The whole demo in one process: migrations, reference data, two survey rounds, the demo
    accounts, instruments, EQA, results and the logistics room, then the logins. One start-up
    instead of nine (each ``lims`` process pays seconds of imports), and every step skips what
    is done already, so a second ``make run`` is quick. The steps are the commands themselves,
    invoked in turn, so that ``lims demo`` and the single commands cannot drift apart. Never
    use in production."""
    commands = main.commands
    steps: list[tuple[click.Command, dict[str, Any]]] = [
        (db_upgrade, {}),
        (seed, {}),
        (commands["demo-data"], {"seed": 2026, "samples": samples, "if_new_round": True}),
    ]
    if earlier_samples:
        steps.append((commands["demo-data"], {"seed": 2021, "samples": earlier_samples,
                                              "year": 2021, "if_new_round": True}))
    steps += [
        (demo_users, {"quiet": True}),
        (cast(click.Group, commands["instruments"]).commands["demo"], {}),
        (cast(click.Group, commands["eqa"]).commands["demo"], {}),
        (commands["demo-results"], {"seed": 2026, "analysed_share": analysed_share,
                                    "if_empty": True}),
        (cast(click.Group, commands["logistics"]).commands["demo"], {}),
        (demo_users, {"quiet": False, "url": url}),
    ]
    for command, params in steps:
        ctx.invoke(command, **params)


def register_module_commands() -> None:
    """Commands owned by domain modules (demo data, …)."""
    from lims.analysis.cli import analysis_group, demo_results_command
    from lims.backup.cli import register as register_backup
    from lims.capture.cli import instruments_group
    from lims.eqa.cli import eqa_group
    from lims.equipment.cli import equipment_group
    from lims.logistics.cli import logistics_group
    from lims.monitoring.cli import register as register_monitoring
    from lims.reporting.cli import report_group

    register_monitoring(main)
    register_backup(main)
    main.add_command(instruments_group)
    main.add_command(equipment_group)
    main.add_command(eqa_group)
    main.add_command(logistics_group)
    main.add_command(report_group)
    main.add_command(analysis_group)
    main.add_command(demo_results_command)


register_module_commands()
