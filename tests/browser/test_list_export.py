"""A list as a person uses it in a real browser: filter the samples, sort by a column header
(which then announces its order), step to the next page, and download the export of exactly
the filtered rows — opened with openpyxl, as Excel would open it."""

from __future__ import annotations

import csv
import io
from typing import TYPE_CHECKING

import openpyxl

from tests.browser.conftest import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_filter_sort_page_and_export(live_server: LiveServer, page: Page) -> None:
    page.goto(f"{live_server.url}/login")
    page.fill("#username", live_server.username)
    page.fill("#password", live_server.password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/samples/")
    total_all = page.locator(".list-bar .total").inner_text()
    page.select_option("#list-filters-kind", "urine")
    page.locator("#list-filters button[type=submit]").click()
    page.wait_for_url("**/samples/?*kind=urine*")
    total_urine = page.locator(".list-bar .total").inner_text()
    assert total_urine != total_all

    page.locator("th a.sort", has_text="Collected").click()
    page.wait_for_url("**sort=-collected*")
    header = page.locator("th[aria-sort]")
    assert header.count() == 1 and header.get_attribute("aria-sort") == "descending"
    assert "kind=urine" in page.url  # the filter stays in the URL
    first_page = page.locator("table.samples tbody tr td:first-child").all_inner_texts()
    page.locator("a[rel=next]").click()
    page.wait_for_url("**after=*")
    second_page = page.locator("table.samples tbody tr td:first-child").all_inner_texts()
    assert first_page and second_page and not set(first_page) & set(second_page)

    with page.expect_download() as xlsx_download:
        page.locator(".exports a", has_text="XLSX").click()
    assert xlsx_download.value.suggested_filename.startswith("samples-")
    assert xlsx_download.value.suggested_filename.endswith(".xlsx")
    with open(xlsx_download.value.path(), "rb") as file:
        workbook = openpyxl.load_workbook(io.BytesIO(file.read()))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][:3] == ("Accession", "Kind", "Status")
    assert {r[1] for r in rows[1:]} == {"Urine"}
    count = int("".join(ch for ch in total_urine if ch.isdigit()))
    assert len(rows) - 1 == count
    collected = [r[7] for r in rows[1:]]
    assert collected == sorted(collected, reverse=True)  # the page's order, all of it
    assert [r[0] for r in rows[1:len(first_page) + 1]] == first_page

    with page.expect_download() as csv_download:
        page.locator(".exports a", has_text="CSV").click()
    with open(csv_download.value.path(), encoding="utf-8-sig") as file:
        text = file.read()
    assert [r[0] for r in csv.reader(io.StringIO(text))][1:] == [r[0] for r in rows[1:]]
