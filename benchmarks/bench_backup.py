"""Backup, restore and check at survey scale (issue 22's benchmark; not a test).

Fills a fresh database (SQLite file or PostgreSQL) with the deterministic demo survey
(``generate_demo_data``: samples with participants, households, receipts and their audit events),
then times: sealing every audit event (what migration 0012 does once), ``lims backup`` (online
copy, manifest, checksum, file), ``lims restore`` into a new empty database (checksum, copy,
row counts against the manifest) and ``lims check`` on the restored database (integrity, foreign
keys, invariants, the whole audit chain). Prints each figure beside its target.

    .venv/bin/python benchmarks/bench_backup.py --samples 1000000 --backend both
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lims import create_app, dbtools  # noqa: E402
from lims.audit import sealing  # noqa: E402
from lims.backup import service  # noqa: E402
from lims.backup.check import run_checks  # noqa: E402
from lims.core.dt import now_utc  # noqa: E402
from lims.extensions import db  # noqa: E402
from lims.monitoring.demo import generate_demo_data  # noqa: E402
from lims.monitoring.seed import seed_reference_data  # noqa: E402

#: Targets for a nightly job on a laboratory PC at 1,000,000 samples (seconds).
TARGETS = {"backup": 600.0, "restore": 900.0, "check": 600.0}


@contextmanager
def database(backend: str, server: str, folder: Path, tag: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / f'{tag}.sqlite'}"
        return
    name = f"lims_bench_backup_{tag}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(f"{server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server}/{name}"
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def app_for(url: str, backups: Path):  # type: ignore[no-untyped-def]
    return create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True,
                       "BACKUP_DIR": str(backups)})


def timed(label: str, target: float | None, fn):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    goal = f"   (target ≤ {target:.0f} s)" if target is not None else ""
    print(f"  {label:<44} {seconds:8.1f} s{goal}", flush=True)
    return result, seconds


def run(backend: str, samples: int, seed: int, server: str, folder: Path) -> None:
    print(f"{backend}: {samples:,} demo samples", flush=True)
    backups = folder / f"backups-{backend}"
    backups.mkdir()
    with database(backend, server, folder, "source") as source_url, \
            database(backend, server, folder, "restored") as target_url:
        app = app_for(source_url, backups)
        with app.app_context():
            dbtools.upgrade(db.engine)
            seed_reference_data(db.session, now=now_utc())
            db.session.commit()

            def fill() -> None:
                generate_demo_data(db.session, seed=seed, samples=samples, now=now_utc(),
                                   chunk_size=20_000)
                db.session.commit()

            timed("generate the demo survey (setup)", None, fill)
            events = db.session.scalar(sa.text("SELECT count(*) FROM audit_events"))
            sealed, _ = timed(f"seal {events:,} audit events", None,
                              lambda: sealing.seal_now(db.engine, now=now_utc()))
            settings = service.BackupSettings.from_config(app.config, app.instance_path)
            result, _ = timed("backup (copy, manifest, checksum, file)", TARGETS["backup"],
                              lambda: service.take_backup(db.engine, settings, now=now_utc()))
            size = result.path.stat().st_size
            rows = sum(result.manifest["row_counts"].values())
            print(f"  backup file {result.path.name}: {size / 2**20:,.1f} MiB, {rows:,} rows in"
                  f" {len(result.manifest['row_counts'])} tables", flush=True)
            db.engine.dispose()
        target = app_for(target_url, backups)
        with target.app_context():
            restored, _ = timed("restore into an empty database", TARGETS["restore"],
                                lambda: service.restore_backup(result.path, db.engine,
                                                               secret=None))
            assert restored.differences() == [], restored.differences()
            report, _ = timed("lims check (integrity, keys, invariants, chain)",
                              TARGETS["check"], lambda: run_checks(db.engine))
            assert report.problems == [], report.problems
            print(f"  restored row counts equal the manifest; {report.notes[-1]}", flush=True)
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="lims-bench-backup-") as folder:
        for backend in backends:
            run(backend, args.samples, args.seed, args.server, Path(folder))


if __name__ == "__main__":
    main()
