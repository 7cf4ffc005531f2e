"""Taking, pruning and restoring backups.

A backup is a consistent copy taken while people work: on SQLite through SQLite's online backup
API (a read transaction in WAL mode, so writers go on; never a copy of the live file), on
PostgreSQL through ``pg_dump -Fc`` reading the snapshot that the manifest's row counts and audit
head were read in (``pg_export_snapshot``), so the manifest describes exactly what the file holds.
The copy is written beside the destination's other backups under a temporary name and renamed
when complete: a full or missing disk fails the backup and leaves every earlier one in place.
"""

from __future__ import annotations

import contextlib
import gzip
import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.script import ScriptDirectory

from lims import dbtools
from lims.audit import sealing
from lims.backup import archive
from lims.backup.models import BackupOutcome, BackupRun
from lims.backup.retention import Retention, file_name, keep, taken_at
from lims.core.dt import now_utc

log = logging.getLogger(__name__)

Progress = Callable[[int], None]
#: The payload kinds: a gzipped SQLite database file, a ``pg_dump`` custom-format archive.
SQLITE_GZIP = "sqlite+gzip"
PG_DUMP = "pg_dump"


class BackupError(RuntimeError):
    """A backup or restore that could not be done, with the reason in one line."""


@dataclass(frozen=True)
class BackupSettings:
    destination: Path
    instance: str = "lims"
    retention: Retention = field(default_factory=Retention)
    secret: bytes | None = None
    hour: int = 2
    timezone: str = "Asia/Almaty"

    @classmethod
    def from_config(cls, config: Mapping[str, Any], instance_path: str) -> BackupSettings:
        """``BACKUP_DIR`` (default: ``backups`` in the instance folder), ``BACKUP_INSTANCE``,
        ``BACKUP_KEEP_DAILY``/``_WEEKLY``/``_MONTHLY``, ``BACKUP_PASSPHRASE`` or
        ``BACKUP_KEY_FILE`` (a file whose bytes are the secret), ``BACKUP_HOUR`` (0-23, in
        ``BABEL_DEFAULT_TIMEZONE``)."""
        secret: bytes | None = None
        if config.get("BACKUP_KEY_FILE"):
            key_file = Path(str(config["BACKUP_KEY_FILE"]))
            try:
                secret = key_file.read_bytes()
            except OSError as error:
                raise BackupError(f"BACKUP_KEY_FILE {key_file} cannot be read: {error.strerror}"
                                  ) from error
            if not secret:
                raise BackupError(f"BACKUP_KEY_FILE {key_file} is empty")
        elif config.get("BACKUP_PASSPHRASE"):
            secret = str(config["BACKUP_PASSPHRASE"]).encode("utf-8")
        return cls(
            destination=Path(str(config.get("BACKUP_DIR") or Path(instance_path) / "backups")),
            instance=str(config["BACKUP_INSTANCE"]),
            retention=Retention(int(config["BACKUP_KEEP_DAILY"]),
                                int(config["BACKUP_KEEP_WEEKLY"]),
                                int(config["BACKUP_KEEP_MONTHLY"])),
            secret=secret,
            hour=int(config["BACKUP_HOUR"]),
            timezone=str(config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Almaty"),
        )


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]
    pruned: list[Path]


def app_version() -> str:
    try:
        return metadata.version("iodinelims")
    except metadata.PackageNotFoundError:  # a checkout run without installing
        return "unknown"


def head_revision() -> str:
    return ScriptDirectory.from_config(dbtools.alembic_config(sa.create_engine("sqlite://"))
                                       ).get_current_head() or ""


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(dbtools.alembic_config(sa.create_engine("sqlite://")))
    return {rev.revision for rev in script.walk_revisions()}


def _tables(conn: sa.Connection) -> list[str]:
    inspector = sa.inspect(conn)
    return sorted(name for name in inspector.get_table_names() if name != "alembic_version")


def row_counts(conn: sa.Connection) -> dict[str, int]:
    """Rows per table (Alembic's own table aside), as the manifest records them."""
    preparer = conn.dialect.identifier_preparer
    return {name: int(conn.exec_driver_sql(f"SELECT count(*) FROM {preparer.quote(name)}")
                      .scalar_one()) for name in _tables(conn)}


def revision_of(conn: sa.Connection) -> str:
    if not sa.inspect(conn).has_table("alembic_version"):
        return ""
    return str(conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() or "")


def _audit_head(conn: sa.Connection) -> dict[str, Any]:
    if not sa.inspect(conn).has_table("audit_seals"):  # a schema before the chain (0012)
        return {"event_id": None, "seal": None}
    event_id, seal = sealing.head(conn)
    return {"event_id": event_id, "seal": seal}


def _manifest(conn: sa.Connection, *, settings: BackupSettings, now: datetime,
              backend: str) -> dict[str, Any]:
    return {
        "format": 1,
        "instance": settings.instance,
        "taken_at": now.isoformat(),
        "backend": backend,
        "alembic_revision": revision_of(conn),
        "app_version": app_version(),
        "row_counts": row_counts(conn),
        "audit_head": _audit_head(conn),
    }


def sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored into")
    return Path(url.database)


def _pg_env(url: sa.URL) -> dict[str, str]:
    """libpq's environment for pg_dump/pg_restore: the password never on a command line."""
    env = dict(os.environ)
    for key, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                       ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[key] = str(value)
    return env


def _run_tool(args: list[str], url: sa.URL) -> None:
    if shutil.which(args[0]) is None:
        raise BackupError(f"{args[0]} is not installed (Debian: apt-get install postgresql-client)")
    done = subprocess.run(args, env=_pg_env(url), capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{args[0]} failed: {detail}")


def _copy_of_database(engine: sa.Engine, workdir: Path, *, settings: BackupSettings,
                      now: datetime, progress: Progress | None
                      ) -> tuple[Path, str, dict[str, Any]]:
    """(copy, kind, manifest) of a consistent copy of the database, in ``workdir``."""
    if engine.dialect.name == "sqlite":
        copy = workdir / "copy.sqlite"
        source = sqlite3.connect(sqlite_path(engine.url), timeout=30)
        target = sqlite3.connect(copy)
        try:
            # One step (pages=-1): one read transaction, which in WAL mode does not block the
            # writers; a stepwise copy would start again at every write and might never end.
            source.backup(target, pages=-1)
        finally:
            target.close()
            source.close()
        copy_engine = sa.create_engine(f"sqlite:///{copy}", poolclass=sa.pool.NullPool)
        try:
            with copy_engine.connect() as conn:
                manifest = _manifest(conn, settings=settings, now=now, backend="sqlite")
        finally:
            copy_engine.dispose()
        # A database file is mostly index pages and free space: gzip keeps the file a fraction
        # of it (pg_dump's custom format is compressed already).
        packed = workdir / "copy.sqlite.gz"
        with copy.open("rb") as source_file, gzip.open(packed, "wb", compresslevel=6) as out:
            while block := source_file.read(archive.CHUNK):
                out.write(block)
                if progress:  # the long step here, in bytes of the database
                    progress(len(block))
        copy.unlink()
        return packed, SQLITE_GZIP, manifest
    if engine.dialect.name != "postgresql":
        raise BackupError(f"no backup method for {engine.dialect.name}")
    copy = workdir / "copy.pgdump"
    with engine.connect() as conn:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
        manifest = _manifest(conn, settings=settings, now=now, backend="postgresql")
        # pg_dump reads the snapshot the manifest was read in; it stays valid while this
        # transaction is open
        _run_tool(["pg_dump", "--format=custom", "--no-owner", "--no-privileges",
                   f"--snapshot={snapshot}", f"--file={copy}"], engine.url)
        conn.rollback()
    return copy, PG_DUMP, manifest


def take_backup(engine: sa.Engine, settings: BackupSettings, *, now: datetime,
                progress: Progress | None = None) -> BackupResult:
    """Seal the audit trail's committed events, copy the database, write the backup file,
    record the run and prune by the retention rule. Raises `BackupError` (after recording the
    failure) when any step fails; nothing earlier is removed then."""
    try:
        result = _take_backup(engine, settings, now=now, progress=progress)
    except (BackupError, OSError, sa.exc.SQLAlchemyError, sqlite3.Error) as error:
        message = _one_line(error)
        log.error("backup FAILED: %s", message)
        _record(engine, BackupRun(started_at=now, finished_at=now_utc(), file_name=None,
                                  outcome=BackupOutcome.FAILED, size_bytes=None, message=message))
        raise BackupError(message) from error
    _record(engine, BackupRun(started_at=now, finished_at=now_utc(),
                              outcome=BackupOutcome.OK, file_name=result.path.name,
                              size_bytes=result.path.stat().st_size, message=None))
    log.info("backup written: %s (%d bytes)", result.path, result.path.stat().st_size)
    return result


def _one_line(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    text = str(error).strip().splitlines()
    return text[0][:500] if text else type(error).__name__


def _record(engine: sa.Engine, run: BackupRun) -> None:
    try:
        with engine.begin() as conn:
            if not sa.inspect(conn).has_table(BackupRun.__tablename__):
                return  # a schema before 0012: the log line is the record
            conn.execute(sa.insert(BackupRun.__table__).values(
                started_at=run.started_at, finished_at=run.finished_at, outcome=run.outcome,
                file_name=run.file_name, size_bytes=run.size_bytes, message=run.message))
    except sa.exc.SQLAlchemyError:
        log.exception("backup: the outcome could not be recorded in the database")


def _take_backup(engine: sa.Engine, settings: BackupSettings, *, now: datetime,
                 progress: Progress | None) -> BackupResult:
    destination = settings.destination
    if not destination.is_dir():
        raise BackupError(f"backup destination {destination} does not exist or is not a folder"
                          " (is the disk or share mounted?)")
    with engine.connect() as conn:
        chained = sa.inspect(conn).has_table("audit_seals")
    if chained:  # the manifest's head covers every event committed before the backup began
        sealing.seal_now(engine, now=now, wait=10.0)
    with tempfile.TemporaryDirectory(prefix=".lims-backup-", dir=destination) as work:
        workdir = Path(work)
        copy, kind, manifest = _copy_of_database(engine, workdir, settings=settings, now=now,
                                                 progress=progress)
        name = file_name(settings.instance, now, manifest["alembic_revision"] or "none")
        partial = workdir / (name + ".partial")
        with partial.open("wb") as out:
            archive.write_archive(out, manifest=manifest, kind=kind, payload=copy,
                                  secret=settings.secret,
                                  progress=progress if kind == PG_DUMP else None)
            out.flush()
            os.fsync(out.fileno())
        final = destination / name
        os.replace(partial, final)
    pruned = prune(settings)
    return BackupResult(final, manifest, pruned)


def backups_in(settings: BackupSettings) -> dict[datetime, Path]:
    """This instance's backup files in the destination, by when they were taken."""
    found: dict[datetime, Path] = {}
    for path in settings.destination.iterdir():
        stamp = taken_at(path.name, settings.instance)
        if stamp is not None and path.is_file():
            found[stamp] = path
    return found


def prune(settings: BackupSettings) -> list[Path]:
    """Delete the backups the retention rule no longer keeps (after a successful backup only)."""
    found = backups_in(settings)
    kept = keep(found, settings.retention)
    removed = []
    for stamp, path in sorted(found.items()):
        if stamp not in kept:
            path.unlink()
            removed.append(path)
    return removed


# --- restore ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreResult:
    manifest: dict[str, Any]
    restored_counts: dict[str, int]
    revision_before: str
    revision_after: str

    def differences(self) -> list[str]:
        """Tables whose restored row count differs from the manifest's (none when intact)."""
        expected = self.manifest["row_counts"]
        return [name for name in sorted(set(expected) | set(self.restored_counts))
                if expected.get(name) != self.restored_counts.get(name)]


def inspect_backup(path: Path, progress: Progress | None = None) -> archive.Header:
    """Checksum, then header: what ``restore`` refuses a file for before touching anything."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    try:
        archive.verify_checksum(path, progress)
        header = archive.read_header(path)
    except archive.ArchiveError as error:
        raise BackupError(str(error)) from error
    manifest = header.manifest
    try:
        if not isinstance(manifest["row_counts"], dict) or not manifest["backend"]:
            raise KeyError("row_counts")
        str(manifest["alembic_revision"])
    except KeyError as error:
        raise BackupError(f"{path.name}: manifest incomplete (no {error.args[0]})") from error
    return header


def database_is_empty(engine: sa.Engine) -> bool:
    if engine.dialect.name == "sqlite":
        path = sqlite_path(engine.url)
        if not path.exists() or path.stat().st_size == 0:
            return True
    with engine.connect() as conn:
        return not sa.inspect(conn).get_table_names()


def restore_backup(path: Path, engine: sa.Engine, *, secret: bytes | None, force: bool = False,
                   progress: Progress | None = None) -> RestoreResult:
    """Restore the backup at ``path`` into the (empty, unless ``force``) database of ``engine``,
    then upgrade it to this LIMS's schema. Every check on the file (checksum, manifest, schema
    revision, passphrase, the copy's SHA-256) passes before the target is touched."""
    header = inspect_backup(path, progress)
    manifest = header.manifest
    revision = str(manifest["alembic_revision"])
    if revision not in known_revisions():
        raise BackupError(f"{path.name} is from schema revision {revision}, newer than this LIMS"
                          f" knows (head {head_revision()}): install the newer LIMS to restore it")
    backend = engine.dialect.name
    kind = header.payload["kind"]
    if (backend, kind) not in (("sqlite", SQLITE_GZIP), ("postgresql", PG_DUMP)):
        raise BackupError(f"{path.name} is a {manifest['backend']} backup; it restores into a"
                          f" {manifest['backend']} database, not {backend}")
    if not force and not database_is_empty(engine):
        raise BackupError("the target database is not empty; restore into a new database, or"
                          " pass --force (and confirm) to replace everything in it")
    engine.dispose()
    workdir_parent = sqlite_path(engine.url).parent if backend == "sqlite" else None
    if workdir_parent is not None:
        workdir_parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".lims-restore-", dir=workdir_parent) as work:
        copy = Path(work) / "copy"
        try:
            with copy.open("wb") as out:
                archive.extract_payload(path, header, out, secret=secret, progress=progress)
        except archive.ArchiveError as error:
            raise BackupError(str(error)) from error
        if backend == "sqlite":
            database = Path(work) / "database"
            try:
                with gzip.open(copy, "rb") as packed, database.open("wb") as out:
                    shutil.copyfileobj(packed, out, archive.CHUNK)
            except (OSError, EOFError, gzip.BadGzipFile) as error:
                raise BackupError(f"{path.name}: the database copy cannot be unpacked ({error})"
                                  ) from error
            copy.unlink()
            _place_sqlite(database, sqlite_path(engine.url))
        else:
            _place_postgres(copy, engine, force=force)
    engine.dispose()
    with engine.connect() as conn:
        counts = row_counts(conn)
    dbtools.upgrade(engine)
    with engine.connect() as conn:
        after = revision_of(conn)
    return RestoreResult(manifest, counts, revision, after)


def _place_sqlite(copy: Path, target: Path) -> None:
    with contextlib.closing(sqlite3.connect(copy)) as check:
        problems = check.execute("PRAGMA integrity_check").fetchall()
    if problems != [("ok",)]:
        raise BackupError(f"the database copy fails SQLite's integrity check: {problems[0][0]}")
    for leftover in (Path(f"{target}-wal"), Path(f"{target}-shm"), Path(f"{target}-journal")):
        leftover.unlink(missing_ok=True)
    os.replace(copy, target)


def _place_postgres(copy: Path, engine: sa.Engine, *, force: bool) -> None:
    if force:
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
        engine.dispose()
    _run_tool(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error",
               "--single-transaction", f"--dbname={engine.url.database}", str(copy)], engine.url)
