"""Spreadsheet intake at survey scale (issue 2's benchmark: 10,000 CSV rows in ≤ 10 s).

Creates a fresh PostgreSQL database (dropped afterwards unless ``--keep``), migrates and seeds it,
adds a survey round with clusters, generates a realistic urine intake CSV (deterministic for a
seed: participants in households, ages that fit their population group, volumes, containers,
collection times over the last weeks) and times what the batch page does: parse and validate the
whole file, register every row (households, participants, samples, audit events, one block of
accession numbers) and commit. A salt file of the same size is timed too.

    .venv/bin/python benchmarks/bench_intake.py --rows 10000
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lims import create_app, dbtools  # noqa: E402
from lims.audit.sealing import Sealer  # noqa: E402
from lims.auth.services import create_user  # noqa: E402
from lims.core.dt import now_utc  # noqa: E402
from lims.core.permissions import Role  # noqa: E402
from lims.extensions import db  # noqa: E402
from lims.monitoring.models import (  # noqa: E402
    Cluster,
    District,
    PopulationGroup,
    Programme,
    Region,
    SurveyRound,
)
from lims.monitoring.seed import seed_reference_data  # noqa: E402
from lims.samples import batch_import  # noqa: E402
from lims.samples.models import Sample, SampleKind  # noqa: E402
from lims.samples.registration import register_intake_file  # noqa: E402

LAB_TZ = ZoneInfo("Asia/Almaty")
GROUPS = [("SAC", 72, 155, "none", 0.7), ("PW", 216, 540, "pregnant", 0.15), ("WRA", 216, 540, "none", 0.15)]
CONTAINERS = ["screw_cap_tube", "cryovial", "urine_cup"]


def urine_csv(rng: random.Random, rows: int, cluster_codes: list[str], now_local) -> bytes:
    header = ["cluster_code", "participant_code", "age_months", "sex", "population_group", "physiological_status",
              "household_code", "volume_ml", "container", "collected_at", "notes"]
    out = io.StringIO()
    out.write(",".join(header) + "\n")
    household = 0
    for i in range(rows):
        if i % 2 == 0:
            household += 1
        group, low, high, status, _ = rng.choices(GROUPS, weights=[g[4] for g in GROUPS])[0]
        sex = rng.choice("FM") if group == "SAC" else "F"
        collected = now_local - timedelta(days=rng.randint(1, 40), minutes=rng.randint(0, 600))
        out.write(",".join([
            rng.choice(cluster_codes), f"P-{i + 1:06d}", str(rng.randint(low, high)), sex, group, status,
            f"H-{household:06d}", f"{rng.uniform(0.5, 12):.1f}", rng.choice(CONTAINERS),
            collected.strftime("%Y-%m-%d %H:%M"), "",
        ]) + "\n")
    return out.getvalue().encode()


def salt_csv(rng: random.Random, rows: int, cluster_codes: list[str], now_local) -> bytes:
    header = ["cluster_code", "household_code", "salt_source", "brand", "packaging", "iodized_per_label",
              "collected_at", "notes"]
    lines = [",".join(header)]
    for i in range(rows):
        collected = now_local - timedelta(days=rng.randint(1, 40))
        lines.append(",".join([
            rng.choice(cluster_codes), f"SH-{i + 1:06d}", "household", rng.choice(["Aral Tuz", "Salina", ""]),
            rng.choice(["sealed_plastic", "paper", "bulk"]), rng.choice(["yes", "no", ""]),
            collected.strftime("%Y-%m-%d"), "",
        ]))
    return ("\n".join(lines) + "\n").encode()


def set_up(clusters: int) -> tuple[int, int, list[str]]:
    session = db.session
    seed_reference_data(session, now=now_utc())
    regions = list(session.scalars(sa.select(Region)))
    survey_round = SurveyRound(
        programme=Programme(code="NIS", name="National iodine survey", created_at=now_utc()),
        code="R-BENCH", name="Benchmark round", period_start=date(2020, 1, 1), period_end=date(2035, 12, 31),
        created_at=now_utc(), status="active", regions=regions,
        groups=list(session.scalars(sa.select(PopulationGroup))),
    )
    codes = []
    for n in range(clusters):
        region = regions[n % len(regions)]
        district = District(region=region, code=f"D{n:04d}", name_en="District", name_kk="Аудан", name_ru="Район")
        code = f"C-{n + 1:04d}"
        session.add(Cluster(round=survey_round, district=district, region=region, code=code,
                            name=f"School {n + 1}", site_type="school", target_count=40))
        codes.append(code)
    user = create_user(session, actor=None, now=now_utc(), username="bench", password="correct-horse-battery-7",
                       roles=[Role.TECHNICIAN])
    session.commit()
    return user.id, survey_round.id, codes


def time_file(app, user_id: int, round_id: int, kind: SampleKind, data: bytes, name: str) -> None:
    from lims.auth.models import User

    with app.test_request_context():
        started = time.perf_counter()
        parsed = batch_import.parse_file(data, name, kind=kind, timezone=LAB_TZ, max_rows=100_000)
        parse_s = time.perf_counter() - started
        assert not parsed.errors, parsed.errors[:5]
    with app.test_request_context():
        actor = db.session.get(User, user_id)
        started = time.perf_counter()
        parsed = batch_import.parse_file(data, name, kind=kind, timezone=LAB_TZ, max_rows=100_000)
        batch = register_intake_file(db.session, actor=actor, now=now_utc(), round_id=round_id,
                                     filename=name, data=data, parsed=parsed)
        db.session.commit()
        total = time.perf_counter() - started
        stored = db.session.scalar(sa.select(sa.func.count()).select_from(Sample)
                                   .where(Sample.intake_batch_id == batch.id))
    print(f"{kind.value:>5}: {batch.row_count} rows ({len(data) / 1024:.0f} KiB) — parse+check columns/cells "
          f"{parse_s:.2f} s; parse + validate + register + commit {total:.2f} s ({batch.row_count / total:,.0f} rows/s); "
          f"{stored} samples stored")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--clusters", type=int, default=400)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--server", default="postgresql+psycopg://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--with-sealer", action="store_true",
                        help="run the audit sealer every 0.5 s beside the intake (issue 22)")
    args = parser.parse_args()

    name = f"lims_bench_intake_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(f"{args.server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        app = create_app({"DATABASE_URL": f"{args.server}/{name}", "SECRET_KEY": "bench", "TESTING": True})
        with app.app_context():
            dbtools.upgrade(db.engine)
            user_id, round_id, codes = set_up(args.clusters)
        rng = random.Random(args.seed)
        now_local = now_utc().astimezone(LAB_TZ).replace(tzinfo=None)
        print(f"database {name}: {args.clusters} clusters; generating {args.rows} rows per file")
        stop, sealed = threading.Event(), [0]
        if args.with_sealer:
            with app.app_context():
                sealer = Sealer(db.engine)

            def seal_loop() -> None:
                while not stop.wait(0.5):
                    sealed[0] += sealer.run_once(now=now_utc())

            thread = threading.Thread(target=seal_loop, daemon=True)
            thread.start()
        time_file(app, user_id, round_id, SampleKind.URINE, urine_csv(rng, args.rows, codes, now_local), "urine.csv")
        time_file(app, user_id, round_id, SampleKind.SALT, salt_csv(rng, args.rows, codes, now_local), "salt.csv")
        if args.with_sealer:
            stop.set()
            thread.join()
            print(f"audit sealer beside the intake: {sealed[0]:,} events sealed meanwhile")
        with app.app_context():
            db.engine.dispose()
    finally:
        if not args.keep:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
