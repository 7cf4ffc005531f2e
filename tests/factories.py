"""Factory fixtures: callables with sensible defaults and ``**overrides``; they flush, never
commit, so everything vanishes with the test's transaction."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.auth.services import create_user
from lims.core.permissions import Role
from lims.monitoring.models import (
    Cluster,
    District,
    Household,
    Participant,
    PhysiologicalStatus,
    PopulationGroup,
    Programme,
    Region,
    Sex,
    SiteType,
    SurveyRound,
)
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SaltSource, Sample, SampleKind, UrineContainer

PASSWORD = "correct-horse-battery-9"
_counter = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


@pytest.fixture()
def make_user(session: Session) -> Callable[..., User]:
    from tests.conftest import FIXED_NOW

    def factory(*roles: Role, username: str | None = None, **kwargs: Any) -> User:
        return create_user(session, actor=None, now=FIXED_NOW, username=username or unique("user"),
                           password=PASSWORD, roles=roles or (Role.TECHNICIAN,), **kwargs)

    return factory


@pytest.fixture()
def login(client: FlaskClient) -> Callable[[User], FlaskClient]:
    def do_login(user: User) -> FlaskClient:
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return do_login


@pytest.fixture()
def region(session: Session) -> Callable[[str], Region]:
    def get(iso_code: str = "KZ-11") -> Region:
        return session.execute(sa.select(Region).where(Region.iso_code == iso_code)).scalar_one()

    return get


@pytest.fixture()
def make_cluster(session: Session, region: Callable[[str], Region]) -> Callable[..., Cluster]:
    """A cluster in a new district of a region, in a new active survey round (or a given one)."""
    from tests.conftest import FIXED_NOW

    def factory(iso_code: str = "KZ-11", survey_round: SurveyRound | None = None,
                target_count: int = 30, **kwargs: Any) -> Cluster:
        reg = region(iso_code)
        if survey_round is None:
            programme = Programme(code=unique("PRG"), name="National iodine survey",
                                  created_at=FIXED_NOW)
            survey_round = SurveyRound(programme=programme, code=unique("R"), name="Round",
                                       period_start=date(2026, 1, 1), period_end=date(2026, 12, 31),
                                       created_at=FIXED_NOW, status="active")
            survey_round.regions = [reg]
            survey_round.groups = list(session.scalars(sa.select(PopulationGroup)))
            session.add(survey_round)
        district = District(region=reg, code=unique("D"), name_en="Central District",
                            name_kk="Орталық ауданы", name_ru="Центральный район")
        cluster = Cluster(round=survey_round, district=district, region=reg, code=unique("C"),
                          name=kwargs.pop("name", "School No. 12"),
                          site_type=kwargs.pop("site_type", SiteType.SCHOOL),
                          target_count=target_count, **kwargs)
        session.add(cluster)
        session.flush()
        return cluster

    return factory


@pytest.fixture()
def make_participant(session: Session) -> Callable[..., Participant]:
    def factory(cluster: Cluster, group_code: str = "SAC", **kwargs: Any) -> Participant:
        group = session.execute(
            sa.select(PopulationGroup).where(PopulationGroup.code == group_code)
        ).scalar_one()
        household = kwargs.pop("household", None)
        if household is None:
            household = Household(cluster=cluster, code=unique("H"))
        values: dict[str, Any] = {"age_months": 9 * 12, "sex": Sex.FEMALE,
                                  "physiological_status": PhysiologicalStatus.NONE}
        values.update(kwargs)
        participant = Participant(round_id=cluster.round_id, cluster=cluster, household=household,
                                  population_group=group, code=values.pop("code", unique("P")),
                                  **values)
        session.add(participant)
        session.flush()
        return participant

    return factory


@pytest.fixture()
def make_sample(session: Session, make_cluster: Callable[..., Cluster],
                make_participant: Callable[..., Participant]) -> Callable[..., Sample]:
    """A sample row straight into the table (no service), for tests of pages and queries."""
    from tests.conftest import FIXED_NOW

    def factory(kind: SampleKind = SampleKind.URINE, cluster: Cluster | None = None,
                status: SampleStatus = SampleStatus.REGISTERED, **kwargs: Any) -> Sample:
        cluster = cluster or make_cluster()
        prefix = "U" if kind == SampleKind.URINE else "S"
        values: dict[str, Any] = {
            "accession": f"{prefix}-2026-{next(_counter):06d}",
            "collected_at": FIXED_NOW - timedelta(days=1),
            "registered_at": FIXED_NOW,
        }
        if kind == SampleKind.URINE:
            participant = kwargs.pop("participant", None) or make_participant(cluster)
            values.update(participant=participant, household=participant.household,
                          volume_ml=Decimal("5.0"), container=UrineContainer.SCREW_CAP_TUBE)
        else:
            values.update(salt_source=SaltSource.HOUSEHOLD, iodized_per_label=True)
        values.update(kwargs)
        sample = Sample(kind=kind, status=status, cluster=cluster, round_id=cluster.round_id,
                        region_id=cluster.region_id, **values)
        session.add(sample)
        session.flush()
        return sample

    return factory
