"""Receiving a shipment at the desk in a real browser (issue 16, item 1): the technician opens
the shipment's scan screen, scans a box label and then tubes (typed + Enter, as a keyboard-wedge
scanner does), and the counts, the two lists and the polite live region follow each scan without
a page load; a tube not on the manifest is offered and received as extra (Enter in the empty
field); an unknown tube is registered on the spot and the form comes back to the scan screen with
it offered as extra; closing the shipment shows its discrepancies. No inline script: the behaviour is static/shipment_receipt.js."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from lims.auth.services import create_user
from lims.core.permissions import Role
from lims.logistics import shipments as service
from lims.monitoring.models import Cluster
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SaltSource, Sample, SampleKind
from tests.browser.conftest import PASSWORD, LiveServer
from tests.conftest import FIXED_NOW

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from sqlalchemy.orm import Session

LISTED = ["S-2026-900001", "S-2026-900002", "S-2026-900003"]
STRAY = "S-2026-900009"


@pytest.fixture()
def live_extra() -> Callable[[Session], None]:
    def add(session: Session) -> None:
        tech = create_user(session, actor=None, now=FIXED_NOW, username="desk-tech",
                           password=PASSWORD, roles=(Role.TECHNICIAN,), full_name="Desk")
        cluster = session.scalars(sa.select(Cluster).order_by(Cluster.id)).first()
        session.add_all([Sample(kind=SampleKind.SALT, status=SampleStatus.REGISTERED,
                                cluster=cluster, round_id=cluster.round_id,
                                region_id=cluster.region_id, accession=accession,
                                salt_source=SaltSource.HOUSEHOLD,
                                collected_at=FIXED_NOW - timedelta(days=1),
                                registered_at=FIXED_NOW) for accession in [*LISTED, STRAY]])
        shipment = service.create_shipment(
            session, actor=tech, now=FIXED_NOW, round_id=cluster.round_id,
            region_id=cluster.region_id, cluster_id=cluster.id, courier="KazPost",
            dispatched_at=FIXED_NOW, box_count=2, logger_id="LOG-1")
        service.load_manifest(session, actor=tech, now=FIXED_NOW, shipment=shipment,
                              rows=[service.ManifestRow(i + 2, a, 1)
                                    for i, a in enumerate(LISTED)], source="manifest.csv")

    return add


def test_receive_a_shipment_by_scanning(live_server: LiveServer, page: Page) -> None:
    from playwright.sync_api import expect

    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "desk-tech")
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header nav")).to_be_visible()

    page.goto(f"{live_server.url}/logistics/shipments/?status=in_transit")
    page.locator("#shipments a", has_text="SHP-").first.click()
    expect(page.locator("main h1")).to_contain_text("Shipment SHP-")
    page.locator("main a", has_text="Receive by scanning").click()
    expect(page.locator("main h1")).to_contain_text("Receive shipment")
    assert page.locator("main script").count() == 0

    field = page.locator("#scan-accession")
    announcer = page.locator("#scan-announcer[aria-live=polite]")
    expect(field).to_be_focused()
    expect(page.locator("#tally-expected")).to_have_text("3")
    expect(page.locator("#missing-list li")).to_have_count(3)

    page.keyboard.type("BOX-1")
    page.keyboard.press("Enter")
    expect(page.locator("#current-box")).to_have_text("1")
    for done, accession in enumerate(LISTED[:2], start=1):
        page.keyboard.type(accession.lower())
        page.keyboard.press("Enter")
        expect(page.locator("#tally-scanned")).to_have_text(str(done))
        expect(announcer).to_have_text(f"{accession} received.")
        expect(field).to_have_value("")
        expect(field).to_be_focused()
    expect(page.locator("#tally-missing")).to_have_text("1")
    expect(page.locator("#missing-list li")).to_have_text([LISTED[2]])

    # scanned twice: nothing changes, and the screen says so
    page.keyboard.type(LISTED[0])
    page.keyboard.press("Enter")
    expect(announcer).to_contain_text("already scanned")
    expect(page.locator("#tally-scanned")).to_have_text("2")

    # a tube that is not on the manifest is offered; Enter in the empty field receives it
    page.keyboard.type(STRAY)
    page.keyboard.press("Enter")
    expect(announcer).to_contain_text("not on the manifest")
    expect(page.locator("#receive-extra")).to_be_visible()
    expect(page.locator("#tally-unexpected")).to_have_text("0")
    page.keyboard.press("Enter")
    expect(page.locator("#tally-unexpected")).to_have_text("1")
    expect(page.locator("#unexpected-list li")).to_have_text([STRAY])
    expect(announcer).to_have_text(f"{STRAY} received as an extra sample.")

    # an unknown accession changes nothing and offers the registration forms
    page.keyboard.type("S-2026-999999")
    page.keyboard.press("Enter")
    expect(announcer).to_contain_text("No sample with accession S-2026-999999")
    expect(page.locator("#register-salt")).to_be_visible()
    expect(page.locator("#tally-scanned")).to_have_text("3")

    # registered on the spot: the form comes back to this screen, the new tube offered as extra
    page.locator("#register-salt").click()
    expect(page.locator("main h1")).to_contain_text("Register a salt sample")
    page.fill("#household_code", "H-77")
    page.select_option("#salt_source", "household")
    page.locator("main form.intake button[type=submit]").click()
    expect(page.locator("main h1")).to_contain_text("Receive shipment")
    expect(announcer).to_contain_text("is registered. Receive it as an extra sample")
    new = page.locator("#shipment-scan").get_attribute("data-pending")
    assert new and new.startswith("S-")
    expect(field).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#tally-unexpected")).to_have_text("2")
    expect(announcer).to_have_text(f"{new} received as an extra sample.")

    page.locator("main a", has_text="Shipment page").click()
    page.fill("#missing_reason", "left at the district office")
    page.fill("#extra_reason", "packed by the neighbouring team")
    page.locator("main form button", has_text="Close the shipment").click()
    expect(page.locator(".flash.success")).to_contain_text("3 discrepancies")
    rows = page.locator("#discrepancies tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text=new)).to_contain_text(re.compile("Extra"))
    expect(rows.filter(has_text=LISTED[2])).to_contain_text("Missing")
    expect(rows.filter(has_text=STRAY)).to_contain_text(re.compile("Extra"))
    assert script_errors == []
