"""The equipment pages over HTTP: the register and a record's page show what the service
keeps; every form changes the record through the service, names the field it refuses, and
only a reference manager may use them; a ministry user sees nothing."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from lims.auth.models import User
from lims.capture.models import Protocol
from lims.core.dt import now_utc
from lims.core.permissions import Role
from lims.equipment import service
from lims.equipment.models import Equipment, EquipmentStatus, MaintenanceEntry
from lims.home.panels import local_today
from tests.conftest import FIXED_NOW
from tests.factories import unique

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _today(client: FlaskClient) -> Any:
    with client.application.test_request_context():
        return local_today(now_utc())


def _register(client: FlaskClient, **fields: str) -> Equipment:
    code = unique("PIP-")
    response = client.post("/equipment/new", data={
        "code": code, "name": "Pipette 100–1000 µL", "location": "Room 12",
        "serial_number": "SN-77", "instrument": "", **fields})
    assert response.status_code == 302, response.get_data(as_text=True)
    return code


def _equipment(session: Session, code: str) -> Equipment:
    session.expire_all()
    return session.scalars(sa.select(Equipment).where(Equipment.code == code)).one()


def test_register_calibrate_and_download_the_certificate(
        client: FlaskClient, session: Session, login: Callable[[User], FlaskClient],
        admin: User, make_instrument: Callable[..., Any]) -> None:
    instrument, _secret = make_instrument(Protocol.ASTM)
    login(admin)
    form = client.get("/equipment/new").get_data(as_text=True)
    assert instrument.code in form and 'for="code"' in form
    code = _register(client, instrument=str(instrument.id))
    item = _equipment(session, code)
    assert item.instrument_id == instrument.id and item.status is EquipmentStatus.IN_SERVICE
    # the same code again: refused on the code field
    again = client.post("/equipment/new", data={"code": code, "name": "x", "instrument": ""})
    assert again.status_code == 409 and "is already registered" in again.get_data(as_text=True)

    today = _today(client)
    page = client.get(f"/equipment/{item.id}").get_data(as_text=True)
    assert "no calibration on record" in page
    response = client.post(f"/equipment/{item.id}/calibrations", data={
        "calibrated_on": (today - timedelta(days=10)).isoformat(),
        "valid_until": (today + timedelta(days=355)).isoformat(), "performed_by": "KazStandard",
        "outcome": "pass", "certificate_no": "KS-2026-114",
        "file": (io.BytesIO(PDF), "certificate.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(f"/equipment/{item.id}").get_data(as_text=True)
    until = (today + timedelta(days=355)).isoformat()
    assert f"calibrated until {until}" in page and "KS-2026-114" in page
    assert "Calibration recorded" in page  # the audit timeline
    link = re.search(r'href="(/equipment/\d+/calibrations/\d+/certificate)"', page).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.data == PDF
    assert download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")

    listing = client.get("/equipment/").get_data(as_text=True)
    assert code in listing and "Room 12" in listing and f"calibrated until {until}" in listing
    assert 'class="table-scroll" role="region" tabindex="0"' in listing


def test_a_certificate_that_is_not_a_pdf_or_image_is_refused_with_the_field_named(
        client: FlaskClient, session: Session, login: Callable[[User], FlaskClient],
        admin: User) -> None:
    login(admin)
    item = _equipment(session, _register(client))
    today = _today(client)
    response = client.post(f"/equipment/{item.id}/calibrations", data={
        "calibrated_on": today.isoformat(), "valid_until": today.isoformat(),
        "performed_by": "KazStandard", "outcome": "pass",
        "file": (io.BytesIO(b"MZ\x90\x00 not a certificate"), "certificate.pdf")},
        content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("Certificate file (PDF, PNG or JPEG): The certificate must be a PDF, PNG or JPEG"
            in page)
    assert 'href="#file"' in page  # the error summary links to the field
    assert _equipment(session, item.code).calibrations == []


def test_out_of_service_and_back_needs_a_reason(
        client: FlaskClient, session: Session, login: Callable[[User], FlaskClient],
        admin: User) -> None:
    login(admin)
    item = _equipment(session, _register(client))
    response = client.post(f"/equipment/{item.id}/status", data={"reason": "dropped, cracked"})
    assert response.status_code == 302
    assert _equipment(session, item.code).status is EquipmentStatus.OUT_OF_SERVICE
    page = client.get(f"/equipment/{item.id}").get_data(as_text=True)
    assert "Out of service" in page and "dropped, cracked" in page
    assert "Put back in service" in page

    refused = client.post(f"/equipment/{item.id}/status", data={"reason": "  "})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Reason: Say why" in page
    assert _equipment(session, item.code).status is EquipmentStatus.OUT_OF_SERVICE

    back = client.post(f"/equipment/{item.id}/status", data={"reason": "repaired, report R-5"})
    assert back.status_code == 302
    assert _equipment(session, item.code).status is EquipmentStatus.IN_SERVICE
    assert "Equipment status changed" in client.get(f"/equipment/{item.id}").get_data(as_text=True)


def test_verifications_and_maintenance_planned_and_done(
        client: FlaskClient, session: Session, login: Callable[[User], FlaskClient],
        admin: User) -> None:
    login(admin)
    item = _equipment(session, _register(client))
    today = _today(client)
    planned = (today + timedelta(days=7)).isoformat()
    assert client.post(f"/equipment/{item.id}/maintenance", data={
        "kind": "verification", "planned_on": planned}).status_code == 302
    assert client.post(f"/equipment/{item.id}/maintenance", data={
        "kind": "maintenance", "done_on": today.isoformat(), "done_by": "Service engineer",
        "notes": "seals replaced"}).status_code == 302
    neither = client.post(f"/equipment/{item.id}/maintenance", data={"kind": "maintenance"})
    assert neither.status_code == 422
    assert "Give the planned date, the date done, or both." in neither.get_data(as_text=True)
    entries = session.scalars(sa.select(MaintenanceEntry).where(
        MaintenanceEntry.equipment_id == item.id)).all()
    assert sorted(e.kind.value for e in entries) == ["maintenance", "verification"]
    page = client.get(f"/equipment/{item.id}").get_data(as_text=True)
    assert "seals replaced" in page and "Service engineer" in page and "planned" in page
    listing = client.get("/equipment/").get_data(as_text=True)
    row = re.search(rf"<tr[^>]*>\s*<td><a[^>]*>{item.code}</a>.*?</tr>", listing,
                    re.DOTALL).group(0)
    assert "Verification" in row  # the next thing due


def test_who_may_see_and_change_equipment(
        client: FlaskClient, session: Session, login: Callable[[User], FlaskClient],
        admin: User, make_user: Callable[..., User]) -> None:
    item = service.register_equipment(session, actor=admin, now=FIXED_NOW, code=unique("BAL-"),
                                      name="Balance")
    session.commit()
    login(make_user(Role.MINISTRY))
    for url in ("/equipment/", f"/equipment/{item.id}"):
        assert client.get(url).status_code == 403
    assert client.post(f"/equipment/{item.id}/status", data={"reason": "x"}).status_code == 403
    client.post("/logout")
    login(make_user(Role.TECHNICIAN))
    page = client.get(f"/equipment/{item.id}")
    assert page.status_code == 200 and "Record a calibration" not in page.get_data(as_text=True)
    assert client.post(f"/equipment/{item.id}/status", data={"reason": "x"}).status_code == 403
    assert client.get("/equipment/new").status_code == 403
    assert _equipment(session, item.code).status is EquipmentStatus.IN_SERVICE
    assert client.get("/equipment/987654321").status_code == 404


def test_the_dashboard_links_a_calibration_due_to_its_record(
        client: FlaskClient, session: Session, login: Callable[[User], FlaskClient],
        admin: User) -> None:
    item = service.register_equipment(session, actor=admin, now=FIXED_NOW, code=unique("BAL-"),
                                      name="Balance")
    session.commit()
    login(admin)
    today = _today(client)
    service.record_calibration(session, actor=admin, now=FIXED_NOW, equipment=item,
                               calibrated_on=today - timedelta(days=360),
                               valid_until=today + timedelta(days=5), performed_by="KazStandard",
                               outcome=service.CalibrationOutcome.PASS)
    session.commit()
    home = client.get("/").get_data(as_text=True)
    assert f'href="/equipment/{item.id}"' in home and item.code in home


def test_a_hostile_certificate_file_name_is_not_kept(
        client: FlaskClient, session: Session, login: Callable[[User], FlaskClient],
        admin: User) -> None:
    login(admin)
    item = _equipment(session, _register(client))
    today = _today(client)
    response = client.post(f"/equipment/{item.id}/calibrations", data={
        "calibrated_on": today.isoformat(), "valid_until": today.isoformat(),
        "performed_by": "KazStandard", "outcome": "pass",
        "file": (io.BytesIO(PDF), "..\\\\evil\x00\u202e.pdf")}, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    [calibration] = _equipment(session, item.code).calibrations
    assert calibration.file_name == "certificate" and calibration.file_data == PDF
