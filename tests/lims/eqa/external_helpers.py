"""Set-up shared by the external-scheme tests: a scheme in a QA cluster, a round with a
material whose daily samples are received and carry verified duplicate results."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis.catalogue import seed_methods
from lims.analysis.models import Analyte, MethodVersionRow, Result, ResultStatus
from lims.auth.models import User
from lims.eqa import external
from lims.eqa.external_models import (
    ExternalMaterial,
    ExternalMeasurand,
    ExternalRound,
    ExternalScheme,
)
from lims.monitoring.models import PopulationGroup
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import ReceiptDecision, Sample
from lims.samples.transitions import receive_sample
from tests.race import school_cluster


def make_scheme(session: Session, actor: User, now: datetime, code: str = "EQUIP",
                percent: float | None = 15.0, absolute: float | None = 15.0,
                below: float | None = 100.0) -> ExternalScheme:
    cluster = school_cluster(session, now)
    session.flush()
    group = session.scalars(sa.select(PopulationGroup).order_by(PopulationGroup.id)).first()
    return external.create_scheme(
        session, actor=actor, now=now, code=code, name="Ensuring the Quality of Urinary Iodine "
        "Procedures", provider="CDC", measurand=ExternalMeasurand.UIC, limit_percent=percent,
        limit_absolute=absolute, absolute_below=below,
        limit_note="EQUIP does not publish its criterion: laboratory's choice.", days=3,
        cluster=cluster, population_group=group)


def make_round(session: Session, actor: User, now: datetime, scheme: ExternalScheme,
               code: str = "2026-1", received_on: date | None = None) -> ExternalRound:
    received = received_on or (now.date() - timedelta(days=2))
    return external.open_round(session, actor=actor, now=now, scheme=scheme, code=code,
                               received_on=received, deadline=received + timedelta(days=30))


def analyse(session: Session, actor: User, verifier: User, now: datetime,
            material: ExternalMaterial, values: list[tuple[float, float]]) -> None:
    """Receive each day's sample and give it a verified result with its duplicates (what a run
    and the four-eyes review leave behind)."""
    seed_methods(session, now=now)
    method = session.scalar(sa.select(MethodVersionRow).where(
        MethodVersionRow.code == "UIC-SK-PLATE"))
    assert method is not None
    for link, pair in zip(material.samples, values, strict=True):
        sample = session.get(Sample, link.sample_id)
        receive_sample(session, actor=actor, now=now, sample=sample,
                       decision=ReceiptDecision.ACCEPTED, volume_ml=None)
        session.add(Result(sample_id=sample.id, analyte=Analyte.UIC,
                           method_version_id=method.id, status=ResultStatus.VERIFIED,
                           value=sum(pair) / 2, unit="µg/L", details={"replicates": list(pair)},
                           created_at=now, created_by_id=actor.id, verified_at=now,
                           verified_by_id=verifier.id))
        sample.status = SampleStatus.VERIFIED
    session.flush()
