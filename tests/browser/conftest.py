"""A live LIMS for browser tests: a fresh migrated database with a small demo survey and an
admin, served by werkzeug in a thread on a free 127.0.0.1 port, and Debian's chromium driven
headless by Playwright.

Playwright's own browser download cannot work on these machines, so the tests launch
``/usr/bin/chromium`` (``.ci/run`` installs it when it is missing). Without Playwright or that
browser the tests are skipped on a developer's machine, and fail in CI (``CI`` set), where both
must be there.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask import Flask

from lims import create_app
from lims.auth.services import create_user
from lims.core.permissions import Role
from lims.extensions import db
from tests.conftest import FIXED_NOW

if TYPE_CHECKING:
    from playwright.sync_api import Page
    from sqlalchemy.orm import Session

CHROMIUM = os.environ.get("LIMS_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "browser-test-password-1"

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None


def unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def verified_results(session: Session) -> None:
    """Half the demo's received samples analysed and verified (as `lims demo-results` does), so
    a report of the demo round has data to build from."""
    from lims.analysis.demo import demo_results, past_analysis, seed_demo_qc

    seed_demo_qc(session, actor=None, now=FIXED_NOW)
    tech = create_user(session, actor=None, now=FIXED_NOW, username="browser-tech",
                       password=PASSWORD, roles=(Role.TECHNICIAN,))
    reviewer = create_user(session, actor=None, now=FIXED_NOW, username="browser-reviewer",
                           password=PASSWORD, roles=(Role.REVIEWER,))
    past_analysis(session, seed=11, share=0.5, actor=reviewer, now=FIXED_NOW)
    demo_results(session, seed=11, technician=tech, reviewer=reviewer, now=FIXED_NOW)


@dataclass(frozen=True)
class LiveServer:
    url: str
    username: str
    password: str
    app: Flask  # the served app, for running a report worker against it


@pytest.fixture()
def live_server(new_database: Callable[[], str]) -> Iterator[LiveServer]:
    """The real app (CSRF on, no TESTING flag) on a database of its own."""
    from werkzeug.serving import make_server

    from lims.monitoring.demo import generate_demo_data

    url = new_database()
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test"})
    with app.app_context():
        generate_demo_data(db.session, seed=11, samples=120, now=FIXED_NOW, year=2026,
                           chunk_size=1000, progress=lambda n: None)
        create_user(db.session, actor=None, now=FIXED_NOW, username="browser-admin",
                    password=PASSWORD, roles=(Role.ADMIN,), full_name="Browser test")
        verified_results(db.session)
        create_user(db.session, actor=None, now=FIXED_NOW, username="browser-minister",
                    password=PASSWORD, roles=(Role.MINISTRY,), full_name="Ministry reader")
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-lims", daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", "browser-admin", PASSWORD,
                         app)
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture()
def page(tmp_path: Path) -> Iterator[Page]:
    """A fresh headless chromium page (English, the lab's time zone); the last page it showed is
    left as ``last-page.png`` in the test's tmp_path, to see where a failing test stopped."""
    if sync_playwright is None:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).is_file():
        unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        context = browser.new_context(locale="en-GB", timezone_id="Asia/Almaty")
        context.set_default_timeout(10_000)
        page = context.new_page()
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
            context.close()
            browser.close()
