"""The ministry user requests the monitoring report with the form's defaults, previews it, lets
a worker build it, and downloads both files: a PDF whose first page holds the national figures,
and the workbook."""

from __future__ import annotations

import io
import re
import threading

import openpyxl
from pypdf import PdfReader

from tests.browser.conftest import PASSWORD, LiveServer


def test_ministry_requests_with_defaults_and_downloads_both_files(live_server: LiveServer,
                                                                   page, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login")
    page.fill("#username", "browser-minister")
    page.fill("#password", PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.goto(f"{live_server.url}/reports/")
    # no page wider than the window (long classification labels wrap)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    expect(page.locator("input[name=scope][value=round]")).to_be_checked()
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".report-preview")).to_contain_text("Verified results")
    page.get_by_role("button", name="Request", exact=True).click()
    expect(page.locator(".flash.success")).to_contain_text("Report requested")

    from lims.reporting.worker import run_worker

    built: list[int] = []  # in a thread of its own: Playwright's has an event loop running
    worker = threading.Thread(target=lambda: built.append(run_worker(live_server.app, once=True)))
    worker.start()
    worker.join(180)
    assert built == [1]
    page.reload()
    # the report row's files (the list above it has CSV and XLSX exports of its own)
    pdf_link = page.locator("tr[id^=report-] a.button", has_text="PDF").first
    with page.expect_download() as pdf_download:
        pdf_link.click()
    pdf = PdfReader(io.BytesIO(pdf_download.value.path().read_bytes()))
    first = " ".join(pdf.pages[0].extract_text().split())
    assert re.search(r"\d+[.,]\d µg/L|\d+[.,]\d мкг/л", first) and "n = " in first
    with page.expect_download() as xlsx_download:
        page.locator("tr[id^=report-] a.button", has_text="XLSX").first.click()
    book = openpyxl.load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes()))
    assert book.worksheets[0].sheet_properties.codeName == "headline"
    estimate = book.worksheets[0].cell(3, 4).value
    assert isinstance(estimate, (int, float))
