"""Placing tubes in a freezer box in a real browser: scan the box on the locations page, then
scan samples; the grid shows each accession in its position after every scan, an occupied
position is refused with its message, and the arrow keys move between positions. axe checks
every page (the ``page`` fixture)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from lims.auth.models import User
from lims.logistics import storage
from lims.logistics.storage_models import UnitLevel
from lims.samples.models import SampleKind
from tests.browser.conftest import LiveServer
from tests.conftest import FIXED_NOW

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from sqlalchemy.orm import Session


@pytest.fixture()
def live_extra() -> Callable[[Session], None]:
    def add(session: Session) -> None:
        actor = session.scalars(sa.select(User)).first()
        assert actor is not None
        freezer = storage.create_unit(session, actor=actor, now=FIXED_NOW,
                                      level=UnitLevel.FREEZER, code="FRZ-1", name="-20 °C")
        rack = storage.create_unit(session, actor=actor, now=FIXED_NOW, level=UnitLevel.RACK,
                                   code="FRZ-1-R1", parent=freezer)
        storage.create_unit(session, actor=actor, now=FIXED_NOW, level=UnitLevel.BOX,
                            code="FRZ-1-R1-B1", parent=rack, n_rows=3, n_cols=3,
                            sample_kind=SampleKind.SALT)

    return add


def test_scan_box_then_samples_fills_the_grid(live_server: LiveServer, page: Page) -> None:
    from playwright.sync_api import expect

    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    page.goto(f"{live_server.url}/login")
    page.fill("#username", live_server.username)
    page.fill("#password", live_server.password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("header nav")).to_be_visible()
    page.goto(f"{live_server.url}/samples/?kind=salt&status=received")
    found = [a.strip() for a in page.locator("main table a").all_inner_texts()]
    first, second, third = [a for a in found if re.fullmatch(r"S-\d{4}-\d{6}", a)][:3]

    page.goto(f"{live_server.url}/logistics/storage/")
    expect(page.locator("#box-scan")).to_be_focused()
    page.keyboard.type("frz-1-r1-b1")
    page.keyboard.press("Enter")
    expect(page.locator("main h1")).to_have_text("Box FRZ-1-R1-B1")
    assert page.locator("main script").count() == 0

    expect(page.locator("#item")).to_be_focused()
    page.keyboard.type(first)
    page.keyboard.press("Enter")
    expect(page.locator("#cell-A1")).to_contain_text(first)
    page.fill("#item", second)
    page.fill("#position", "C3")
    page.locator("#position").press("Enter")
    expect(page.locator("#cell-C3")).to_contain_text(second)
    expect(page.locator("#box-occupancy")).to_contain_text("2 of 9")

    page.fill("#item", third)
    page.fill("#position", "C3")
    page.locator("#position").press("Enter")
    expect(page.locator(".error-summary")).to_contain_text("holds")
    expect(page.locator("#cell-C3")).not_to_contain_text(third)

    # split the third sample into aliquots at the tube desk, then scan an aliquot into the box
    page.goto(f"{live_server.url}/logistics/storage/desk")
    page.fill("#split-item", third)
    page.locator("form[action$='/split'] button[type=submit]").click()
    expect(page.locator("#scan-announcer")).to_have_attribute(
        "data-announce", re.compile(f"{third}-A1, {third}-A2"))
    page.goto(f"{live_server.url}/logistics/storage/?box=FRZ-1-R1-B1")
    page.fill("#item", f"{third}-A2")
    page.locator("#item").press("Enter")
    expect(page.locator("#cell-A2")).to_contain_text(f"{third}-A2")
    expect(page.locator("#box-occupancy")).to_contain_text("3 of 9")

    page.wait_for_load_state("load")  # storage.js (end of body) has run: the scan field's focus
    page.locator("#cell-A1").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#cell-A2")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#cell-C3")).to_be_focused()
    assert script_errors == []
