"""Registration services: accession numbers, the intake rules, the household link, the audit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from lims.audit.service import events_for
from lims.core.errors import ConflictError, ValidationError
from lims.monitoring.models import Household, Participant, PopulationGroup, RoundStatus, SampleKindRef
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import AccessionCounter, SampleKind
from lims.samples.registration import (
    allocate_accessions,
    next_accession_numbers,
    register_salt_sample,
    register_urine_sample,
)
from tests.conftest import FIXED_NOW



@pytest.fixture()
def urine(session, actor, cluster):
    def register(**overrides: Any):
        values: dict[str, Any] = dict(
            cluster_id=cluster.id, participant_code="P-17", age_months=108, sex="F",
            physiological_status="none", population_group_code="SAC", household_code="H-1",
            volume_ml=Decimal("5.0"), container="screw_cap_tube",
            collected_at=FIXED_NOW - timedelta(hours=3),
        )
        values.update(overrides)
        return register_urine_sample(session, actor=actor, now=FIXED_NOW, **values)

    return register


@pytest.fixture()
def salt(session, actor, cluster):
    def register(**overrides: Any):
        values: dict[str, Any] = dict(
            cluster_id=cluster.id, household_code="H-1", salt_source="household", brand="Aral",
            packaging="sealed_plastic", iodized_per_label=True, collected_at=FIXED_NOW - timedelta(hours=3),
        )
        values.update(overrides)
        return register_salt_sample(session, actor=actor, now=FIXED_NOW, **values)

    return register


# --- accession numbers -----------------------------------------------------------------------

def test_numbers_are_consecutive_per_kind_and_year(session):
    assert next_accession_numbers(session, SampleKind.URINE, 2031) == [1]
    assert next_accession_numbers(session, SampleKind.URINE, 2031, 3) == [2, 3, 4]
    assert next_accession_numbers(session, SampleKind.SALT, 2031) == [1]
    assert next_accession_numbers(session, SampleKind.URINE, 2032) == [1]
    counter = session.get(AccessionCounter, (SampleKind.URINE, 2031))
    assert counter.last_value == 4


def test_accession_format_and_prefix_from_reference_data(session):
    assert allocate_accessions(session, SampleKind.SALT, FIXED_NOW.replace(year=2033), 2) == [
        "S-2033-000001", "S-2033-000002"]
    session.get(SampleKindRef, "urine").accession_prefix = "UR"
    assert allocate_accessions(session, SampleKind.URINE, FIXED_NOW.replace(year=2033), 1) == ["UR-2033-000001"]


def test_year_is_taken_in_utc(session):
    from datetime import datetime, timezone

    almaty_new_year = datetime(2034, 1, 1, 3, 0, tzinfo=timezone(timedelta(hours=5)))  # 2033 in UTC
    assert allocate_accessions(session, SampleKind.URINE, almaty_new_year, 1)[0].startswith("U-2033-")


# --- urine -----------------------------------------------------------------------------------

def test_register_urine_creates_participant_household_and_audit(session, urine, cluster, actor):
    sample = urine()
    assert sample.accession.startswith("U-2026-")
    assert sample.status == SampleStatus.REGISTERED
    assert (sample.round_id, sample.region_id, sample.cluster_id) == (cluster.round_id, cluster.region_id, cluster.id)
    assert sample.registered_by_id == actor.id and sample.registered_at == FIXED_NOW
    participant = session.get(Participant, sample.participant_id)
    assert (participant.code, participant.age_months, participant.sex.value) == ("P-17", 108, "F")
    assert participant.household_id == sample.household_id
    assert session.get(Household, sample.household_id).code == "H-1"
    [event] = events_for(session, "sample", sample.id)
    assert event.action == "registered" and event.entity_label == sample.accession
    assert event.actor_id == actor.id
    assert event.changes["participant_code"] == "P-17"
    assert event.changes["volume_ml"] == "5.0"
    assert event.changes["cluster"] == cluster.code
    assert event.changes["new_participant"] is True


def test_consecutive_registrations_take_the_next_number(urine):
    first = urine()
    second = urine(participant_code="P-18")
    assert int(second.accession[-6:]) == int(first.accession[-6:]) + 1


def test_known_participant_gives_another_sample(session, urine):
    first = urine()
    second = urine(household_code=None)
    assert second.participant_id == first.participant_id
    assert second.household_id == first.household_id
    assert "new_participant" not in events_for(session, "sample", second.id)[0].changes


def test_known_participant_with_other_attributes_is_a_conflict(urine):
    urine()
    with pytest.raises(ConflictError) as info:
        urine(age_months=110)
    assert info.value.field == "participant_code"
    assert "participant P-17 already registered with age 108 months (now 110)" in info.value.message


def test_salt_and_urine_of_one_household_are_linked(urine, salt):
    u = urine()
    s = salt()
    assert s.accession.startswith("S-2026-")
    assert s.household_id == u.household_id


def test_low_volume_is_registered_but_flagged(session, urine):
    sample = urine(volume_ml=Decimal("0.5"))
    assert sample.volume_ml == Decimal("0.5")
    assert events_for(session, "sample", sample.id)[0].changes["flags"] == ["low_volume"]


def test_existing_participant_from_factory(session, make_participant, cluster, urine):
    participant = make_participant(cluster, code="P-99", age_months=100)
    sample = urine(participant_code="P-99", age_months=100, household_code=participant.household.code)
    assert sample.participant_id == participant.id


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"volume_ml": Decimal("-1")}, "volume_ml", "negative"),
        ({"collected_at": FIXED_NOW + timedelta(minutes=5)}, "collected_at", "future"),
        ({"collected_at": FIXED_NOW - timedelta(days=366)}, "collected_at", "365 days"),
        ({"population_group_code": "NOPE"}, "population_group_code", "unknown population group NOPE"),
        ({"age_months": 40}, "age_months", "age 40 months is outside population group SAC (72–155 months)"),
        ({"sex": "M", "physiological_status": "pregnant", "population_group_code": "PW", "age_months": 300},
         "physiological_status", "only to female"),
        ({"participant_code": ""}, "participant_code", "required"),
        ({"participant_code": "P" * 40}, "participant_code", "32 characters"),
        ({"cluster_id": 987654321}, "cluster_id", "unknown cluster"),
    ],
)
def test_urine_rules(urine, overrides, field, text):
    with pytest.raises(ValidationError) as info:
        urine(**overrides)
    assert info.value.field == field
    assert text in info.value.message


def test_group_not_in_round_is_refused(session, urine, cluster):
    cluster.round.groups = [g for g in cluster.round.groups if g.code != "ADULT"]
    session.flush()
    with pytest.raises(ValidationError) as info:
        urine(population_group_code="ADULT", age_months=400)
    assert info.value.field == "population_group_code"
    assert "not surveyed in round" in info.value.message


def test_closed_round_is_refused(session, urine, cluster):
    cluster.round.status = RoundStatus.CLOSED
    session.flush()
    with pytest.raises(ValidationError) as info:
        urine()
    assert info.value.field == "cluster_id" and "closed" in info.value.message


def test_refused_registration_writes_nothing(session, urine):
    before = session.scalar(sa.select(sa.func.count()).select_from(Participant))
    with pytest.raises(ValidationError):
        urine(volume_ml=Decimal("-1"))
    assert session.scalar(sa.select(sa.func.count()).select_from(Participant)) == before


def test_group_bounds_come_from_reference_data(session, urine):
    group = session.execute(sa.select(PopulationGroup).where(PopulationGroup.code == "SAC")).scalar_one()
    group.max_age_months = 100
    session.flush()
    with pytest.raises(ValidationError, match="72–100"):
        urine(age_months=108)


# --- salt ------------------------------------------------------------------------------------

def test_register_salt_writes_audit(session, salt):
    sample = salt(household_code=None, salt_source="retail", brand=None, packaging=None, iodized_per_label=None)
    assert sample.household_id is None and sample.participant_id is None
    [event] = events_for(session, "sample", sample.id)
    assert event.changes["salt_source"] == "retail" and "brand" not in event.changes


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"household_code": None}, "household_code", "needs the household code"),
        ({"salt_source": "retail"}, "household_code", "only household salt"),
        ({"brand": "B" * 121}, "brand", "120 characters"),
        ({"collected_at": FIXED_NOW + timedelta(days=1)}, "collected_at", "future"),
    ],
)
def test_salt_rules(salt, overrides, field, text):
    with pytest.raises(ValidationError) as info:
        salt(**overrides)
    assert info.value.field == field
    assert text in info.value.message


def test_old_salt_is_accepted_when_kind_has_no_age_limit(salt):
    assert salt(collected_at=FIXED_NOW - timedelta(days=800)).accession
