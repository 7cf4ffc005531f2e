"""Fixtures of the shipment tests (imported by each test module: this room's conftest belongs to
nobody yet): a shipment with its cluster, and samples made in bulk."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.core.permissions import Role
from lims.logistics import shipments as service
from lims.logistics.shipment_models import Shipment
from lims.monitoring.models import Cluster
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SaltSource, Sample, SampleKind
from tests.conftest import FIXED_NOW

_numbers = itertools.count(500_000)


def salt_samples(session: Session, cluster: Cluster, n: int,
                 status: SampleStatus = SampleStatus.REGISTERED) -> list[Sample]:
    """``n`` registered salt samples in ``cluster``, inserted in one flush."""
    samples = [Sample(kind=SampleKind.SALT, status=status, cluster=cluster,
                      round_id=cluster.round_id, region_id=cluster.region_id,
                      accession=f"S-2026-{next(_numbers):06d}",
                      collected_at=FIXED_NOW - timedelta(days=2),
                      registered_at=FIXED_NOW - timedelta(days=1),
                      salt_source=SaltSource.HOUSEHOLD)
               for _ in range(n)]
    session.add_all(samples)
    session.flush()
    return samples


@pytest.fixture()
def technician(make_user: Callable[..., User]) -> User:
    return make_user(Role.TECHNICIAN)


@pytest.fixture()
def make_shipment(session: Session, technician: User) -> Callable[..., Shipment]:
    def factory(cluster: Cluster, **overrides: Any) -> Shipment:
        values: dict[str, Any] = {
            "round_id": cluster.round_id, "region_id": cluster.region_id,
            "cluster_id": cluster.id, "courier": "KazPost", "box_count": 3,
            "dispatched_at": FIXED_NOW - timedelta(hours=5), "logger_id": "LOG-7"}
        values.update(overrides)
        return service.create_shipment(session, actor=technician, now=FIXED_NOW, **values)

    return factory


def manifest_of(session: Session, actor: User, shipment: Shipment, samples: list[Sample],
                boxes: list[int | None] | None = None) -> int:
    rows = [service.ManifestRow(i + 2, s.accession, boxes[i] if boxes else None)
            for i, s in enumerate(samples)]
    return service.load_manifest(session, actor=actor, now=FIXED_NOW, shipment=shipment,
                                 rows=rows, source="manifest.csv")
