"""The receipt desk over HTTP: scan, confirm, fast accept, refusals, memory and access."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from lims.auth.services import create_user
from lims.core.permissions import Role
from lims.extensions import db
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.conftest import FIXED_NOW, isolated, make_app
from tests.factories import PASSWORD

URL = "/samples/receive"
CONDITIONS = {"temperature_c": "-18.0", "container_intact": "yes", "decision": "accepted",
              "rejection_reason": "", "note": ""}


@pytest.fixture()
def desk(client, make_user, login):
    login(make_user(Role.TECHNICIAN))
    return client


@pytest.fixture()
def make_committed(session, make_sample):
    """Samples committed to the test's outer transaction, so a view's rollback after a
    refused receipt does not take them with it (the test and its requests share a session)."""

    def factory(*args, **kwargs):
        sample = make_sample(*args, **kwargs)
        session.commit()
        return sample

    return factory


def scan_field(page: str) -> str:
    return re.search(r'<input[^>]*id="accession"[^>]*>', page).group(0)


def scan(client, accession, **extra):
    return client.post(URL, data={"accession": accession, "pending": "", **CONDITIONS, **extra})


def confirm(client, accession, **conditions):
    return client.post(URL, data={"accession": "", "pending": accession,
                                  **{**CONDITIONS, **conditions}})


def test_page_has_a_focused_empty_scan_field_first(desk):
    page = desk.get(URL).get_data(as_text=True)
    field = scan_field(page)
    assert "autofocus" in field and 'value=""' in field
    form = page[page.index('id="receipt-form"'):]
    first_visible = re.search(r'<input(?![^>]*type="hidden")[^>]*>', form).group(0)
    assert 'id="accession"' in first_visible
    # the focus goes back to the scan field after every scan (a static script: strict CSP)
    assert '<script src="/static/receive.js"></script>' in page
    script = desk.get("/static/receive.js")
    assert "scan.focus()" in script.get_data(as_text=True)
    script.close()


def test_unknown_barcode_says_so_and_keeps_the_field(desk):
    response = scan(desk, " u-2026-999999\r\n")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "No sample with accession U-2026-999999." in page
    assert 'value=""' in scan_field(page) and "autofocus" in scan_field(page)


def test_scan_shows_the_sample_then_enter_confirms(desk, make_sample, session):
    sample = make_sample(volume_ml=Decimal("3.50"))
    page = scan(desk, sample.accession.lower()).get_data(as_text=True)
    assert sample.accession in page and sample.participant.code in page
    assert sample.cluster.code in page and "3.50 mL" in page and "Urine" in page
    assert f'name="pending" type="hidden" value="{sample.accession}"' in page
    assert 'value="3.50"' in page  # registered volume prefilled
    assert 'value=""' in scan_field(page)
    assert sample.status is SampleStatus.REGISTERED

    response = confirm(desk, sample.accession, volume_ml="3.40")
    assert response.status_code == 302 and response.location.endswith(URL)
    session.refresh(sample)
    assert sample.status is SampleStatus.RECEIVED
    assert sample.receipts[0].volume_ml == Decimal("3.40")
    page = desk.get(URL).get_data(as_text=True)
    assert f"{sample.accession} accepted." in page
    recent = page[page.index("Received in this session"):]
    assert sample.accession in recent

    detail = desk.get(f"/samples/{sample.accession}").get_data(as_text=True)
    timeline = detail[detail.index("Timeline"):]
    assert "Receive" in timeline and "Received" in timeline and "-18.0" in timeline


def test_conditions_are_remembered_for_the_next_sample(desk, make_sample):
    first, second = make_sample(), make_sample(volume_ml=Decimal("2.25"))
    scan(desk, first.accession)
    confirm(desk, first.accession, temperature_c="4.5", container_intact="yes")
    page = desk.get(URL).get_data(as_text=True)
    assert 'value="4.5"' in page
    page = scan(desk, second.accession, temperature_c="4.5").get_data(as_text=True)
    assert 'value="4.5"' in page and 'value="2.25"' in page


def test_fast_mode_accepts_on_scan(desk, make_sample, session):
    samples = [make_sample() for _ in range(3)]
    for sample in samples:
        response = scan(desk, sample.accession, fast="y")
        assert response.status_code == 302
    for sample in samples:
        session.refresh(sample)
        assert sample.status is SampleStatus.RECEIVED
        assert sample.receipts[0].temperature_c == Decimal("-18.0")
    page = desk.get(URL).get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*id="fast"|<input[^>]*id="fast"[^>]*checked', page)
    recent = page[page.index("Received in this session"):]
    assert all(s.accession in recent for s in samples)


def test_fast_mode_stops_on_a_refusal_with_the_rejection_preselected(desk, make_committed, session):
    sample = make_committed(volume_ml=Decimal("0.5"))
    response = scan(desk, sample.accession, fast="y")
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "below the minimum of 0.80 mL" in page and "insufficient volume" in page
    assert re.search(r'<option selected value="insufficient_volume">|'
                     r'<option value="insufficient_volume" selected>', page)
    assert re.search(r'checked[^>]*value="rejected"|value="rejected"[^>]*checked', page)
    session.refresh(sample)
    assert sample.status is SampleStatus.REGISTERED

    assert confirm(desk, sample.accession, decision="rejected",
                   rejection_reason="insufficient_volume").status_code == 302
    session.refresh(sample)
    assert sample.status is SampleStatus.REJECTED


def test_each_refusal_is_shown_on_its_field(desk, make_committed):
    sample = make_committed()
    scan(desk, sample.accession)
    page = confirm(desk, sample.accession, container_intact="no").get_data(as_text=True)
    assert "cannot be accepted: reject the sample as leaking" in page
    page = confirm(desk, sample.accession, decision="rejected").get_data(as_text=True)
    assert "Choose a rejection reason." in page
    response = confirm(desk, sample.accession, decision="rejected", rejection_reason="other")
    assert response.status_code == 422
    assert "Describe the problem in the note" in response.get_data(as_text=True)
    response = confirm(desk, sample.accession, temperature_c="warm")
    assert response.status_code == 422
    assert "Not a valid decimal value" in response.get_data(as_text=True)


def test_reject_with_reason_is_visible_in_the_list_and_counted(desk, make_sample, session):
    sample = make_sample()
    other = make_sample()
    scan(desk, sample.accession)
    assert confirm(desk, sample.accession, decision="rejected", rejection_reason="leaking",
                   container_intact="no").status_code == 302
    session.refresh(sample)
    assert sample.status is SampleStatus.REJECTED
    page = desk.get(URL).get_data(as_text=True)
    assert f"{sample.accession} rejected: Leaking." in page
    listing = desk.get("/samples/?status=rejected").get_data(as_text=True)
    assert sample.accession in listing and other.accession not in listing
    summary = listing[listing.index("Rejected samples by reason"):]
    assert re.search(r"Leaking</td><td class=\"num\">1<", summary)


def test_already_received_says_when_and_by_whom(desk, make_sample):
    sample = make_sample()
    scan(desk, sample.accession, fast="y")
    response = scan(desk, sample.accession)
    page = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Already accepted on" in page and sample.receipts[0].received_by.username in page
    assert "the sample is now received" in page


def test_cancelled_sample_cannot_be_received(desk, make_sample):
    sample = make_sample(status=SampleStatus.CANCELLED)
    page = scan(desk, sample.accession).get_data(as_text=True)
    assert "This sample is cancelled and cannot be received." in page


def test_empty_scan_without_a_sample_asks_for_one(desk):
    response = desk.post(URL, data={"accession": "", "pending": "", **CONDITIONS})
    assert response.status_code == 422
    assert "Scan or type an accession." in response.get_data(as_text=True)


def test_rescanning_another_accession_moves_on(desk, make_sample, session):
    first, second = make_sample(), make_sample(SampleKind.SALT)
    scan(desk, first.accession)
    page = desk.post(URL, data={"accession": second.accession, "pending": first.accession,
                                **CONDITIONS}).get_data(as_text=True)
    assert f'value="{second.accession}"' in page and "Salt" in page
    session.refresh(first)
    assert first.status is SampleStatus.REGISTERED


def test_get_with_accession_shows_the_sample(desk, make_sample):
    sample = make_sample()
    page = desk.get(f"{URL}?accession={sample.accession}").get_data(as_text=True)
    assert f'value="{sample.accession}"' in page


@pytest.mark.parametrize("role", [Role.MINISTRY, Role.REVIEWER])
def test_roles_without_receipt_get_403(client, make_user, login, role):
    login(make_user(role))
    assert client.get(URL).status_code == 403
    assert client.post(URL, data={"accession": "U-2026-000001"}).status_code == 403


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/login" in response.location


def test_csrf_is_enforced(database_url):
    """The suite's app has CSRF off; an app with it on refuses a scan without the token."""
    app = make_app(database_url, WTF_CSRF_ENABLED=True)
    with isolated(app):
        with app.app_context():
            create_user(db.session, actor=None, now=FIXED_NOW, username="csrf-tech",
                        password=PASSWORD, roles=[Role.TECHNICIAN])
            db.session.commit()
        client = app.test_client()

        def token(path):
            page = client.get(path).get_data(as_text=True)
            return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)

        assert client.post("/login", data={"username": "csrf-tech", "password": PASSWORD,
                                           "csrf_token": token("/login")}).status_code == 302
        no_token = client.post(URL, data={"accession": "U-2026-999999", **CONDITIONS})
        assert no_token.status_code == 400
        response = client.post(URL, data={"accession": "U-2026-999999", "csrf_token": token(URL),
                                          **CONDITIONS})
        assert response.status_code == 404
    with app.app_context():
        db.engine.dispose()
