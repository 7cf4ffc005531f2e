"""Every role's main screens in a real browser, for what only a browser can tell: axe-core's
WCAG 2.2 A/AA rules (run by the ``page`` fixture on every page visited, see conftest.py), reflow
at 320 CSS px (WCAG 1.4.10), where focus goes after a failed submit, and what a screen reader
hears after a scan.

The lab behind it has a small demo survey, one account per role, the demo instruments and two
analytical runs taken through the real services (a plate with its calibration curve and a
titration), so that the run page, its chart and the Levey-Jennings charts have data.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa

from lims.core.permissions import Role
from tests.browser.conftest import AUDIT, PASSWORD, AxeAudit, demo_app, serve
from tests.conftest import FIXED_NOW

if TYPE_CHECKING:
    from playwright.sync_api import Page

#: one account per role (the admin is the lab manager)
ROLES = {"technician": Role.TECHNICIAN, "reviewer": Role.REVIEWER, "ministry": Role.MINISTRY,
         "browser-admin": Role.ADMIN}


@dataclass(frozen=True)
class Lab:
    url: str
    #: screens reached by address rather than from the navigation: a sample, a run with its
    #: calibration curve, a control lot with its Levey-Jennings chart
    sample: str
    run: str
    lot: str
    #: the equipment register and the record of the reader (certificate, planned check)
    equipment: str = ""


@pytest.fixture()
def lab(new_database: Callable[[], str]) -> Iterator[Lab]:
    from lims.analysis.demo import demo_runs, seed_demo_qc
    from lims.analysis.models import AnalyticalRun
    from lims.auth.services import create_user, get_user_by_username
    from lims.capture.cli import DEMO_INSTRUMENTS
    from lims.capture.models import Instrument
    from lims.capture.service import create_instrument
    from lims.equipment.models import Equipment
    from lims.extensions import db
    from lims.qc.models import ControlLot
    from lims.samples.models import Sample

    app = demo_app(new_database())
    with app.app_context():
        session = db.session
        users = {name: get_user_by_username(session, name) or create_user(
            session, actor=None, now=FIXED_NOW, username=name, password=PASSWORD, roles=(role,),
            full_name=name.title()) for name, role in ROLES.items()}
        second = create_user(session, actor=None, now=FIXED_NOW, username="technician2",
                             password=PASSWORD, roles=(Role.TECHNICIAN,), full_name="Second")
        for fields in DEMO_INSTRUMENTS:
            create_instrument(session, actor=users["browser-admin"], now=FIXED_NOW, fields=fields)
        seed_demo_qc(session, actor=users["browser-admin"], now=FIXED_NOW)
        reader = session.scalar(sa.select(Instrument).where(Instrument.code == "SK-READER-01"))
        demo_runs(session, seed=11, technician=users["technician"], second_technician=second,
                  reviewer=users["reviewer"], now=FIXED_NOW, plates=1, titrations=1,
                  reader=reader)
        register_equipment(session, reader, users["browser-admin"])
        session.commit()
        run = session.scalar(sa.select(AnalyticalRun.id).where(AnalyticalRun.curve.is_not(None))
                             .order_by(AnalyticalRun.id))
        lot = session.scalar(sa.select(ControlLot.id).order_by(ControlLot.id))
        sample = session.scalar(sa.select(Sample.accession).order_by(Sample.id))
        equipment = session.scalar(sa.select(Equipment.id).order_by(Equipment.id))
        assert run and lot and sample, "the demo lab has a run, a control lot and a sample"
    with serve(app) as url:
        yield Lab(url, f"/samples/{sample}", f"/analysis/runs/{run}", f"/analysis/qc/lots/{lot}",
                  f"/equipment/{equipment}")


def register_equipment(session: Any, reader: Any, admin: Any) -> None:
    """The reader's equipment record: a certificate with its file and a planned verification."""
    from lims.equipment import service
    from lims.equipment.models import CalibrationOutcome, MaintenanceKind

    record = service.register_equipment(session, actor=admin, now=FIXED_NOW, code="EQ-READER-01",
                                        name="Plate reader", location="Room 4", instrument=reader)
    service.record_calibration(session, actor=admin, now=FIXED_NOW, equipment=record,
                               calibrated_on=FIXED_NOW.date(), valid_until=FIXED_NOW.date(),
                               performed_by="KazStandard", outcome=CalibrationOutcome.PASS,
                               file_name="certificate.pdf", file_data=b"%PDF-1.4\n%%EOF")
    service.record_maintenance(session, actor=admin, now=FIXED_NOW, equipment=record,
                               kind=MaintenanceKind.VERIFICATION, planned_on=FIXED_NOW.date())


def log_in(page: Page, lab: Lab, username: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{lab.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header nav")).to_be_visible()


def log_out(page: Page) -> None:
    from playwright.sync_api import expect

    page.locator("header form button[type=submit]").last.click()
    expect(page.locator("#username")).to_be_visible()


def links(page: Page, where: str) -> list[str]:
    return [href for href in page.locator(where).evaluate_all(
        "links => links.map(a => a.getAttribute('href'))") if href]


def test_every_role_main_screens_pass_axe(lab: Lab, page: Page, request: pytest.FixtureRequest
                                          ) -> None:
    """Each role's home page, every screen of its navigation, and the screens behind them that
    it may open (a sample, a run with its curve, a control lot with its chart): axe checks each
    as it is shown; the test fails at the end on a critical or serious violation."""
    from playwright.sync_api import expect

    audit: AxeAudit = request.node.stash[AUDIT]
    for username in ROLES:
        log_in(page, lab, username)
        screens = links(page, "header nav a")
        assert screens, f"{username} sees a navigation"
        if username != "ministry":
            screens += [lab.sample, lab.run, lab.lot, "/equipment/", lab.equipment]
        seen: set[str] = set()
        while screens:
            screen = screens.pop(0)
            if screen in seen:
                continue
            seen.add(screen)
            page.goto(f"{lab.url}{screen}")
            expect(page.locator("main h1").first).to_be_visible()
            screens += links(page, "main nav a")  # the sections' own navigation
        log_out(page)
    audit.check()
    # every screen was seen by axe: the four roles' screens plus their logins and home pages
    assert len(audit.checked) >= 4 * 6, audit.checked


#: the main screens of the lab's day, each a page a technician works on from a phone
REFLOW_SCREENS = ("/", "/samples/", "/samples/register/urine", "/samples/receive",
                  "/analysis/", "/coverage", "/reports/")


def test_main_screens_reflow_at_320_px(lab: Lab, page: Page) -> None:
    """WCAG 1.4.10: at 320 CSS px the page never scrolls sideways (a wide table scrolls inside
    its own box)."""
    page.set_viewport_size({"width": 320, "height": 640})
    log_in(page, lab, "browser-admin")
    wide = {}
    for screen in (*REFLOW_SCREENS, lab.run, lab.lot, lab.sample):
        page.goto(f"{lab.url}{screen}")
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            wide[screen] = width
    log_out(page)  # and the login page
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > 320:
        wide["/login"] = width
    assert not wide, f"pages wider than 320 px: {wide}"


def test_failed_registration_focuses_the_error_summary(lab: Lab, page: Page) -> None:
    """A failed submit: focus on the error summary (its links lead to the fields), and each
    invalid field says so (``aria-invalid``) and names its message (``aria-describedby``)."""
    from playwright.sync_api import expect

    log_in(page, lab, "technician")
    page.goto(f"{lab.url}/samples/register/urine")
    page.fill("#participant_code", "BRW-0002")
    page.fill("#age_months", "-4")
    page.locator("main form.intake button[type=submit]").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_focused()
    links = summary.locator("a")
    assert links.count() >= 2, "one link per invalid field"
    invalid = page.locator("main [aria-invalid=true]")
    assert invalid.count() == links.count()
    for i in range(invalid.count()):
        field = invalid.nth(i)
        described = (field.get_attribute("aria-describedby") or "").split()
        assert described, f"{field.get_attribute('id')} names no message"
        messages = [page.locator(f"#{ident}") for ident in described]
        assert any(m.count() and m.inner_text().strip() for m in messages)
    # a summary link moves focus to its field
    target = links.first.get_attribute("href")
    links.first.click()
    expect(page.locator(target)).to_be_focused()


def test_a_scan_is_announced(lab: Lab, page: Page) -> None:
    """After a scan at the receipt desk the outcome is in a polite live region, not only shown."""
    from playwright.sync_api import expect

    log_in(page, lab, "technician")
    page.goto(f"{lab.url}/samples/register/urine")
    cluster = page.locator("#cluster-codes option").first.get_attribute("value")
    page.fill("#cluster_code", cluster or "")
    page.fill("#participant_code", "BRW-0003")
    page.select_option("#population_group", value="SAC")
    page.fill("#age_months", "110")
    page.select_option("#sex", index=1)
    page.fill("#volume_ml", "4.5")
    page.select_option("#container", index=1)
    page.locator("main form.intake button[type=submit]").click()
    accession = page.locator("main .card code").first.inner_text().strip()
    page.goto(f"{lab.url}/samples/receive")
    page.fill("#accession", accession)
    page.press("#accession", "Enter")
    announcer = page.locator("[aria-live=polite]#scan-announcer")
    expect(announcer).to_contain_text(accession)
    page.press("#accession", "Enter")
    expect(announcer).to_have_text(re.compile(rf"{accession}.*accepted"))


def test_the_automatic_check_catches_a_violation(page: Page, request: pytest.FixtureRequest
                                                  ) -> None:
    """The fixture's check can fail: a page with an unlabelled input and an image without a
    text alternative is caught by the first assertion on it (no call to axe in the test), and
    the failure names the rule and the selector."""
    from playwright.sync_api import expect

    bad = ('<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>'
           '<h1>Bad</h1><img src="data:," id="logo"><input id="nameless"></main></body></html>')
    page.route("http://lims.invalid/bad", lambda route: route.fulfill(
        body=bad, content_type="text/html"))
    page.goto("http://lims.invalid/bad")
    expect(page.locator("h1")).to_have_text("Bad")  # the locator handler runs axe first
    audit: AxeAudit = request.node.stash[AUDIT]
    assert audit.checked == ["http://lims.invalid/bad"]
    assert {v.rule for v in audit.failing} >= {"image-alt", "label"}
    with pytest.raises(AssertionError) as failure:
        audit.assert_clean()
    assert "image-alt" in str(failure.value) and "#nameless" in str(failure.value)
    audit.violations.clear()  # seen: the test's own page must not fail it
