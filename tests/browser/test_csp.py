"""The main pages under the Content-Security-Policy in a real browser: no violation reported,
and the behaviour moved out of inline scripts (language switch, coverage bars, scan focus) still
works from lims/static/*.js."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser.conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

PAGES = (
    "/", "/samples/", "/samples/register/urine", "/samples/batch", "/samples/receive",
    "/inbox/", "/entry/manual", "/analysis/", "/analysis/review", "/instruments/", "/coverage",
    "/reports/", "/surveys", "/reference", "/admin/users", "/admin/tokens/new",
    "/account/password", "/no-such-page",
)

# Recorded from before any page script runs (an init script is not subject to the page's policy).
RECORD_VIOLATIONS = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline') + ' '
                           + (e.sourceFile || '') + ':' + e.lineNumber);
});
"""


def test_main_pages_show_no_policy_violation(live_server: LiveServer, page: Page) -> None:
    console: list[str] = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}")
            if message.type == "error" else None)
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/login")
    headers = page.evaluate("fetch(location.href).then(r => [...r.headers.keys()])")
    assert "content-security-policy" in headers
    page.fill("#username", live_server.username)
    page.fill("#password", live_server.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    for path in PAGES:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("load")
        assert page.evaluate("window.__violations") == [], path
    refused = [line for line in console if "Content Security Policy" in line or "Refused" in line]
    assert refused == []


def test_scripts_moved_to_static_files_still_work(live_server: LiveServer, page: Page) -> None:
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(f"{live_server.url}/login")
    page.fill("#username", live_server.username)
    page.fill("#password", live_server.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/")
    # the language switch submits on change (data-autosubmit in lims.js)
    with page.expect_navigation():
        page.select_option("select[name=language]", "kk")
    assert page.get_attribute("html", "lang") == "kk"
    with page.expect_navigation():
        page.select_option("select[name=language]", "en")
    # the coverage bars get their widths through the CSSOM
    page.goto(f"{live_server.url}/coverage")
    widths = page.eval_on_selector_all(
        ".bar > span[data-percent]",
        "bars => bars.map(b => [parseFloat(b.dataset.percent), b.style.width])")
    assert widths and all(width == f"{min(percent, 100):g}%" for percent, width in widths)
    assert any(percent > 0 for percent, _ in widths)
    # the receipt desk keeps the focus on the scan field (receive.js)
    page.goto(f"{live_server.url}/samples/receive")
    assert page.evaluate("document.activeElement.id") == "accession"
    # fast entry (the old salt entry address redirects there) moves from the scan field to the
    # value on Enter (fast_entry.js)
    page.goto(f"{live_server.url}/entry/manual")
    assert page.evaluate("document.activeElement.id") == "accession"
    page.select_option("#method", label="Salt iodine, WYD Iodine Checker")  # a number method
    page.focus("#accession")
    page.fill("#accession", "S-0001")
    page.press("#accession", "Enter")
    assert page.evaluate("document.activeElement.id") == "value"
    assert page.evaluate("window.__violations") == []
