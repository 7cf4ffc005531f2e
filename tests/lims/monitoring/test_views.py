"""Reference-data and survey pages: create and edit through the forms, errors on the field,
Kazakh letters intact, and who may see what."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from lims.audit.service import events_for
from lims.core.permissions import Role
from lims.monitoring.models import (
    Cluster,
    District,
    PopulationGroup,
    Programme,
    RoundStatus,
    SampleKindRef,
    SurveyRound,
)

KAZAKH = "Әғқңөұүһі ӘҒҚҢӨҰҮҺІ облысы"


@pytest.fixture()
def admin(make_user, login):
    user = make_user(Role.ADMIN)
    login(user)
    return user


def test_reference_pages_render(client, admin, region, make_cluster):
    cluster = make_cluster("KZ-11")
    abai = region("KZ-10")
    page = client.get("/reference").get_data(as_text=True)
    assert "KZ-10" in page and "Абай облысы" in page and "KZ-63" in page  # lineage shown
    assert "KZ-AKM" in page
    for url in (f"/reference/regions/{abai.id}/edit", f"/reference/regions/{cluster.region_id}/districts",
                f"/reference/districts/{cluster.district_id}/edit", "/reference/groups",
                "/reference/sample-kinds", "/reference/sample-kinds/urine/edit"):
        assert client.get(url).status_code == 200, url


def test_kazakh_region_name_round_trips(client, admin, region, session):
    akmola = region("KZ-11")
    response = client.post(f"/reference/regions/{akmola.id}/edit", data={
        "name_en": "Akmola Region", "name_kk": KAZAKH, "name_ru": "Акмолинская область",
        "admin_centre": "Kokshetau", "valid_from": "", "valid_to": ""})
    assert response.status_code == 302
    session.expire_all()
    stored = session.scalar(sa.select(sa.text("name_kk")).select_from(sa.table("regions"))
                            .where(sa.text("iso_code = 'KZ-11'")))
    assert stored == KAZAKH
    assert KAZAKH in client.get("/reference").get_data(as_text=True)
    event = events_for(session, "region", akmola.id)[-1]
    assert event.changes["name_kk"] == {"before": "Ақмола облысы", "after": KAZAKH}
    assert event.actor_name == admin.username


def test_region_validity_error_is_shown_on_the_field(client, admin, region, session):
    akmola = region("KZ-11")
    response = client.post(f"/reference/regions/{akmola.id}/edit", data={
        "name_en": "Akmola", "name_kk": "Ақмола", "name_ru": "Акмола", "admin_centre": "",
        "valid_from": "2024-01-02", "valid_to": "2024-01-01"})
    assert response.status_code == 200
    assert "The end of validity (Jan 1, 2024) is before its start" in response.get_data(as_text=True)
    session.expire_all()
    assert region("KZ-11").name_en == "Akmola Region"  # nothing saved


def test_add_and_edit_district(client, admin, region, session):
    jetisu = region("KZ-33")
    response = client.post(f"/reference/regions/{jetisu.id}/districts", data={
        "code": "D3301", "name_en": "Koksu District", "name_kk": "Көксу ауданы",
        "name_ru": "район Коксу", "valid_from": "2022-06-08", "valid_to": ""})
    assert response.status_code == 302
    district = session.scalar(sa.select(District).where(District.code == "D3301"))
    assert district.name_kk == "Көксу ауданы" and district.valid_from == date(2022, 6, 8)
    again = client.post(f"/reference/regions/{jetisu.id}/districts", data={
        "code": "D3301", "name_en": "x", "name_kk": "x", "name_ru": "x"})
    assert "already exists" in again.get_data(as_text=True)
    response = client.post(f"/reference/districts/{district.id}/edit", data={
        "code": "D3301", "name_en": "Koksu District", "name_kk": "Көксу ауданы",
        "name_ru": "район Коксу", "valid_from": "2022-06-08", "valid_to": "2030-12-31"})
    assert response.status_code == 302
    assert [e.action for e in events_for(session, "district", district.id)] == [
        "district_created", "district_updated"]


def test_edit_group_and_sample_kind(client, admin, session):
    sac = session.scalar(sa.select(PopulationGroup).where(PopulationGroup.code == "SAC"))
    response = client.post(f"/reference/groups/{sac.id}/edit", data={
        "name_en": sac.name_en, "name_kk": sac.name_kk, "name_ru": sac.name_ru,
        "min_age_months": "72", "max_age_months": "60"})
    assert "The maximum age is below the minimum age." in response.get_data(as_text=True)
    response = client.post("/reference/sample-kinds/urine/edit", data={
        "name_en": "Urine", "name_kk": "Зәр", "name_ru": "Моча", "min_volume_ml": "1.0",
        "max_age_days": "180"})
    assert response.status_code == 302
    session.expire_all()
    assert session.get(SampleKindRef, "urine").max_age_days == 180


def test_create_programme_round_and_cluster(client, admin, session, region):
    response = client.post("/surveys/programmes/new", data={"code": "KZ-IDD-T", "name": "Monitoring"})
    assert response.status_code == 302
    programme = session.scalar(sa.select(Programme).where(Programme.code == "KZ-IDD-T"))
    akmola, sac = region("KZ-11"), session.scalar(sa.select(PopulationGroup).where(PopulationGroup.code == "SAC"))
    round_form = {"programme_id": programme.id, "code": "R-T-2026", "name": "Round",
                  "period_start": "2026-03-01", "period_end": "2026-02-01",
                  "regions": [akmola.id], "groups": [sac.id]}
    bad = client.post("/surveys/rounds/new", data=round_form)
    assert bad.status_code == 200
    assert "The period ends (Feb 1, 2026) before it starts (Mar 1, 2026)." in bad.get_data(as_text=True)
    round_form["period_end"] = "2026-10-31"
    response = client.post("/surveys/rounds/new", data=round_form)
    assert response.status_code == 302
    survey_round = session.scalar(sa.select(SurveyRound).where(SurveyRound.code == "R-T-2026"))
    assert survey_round.status == RoundStatus.PLANNED

    client.post(f"/reference/regions/{akmola.id}/districts", data={
        "code": "D1101", "name_en": "Zerendi District", "name_kk": "Зеренді ауданы",
        "name_ru": "район Зеренди"})
    district = session.scalar(sa.select(District).where(District.code == "D1101"))
    cluster_form = {"code": "11-S01", "name": "School No. 3", "site_type": "school",
                    "district_id": district.id, "target_count": "30", "latitude": "53.1",
                    "longitude": "69.2"}
    assert client.get(f"/surveys/rounds/{survey_round.id}/clusters/new").status_code == 200
    response = client.post(f"/surveys/rounds/{survey_round.id}/clusters/new", data=cluster_form)
    assert response.status_code == 302
    cluster = session.scalar(sa.select(Cluster).where(Cluster.code == "11-S01"))
    assert cluster.region_id == akmola.id and cluster.latitude == pytest.approx(53.1)
    duplicate = client.post(f"/surveys/rounds/{survey_round.id}/clusters/new", data=cluster_form)
    assert "Cluster code 11-S01 already exists" in duplicate.get_data(as_text=True)
    negative = client.post(f"/surveys/rounds/{survey_round.id}/clusters/new",
                           data={**cluster_form, "code": "11-S02", "target_count": "-4"})
    assert negative.status_code == 200 and session.scalar(
        sa.select(Cluster).where(Cluster.code == "11-S02")) is None

    for status in ("active", "closed"):
        response = client.post(f"/surveys/rounds/{survey_round.id}/status", data={"status": status})
        assert response.status_code == 302
    session.expire_all()
    assert session.get(SurveyRound, survey_round.id).status == RoundStatus.CLOSED
    client.post(f"/surveys/rounds/{survey_round.id}/status", data={"status": "active"})
    page = client.get(f"/surveys/rounds/{survey_round.id}").get_data(as_text=True)
    assert "cannot become “Active”" in page
    assert "11-S01" in page and client.get("/surveys").status_code == 200


def test_cluster_page_lists_participants_by_code(client, admin, make_cluster, make_participant,
                                                 make_sample):
    cluster = make_cluster()
    participant = make_participant(cluster, code="P-0001", age_months=100)
    make_sample(cluster=cluster, participant=participant)
    page = client.get(f"/surveys/clusters/{cluster.id}").get_data(as_text=True)
    assert "P-0001" in page and "8 y 4 m" in page
    assert '<dd id="participants-count">1</dd>' in page
    assert '<dd id="households-count">1</dd>' in page


@pytest.mark.parametrize(("role", "coverage", "admin_pages"), [
    (Role.MINISTRY, 200, 403), (Role.TECHNICIAN, 200, 403), (Role.REVIEWER, 200, 403),
    (Role.ADMIN, 200, 200),
])
def test_who_sees_what(client, make_user, login, role, coverage, admin_pages):
    login(make_user(role))
    assert client.get("/coverage").status_code == coverage
    for url in ("/reference", "/reference/groups", "/surveys", "/surveys/programmes/new"):
        assert client.get(url).status_code == admin_pages, url
