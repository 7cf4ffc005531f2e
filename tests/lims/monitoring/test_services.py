"""Reference-data and survey-structure services: every rule, with the field it names."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import sqlalchemy as sa

from lims.audit.service import events_for
from lims.core.errors import ConflictError, InvalidTransition, NotFoundError, ValidationError
from lims.monitoring import services
from lims.monitoring.models import District, PopulationGroup, RoundStatus, SampleKindRef, SiteType
from tests.conftest import FIXED_NOW
from tests.factories import unique


@pytest.fixture()
def programme(session):
    return services.create_programme(session, actor=None, now=FIXED_NOW, code=unique("PRG"),
                                     name="National iodine survey")


@pytest.fixture()
def groups(session):
    return {g.code: g for g in session.scalars(sa.select(PopulationGroup))}


@pytest.fixture()
def new_round(session, programme, region, groups):
    def make(*iso_codes: str, **overrides):
        values = dict(programme_id=programme.id, code=unique("R"), name="Round 2026",
                      period_start=date(2026, 2, 1), period_end=date(2026, 11, 30),
                      region_ids=[region(c).id for c in iso_codes or ("KZ-11",)],
                      group_ids=[groups["SAC"].id, groups["PW"].id])
        values.update(overrides)
        return services.create_round(session, actor=None, now=FIXED_NOW, **values)
    return make


@pytest.fixture()
def district(session, region):
    def make(iso_code: str = "KZ-11", code: str | None = None) -> District:
        return services.create_district(session, actor=None, now=FIXED_NOW, region=region(iso_code),
                                        code=code or unique("D"), name_en="Aksu District",
                                        name_kk="Ақсу ауданы", name_ru="район Аксу")
    return make


def field_of(excinfo: pytest.ExceptionInfo) -> str | None:
    return excinfo.value.field


# --- reference data -------------------------------------------------------------------------

def test_update_region_audits_before_and_after(session, region, make_user):
    admin = make_user()
    akmola = region("KZ-11")
    changes = services.update_region(session, actor=admin, now=FIXED_NOW, region=akmola,
                                     name_en="Akmola Region", name_kk="Ақмола облысы (жаңа)",
                                     name_ru=akmola.name_ru, admin_centre="Kokshetau",
                                     valid_from=date(1999, 1, 1), valid_to=None)
    assert changes == {"name_kk": {"before": "Ақмола облысы", "after": "Ақмола облысы (жаңа)"},
                       "valid_from": {"before": None, "after": "1999-01-01"}}
    event = events_for(session, "region", akmola.id)[-1]
    assert event.action == "region_updated" and event.actor_name == admin.username
    assert event.changes == changes


def test_update_region_without_changes_writes_no_event(session, region):
    akmola = region("KZ-11")
    before = len(events_for(session, "region", akmola.id))
    services.update_region(session, actor=None, now=FIXED_NOW, region=akmola, name_en=akmola.name_en,
                           name_kk=akmola.name_kk, name_ru=akmola.name_ru,
                           admin_centre=akmola.admin_centre, valid_from=akmola.valid_from,
                           valid_to=akmola.valid_to)
    assert len(events_for(session, "region", akmola.id)) == before


@pytest.mark.parametrize(("updates", "field"), [
    ({"valid_from": date(2022, 6, 8), "valid_to": date(2020, 1, 1)}, "valid_to"),
    ({"name_kk": "  "}, "name_kk"),
])
def test_update_region_rules(session, region, updates, field):
    akmola = region("KZ-11")
    values = dict(name_en=akmola.name_en, name_kk=akmola.name_kk, name_ru=akmola.name_ru,
                  admin_centre=None, valid_from=None, valid_to=None)
    values.update(updates)
    with pytest.raises(ValidationError) as excinfo:
        services.update_region(session, actor=None, now=FIXED_NOW, region=akmola, **values)
    assert field_of(excinfo) == field


def test_district_codes_are_unique_per_region(session, district):
    first = district("KZ-11", "D-AKSU")
    district("KZ-15", "D-AKSU")  # another region may reuse the code
    with pytest.raises(ConflictError) as excinfo:
        district("KZ-11", "D-AKSU")
    assert field_of(excinfo) == "code"
    assert events_for(session, "district", first.id)[0].action == "district_created"


def test_update_district_checks_code_and_validity(session, district):
    one, two = district(), district()
    with pytest.raises(ConflictError) as excinfo:
        services.update_district(session, actor=None, now=FIXED_NOW, district=two, code=one.code,
                                 name_en="x", name_kk="x", name_ru="x", valid_from=None, valid_to=None)
    assert field_of(excinfo) == "code"
    with pytest.raises(ValidationError) as excinfo:
        services.update_district(session, actor=None, now=FIXED_NOW, district=two, code=two.code,
                                 name_en="x", name_kk="x", name_ru="x",
                                 valid_from=date(2024, 1, 2), valid_to=date(2024, 1, 1))
    assert field_of(excinfo) == "valid_to"
    changes = services.update_district(session, actor=None, now=FIXED_NOW, district=two,
                                       code=two.code, name_en="Aksu District", name_kk="Ақсу ауданы",
                                       name_ru="район Аксу", valid_from=None, valid_to=date(2025, 1, 1))
    assert changes == {"valid_to": {"before": None, "after": "2025-01-01"}}


@pytest.mark.parametrize(("low", "high", "field"), [
    (100, 50, "max_age_months"), (-1, 50, "min_age_months"), (0, 2000, "max_age_months"),
])
def test_population_group_age_rules(session, groups, low, high, field):
    sac = groups["SAC"]
    with pytest.raises(ValidationError) as excinfo:
        services.update_population_group(session, actor=None, now=FIXED_NOW, group=sac,
                                         name_en=sac.name_en, name_kk=sac.name_kk,
                                         name_ru=sac.name_ru, min_age_months=low, max_age_months=high)
    assert field_of(excinfo) == field


def test_population_group_update_is_audited(session, groups):
    sac = groups["SAC"]
    services.update_population_group(session, actor=None, now=FIXED_NOW, group=sac,
                                     name_en=sac.name_en, name_kk=sac.name_kk, name_ru=sac.name_ru,
                                     min_age_months=72, max_age_months=143)
    event = events_for(session, "population_group", sac.id)[-1]
    assert event.changes == {"max_age_months": {"before": 155, "after": 143}}


def test_sample_kind_limits(session):
    urine = session.get(SampleKindRef, "urine")
    with pytest.raises(ValidationError) as excinfo:
        services.update_sample_kind(session, actor=None, now=FIXED_NOW, kind=urine, name_en="Urine",
                                    name_kk="Зәр", name_ru="Моча", min_volume_ml=Decimal("-1"),
                                    max_age_days=365)
    assert field_of(excinfo) == "min_volume_ml"
    with pytest.raises(ValidationError) as excinfo:
        services.update_sample_kind(session, actor=None, now=FIXED_NOW, kind=urine, name_en="Urine",
                                    name_kk="Зәр", name_ru="Моча", min_volume_ml=None, max_age_days=-3)
    assert field_of(excinfo) == "max_age_days"
    services.update_sample_kind(session, actor=None, now=FIXED_NOW, kind=urine, name_en="Urine",
                                name_kk="Зәр", name_ru="Моча", min_volume_ml=Decimal("1.00"),
                                max_age_days=365)
    event = events_for(session, "sample_kind", services.sample_kind_entity_id("urine"))[-1]
    assert event.entity_label == "urine"
    assert event.changes["min_volume_ml"]["after"] == "1.00"


# --- survey structure -----------------------------------------------------------------------

def test_programme_codes_are_unique(session, programme):
    with pytest.raises(ConflictError) as excinfo:
        services.create_programme(session, actor=None, now=FIXED_NOW, code=programme.code, name="Again")
    assert field_of(excinfo) == "code"


def test_create_round_is_planned_and_audited(session, new_round):
    survey_round = new_round("KZ-11", "KZ-75")
    assert survey_round.status == RoundStatus.PLANNED
    assert sorted(r.iso_code for r in survey_round.regions) == ["KZ-11", "KZ-75"]
    event = events_for(session, "survey_round", survey_round.id)[0]
    assert event.action == "round_created"
    assert event.changes["regions"]["after"] == ["KZ-11", "KZ-75"]
    assert event.changes["groups"]["after"] == ["SAC", "PW"]


@pytest.mark.parametrize(("overrides", "error", "field"), [
    ({"period_start": date(2026, 5, 1), "period_end": date(2026, 4, 30)}, ValidationError, "period_end"),
    ({"region_ids": [987654]}, ValidationError, "regions"),
    ({"region_ids": []}, ValidationError, "regions"),
    ({"group_ids": []}, ValidationError, "groups"),
    ({"programme_id": 987654}, NotFoundError, "programme_id"),
    ({"code": ""}, ValidationError, "code"),
])
def test_create_round_rules(new_round, overrides, error, field):
    with pytest.raises(error) as excinfo:
        new_round(**overrides)
    assert field_of(excinfo) == field


def test_round_codes_are_unique(new_round):
    existing = new_round()
    with pytest.raises(ConflictError) as excinfo:
        new_round(code=existing.code)
    assert field_of(excinfo) == "code"


def test_unknown_region_code(session):
    with pytest.raises(ValidationError, match="KZ-99") as excinfo:
        services.regions_by_code(session, ["KZ-11", "KZ-99"])
    assert field_of(excinfo) == "regions"
    assert [r.iso_code for r in services.regions_by_code(session, ["KZ-AKM"])] == ["KZ-11"]


def test_round_status_goes_planned_active_closed(session, new_round):
    survey_round = new_round()
    with pytest.raises(InvalidTransition) as excinfo:
        services.change_round_status(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                     status="closed")
    assert field_of(excinfo) == "status"
    services.change_round_status(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                 status=RoundStatus.ACTIVE)
    services.change_round_status(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                 status=RoundStatus.CLOSED)
    with pytest.raises(InvalidTransition):
        services.change_round_status(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                     status=RoundStatus.ACTIVE)
    changes = [e.changes for e in events_for(session, "survey_round", survey_round.id)
               if e.action == "round_status_changed"]
    assert changes == [{"status": {"before": "planned", "after": "active"}},
                       {"status": {"before": "active", "after": "closed"}}]


def cluster_values(district: int, **overrides):
    values = dict(code=unique("C"), name="School No. 5", site_type=SiteType.SCHOOL,
                  district_id=district, target_count=30, latitude=51.2, longitude=71.4)
    values.update(overrides)
    return values


def test_create_cluster_takes_region_from_district(session, new_round, district):
    survey_round, aksu = new_round("KZ-11"), district("KZ-11")
    cluster = services.create_cluster(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                      **cluster_values(aksu.id))
    assert cluster.region_id == aksu.region_id
    assert events_for(session, "cluster", cluster.id)[0].changes["region"]["after"] == "KZ-11"


@pytest.mark.parametrize(("overrides", "error", "field"), [
    ({"target_count": -1}, ValidationError, "target_count"),
    ({"latitude": 91.0}, ValidationError, "latitude"),
    ({"longitude": -181.0}, ValidationError, "longitude"),
    ({"district_id": 987654}, ValidationError, "district_id"),
    ({"site_type": "hospital"}, ValidationError, "site_type"),
    ({"name": " "}, ValidationError, "name"),
    ({"design_weight": 0.0}, ValidationError, "design_weight"),
    ({"design_weight": float("nan")}, ValidationError, "design_weight"),
    ({"design_weight": float("inf")}, ValidationError, "design_weight"),
    ({"stratum": "x" * 33}, ValidationError, "stratum"),
])
def test_create_cluster_rules(session, new_round, district, overrides, error, field):
    survey_round, aksu = new_round("KZ-11"), district("KZ-11")
    with pytest.raises(error) as excinfo:
        services.create_cluster(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                **cluster_values(aksu.id, **overrides))
    assert field_of(excinfo) == field


def test_stratum_population_is_set_corrected_and_audited(session, new_round, region):
    survey_round = new_round("KZ-11")
    row = services.set_stratum_population(
        session, actor=None, now=FIXED_NOW, survey_round=survey_round, region=region("KZ-11"),
        population=880_000, source="BNS, 1 January 2024", year=2024)
    again = services.set_stratum_population(
        session, actor=None, now=FIXED_NOW, survey_round=survey_round, region=region("KZ-11"),
        population=881_000, source="BNS, 1 January 2024", year=2024)
    assert again.id == row.id and row.population == 881_000 and row.stratum == ""
    changes = [e.changes for e in events_for(session, "survey_round", survey_round.id)
               if e.action == "stratum_population_set"]
    assert changes[-1] == {"population": {"before": 880_000, "after": 881_000}}
    for bad, field in (({"population": 0}, "population"), ({"population": 10**11}, "population"),
                       ({"year": 1800}, "year"), ({"source": " "}, "source")):
        values = {"population": 1000, "source": "BNS", "year": 2024} | bad
        with pytest.raises(ValidationError) as excinfo:
            services.set_stratum_population(session, actor=None, now=FIXED_NOW,
                                            survey_round=survey_round, region=region("KZ-11"),
                                            **values)
        assert field_of(excinfo) == field
    with pytest.raises(ValidationError) as excinfo:
        services.set_stratum_population(session, actor=None, now=FIXED_NOW,
                                        survey_round=survey_round, region=region("KZ-75"),
                                        population=1000, source="BNS", year=2024)
    assert field_of(excinfo) == "region"


def test_cluster_district_must_be_in_round_regions(session, new_round, district):
    survey_round, elsewhere = new_round("KZ-11"), district("KZ-75")
    with pytest.raises(ValidationError, match="KZ-75") as excinfo:
        services.create_cluster(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                **cluster_values(elsewhere.id))
    assert field_of(excinfo) == "district_id"


def test_cluster_codes_are_unique_per_round(session, new_round, district):
    survey_round, aksu = new_round("KZ-11"), district("KZ-11")
    services.create_cluster(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                            **cluster_values(aksu.id, code="S01"))
    with pytest.raises(ConflictError) as excinfo:
        services.create_cluster(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                **cluster_values(aksu.id, code="S01"))
    assert field_of(excinfo) == "code"
    other_round = new_round("KZ-11")
    services.create_cluster(session, actor=None, now=FIXED_NOW, survey_round=other_round,
                            **cluster_values(aksu.id, code="S01"))


def test_no_clusters_in_a_closed_round(session, new_round, district):
    survey_round, aksu = new_round("KZ-11"), district("KZ-11")
    survey_round.status = RoundStatus.CLOSED
    with pytest.raises(ConflictError) as excinfo:
        services.create_cluster(session, actor=None, now=FIXED_NOW, survey_round=survey_round,
                                **cluster_values(aksu.id))
    assert field_of(excinfo) == "round"
