"""Our EQUIP round in a real browser (axe-checked on every page): the schemes and rounds page,
a round whose blind material was analysed on three days in duplicate, sent; the reviewer records
the scheme's target and sees the verdict."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from tests.browser.conftest import PASSWORD, LiveServer
from tests.conftest import FIXED_NOW

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from sqlalchemy.orm import Session


def _equip_round(session: Session) -> None:
    from lims.auth.models import User
    from lims.eqa import external
    from lims.eqa.external_models import ExternalMeasurand
    from lims.monitoring.models import Cluster, round_groups
    from tests.lims.eqa.external_helpers import analyse, make_round

    tech = session.scalar(sa.select(User).where(User.username == "browser-tech"))
    reviewer = session.scalar(sa.select(User).where(User.username == "browser-reviewer"))
    admin = session.scalar(sa.select(User).where(User.username == "browser-admin"))
    cluster = session.scalars(sa.select(Cluster).order_by(Cluster.id)).first()
    group_id = session.scalar(sa.select(round_groups.c.group_id)
                              .where(round_groups.c.round_id == cluster.round_id).limit(1))
    from lims.monitoring.models import PopulationGroup
    scheme = external.create_scheme(
        session, actor=admin, now=FIXED_NOW, code="EQUIP", name="EQUIP urinary iodine",
        provider="CDC", measurand=ExternalMeasurand.UIC, limit_percent=15.0,
        limit_absolute=15.0, absolute_below=100.0, limit_note="not published by CDC",
        days=3, cluster=cluster, population_group=session.get(PopulationGroup, group_id))
    rnd = make_round(session, tech, FIXED_NOW, scheme)
    material = external.register_material(session, actor=tech, now=FIXED_NOW,
                                          external_round=rnd, code="EQ-A")
    analyse(session, tech, reviewer, FIXED_NOW, material,
            [(101.0, 99.0), (104.0, 98.0), (100.0, 102.0)])
    external.submit_round(session, actor=reviewer, now=FIXED_NOW, external_round=rnd)


@pytest.fixture()
def live_extra() -> Callable[[Session], None]:
    return _equip_round


def test_reviewer_records_the_target_and_sees_the_verdict(live_server: LiveServer,
                                                          page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login")
    page.fill("#username", "browser-reviewer")
    page.fill("#password", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/eqa/external/")
    expect(page.locator("#schemes")).to_contain_text("EQUIP")
    page.locator("#rounds a", has_text="2026").first.click()
    row = page.locator('tr[data-material="EQ-A"]')
    expect(row).to_contain_text("104.0")
    expect(row).to_contain_text("100.7")
    page.get_by_label("Target (scheme's assigned value)").fill("110")
    page.get_by_label("Scheme's verdict (as in its report)").fill("acceptable")
    page.get_by_role("button", name="Record the target").click()
    expect(page.locator("#round-status")).to_contain_text("Evaluated")
    expect(row).to_contain_text("yes")
    expect(row).to_contain_text("acceptable")


def test_admin_sees_the_forms(live_server: LiveServer, page: Page) -> None:
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login")
    page.fill("#username", live_server.username)
    page.fill("#password", live_server.password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server.url}/")
    page.goto(f"{live_server.url}/eqa/external/")
    expect(page.get_by_role("button", name="Save the scheme")).to_be_visible()
    expect(page.get_by_role("button", name="Open the round")).to_be_visible()
    page.get_by_role("button", name="Save the scheme").click()  # empty: field errors, no 500
    expect(page.locator(".error-summary, [role=alert]").first).to_be_visible()
