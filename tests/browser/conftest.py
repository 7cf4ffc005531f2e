"""A live LIMS for browser tests: a fresh migrated database with a small demo survey and an
admin, served by werkzeug in a thread on a free 127.0.0.1 port, and Debian's chromium driven
headless by Playwright.

Playwright's own browser download cannot work on these machines, so the tests launch
``/usr/bin/chromium`` (``.ci/run`` installs it when it is missing). Without Playwright or that
browser the tests are skipped on a developer's machine, and fail in CI (``CI`` set), where both
must be there.

Every page a browser test visits is checked with axe-core (WCAG 2.0, 2.1 and 2.2, levels A and
AA), installed from the npm registry by ``make test`` (``npm ci --prefix tests/browser``, see
package.json and its lock file). The check is the ``page`` fixture's, so a new browser test is
covered without asking: axe is injected into every document, and each document is checked once,
before the first action or assertion on it (a Playwright locator handler), before ``goto``,
``reload`` or a step back or forward leaves it, and at the end of the test. A critical or serious
violation fails the test with the page, the rule and the selectors.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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
    from flask import Flask
    from playwright.sync_api import Page
    from sqlalchemy.orm import Session

CHROMIUM = os.environ.get("LIMS_TEST_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "browser-test-password-1"
AXE_SCRIPT = Path(__file__).with_name("node_modules") / "axe-core" / "axe.min.js"
#: axe-core's tags for the WCAG 2.0, 2.1 and 2.2 success criteria of levels A and AA
AXE_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa")
#: the impacts that fail a test; minor and moderate ones are kept in the audit for reading
FAILING_IMPACTS = frozenset({"critical", "serious"})
#: an attribute the injected script puts on each new top-level document: "not checked yet"
PENDING = "data-axe-pending"

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
def live_extra() -> Callable[[Session], None] | None:
    """More rows a test module wants in the live database (a module overrides this fixture)."""
    return None


def demo_app(url: str, extra: Callable[[Session], None] | None = None) -> Flask:
    """The real app (CSRF on, no TESTING flag) on `url`, with a small demo survey, an admin and
    what `extra` adds."""
    from lims.monitoring.demo import generate_demo_data

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test",
                      "SESSION_COOKIE_SECURE": False})  # served over plain http
    with app.app_context():
        generate_demo_data(db.session, seed=11, samples=120, now=FIXED_NOW, year=2026,
                           chunk_size=1000, progress=lambda n: None)
        create_user(db.session, actor=None, now=FIXED_NOW, username="browser-admin",
                    password=PASSWORD, roles=(Role.ADMIN,), full_name="Browser test")
        verified_results(db.session)
        create_user(db.session, actor=None, now=FIXED_NOW, username="browser-minister",
                    password=PASSWORD, roles=(Role.MINISTRY,), full_name="Ministry reader")
        if extra is not None:
            extra(db.session)
        db.session.commit()
    return app


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """`app` served by werkzeug in a thread on a free 127.0.0.1 port; yields its address."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-lims", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        with app.app_context():
            db.engine.dispose()


@pytest.fixture()
def live_server(new_database: Callable[[], str],
                live_extra: Callable[[Session], None] | None) -> Iterator[LiveServer]:
    """The real app (CSRF on, no TESTING flag) on a database of its own."""
    app = demo_app(new_database(), live_extra)
    with serve(app) as url:
        yield LiveServer(url, "browser-admin", PASSWORD, app)


@dataclass(frozen=True)
class Violation:
    """One axe rule broken on one page, with the CSS selectors of the offending elements."""

    url: str
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        return (f"{self.impact} {self.rule} ({self.help}) on {self.url}: "
                + ", ".join(self.targets))


#: marks each new top-level document as not checked, once its DOM is there
_MARK_PENDING = f"""
if (window === window.top) {{
  document.addEventListener('DOMContentLoaded',
    () => document.documentElement.setAttribute('{PENDING}', ''));
}}
"""

#: runs axe on the document if it is still pending; returns null when it was checked already
_RUN_AXE = f"""
async (tags) => {{
  const root = document.documentElement;
  if (!root || !root.hasAttribute('{PENDING}') || typeof axe === 'undefined') return null;
  root.removeAttribute('{PENDING}');
  const result = await axe.run(document, {{runOnly: {{type: 'tag', values: tags}},
                                          resultTypes: ['violations']}});
  return {{url: location.href, violations: result.violations.map(v => ({{
    rule: v.id, impact: v.impact || '', help: v.help,
    targets: v.nodes.map(n => n.target.join(' '))}}))}};
}}
"""


@dataclass
class AxeAudit:
    """What axe found on the pages of one test: the addresses checked and every violation."""

    page: Page
    checked: list[str] = field(default_factory=list)
    #: seconds each check took, in the order of `checked`
    seconds: list[float] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    def check(self) -> None:
        """Run axe on the page's document unless it was checked already (or is not ours)."""
        if self.page.is_closed() or not self.page.url.startswith("http"):
            return
        from playwright.sync_api import Error

        started = time.perf_counter()
        try:
            found = self.page.evaluate(_RUN_AXE, list(AXE_TAGS))
        except Error as error:
            # the page navigated by itself while axe ran (a script's reload): the new document
            # is pending in its turn and is checked then
            if "context was destroyed" in str(error) or "navigat" in str(error):
                return
            raise
        if found is None:
            return
        self.checked.append(found["url"])
        self.seconds.append(round(time.perf_counter() - started, 3))
        self.violations.extend(
            Violation(found["url"], v["rule"], v["impact"], v["help"], tuple(v["targets"]))
            for v in found["violations"])

    @property
    def failing(self) -> list[Violation]:
        return [v for v in self.violations if v.impact in FAILING_IMPACTS]

    def assert_clean(self) -> None:
        failing = self.failing
        assert not failing, (f"axe: {len(failing)} critical or serious violation(s) on "
                             f"{len(self.checked)} page(s) checked:\n"
                             + "\n".join(f"  {v}" for v in failing))

    def write(self, path: str, test: str) -> None:
        """Append the audit as a JSON line (``LIMS_AXE_LOG``): for counting, not for asserting."""
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"test": test, "checked": self.checked, "seconds": self.seconds,
                                  "violations": [v.__dict__ for v in self.violations]},
                                 ensure_ascii=False) + "\n")


def audited(page: Page) -> AxeAudit:
    """Inject axe into every document of `page` and check each document once: before the first
    action or auto-waiting assertion on it, and before `goto`, `reload`, `go_back` or
    `go_forward` leaves it. (A check cannot run while a navigation is pending: Chromium does not
    evaluate in the old document then, so it runs before the step that navigates.)"""
    audit = AxeAudit(page)
    page.context.add_init_script(script=AXE_SCRIPT.read_text(encoding="utf-8") + _MARK_PENDING)
    page.add_locator_handler(page.locator(f"html[{PENDING}]"), lambda _: audit.check(),
                             no_wait_after=True)
    for name in ("goto", "reload", "go_back", "go_forward"):
        navigate = getattr(page, name)

        def checked_first(*args: object, _navigate: Callable[..., object] = navigate,
                          **kwargs: object) -> object:
            audit.check()
            return _navigate(*args, **kwargs)

        setattr(page, name, checked_first)
    return audit


AUDIT = pytest.StashKey[AxeAudit]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    """After a browser test's own steps: check the page it ended on, then fail the test on any
    critical or serious violation axe found on its way."""
    outcome = yield
    audit = item.stash.get(AUDIT, None)
    if audit is not None:
        if not audit.page.is_closed():
            audit.page.wait_for_load_state()  # a document still loading is checked too
        audit.check()
        if os.environ.get("LIMS_AXE_LOG"):
            audit.write(os.environ["LIMS_AXE_LOG"], item.nodeid)
        audit.assert_clean()
    return outcome


@pytest.fixture()
def page(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh headless chromium page (English, the lab's time zone) whose every document axe
    checks (see `audited`); the last page it showed is left as ``last-page.png`` in the test's
    tmp_path, to see where a failing test stopped."""
    if sync_playwright is None:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).is_file():
        unavailable(f"no chromium at {CHROMIUM} (apt-get install chromium)")
    if not AXE_SCRIPT.is_file():
        unavailable(f"axe-core is not installed at {AXE_SCRIPT} (make axe)")
    from playwright.sync_api import expect

    # axe runs inside the first action or assertion on each page, and takes a few seconds on a
    # long page (the coverage table): assertions wait long enough for both
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                             args=["--no-sandbox"])
        context = browser.new_context(locale="en-GB", timezone_id="Asia/Almaty")
        context.set_default_timeout(10_000)
        page = context.new_page()
        request.node.stash[AUDIT] = audited(page)
        try:
            yield page
        finally:
            page.screenshot(path=str(tmp_path / "last-page.png"), full_page=True)
            context.close()
            browser.close()
