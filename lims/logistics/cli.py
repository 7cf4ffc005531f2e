"""``lims logistics``: the logistics room from the command line. ``lims logistics demo`` gives the
demonstration something to show in each of the room's pages (a freezer with boxes of placed
aliquots, a tube checked out, a retention rule, one shipment on its way and one received with
its discrepancies), made through the same services the pages use, so it passes every rule a real
day at the desk does."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from lims.auth.models import User
from lims.capture.cli import _admin
from lims.core.dt import now_utc
from lims.core.errors import LimsError
from lims.extensions import db
from lims.logistics import disposal, shipments, storage
from lims.logistics.shipment_models import Shipment
from lims.logistics.storage_models import RetentionRule, StorageUnit, UnitLevel
from lims.monitoring.models import Cluster
from lims.samples.models import SaltSource, Sample, SampleKind
from lims.samples.registration import open_rounds, register_salt_sample

DEMO_FREEZER = "DEMO-F1"
#: Boxes of the demo rack, and how many received urine samples are split (two aliquots each) and
#: placed: enough to see a box grid fill up, not so many that the box is full.
DEMO_BOXES = 2
DEMO_STORED_SAMPLES = 20
DEMO_RETENTION_DAYS = 730


@click.group("logistics")
def logistics_group() -> None:
    """Shipments, storage, retention and disposal."""


@logistics_group.command("demo")
@click.option("--by", "by_username", default="admin", show_default=True)
@with_appcontext
def demo(by_username: str) -> None:
    """Storage, a retention rule and two shipments for the demonstration; nothing is done if
    the demo freezer exists."""
    actor = _admin(by_username)
    if db.session.scalar(sa.select(StorageUnit.id).where(StorageUnit.code == DEMO_FREEZER)):
        click.echo(f"demo storage {DEMO_FREEZER} already there; nothing added")
        return
    now = now_utc()
    try:
        tubes = _storage(actor, now)
        rule = _retention(actor, now)
        received, in_transit = _shipments(actor, now)
    except LimsError as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"demo logistics: freezer {DEMO_FREEZER} with {tubes} aliquots placed (one "
               f"checked out); {rule}; {received}; {in_transit}")


def _storage(actor: User, now: datetime) -> int:
    """A freezer, a rack and its 9×9 urine boxes; the first received urine samples split into
    two aliquots each and placed in order; one tube taken out for a run."""
    freezer = storage.create_unit(db.session, actor=actor, now=now, level=UnitLevel.FREEZER,
                                  code=DEMO_FREEZER, name="−80 °C freezer (demonstration)")
    rack = storage.create_unit(db.session, actor=actor, now=now, level=UnitLevel.RACK,
                               code=f"{DEMO_FREEZER}-R1", name="Rack 1", parent=freezer)
    boxes = [storage.create_unit(db.session, actor=actor, now=now, level=UnitLevel.BOX,
                                 code=f"{DEMO_FREEZER}-R1-B{n}", name=f"Urine box {n}",
                                 parent=rack, n_rows=9, n_cols=9, sample_kind=SampleKind.URINE)
             for n in range(1, DEMO_BOXES + 1)]
    samples = db.session.scalars(
        sa.select(Sample).where(Sample.kind == SampleKind.URINE, Sample.received_at.is_not(None))
        .order_by(Sample.received_at, Sample.id).limit(DEMO_STORED_SAMPLES))
    placed = []
    for sample in samples:
        for tube in storage.split_aliquots(db.session, actor=actor, now=now, sample=sample,
                                           count=2):
            placed.append(storage.place(db.session, actor=actor, now=now, box=boxes[0],
                                        scanned=tube.label))
    if placed:
        storage.check_out(db.session, actor=actor, now=now, tube=placed[0],
                          purpose="UIC retest (demonstration)")
    return len(placed)


def _retention(actor: User, now: datetime) -> str:
    """Urine kept two years after collection, unless the lab has set its own rule."""
    if db.session.scalar(sa.select(RetentionRule.id).where(
            RetentionRule.kind == SampleKind.URINE, RetentionRule.round_id.is_(None))):
        return "urine retention rule kept as set"
    disposal.set_retention(db.session, actor=actor, now=now, kind=SampleKind.URINE,
                           survey_round=None, days=DEMO_RETENTION_DAYS)
    return f"urine kept {DEMO_RETENTION_DAYS} days"


def _field_team(actor: User, now: datetime, cluster: Cluster, n: int) -> list[Sample]:
    """``n`` household salt samples a cluster team collected four days ago and registered the
    day after: the demo's survey rounds have few samples still waiting to be received."""
    return [register_salt_sample(
        db.session, actor=actor, now=now - timedelta(days=3), cluster_id=cluster.id,
        household_code=f"SHIP-{cluster.code}-{number}", salt_source=SaltSource.HOUSEHOLD,
        brand=None, packaging=None, iodized_per_label=None,
        collected_at=now - timedelta(days=4), notes="demonstration shipment")
        for number in range(1, n + 1)]


def _announce(actor: User, now: datetime, cluster: Cluster, dispatched_at: datetime) -> Shipment:
    return shipments.create_shipment(
        db.session, actor=actor, now=now, round_id=cluster.round_id,
        region_id=cluster.region_id, cluster_id=cluster.id, courier="KazPost (demonstration)",
        dispatched_at=dispatched_at, box_count=2, logger_id="LOG-DEMO-1")


def _shipments(actor: User, now: datetime) -> tuple[str, str]:
    """One cluster team's shipment received and closed (one tube missing, one sent without
    being listed), and another region's still on its way, its manifest generated from what is
    registered in its cluster."""
    rounds = open_rounds(db.session)
    clusters = list(db.session.scalars(
        sa.select(Cluster).where(Cluster.round_id == rounds[0].id).order_by(Cluster.id)
    )) if rounds else []
    if not clusters:
        return "no open survey round with clusters", "no shipments"
    first = clusters[0]
    other = next((c for c in clusters if c.region_id != first.region_id), clusters[-1])
    team = _field_team(actor, now, first, 6)
    listed, extra = team[:-1], team[-1]
    arrived = now - timedelta(hours=3)
    closed = _announce(actor, arrived, first, dispatched_at=now - timedelta(days=2))
    shipments.load_manifest(db.session, actor=actor, now=arrived, shipment=closed, source="demo",
                            rows=[shipments.ManifestRow(i + 2, s.accession, 1 + i % 2)
                                  for i, s in enumerate(listed)])
    shipments.record_arrival(db.session, actor=actor, now=arrived, shipment=closed,
                             temperature_c=Decimal("6.5"), logger_excursion=False,
                             excursion_details=None)
    min_volume = Decimal(str(current_app.config["URINE_MIN_VOLUME_ML"]))
    for number, sample in enumerate(listed[1:]):
        shipments.scan(db.session, actor=actor, now=arrived, shipment=closed,
                       text=sample.accession, box=1 + number % 2, min_volume_ml=min_volume)
    shipments.scan(db.session, actor=actor, now=arrived, shipment=closed, text=extra.accession,
                   box=2, receive_extra=True, min_volume_ml=min_volume)
    found = shipments.close_shipment(
        db.session, actor=actor, now=now - timedelta(hours=2), shipment=closed,
        missing_reason="not in the boxes; the team was asked", damaged={},
        extra_reason="sent with the boxes, not on the list", note=None)
    _field_team(actor, now, other, 4)
    on_way = _announce(actor, now, other, dispatched_at=now - timedelta(hours=6))
    count = shipments.manifest_from_registrations(db.session, actor=actor, now=now,
                                                  shipment=on_way)
    return (f"{closed.reference} closed with {len(found)} discrepancies",
            f"{on_way.reference} in transit with {count} samples on its manifest")
