"""A reviewer's day in a real browser, and the header search.

- From the dashboard to the review queue; filter (unflagged only); tick two rows and "Verify
  selected"; send one back with the keyboard (j, r, a reason, Enter); then verify 300 results
  with the keyboard alone (v, row after row, page after page). The time those 300 take is
  printed (``-s`` shows it), never asserted: the figure goes to the report, not to CI.
- The header search by household code: ``CLUSTER/H0001`` lists that household's samples.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from lims import create_app
from lims.analysis import catalogue
from lims.analysis.models import Analyte, Result, ResultStatus
from lims.auth.services import create_user
from lims.core.permissions import Role
from lims.extensions import db
from lims.monitoring.models import Cluster, Household
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.browser.conftest import PASSWORD
from tests.conftest import FIXED_NOW

if TYPE_CHECKING:
    from playwright.sync_api import Page

TO_VERIFY = 300
FLAGGED = 5


@dataclass(frozen=True)
class Lab:
    url: str
    db_url: str
    household: tuple[str, str]  # (cluster code, household code)


@pytest.fixture()
def lab(new_database: Callable[[], str]) -> Iterator[Lab]:
    """The demo survey with 330-odd samples pending review, each with a preliminary result a
    technician entered (a few flagged), a reviewer, served live."""
    from werkzeug.serving import make_server

    from lims.monitoring.demo import generate_demo_data

    url = new_database()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test"})
    with app.app_context():
        session = db.session
        generate_demo_data(session, seed=5, samples=420, now=FIXED_NOW, year=2026,
                           chunk_size=1000, progress=lambda n: None)
        tech = create_user(session, actor=None, now=FIXED_NOW, username="tech-b",
                           password=PASSWORD, roles=(Role.TECHNICIAN,))
        create_user(session, actor=None, now=FIXED_NOW, username="reviewer-b",
                    password=PASSWORD, roles=(Role.REVIEWER,))
        catalogue.seed_methods(session, now=FIXED_NOW)
        methods = {SampleKind.URINE: catalogue.current_version(session, "UIC-SK-PLATE"),
                   SampleKind.SALT: catalogue.current_version(session, "SALT-TITR")}
        samples = session.scalars(sa.select(Sample).where(Sample.status == SampleStatus.RECEIVED)
                                  .order_by(Sample.id).limit(TO_VERIFY + FLAGGED + 3)).all()
        assert len(samples) == TO_VERIFY + FLAGGED + 3
        for n, sample in enumerate(samples):
            sample.status = SampleStatus.PENDING_REVIEW
            urine = sample.kind is SampleKind.URINE
            session.add(Result(
                sample_id=sample.id, analyte=Analyte.UIC if urine else Analyte.SALT_IODINE,
                method_version_id=methods[sample.kind].id, status=ResultStatus.PRELIMINARY,
                value=120.0 + n if urine else 25.0, unit="ug/L" if urine else "mg/kg",
                flags=["replicate spread 14 %"] if n < FLAGGED else [], details={},
                created_at=FIXED_NOW, created_by_id=tech.id))
        household = session.execute(
            sa.select(Cluster.code, Household.code).join(Household, Household.cluster_id ==
                                                         Cluster.id)
            .order_by(Household.id).limit(1)).one()
        session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-lims", daemon=True)
    thread.start()
    try:
        yield Lab(f"http://127.0.0.1:{server.server_port}", url, (household[0], household[1]))
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


def log_in(page: Page, lab: Lab, username: str) -> None:
    page.goto(f"{lab.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{lab.url}/")


def verified_count(lab: Lab) -> int:
    engine = sa.create_engine(lab.db_url)
    try:
        with engine.connect() as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(Result).where(
                Result.status == ResultStatus.VERIFIED)) or 0)
    finally:
        engine.dispose()


def test_a_reviewers_day(lab: Lab, page: Page) -> None:
    from playwright.sync_api import expect

    log_in(page, lab, "reviewer-b")
    page.click("a.tile:has-text('Preliminary, to review')")
    expect(page.locator("h1")).to_have_text("Results to review")
    rows = page.locator("#review-rows tbody tr[data-result]")
    expect(rows.first).to_have_class("flagged current")  # flagged first

    # filter: no flags (kept in the URL)
    page.select_option("#flag", "unflagged")
    page.click("#review-filters button[type=submit]")
    assert "flag=unflagged" in page.url
    expect(page.locator("#review-rows tr.flagged")).to_have_count(0)

    # select two rows, "Verify selected"
    page.check("#review-rows tbody tr:nth-child(1) input[type=checkbox]")
    page.check("#review-rows tbody tr:nth-child(2) input[type=checkbox]")
    page.click("button[value=selected]")
    expect(page.locator(".flash.success")).to_have_text("2 results verified.")
    assert "flag=unflagged" in page.url

    # keyboard: j moves down, r asks why, Enter sends it back
    page.locator("body").press("j")
    second = page.locator("#review-rows tbody tr").nth(1)
    expect(second).to_have_class("current")
    page.keyboard.press("r")
    expect(page.locator("#send-back-dialog")).to_be_visible()
    page.keyboard.type("replicates disagree")
    page.keyboard.press("Enter")
    expect(second.locator(".state")).to_have_text("sent back")

    # 300 results with the keyboard alone: v, row after row; each page reloads when done
    before = verified_count(lab)
    page.goto(f"{lab.url}/analysis/review?flag=unflagged")
    started = time.perf_counter()
    done = 0
    while done < TO_VERIFY:
        expect(page.locator("#review-rows tbody tr.current")).to_have_count(1)
        shown = page.locator("#review-rows tbody tr[data-result]").count()
        for _ in range(shown - 1):  # v moves to the next row at once, the save follows
            page.keyboard.press("v")
        with page.expect_navigation():  # the page's last row: it reloads with the next ones
            page.keyboard.press("v")
        done += shown
    elapsed = time.perf_counter() - started
    assert verified_count(lab) - before == TO_VERIFY
    print(f"\n{TO_VERIFY} results verified with the keyboard in {elapsed:.1f} s "
          f"({elapsed / TO_VERIFY * 1000:.0f} ms each)")


def test_header_search_by_household_code(lab: Lab, page: Page) -> None:
    from playwright.sync_api import expect

    log_in(page, lab, "tech-b")
    cluster, household = lab.household
    page.get_by_label("Find", exact=True).fill(f"{cluster}/{household}")
    page.keyboard.press("Enter")
    engine = sa.create_engine(lab.db_url)
    with engine.connect() as conn:
        accessions = list(conn.scalars(
            sa.select(Sample.accession).join(Household, Household.id == Sample.household_id)
            .join(Cluster, Cluster.id == Household.cluster_id)
            .where(Cluster.code == cluster, Household.code == household)))
    engine.dispose()
    assert accessions
    if len(accessions) == 1:
        expect(page.locator("h1")).to_contain_text(accessions[0])
    else:
        expect(page.locator("h2").first).to_contain_text(f"Samples of household {cluster}/")
        for accession in accessions:
            expect(page.locator(f"a:text-is('{accession}')")).to_be_visible()
    # the bare household code exists in many clusters: grouped, with the count
    page.get_by_label("Find", exact=True).fill(household)
    page.keyboard.press("Enter")
    expect(page.locator("h2").first).to_contain_text(f"Samples of household {household}")
