"""Intake pages: forms, field-named errors, the success flash, labels, permissions, CSRF."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from lims.core.dt import now_utc
from lims.core.permissions import Role
from lims.samples.models import Sample


@pytest.fixture()
def cluster(make_cluster):
    return make_cluster()


@pytest.fixture()
def technician(make_user, login):
    return login(make_user(Role.TECHNICIAN))


def lab_time(delta: timedelta = timedelta(hours=-2)) -> str:
    """A datetime-local value in the lab's time zone (Asia/Almaty, UTC+5)."""
    from zoneinfo import ZoneInfo

    return (now_utc() + delta).astimezone(ZoneInfo("Asia/Almaty")).strftime("%Y-%m-%dT%H:%M")


def urine_form(cluster, **overrides):
    data = {
        "round_id": str(cluster.round_id), "cluster_code": cluster.code, "participant_code": "P-100",
        "household_code": "H-9", "population_group": "SAC", "age_months": "100", "sex": "F",
        "physiological_status": "none", "volume_ml": "4.5", "container": "cryovial",
        "collected_at": lab_time(), "notes": "",
    }
    data.update(overrides)
    return data


def salt_form(cluster, **overrides):
    data = {
        "round_id": str(cluster.round_id), "cluster_code": cluster.code, "household_code": "H-9",
        "salt_source": "household", "brand": "Aral", "packaging": "paper", "iodized_per_label": "yes",
        "collected_at": lab_time(),
    }
    data.update(overrides)
    return data


def sample_by_accession(session, accession: str) -> Sample:
    return session.execute(sa.select(Sample).where(Sample.accession == accession)).scalar_one()


def last_accession(response) -> str:
    from urllib.parse import parse_qs, urlparse

    return parse_qs(urlparse(response.headers["Location"]).query)["last"][0]


def test_urine_form_page_is_keyboard_ready(technician, cluster):
    page = technician.get("/samples/register/urine").get_data(as_text=True)
    assert 'name="participant_code"' in page and "autofocus" in page
    assert f'<option value="{cluster.code}">' in page  # the datalist of a small round
    assert 'type="datetime-local"' in page


def test_register_urine_flashes_accession_and_keeps_the_cluster(session, technician, cluster):
    form = urine_form(cluster, collected_at="2026-01-10T09:15")
    response = technician.post("/samples/register/urine", data=form)
    assert response.status_code == 302
    accession = last_accession(response)
    assert f"cluster_code={cluster.code}" in response.headers["Location"]
    sample = sample_by_accession(session, accession)
    # 09:15 in Almaty (UTC+5) is stored as 04:15 UTC.
    assert sample.collected_at == datetime(2026, 1, 10, 4, 15, tzinfo=UTC)
    page = technician.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Registered {accession}." in page
    assert f"/samples/{accession}/label.pdf" in page
    assert f'value="{cluster.code}"' in page  # ready for the next sample of the cluster


def test_register_salt_links_to_the_household(session, technician, cluster):
    urine = technician.post("/samples/register/urine", data=urine_form(cluster))
    salt = technician.post("/samples/register/salt", data=salt_form(cluster))
    assert salt.status_code == 302
    u = sample_by_accession(session, last_accession(urine))
    s = sample_by_accession(session, last_accession(salt))
    assert s.accession.startswith("S-") and s.household_id == u.household_id
    assert s.iodized_per_label is True


def test_low_volume_warns(technician, cluster):
    response = technician.post("/samples/register/urine", data=urine_form(cluster, volume_ml="0.5"),
                               follow_redirects=True)
    assert "below the minimum" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("overrides", "field", "text"),
    [
        ({"volume_ml": "-1"}, "volume_ml", "Volume must be between 0 and 99999 mL"),
        ({"volume_ml": "abc"}, "volume_ml", "Not a valid decimal value"),
        ({"participant_code": ""}, "participant_code", "This field is required"),
        ({"cluster_code": "NOPE"}, "cluster_code", "no cluster NOPE in this survey round"),
        ({"collected_at": "2099-01-01T10:00"}, "collected_at", "in the future"),
        ({"age_months": "30"}, "age_months", "outside population group SAC"),
        ({"sex": "M", "physiological_status": "lactating"}, "physiological_status", "only to female"),
    ],
)
def test_urine_errors_name_the_field(session, technician, cluster, overrides, field, text):
    before = session.scalar(sa.select(sa.func.count()).select_from(Sample))
    response = technician.post("/samples/register/urine", data=urine_form(cluster, **overrides))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    # The message is rendered right after the field it belongs to.
    field_at = page.index(f'name="{field}"')
    assert text in page[field_at:field_at + 1500]
    assert session.scalar(sa.select(sa.func.count()).select_from(Sample)) == before


def test_participant_conflict_is_shown_on_the_participant_field(technician, cluster):
    technician.post("/samples/register/urine", data=urine_form(cluster))
    response = technician.post("/samples/register/urine", data=urine_form(cluster, age_months="101"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "participant P-100 already registered with age 100 months (now 101)" in page


def test_salt_errors_name_the_field(technician, cluster):
    response = technician.post("/samples/register/salt", data=salt_form(cluster, household_code=""))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    at = page.index('name="household_code"')
    assert "household salt needs the household code" in page[at:at + 1500]


def test_label_pdf_for_one_sample(technician, cluster):
    accession = last_accession(technician.post("/samples/register/urine", data=urine_form(cluster)))
    response = technician.get(f"/samples/{accession}/label.pdf?sheet=ROLL50x25")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert accession in text and cluster.code in text
    assert technician.get("/samples/U-1999-000001/label.pdf").status_code == 404
    assert technician.get(f"/samples/{accession}/label.pdf?sheet=XX").status_code == 422
    too_far = technician.get(f"/samples/{accession}/label.pdf?sheet=L7651&start=66")
    assert too_far.status_code == 422
    assert "the start position must be between 1 and 65 on sheet L7651" in too_far.get_data(as_text=True)


def test_labels_for_selected_accessions(technician, cluster):
    first = last_accession(technician.post("/samples/register/urine", data=urine_form(cluster)))
    second = last_accession(technician.post("/samples/register/salt", data=salt_form(cluster)))
    response = technician.post("/samples/labels.pdf", data={"accessions": f"{first}\n{second.lower()}\n",
                                                            "sheet": "L7160", "start": "21"})
    assert response.status_code == 200
    reader = PdfReader(io.BytesIO(response.data))
    assert len(reader.pages) == 2  # the last of 21 labels on the part-used sheet, then a new sheet
    text = "".join(p.extract_text() for p in reader.pages)
    assert first in text and second in text
    assert technician.post("/samples/labels.pdf", data={"sheet": "L7160"}).status_code == 422


@pytest.mark.parametrize("url", ["/samples/register/urine", "/samples/register/salt", "/samples/batch"])
def test_ministry_may_not_register(make_user, login, url):
    client = login(make_user(Role.MINISTRY))
    assert client.get(url).status_code == 403
    assert client.post(url, data={}).status_code == 403


def test_ministry_may_not_print_labels(make_user, login, make_sample):
    sample = make_sample()
    client = login(make_user(Role.MINISTRY))
    assert client.get(f"/samples/{sample.accession}/label.pdf").status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get("/samples/register/urine")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_csrf_is_required(app, session, make_user, cluster):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = app.test_client()
        from tests.factories import PASSWORD

        user = make_user()
        login_page = client.get("/login").get_data(as_text=True)
        token = login_page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        assert client.post("/login", data={"username": user.username, "password": PASSWORD,
                                           "csrf_token": token}).status_code == 302
        response = client.post("/samples/register/urine", data=urine_form(cluster))
        assert response.status_code in (400, 422)
        assert session.scalar(sa.select(sa.func.count()).select_from(Sample).where(
            Sample.cluster_id == cluster.id)) == 0
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
