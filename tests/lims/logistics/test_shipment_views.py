"""The shipment pages over HTTP: the list, announcing, the manifest upload with its row-named
problems, the scan endpoint's JSON, arrival, cold chain, closing and the dashboard panel."""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from markupsafe import escape

from lims.core.permissions import Role
from lims.logistics.shipment_models import Shipment, ShipmentDiscrepancy, ShipmentStatus
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.lims.logistics import shipment_fixtures
from tests.lims.logistics.shipment_fixtures import manifest_of, salt_samples
from tests.lims.samples.test_intake_views import urine_form

BASE = "/logistics/shipments"
JSON = {"Accept": "application/json"}

# the fixtures of this room's shipment tests, found by pytest under these names
make_shipment, technician = shipment_fixtures.make_shipment, shipment_fixtures.technician


@pytest.fixture()
def desk(client, login, technician):
    login(technician)
    return client


def test_announce_a_shipment_then_list_it(desk, session, make_cluster):
    cluster = make_cluster()
    session.commit()
    page = desk.get(f"{BASE}/new")
    assert page.status_code == 200
    response = desk.post(f"{BASE}/new", data={
        "round_id": cluster.round_id, "region_id": cluster.region_id,
        "cluster_code": cluster.code, "courier": "KazPost", "dispatched_at": "2026-05-13T09:00",
        "box_count": "4", "logger_id": "LOG-1"})
    assert response.status_code == 302, response.get_data(as_text=True)
    shipment = session.scalars(sa.select(Shipment).order_by(Shipment.id.desc())).first()
    assert shipment.cluster_id == cluster.id and shipment.box_count == 4
    listing = desk.get(f"{BASE}/?status=in_transit").get_data(as_text=True)
    assert shipment.reference in listing
    export = desk.get(f"{BASE}/?export=csv")
    assert export.status_code == 200 and shipment.reference in export.get_data(as_text=True)


def test_announce_refusals_are_put_on_their_fields(desk, session, make_cluster):
    cluster = make_cluster()
    session.commit()
    data = {"round_id": cluster.round_id, "region_id": cluster.region_id, "cluster_code": "NOPE",
            "courier": "KazPost", "dispatched_at": "2026-05-13T09:00", "box_count": "4"}
    response = desk.post(f"{BASE}/new", data=data)
    assert response.status_code == 422 and "NOPE" in response.get_data(as_text=True)
    response = desk.post(f"{BASE}/new", data={**data, "cluster_code": "", "box_count": "100000"})
    assert response.status_code == 422 and 'id="box_count-error"' in response.get_data(as_text=True)


def test_manifest_upload_names_bad_rows(desk, session, make_cluster, make_shipment):
    cluster = make_cluster()
    good = salt_samples(session, cluster, 2)
    shipment = make_shipment(cluster)
    session.commit()
    csv = f"accession\n{good[0].accession}\nS-2026-999999\n{good[0].accession}\n".encode()
    response = desk.post(f"{BASE}/{shipment.id}/manifest",
                         data={"file": (io.BytesIO(csv), "m.csv")},
                         content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    table = page[page.index('id="manifest-problems"'):]
    assert re.search(r'<td class="num">3</td><td><code>accession</code></td><td>no sample with'
                     r' accession S-2026-999999', table)
    assert re.search(r'<td class="num">4</td><td><code>accession</code></td><td>\S+ is already on'
                     r' row 2', table)
    ok = f"accession,box\n{good[0].accession},1\n{good[1].accession},2\n".encode()
    response = desk.post(f"{BASE}/{shipment.id}/manifest",
                         data={"file": (io.BytesIO(ok), "m.csv")},
                         content_type="multipart/form-data")
    assert response.status_code == 302
    assert "2 samples on the manifest" in desk.get(response.location).get_data(as_text=True)


def test_generate_manifest_from_registrations(desk, session, make_cluster, make_shipment):
    cluster = make_cluster()
    salt_samples(session, cluster, 3)
    shipment = make_shipment(cluster)
    session.commit()
    response = desk.post(f"{BASE}/{shipment.id}/manifest/generate")
    assert response.status_code == 302
    page = desk.get(response.location).get_data(as_text=True)
    assert "3 samples on the manifest" in page and "Receive by scanning" in page


def test_scan_endpoint_answers_json_with_the_tally(desk, session, technician, make_cluster,
                                                   make_shipment):
    cluster = make_cluster()
    listed, stray = salt_samples(session, cluster, 2)
    missing = salt_samples(session, cluster, 1)[0]
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, [listed, missing])
    session.commit()
    page = desk.get(f"{BASE}/{shipment.id}/receive").get_data(as_text=True)
    assert 'id="scan-accession"' in page and 'aria-live="polite"' in page
    assert "<script>" not in page and "style=" not in page

    def post(text, **extra):
        return desk.post(f"{BASE}/{shipment.id}/scan", data={"accession": text, **extra},
                         headers=JSON)

    box = post("BOX-2").get_json()
    assert (box["outcome"], box["box"]) == ("box", 2)
    body = post(listed.accession, box="2").get_json()
    assert (body["outcome"], body["changed"]) == ("received", True)
    assert body["tally"] == {"expected": 2, "scanned": 1, "missing": 1, "unexpected": 0,
                             "missing_accessions": [missing.accession],
                             "unexpected_accessions": []}
    assert post(stray.accession).get_json()["outcome"] == "unexpected"
    extra = post(stray.accession, extra="1").get_json()
    assert extra["outcome"] == "extra" and extra["tally"]["unexpected_accessions"] == [
        stray.accession]
    unknown = post("U-2026-123456").get_json()
    assert unknown["outcome"] == "unknown" and not unknown["changed"]
    assert f"round_id={cluster.round_id}" in unknown["register"]["urine"]
    assert f"cluster_code={cluster.code}" in unknown["register"]["salt"]
    assert desk.get(f"{BASE}/{shipment.id}/tally").get_json()["scanned"] == 2
    # without the script: the form posts, the message is flashed, the screen comes back
    plain = desk.post(f"{BASE}/{shipment.id}/scan", data={"accession": listed.accession})
    assert plain.status_code == 302
    assert "already scanned" in desk.get(plain.location).get_data(as_text=True)


def test_arrival_cold_chain_and_close(desk, session, technician, make_cluster, make_shipment,
                                      make_sample):
    cluster = make_cluster()
    urine = make_sample(SampleKind.URINE, cluster=cluster)
    lost = salt_samples(session, cluster, 1)[0]
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, [urine, lost])
    session.commit()
    desk.post(f"{BASE}/{shipment.id}/scan", data={"accession": urine.accession}, headers=JSON)
    refused = desk.post(f"{BASE}/{shipment.id}/arrival", data={
        "arrival_temperature_c": "12.5", "logger_excursion": "y", "excursion_details": ""})
    assert refused.status_code == 422
    assert 'id="excursion_details-error"' in refused.get_data(as_text=True)
    assert desk.post(f"{BASE}/{shipment.id}/arrival", data={
        "arrival_temperature_c": "12.5", "logger_excursion": "y",
        "excursion_details": "9 h above 8 °C"}).status_code == 302
    assert desk.post(f"{BASE}/{shipment.id}/cold-chain").status_code == 302
    session.expire_all()
    assert session.get(type(urine), urine.id).status is SampleStatus.REJECTED
    no_reason = desk.post(f"{BASE}/{shipment.id}/close", data={"missing_reason": ""})
    assert no_reason.status_code == 422
    assert 'id="missing_reason-error"' in no_reason.get_data(as_text=True)
    closed = desk.post(f"{BASE}/{shipment.id}/close", data={
        "missing_reason": "not packed", "damaged": f"{urine.accession} cap loose"})
    assert closed.status_code == 302
    page = desk.get(closed.location).get_data(as_text=True)
    assert "Shipment closed with 2 discrepancies" in page and "cap loose" in page
    session.expire_all()
    assert session.get(Shipment, shipment.id).status is ShipmentStatus.CLOSED
    assert session.scalar(sa.select(sa.func.count()).select_from(ShipmentDiscrepancy).where(
        ShipmentDiscrepancy.shipment_id == shipment.id)) == 2
    late = desk.post(f"{BASE}/{shipment.id}/scan", data={"accession": lost.accession},
                     headers=JSON)
    assert late.status_code == 409 and "closed" in late.get_json()["detail"]


def test_dashboard_panel_lists_open_shipments(desk, session, make_cluster, make_shipment):
    shipment = make_shipment(make_cluster())
    session.commit()
    page = desk.get("/").get_data(as_text=True)
    assert shipment.reference in page and f"{BASE}/{shipment.id}/receive" in page


def test_reviewer_may_look_but_not_receive(client, login, make_user, session, make_cluster,
                                           make_shipment):
    shipment = make_shipment(make_cluster())
    session.commit()
    login(make_user(Role.REVIEWER))
    assert client.get(f"{BASE}/{shipment.id}").status_code == 200
    assert client.get(f"{BASE}/{shipment.id}/receive").status_code == 403
    assert client.post(f"{BASE}/{shipment.id}/scan", data={"accession": "x"}).status_code == 403
    assert client.get(f"{BASE}/987654").status_code == 404


HOSTILE_TEXT = ("P\x0001", "P\u202e10", "P\u200b01", "S" * 5000)


def test_hostile_input_on_a_real_shipment_is_refused_without_a_write(desk, session, technician,
                                                                     make_cluster, make_shipment):
    cluster = make_cluster()
    (sample,) = salt_samples(session, cluster, 1)
    shipment = make_shipment(cluster)
    manifest_of(session, technician, shipment, [sample])
    session.commit()
    url = f"{BASE}/{shipment.id}"
    shipments_before = session.scalar(sa.select(sa.func.count()).select_from(Shipment))
    for text in HOSTILE_TEXT:
        body = desk.post(f"{url}/scan", data={"accession": text}, headers=JSON).get_json()
        assert body["changed"] is False, text
    for box in ("9" * 20, "NaN", "-1", "\u00b2"):
        body = desk.post(f"{url}/scan", data={"accession": "BOX-1", "box": box},
                         headers=JSON).get_json()
        assert body["outcome"] == "box"
    for number in ("NaN", "Infinity", "-Infinity", "1e999", "9" * 20):
        response = desk.post(f"{url}/arrival", data={"arrival_temperature_c": number})
        assert response.status_code == 422, number
        response = desk.post(f"{BASE}/new", data={
            "round_id": cluster.round_id, "region_id": cluster.region_id, "courier": "K",
            "dispatched_at": "2026-05-13T09:00", "box_count": number})
        assert response.status_code == 422, number
    response = desk.post(f"{BASE}/new", data={
        "round_id": cluster.round_id, "region_id": cluster.region_id, "courier": "K",
        "dispatched_at": "9999-12-31T23:59", "box_count": "1"})
    assert response.status_code == 422
    for text in HOSTILE_TEXT[:3]:
        response = desk.post(f"{url}/close", data={"missing_reason": text})
        assert response.status_code == 422, text
        response = desk.post(f"{url}/arrival", data={"logger_excursion": "y",
                                                     "excursion_details": text})
        assert response.status_code == 422, text
    for region in (str(2**63), "abc"):
        response = desk.post(f"{BASE}/new", data={
            "round_id": cluster.round_id, "region_id": region, "courier": "K",
            "dispatched_at": "2026-05-13T09:00", "box_count": "1"})
        assert response.status_code == 422
    assert desk.get(f"{BASE}/?region={2**63}").status_code == 400
    session.expire_all()
    assert session.get(Shipment, shipment.id).status is ShipmentStatus.IN_TRANSIT
    assert session.scalar(sa.select(sa.func.count()).select_from(Shipment)) == shipments_before
    assert session.scalar(sa.select(sa.func.count()).select_from(ShipmentDiscrepancy)) == 0


def test_the_list_pages_by_keyset_and_refuses_what_it_cannot_read(desk, session, make_cluster,
                                                                  make_shipment, app):
    cluster = make_cluster()
    made = [make_shipment(cluster, courier=f"Courier {i}") for i in range(5)]
    session.commit()
    assert desk.get(f"{BASE}/?sort=nonsense").status_code == 400
    assert desk.get(f"{BASE}/?export=pdf").status_code == 400
    assert desk.get(f"{BASE}/?status=lost").status_code == 400
    page = desk.get(f"{BASE}/?sort=-shipment").get_data(as_text=True)
    assert re.search(r'<th scope="col"[^>]*aria-sort="descending"', page)
    app.config["PAGE_SIZE"], size = 2, app.config["PAGE_SIZE"]
    try:
        seen: list[str] = []
        url = f"{BASE}/?sort=dispatched"
        while url:
            page = desk.get(url).get_data(as_text=True)
            seen += re.findall(r">(SHP-\d{6})</a>", page)
            found = re.search(r'rel="next" href="([^"]+)"', page)
            url = found.group(1).replace("&amp;", "&") if found else ""
    finally:
        app.config["PAGE_SIZE"] = size
    assert [s for s in seen if s in {m.reference for m in made}] == [m.reference for m in made]


def test_registering_on_the_spot_returns_to_the_scan_screen(desk, session, make_cluster,
                                                            make_shipment):
    """An unknown tube: the screen links to the registration form, which comes back to this
    screen (and its box) with the new accession offered as extra; Enter receives it."""
    cluster = make_cluster()
    shipment = make_shipment(cluster)
    session.commit()
    desk.post(f"{BASE}/{shipment.id}/scan", data={"accession": "BOX-2"}, headers=JSON)
    unknown = desk.post(f"{BASE}/{shipment.id}/scan", data={"accession": "U-2026-123456",
                                                             "box": "2"}, headers=JSON).get_json()
    register = unknown["register"]["urine"]
    screen = f"{BASE}/{shipment.id}/receive?box=2"
    assert parse_qs(urlsplit(register).query)["next"] == [screen]
    form = desk.get(register).get_data(as_text=True)
    assert f'<input type="hidden" name="next" value="{escape(screen)}">' in form
    assert f'href="{escape(screen)}"' in form  # back without registering
    response = desk.post(register, data={**urine_form(cluster), "next": screen})
    assert response.status_code == 302
    back = urlsplit(response.location)
    assert back.path == f"{BASE}/{shipment.id}/receive" and not back.netloc
    query = parse_qs(back.query)
    accession = query["registered"][0]
    assert query["box"] == ["2"] and accession.startswith("U-")
    page = desk.get(response.location).get_data(as_text=True)
    assert f'data-pending="{accession}"' in page
    assert f"{accession} is registered. Receive it as an extra sample" in page
    assert f"Registered {accession}." in page  # with its label link, from the form
    assert "<a " not in page[page.index('data-announce="'):].split(">", 1)[0]
    extra = desk.post(f"{BASE}/{shipment.id}/scan", data={"accession": accession, "extra": "1",
                                                          "box": "2"}, headers=JSON).get_json()
    assert extra["outcome"] == "extra" and extra["tally"]["unexpected_accessions"] == [accession]
    # received now: coming back to the screen offers nothing
    again = desk.get(response.location).get_data(as_text=True)
    assert 'data-pending=""' in again and "is registered. Receive it" not in again


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x",
                                    "/\\evil.example", "javascript:alert(1)", "/x\r\nSet-Cookie: a"])
def test_registration_refuses_a_next_off_this_site(desk, session, make_cluster, target):
    cluster = make_cluster()
    session.commit()
    page = desk.get("/samples/register/urine", query_string={"next": target}).get_data(as_text=True)
    intake = page[page.index('class="stacked card intake"'):]
    assert 'name="next"' not in intake[:intake.index("</form>")]
    response = desk.post("/samples/register/urine", data={**urine_form(cluster), "next": target})
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/samples/register/urine"
    assert "registered=" not in response.location
