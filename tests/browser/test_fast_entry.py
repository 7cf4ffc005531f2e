"""A technician's fast WYD entry in a real browser (issue 13, item 7): scan a salt sample (type
+ Enter moves to the value, as a barcode scanner does), type the reading, Enter saves and the
page says "Saved: S-… 24.6 mg/kg" in its live region with the scan field ready for the next
sample; a second reading for the same sample asks first, and "Add as replicate" averages them.
No inline script: the page's behaviour comes from static/fast_entry.js."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from lims.analysis.catalogue import seed_methods
from lims.auth.services import create_user
from lims.core.permissions import Role
from tests.browser.conftest import PASSWORD, LiveServer
from tests.conftest import FIXED_NOW

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from sqlalchemy.orm import Session


@pytest.fixture()
def live_extra() -> Callable[[Session], None]:
    def add(session: Session) -> None:
        seed_methods(session, now=FIXED_NOW)
        create_user(session, actor=None, now=FIXED_NOW, username="wyd-tech", password=PASSWORD,
                    roles=(Role.TECHNICIAN,), full_name="WYD technician")

    return add


def _received_salt(live_server: LiveServer, page: Page) -> list[str]:
    """Accessions of received salt samples, read from the sample list as the technician would."""
    page.goto(f"{live_server.url}/samples/?kind=salt&status=received")
    found = page.locator("main table a").all_inner_texts()
    salt = [a.strip() for a in found if re.fullmatch(r"S-\d{4}-\d{6}", a.strip())]
    assert len(salt) >= 2, "the demo survey has received salt samples"
    return salt


def test_fast_wyd_entry_confirms_each_save_and_asks_about_a_second_reading(
        live_server: LiveServer, page: Page) -> None:
    from playwright.sync_api import expect

    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(f"{live_server.url}/login")
    page.fill("#username", "wyd-tech")
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header nav")).to_be_visible()
    first, second = _received_salt(live_server, page)[:2]

    page.locator("header nav a[href$='/analysis/entry']").click()
    expect(page.locator("main h1")).to_have_text(re.compile("Fast entry"))
    assert page.locator("main script").count() == 0  # no inline script on the page
    page.select_option("#method", label="Salt iodine, WYD Iodine Checker")
    expect(page.locator("#category")).to_be_hidden()  # a number method: no category
    status = page.locator("#entry-status[role=status][aria-live=polite]")

    # the scanner types the accession and Enter: the focus moves to the value, nothing is saved
    expect(page.locator("#accession")).to_be_focused()
    page.keyboard.type(first)
    page.keyboard.press("Enter")
    expect(page.locator("#value")).to_be_focused()
    expect(status).to_have_text("")
    page.keyboard.type("24.6")
    page.keyboard.press("Enter")
    expect(status).to_have_text(f"Saved: {first} 24.6 mg/kg")
    expect(status).to_have_class(re.compile(r"\bsaved\b"))
    expect(page.locator("#accession")).to_be_focused()  # ready for the next scan
    expect(page.locator("#accession")).to_have_value("")

    page.keyboard.type(second)
    page.keyboard.press("Enter")
    page.keyboard.type("31.2")
    page.keyboard.press("Enter")
    expect(status).to_have_text(f"Saved: {second} 31.2 mg/kg")
    expect(page.locator("#entry-recent tr.just-saved")).to_contain_text(second)

    # a second reading for the first sample: asked, not saved silently
    page.keyboard.type(first)
    page.keyboard.press("Enter")
    page.keyboard.type("26.0")
    page.keyboard.press("Enter")
    question = page.locator("#entry-question[role=alert]")
    expect(question).to_contain_text(f"{first} already has a value: 24.6 mg/kg")
    expect(page.locator("#as-replicate")).to_be_focused()
    expect(page.locator("#cancel-entry")).to_be_visible()
    page.keyboard.press("Enter")  # "Add as replicate"
    expect(status).to_have_text(f"Saved: {first} 25.3 mg/kg")

    # again, and this time replace it with a reason (Enter in the reason replaces)
    page.keyboard.type(first)
    page.keyboard.press("Enter")
    page.keyboard.type("30.0")
    page.keyboard.press("Enter")
    expect(question).to_be_visible()
    page.fill("#reason", "wet sample re-read after drying")
    page.press("#reason", "Enter")
    expect(status).to_have_text(f"Saved: {first} 30.0 mg/kg")
    assert not script_errors, script_errors

    # the old address of the salt entry screen leads here
    page.goto(f"{live_server.url}/entry/manual")
    expect(page).to_have_url(re.compile(r"/analysis/entry$"))
