"""``lims backup``, ``lims restore``, ``lims check`` and ``lims audit seal``."""

from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext

from lims.audit import sealing
from lims.backup import service
from lims.backup.check import run_checks
from lims.backup.retention import next_run
from lims.core.dt import now_utc
from lims.extensions import db

def _settings(destination: Path | None) -> service.BackupSettings:
    try:
        settings = service.BackupSettings.from_config(current_app.config,
                                                      current_app.instance_path)
    except service.BackupError as error:
        raise click.ClickException(str(error)) from error
    if destination is not None:
        settings = service.BackupSettings(destination, settings.instance, settings.retention,
                                          settings.secret, settings.hour, settings.timezone)
    return settings


class _Bar:
    """A progress bar over bytes on standard error, for the long steps."""

    def __init__(self, label: str, length: int) -> None:
        self._bar: Any = click.progressbar(length=max(length, 1), label=label, file=sys.stderr)

    def __enter__(self) -> _Bar:
        self._bar.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.__exit__(*exc)

    def __call__(self, done: int) -> None:
        self._bar.update(done)


def _database_size() -> int:
    engine = db.engine
    if engine.dialect.name == "sqlite":
        path = service.sqlite_path(engine.url)
        return path.stat().st_size if path.exists() else 0
    with engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
                   or 0)


def _backup_once(settings: service.BackupSettings) -> service.BackupResult:
    with _Bar("writing the backup", _database_size()) as bar:
        return service.take_backup(db.engine, settings, now=now_utc(), progress=bar)


def _echo_manifest(manifest: dict[str, Any]) -> None:
    head = manifest["audit_head"]
    click.echo(f"  schema revision {manifest['alembic_revision']}, LIMS {manifest['app_version']},"
               f" audit head #{head['event_id'] or 0} {head['seal'] or '-'}")
    counts = manifest["row_counts"]
    click.echo(f"  {sum(counts.values()):,} rows in {len(counts)} tables")


@click.command("backup")
@click.option("--destination", type=click.Path(file_okay=False, path_type=Path),
              help="folder for this backup (default: BACKUP_DIR of the configuration)")
@click.option("--schedule", is_flag=True,
              help="keep running and back up every day at BACKUP_HOUR (laboratory time)")
@with_appcontext
def backup_command(destination: Path | None, schedule: bool) -> None:
    """Back up the running LIMS's database into one checked (optionally encrypted) file, then
    prune older backups by the retention rule."""
    settings = _settings(destination)
    if not schedule:
        try:
            result = _backup_once(settings)
        except service.BackupError as error:
            raise click.ClickException(f"backup failed: {error}") from error
        click.echo(f"backup written: {result.path}")
        _echo_manifest(result.manifest)
        for path in result.pruned:
            click.echo(f"  pruned {path.name}")
        return
    stop = [False]
    signal.signal(signal.SIGTERM, lambda *_: stop.__setitem__(0, True))
    while not stop[0]:
        due = next_run(now_utc(), settings.hour, settings.timezone)
        click.echo(f"next backup at {due:%Y-%m-%d %H:%M} UTC")
        while not stop[0] and now_utc() < due:
            time.sleep(min(30.0, max((due - now_utc()).total_seconds(), 0.1)))
        if stop[0]:
            break
        try:
            result = service.take_backup(db.engine, settings, now=now_utc())
            click.echo(f"backup written: {result.path}")
        except service.BackupError:
            pass  # take_backup logged the one line and recorded the failure for the page


@click.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--database-url", help="restore into this database (default: DATABASE_URL of the"
              " configuration); it must exist and be empty")
@click.option("--passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="the passphrase or key file of an encrypted backup (default: the configured"
              " BACKUP_PASSPHRASE or BACKUP_KEY_FILE)")
@click.option("--force", is_flag=True, help="replace everything in a database that is not empty"
              " (asks to type its name; stop the LIMS first)")
@click.option("--confirm", "confirmation", help="the database's name, typed in advance for"
              " --force without a terminal")
@with_appcontext
def restore_command(file: Path, database_url: str | None, passphrase_file: Path | None,
                    force: bool, confirmation: str | None) -> None:
    """Restore a backup FILE into a new, empty database; check it and upgrade its schema."""
    import sqlalchemy as sa

    engine = db.engine if database_url is None else sa.create_engine(
        database_url, poolclass=sa.pool.NullPool)
    target = engine.url.database or ""
    name = Path(target).name if engine.dialect.name == "sqlite" else target
    if force and not service.database_is_empty(engine):
        typed = confirmation
        if typed is None:
            if not sys.stdin.isatty():
                raise click.ClickException("--force on a database that is not empty needs its"
                                           " name typed: run in a terminal or pass --confirm")
            typed = click.prompt(f"Everything in {name} will be replaced. Type its name to go on")
        if typed != name:
            raise click.ClickException("the typed name does not match; nothing was changed")
    if passphrase_file is not None:
        try:
            secret: bytes | None = passphrase_file.read_bytes().rstrip(b"\r\n")
        except OSError as error:
            raise click.ClickException(f"{passphrase_file}: {error.strerror}") from error
    else:
        secret = _settings(None).secret
    try:
        size = file.stat().st_size if file.exists() else 0
        with _Bar("checking and restoring", 2 * size) as bar:
            result = service.restore_backup(file, engine, secret=secret, force=force,
                                            progress=bar)
    except service.BackupError as error:
        raise click.ClickException(f"restore refused: {error}") from error
    click.echo(f"restored {file.name} into {engine.url.render_as_string(hide_password=True)}")
    _echo_manifest(result.manifest)
    if result.revision_before != result.revision_after:
        click.echo(f"  schema upgraded from {result.revision_before} to {result.revision_after}")
    click.echo(f"  {'table':<28} {'manifest':>12} {'restored':>12}")
    expected = result.manifest["row_counts"]
    for table in sorted(set(expected) | set(result.restored_counts)):
        mark = "" if expected.get(table) == result.restored_counts.get(table) else "  DIFFERS"
        click.echo(f"  {table:<28} {expected.get(table, '-'):>12} "
                   f"{result.restored_counts.get(table, '-'):>12}{mark}")
    if result.differences():
        raise click.ClickException("restored row counts differ from the manifest: "
                                   + ", ".join(result.differences()))
    click.echo("row counts equal the manifest; run 'lims check' to verify the audit chain")


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Check the database: storage integrity, foreign keys, the services' invariants and the
    audit chain. Exits non-zero naming every problem."""
    report = run_checks(db.engine)
    for note in report.notes:
        click.echo(f"note: {note}")
    for problem in report.problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    if report.problems:
        raise click.ClickException(f"{len(report.problems)} problem(s) found")
    click.echo("database intact")


@click.group("audit")
def audit_group() -> None:
    """The audit trail's hash chain."""


@audit_group.command("seal")
@with_appcontext
def audit_seal() -> None:
    """Seal every audit event committed so far (the report worker does it every few seconds)."""
    sealed = sealing.seal_now(db.engine, now=now_utc())
    with db.engine.connect() as conn:
        head = sealing.head_text(conn)
    click.echo(f"{sealed} event(s) sealed; head {head}")


def register(main: click.Group) -> None:
    for command in (backup_command, restore_command, check_command, audit_group):
        main.add_command(command)
