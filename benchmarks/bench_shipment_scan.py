"""A shipment received at the desk, scan by scan (issue 16's benchmark; not a test).

On a fresh database (SQLite file or PostgreSQL) with a small demo survey, registers ``--size``
salt samples in one cluster, announces a shipment, loads their manifest, then scans every tube
as the desk does: one request's work per scan (lock the shipment, receive through the receipt
service, audit) and a commit, followed by the tally the scan screen redraws. ``--missing`` tubes
are left out, ``--extra`` strays received as extra, and the shipment is closed. Prints the
manifest load, the scan time per tube (median, 95th percentile) with and without the tally, and
the close, beside the desk's budget: a scan must be answered before the next tube is scanned.

    .venv/bin/python benchmarks/bench_shipment_scan.py --size 2000 --backend both
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_backup import database  # noqa: E402
from lims import create_app, dbtools  # noqa: E402
from lims.auth.services import create_user  # noqa: E402
from lims.core.dt import now_utc  # noqa: E402
from lims.core.permissions import Role  # noqa: E402
from lims.extensions import db  # noqa: E402
from lims.logistics import shipments as service  # noqa: E402
from lims.logistics.shipment_queries import tally  # noqa: E402
from lims.monitoring.demo import generate_demo_data  # noqa: E402
from lims.monitoring.models import Cluster  # noqa: E402
from lims.monitoring.seed import seed_reference_data  # noqa: E402
from lims.samples.lifecycle import SampleStatus  # noqa: E402
from lims.samples.models import SaltSource, Sample, SampleKind  # noqa: E402

#: A scanner reads a tube about every second; the answer must come well before the next one.
SCAN_BUDGET_MS = 250.0


def run(backend: str, size: int, missing: int, extra: int, server: str, folder: Path) -> None:
    print(f"{backend}: a shipment of {size:,} tubes, {missing} missing, {extra} extra", flush=True)
    with database(backend, server, folder, "shipment") as url:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
        with app.app_context(), app.test_request_context():
            now = now_utc()
            dbtools.upgrade(db.engine)
            seed_reference_data(db.session, now=now)
            generate_demo_data(db.session, seed=7, samples=200, now=now)
            actor = create_user(db.session, actor=None, now=now, username="bench-desk",
                                password="bench-password-123", roles=(Role.TECHNICIAN,))
            cluster = db.session.scalars(sa.select(Cluster).order_by(Cluster.id)).first()
            tubes = [Sample(kind=SampleKind.SALT, status=SampleStatus.REGISTERED, cluster=cluster,
                            round_id=cluster.round_id, region_id=cluster.region_id,
                            accession=f"S-2099-{i:06d}", salt_source=SaltSource.HOUSEHOLD,
                            collected_at=now - timedelta(days=2),
                            registered_at=now - timedelta(days=1))
                     for i in range(size + extra)]
            db.session.add_all(tubes)
            shipment = service.create_shipment(
                db.session, actor=actor, now=now, round_id=cluster.round_id,
                region_id=cluster.region_id, cluster_id=cluster.id, courier="KazPost",
                dispatched_at=now - timedelta(hours=6), box_count=max(1, size // 100),
                logger_id="LOG-1")
            db.session.commit()
            listed, strays = tubes[:size], tubes[size:]
            started = time.perf_counter()
            service.load_manifest(db.session, actor=actor, now=now, shipment=shipment,
                                  rows=[service.ManifestRow(i + 2, t.accession, 1 + i // 100)
                                        for i, t in enumerate(listed)], source="bench.csv")
            db.session.commit()
            print(f"  load the manifest ({size:,} rows)          "
                  f"{(time.perf_counter() - started) * 1000:8.0f} ms", flush=True)
            scans, with_tally = [], []
            for i, tube in enumerate(listed[missing:] + strays):
                started = time.perf_counter()
                service.scan(db.session, actor=actor, now=now_utc(), shipment=shipment,
                             text=tube.accession, box=1 + i // 100,
                             receive_extra=tube in strays)
                db.session.commit()
                scanned = time.perf_counter()
                tally(db.session, shipment.id)
                db.session.rollback()
                scans.append((scanned - started) * 1000)
                with_tally.append((time.perf_counter() - started) * 1000)
            for label, values in (("scan + commit", scans), ("scan + commit + tally", with_tally)):
                p95 = statistics.quantiles(values, n=20)[-1]
                print(f"  {label:<38} median {statistics.median(values):6.1f} ms, p95 {p95:6.1f}"
                      f" ms   (budget {SCAN_BUDGET_MS:.0f} ms)", flush=True)
            started = time.perf_counter()
            found = service.close_shipment(db.session, actor=actor, now=now_utc(),
                                           shipment=shipment, missing_reason="bench",
                                           extra_reason="bench", damaged={})
            db.session.commit()
            print(f"  close ({len(found)} discrepancies)                 "
                  f"{(time.perf_counter() - started) * 1000:8.0f} ms", flush=True)
            assert len(found) == missing + extra
            db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=2000)
    parser.add_argument("--missing", type=int, default=3)
    parser.add_argument("--extra", type=int, default=2)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    with tempfile.TemporaryDirectory(prefix="lims-bench-shipment-") as folder:
        for backend in backends:
            run(backend, args.size, args.missing, args.extra, args.server, Path(folder))


if __name__ == "__main__":
    main()
