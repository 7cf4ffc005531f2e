"""The inbox pages: a technician attaches an unmatched reading to the right sample or discards it
with a reason; both are audited and an attached reading shows on the sample page."""

from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from instruments.records import Reading
from instruments.wire import envelope_for
from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.capture.models import Instrument, InstrumentReading, Protocol, ReadingStatus
from lims.capture.reasons import Reason, describe, load
from lims.core.permissions import Role
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind


def file_unmatched(client: FlaskClient, instrument: Instrument, secret: str, sample_ref: str,
                   raw: str = "\x023R|1|^^^UIC|87.3|ug/L\r\x03AB\r\n") -> int:
    reading = Reading(instrument_id=instrument.code, sample_id=sample_ref, analyte="uic",
                      raw_value="87.3", value=87.3, unit="ug/L", test_code="UIC", raw=raw)
    response = client.post("/api/v1/readings", headers={"Authorization": f"Bearer {secret}"},
                           json={"items": [envelope_for(instrument.code, reading).to_dict()]})
    [outcome] = response.get_json()["results"]
    assert outcome["outcome"] == "unmatched"
    return int(outcome["reading_id"])


def test_attach_then_the_sample_page_shows_it(client: FlaskClient, session: Session, login,
                                              make_user: Callable[..., User], make_instrument,
                                              make_sample: Callable[..., Sample]) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    tech = make_user(Role.TECHNICIAN)
    session.commit()
    reading_id = file_unmatched(client, instrument, secret, "U25-0001")
    login(tech)
    page = client.get("/inbox/")
    assert page.status_code == 200 and "U25-0001" in page.get_data(as_text=True)
    assert "no sample with accession U25-0001" in page.get_data(as_text=True)  # the code, worded
    detail = client.get(f"/inbox/{reading_id}").get_data(as_text=True)
    assert "no sample with accession U25-0001" in detail and '"code"' not in detail
    assert "&lt;STX&gt;3R|1|^^^UIC|87.3|ug/L&lt;CR&gt;" in detail  # the raw bytes, made visible
    response = client.post(f"/inbox/{reading_id}/attach",
                           data={"accession": sample.accession, "reason": "label typo on the rack"})
    assert response.status_code == 302, response.get_data(as_text=True)
    row = session.get(InstrumentReading, reading_id)
    session.refresh(row)
    assert row.status is ReadingStatus.ATTACHED and row.sample_id == sample.id
    assert row.resolved_by_id == tech.id and row.resolution_reason == "label typo on the rack"
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "reading_attached")).all()
    assert {(e.entity_type, e.reason) for e in events} >= {
        ("instrument_reading", "label typo on the rack"), ("sample", "label typo on the rack")}
    sample_page = client.get(f"/samples/{sample.accession}").get_data(as_text=True)
    assert "Instrument readings" in sample_page and "87.3" in sample_page
    again = client.post(f"/inbox/{reading_id}/discard", data={"reason": "oops"})
    assert again.status_code == 409 and "only unmatched" in again.get_data(as_text=True)


def test_attach_to_a_sample_of_the_wrong_kind_asks_first(client: FlaskClient, session: Session,
                                                         login, make_user, make_instrument,
                                                         make_sample) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    salt = make_sample(SampleKind.SALT, status=SampleStatus.RECEIVED)
    tech = make_user(Role.TECHNICIAN)
    session.commit()
    reading_id = file_unmatched(client, instrument, secret, "nonsense")
    login(tech)
    response = client.post(f"/inbox/{reading_id}/attach",
                           data={"accession": salt.accession, "reason": "try"})
    assert response.status_code == 409
    assert "but uic is measured in" in response.get_data(as_text=True)
    row = session.get(InstrumentReading, reading_id)
    session.refresh(row)
    assert row.status is ReadingStatus.UNMATCHED


def test_discard_needs_a_reason_and_is_audited(client: FlaskClient, session: Session, login,
                                               make_user, make_instrument) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    tech = make_user(Role.TECHNICIAN)
    session.commit()
    reading_id = file_unmatched(client, instrument, secret, "QC-LOW")
    login(tech)
    assert client.post(f"/inbox/{reading_id}/discard", data={"reason": ""}).status_code == 422
    response = client.post(f"/inbox/{reading_id}/discard", data={"reason": "a control, not a sample"})
    assert response.status_code == 302
    row = session.get(InstrumentReading, reading_id)
    session.refresh(row)
    assert row.status is ReadingStatus.DISCARDED
    assert session.scalar(sa.select(AuditEvent.reason).where(
        AuditEvent.action == "reading_discarded", AuditEvent.entity_id == reading_id)) == \
        "a control, not a sample"
    assert "QC-LOW" in client.get("/inbox/?status=discarded").get_data(as_text=True)


def test_inbox_pages_by_keyset(client: FlaskClient, session: Session, login, make_user,
                               make_instrument, app) -> None:
    instrument, secret = make_instrument(Protocol.ASTM)
    tech = make_user(Role.TECHNICIAN)
    session.commit()
    ids = [file_unmatched(client, instrument, secret, f"X-{i}") for i in range(5)]
    login(tech)
    app.config["PAGE_SIZE"] = 2
    try:
        first = client.get(f"/inbox/?instrument={instrument.id}").get_data(as_text=True)
        assert "X-4" in first and "X-3" in first and "X-2" not in first
        assert "Total: 5" in first
        second = client.get(link(first, "next")).get_data(as_text=True)
        assert "X-2" in second and "X-1" in second and "X-4" not in second
        back = client.get(link(second, "prev")).get_data(as_text=True)
        assert "X-4" in back and "X-3" in back and "X-2" not in back
        by_id = client.get(f"/inbox/?instrument={instrument.id}&sort=reading&after={ids[2]}")
        assert "X-3" in by_id.get_data(as_text=True) and "X-2" not in by_id.get_data(as_text=True)
    finally:
        app.config["PAGE_SIZE"] = 50


def link(page: str, rel: str) -> str:
    found = re.search(rf'rel="{rel}" href="([^"]*)"', page)
    assert found, f"no {rel} link"
    return found.group(1).replace("&amp;", "&")


def session_payload(cookie: str) -> str:
    """What anyone holding the session cookie can read: it is signed, not encrypted."""
    import base64
    import zlib

    body = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return (zlib.decompress(raw) if cookie.startswith(".") else raw).decode()


def test_register_page_and_token_shown_once(client: FlaskClient, session: Session, login,
                                            admin: User) -> None:
    login(admin)
    response = client.post("/instruments/new", data={
        "code": "SK-READER-01", "name": "Bio-Rad 680", "protocol": "biorad", "model": "680",
        "serial_settings": '{"baudrate": 9600, "parity": "N"}', "is_active": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    instrument = session.scalar(sa.select(Instrument).where(Instrument.code == "SK-READER-01"))
    assert instrument is not None and instrument.serial_settings == {"baudrate": 9600, "parity": "N"}
    duplicate = client.post("/instruments/new", data={"code": "SK-READER-01", "name": "x",
                                                      "protocol": "biorad"})
    assert duplicate.status_code == 409 or "already registered" in duplicate.get_data(as_text=True)
    issued = client.post(f"/instruments/{instrument.id}/token")
    shown = issued.get_data(as_text=True)
    assert issued.status_code == 200 and "lims-driver run --profile SK-READER-01" in shown
    # the secret is in this response only: not in the (signed, readable) session cookie, not cached
    secret = re.search(r"--token (lims_\S+)", shown).group(1)  # type: ignore[union-attr]
    assert issued.headers["Cache-Control"] == "no-store"
    cookie = client.get_cookie("session")
    assert cookie is None or secret not in session_payload(cookie.value)
    assert "lims-driver run" not in client.get(f"/instruments/{instrument.id}").get_data(as_text=True)
    listing = client.get("/instruments/").get_data(as_text=True)
    assert "SK-READER-01" in listing and "baudrate=9600" in listing
    bad = client.post("/instruments/new", data={"code": "X", "name": "x", "protocol": "astm",
                                                "serial_settings": "{baud"})
    assert bad.status_code == 422 and "Not valid JSON" in bad.get_data(as_text=True)


def test_the_old_salt_entry_address_leads_to_the_fast_entry_screen(
        client: FlaskClient, login, make_user) -> None:
    login(make_user(Role.TECHNICIAN))
    response = client.get("/entry/manual")
    assert response.status_code == 301 and response.headers["Location"].endswith("/analysis/entry")


def test_plate_file_upload_waits_for_a_run_and_bad_files_say_why(
        client: FlaskClient, session: Session, login, make_user, make_instrument) -> None:
    import io

    from tests.instruments.plate_files import grid, layout, make_wells, to_csv

    reader, _ = make_instrument(Protocol.FILE, code="MULTISKAN-01", name="Multiskan FC")
    tech = make_user(Role.TECHNICIAN)
    session.commit()
    login(tech)
    wells = make_wells(7)
    data = to_csv(layout(wells, "skanit"), delimiter=";")
    response = client.post("/entry/plate-file", content_type="multipart/form-data", data={
        "instrument": str(reader.id), "file": (io.BytesIO(data), "plate1.csv")})
    assert response.status_code == 302, response.get_data(as_text=True)
    plate = session.scalar(sa.select(InstrumentReading).where(InstrumentReading.instrument_id == reader.id))
    assert plate is not None and plate.status is ReadingStatus.PENDING
    assert plate.payload["wells"]["C7"] == wells["C7"]
    again = client.post("/entry/plate-file", content_type="multipart/form-data", data={
        "instrument": str(reader.id), "file": (io.BytesIO(data), "plate1.csv")})
    assert again.status_code == 409 and f"already imported as plate #{plate.id}" in again.get_data(as_text=True)
    rows = grid(wells)
    rows[3][7] = "abc"
    broken = client.post("/entry/plate-file", content_type="multipart/form-data", data={
        "instrument": str(reader.id), "file": (io.BytesIO(to_csv(rows)), "broken.csv")})
    assert broken.status_code == 422
    assert "&#39;abc&#39; is not a number" in broken.get_data(as_text=True)


def test_free_text_and_old_sentences_are_shown_as_stored() -> None:
    """Rows written before reasons were coded: free text as it is, the fixed sentences worded."""
    assert describe("used by R-0457") == "used by R-0457"
    assert load("used by R-0457") == Reason("claimed_by_run", {"run": "R-0457"})
    assert describe("checked by hand") == "checked by hand"
    assert describe("plate waiting for an analytical run") == "plate waiting for an analytical run"
    assert load("plate waiting for an analytical run") == Reason("plate_waiting")
    assert describe('{"code": "no_such_code"}') == '{"code": "no_such_code"}'
    assert describe(Reason("no_sample", {"accession": "U-1"}).dump()) == "no sample with accession U-1"


def test_a_result_without_instrument_time_is_attached_but_flagged(
        client: FlaskClient, session: Session, login, make_user: Callable[..., User],
        make_instrument, make_sample: Callable[..., Sample]) -> None:
    """The key of a reading without the instrument's time cannot tell a re-send from a repeat:
    it is attached as usual, and the reading and sample pages say so."""
    from datetime import datetime

    instrument, secret = make_instrument(Protocol.ASTM)
    sample = make_sample(SampleKind.URINE, status=SampleStatus.RECEIVED)
    tech = make_user(Role.TECHNICIAN)
    session.commit()
    ids = []
    for value, at in ((87.3, None), (91.0, datetime(2026, 5, 14, 10, 30))):
        reading = Reading(instrument_id=instrument.code, sample_id=sample.accession, analyte="uic",
                          raw_value=str(value), value=value, unit="ug/L", test_code="UIC",
                          measured_at=at, raw=f"R|1|^^^UIC|{value}|ug/L")
        response = client.post("/api/v1/readings", headers={"Authorization": f"Bearer {secret}"},
                               json={"items": [envelope_for(instrument.code, reading).to_dict()]})
        [outcome] = response.get_json()["results"]
        assert outcome["outcome"] == "attached"
        ids.append(outcome["reading_id"])
    login(tech)
    flag = "no instrument time: cannot rule out a re-send"
    untimed, timed = (client.get(f"/inbox/{i}").get_data(as_text=True) for i in ids)
    assert flag in untimed and flag not in timed
    page = client.get(f"/samples/{sample.accession}").get_data(as_text=True)
    assert page.count(flag) == 1
