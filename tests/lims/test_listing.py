"""The list machinery (lims/core/listing.py) through its lists: sort, filters, totals, keyset
pages, streamed CSV/XLSX exports of exactly the filtered rows (audited, formula-safe, valid when
empty), and a 400 naming the parameter for anything it cannot read."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from lims.audit.models import AuditEvent
from lims.audit.service import record_event
from lims.core.inputs import BadParameter
from lims.core.listing import (
    Cursor,
    csv_chunks,
    fetch_page,
    parse_query,
)
from lims.core.permissions import Role
from lims.samples.queries import SAMPLE_LIST
from tests.conftest import FIXED_NOW

LISTS = ["/samples/", "/analysis/", "/analysis/results", "/inbox/", "/audit/", "/reports/"]


@pytest.fixture()
def admin(make_user):
    return make_user(Role.ADMIN)


@pytest.fixture()
def browser(client, admin, login):
    login(admin)
    return client


def exports(session, admin) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(
        AuditEvent.action == "list_exported", AuditEvent.actor_id == admin.id)
        .order_by(AuditEvent.id)))


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark, for Excel"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


# -- parsing: every refusal is a 400 that names the parameter -----------------------------------

@pytest.mark.parametrize(("args", "named"), [
    ({"sort": "colour"}, "sort"),
    ({"sort": "-region"}, "sort"),  # a column, but not an indexed sort key
    ({"colour": "red"}, "colour"),
    ({"status": "lost"}, "status"),
    ({"region": "-1"}, "region"),
    ({"region": "9" * 20}, "region"),
    ({"collected_from": "2026-13-01"}, "collected_from"),
    ({"collected_to": "9999-12-31"}, "collected_to"),
    ({"after": "yesterday"}, "after"),
    ({"after": "2026-05-14T08:30:00+00:00~abc"}, "after"),
    ({"before": "9999-01-01T00:00:00~5"}, "before"),
    ({"sort": "accession", "after": "x" * 300}, "after"),
    ({"kind": "urine\u200b"}, "kind"),
    ({"q": "\u200b"}, "q"),
    ({"after": "2026-05-14T08:30:00+00:00~1", "before": "2026-05-14T08:30:00+00:00~2"}, "before"),
])
def test_what_a_list_cannot_read_is_a_400_naming_it(app, args, named):
    with app.test_request_context():
        with pytest.raises(BadParameter) as refused:
            parse_query(SAMPLE_LIST, args)
    assert refused.value.http_status == 400 and refused.value.field == named


@pytest.mark.parametrize("url", LISTS)
def test_every_list_refuses_an_unknown_sort_with_400(browser, url):
    response = browser.get(f"{url}?sort=nonsense")
    assert response.status_code == 400
    assert "cannot be sorted by nonsense" in response.get_data(as_text=True)
    assert browser.get(f"{url}?export=pdf").status_code == 400


@pytest.mark.parametrize("url", LISTS)
def test_every_list_has_total_sort_headers_and_exports(browser, make_sample, url):
    make_sample()
    page = browser.get(url).get_data(as_text=True)
    assert "Total:" in page
    assert re.search(r'<th scope="col"[^>]*aria-sort="descending"', page), "the default order"
    assert "export=csv" in page and "export=xlsx" in page
    assert "onclick" not in page


def test_sorting_is_stable_and_every_key_walks_the_whole_list(session, make_cluster,
                                                              make_sample):
    cluster = make_cluster()
    samples = [make_sample(cluster=cluster,
                           collected_at=FIXED_NOW - timedelta(days=n % 3),
                           registered_at=FIXED_NOW + timedelta(minutes=n % 2))
               for n in range(9)]
    ids = {s.id for s in samples}
    for sort, key in (("collected", lambda s: (s.collected_at, s.id)),
                      ("-collected", lambda s: (s.collected_at, s.id)),
                      ("registered", lambda s: (s.registered_at, s.id)),
                      ("-accession", lambda s: (s.accession,))):
        expected = [s.id for s in sorted(samples, key=key, reverse=sort.startswith("-"))]
        seen: list[int] = []
        args = {"round": str(cluster.round_id), "sort": sort}
        page = fetch_page(session, parse_query(SAMPLE_LIST, args), size=4,
                          endpoint="samples.index", locale="en")
        while True:
            seen += [r._lims_id for r in page.rows]
            assert page.total == 9
            if not page.has_next:
                break
            cursor = page._key(page.rows[-1])
            page = fetch_page(session, parse_query(SAMPLE_LIST, {**args, "after": cursor}),
                              size=4, endpoint="samples.index", locale="en")
        assert seen == expected and set(seen) == ids, sort


def test_a_sort_header_flips_and_announces_its_order(browser, make_sample):
    make_sample()
    page = browser.get("/samples/?sort=collected").get_data(as_text=True)
    header = re.search(r'<th scope="col"[^>]*aria-sort="ascending"[^>]*>\s*<a class="sort" '
                       r'href="([^"]*)"', page)
    assert header and "sort=-collected" in header.group(1)
    assert page.count("aria-sort=") == 1


def test_filters_stay_in_the_url_of_every_link(browser, make_cluster, make_sample, app,
                                               monkeypatch):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 1)
    cluster = make_cluster()
    make_sample(cluster=cluster)
    make_sample(cluster=cluster)
    page = browser.get(f"/samples/?round={cluster.round_id}&kind=urine&sort=-collected")
    html = page.get_data(as_text=True).replace("&amp;", "&")
    links = re.findall(r'href="(/samples/\?[^"]*)"', html)
    pager_and_exports = [u for u in links if "after=" in u or "export=" in u]
    assert len(pager_and_exports) == 3
    for url in pager_and_exports:
        assert f"round={cluster.round_id}" in url and "kind=urine" in url
        assert "sort=-collected" in url


# -- exports ------------------------------------------------------------------------------------

def test_csv_export_is_exactly_the_filtered_rows_in_order_and_audited(
        browser, session, admin, make_cluster, make_sample):
    north, south = make_cluster("KZ-11"), make_cluster("KZ-19")
    mine = [make_sample(cluster=north, registered_at=FIXED_NOW + timedelta(minutes=n))
            for n in range(3)]
    make_sample(cluster=south)
    make_sample(cluster=north, status="received")
    response = browser.get(f"/samples/?region={north.region_id}&status=registered&export=csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="samples-' in response.headers["Content-Disposition"]
    rows = read_csv(response.data)
    assert rows[0][:3] == ["Accession", "Kind", "Status"]
    assert [r[0] for r in rows[1:]] == [s.accession for s in reversed(mine)]
    assert {r[3] for r in rows[1:]} == {"Akmola Region"} and rows[1][2] == "Registered"
    event, = exports(session, admin)
    assert event.entity_type == "user" and event.entity_id == admin.id
    assert event.changes == {"list": "samples", "format": "csv", "rows": 3,
                             "filters": {"region": str(north.region_id), "status": "registered"},
                             "sort": "-registered"}


def test_headers_follow_the_language(browser, make_sample):
    browser.post("/language", data={"language": "ru", "next": "/"})
    sample = make_sample()
    rows = read_csv(browser.get(f"/samples/?q={sample.accession[:9]}&export=csv").data)
    assert rows[0][:2] == ["Регистрационный номер", "Вид"] or rows[0][0] == "Регистрационный номер"
    assert sample.accession in {r[0] for r in rows[1:]}


def test_xlsx_export_keeps_numbers_and_times_as_such(browser, session, admin, make_cluster,
                                                     make_sample):
    cluster = make_cluster()
    sample = make_sample(cluster=cluster)
    response = browser.get(f"/samples/?round={cluster.round_id}&export=xlsx")
    assert response.status_code == 200
    assert response.mimetype.endswith("spreadsheetml.sheet")
    sheet = openpyxl.load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "Accession" and len(rows) == 2
    assert rows[1][0] == sample.accession
    collected = next(c for c in sheet[2] if c.column == 8)
    assert collected.is_date and "yy" in collected.number_format
    # 08:30 UTC the day before, in Almaty (UTC+5)
    assert collected.value.replace(tzinfo=None) == (FIXED_NOW - timedelta(days=1)).replace(
        tzinfo=None) + timedelta(hours=5)
    assert exports(session, admin)[-1].changes["format"] == "xlsx"


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_export_of_no_rows_is_a_valid_file_with_headers(browser, session, admin, fmt):
    response = browser.get(f"/samples/?q=ZZ-9999&export={fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        rows = read_csv(response.data)
    else:
        rows = list(openpyxl.load_workbook(io.BytesIO(response.data)).active
                    .iter_rows(values_only=True))
    assert len(rows) == 1 and rows[0][0] == "Accession"
    assert exports(session, admin)[-1].changes["rows"] == 0


def test_exported_text_cannot_become_a_formula(browser, session, admin):
    for n, text in enumerate(("=HYPERLINK(\"http://evil\")", "+1", "-2+3", "@SUM(A1)",
                              "\tTAB", "plain")):
        record_event(session, actor=admin, now=FIXED_NOW + timedelta(seconds=n),
                     action="user_updated", entity_type="user", entity_id=admin.id,
                     entity_label="formula-test", reason=text)
    session.flush()
    for fmt in ("csv", "xlsx"):
        response = browser.get(f"/audit/?actor={admin.username}&action=user_updated"
                               f"&export={fmt}")
        if fmt == "csv":
            rows = read_csv(response.data)
        else:
            rows = [["" if v is None else v for v in row] for row in openpyxl.load_workbook(
                io.BytesIO(response.data)).active.iter_rows(values_only=True)]
        reasons = [r[7] for r in rows[1:]]
        assert reasons == ["plain", "'\tTAB", "'@SUM(A1)", "'-2+3", "'+1",
                           "'=HYPERLINK(\"http://evil\")"], fmt


def test_csv_writer_streams_in_chunks():
    chunks = list(csv_chunks(["a", "=b"], ([n, "x"] for n in range(5001))))
    assert len(chunks) >= 3  # the header, then one chunk per batch of rows
    text = b"".join(chunks).decode("utf-8-sig")
    assert text.startswith("a,'=b\r\n0,x\r\n") and text.count("\r\n") == 5002


def test_an_xlsx_beyond_a_worksheet_is_refused_before_any_byte(browser, session, admin,
                                                               monkeypatch, make_sample):
    import lims.core.listing as listing

    make_sample()
    make_sample()
    monkeypatch.setattr(listing, "XLSX_MAX_ROWS", 1)
    response = browser.get("/samples/?export=xlsx")
    assert response.status_code == 400 and "narrow the filters or export CSV" in \
        response.get_data(as_text=True)
    assert exports(session, admin) == []


def test_coverage_exports_its_table(browser, session, admin, make_cluster, make_sample):
    cluster = make_cluster("KZ-11", target_count=4)
    make_sample(cluster=cluster)
    page = browser.get(f"/coverage?round={cluster.round_id}").get_data(as_text=True)
    assert 'aria-controls="clusters-KZ-11"' in page and "coverage.js" in page
    rows = read_csv(browser.get(f"/coverage?round={cluster.round_id}&export=csv").data)
    assert rows[0][0] == "Level"
    region = next(r for r in rows if r[0] == "Region" and r[2] == "KZ-11")
    assert region[7] == "4" and region[8] == "1" and region[14] == "25.0"
    assert any(r[0] == "Cluster" and r[3] == cluster.code for r in rows)
    assert exports(session, admin)[-1].changes["list"] == "coverage"


def test_the_cursor_round_trips(app):
    cursor = Cursor(FIXED_NOW, 42)
    with app.test_request_context():
        query = parse_query(SAMPLE_LIST, {"sort": "registered", "after": cursor.encode()})
        scanned = parse_query(SAMPLE_LIST, {"q": "u-2026-00\x1d\u200b"})
    assert query.after == cursor and not query.descending
    assert scanned.values["q"] == "U-2026-00"  # what a scanner adds is dropped, not refused


def test_a_count_beyond_the_limit_says_more_than(browser, app, monkeypatch, make_cluster,
                                                 make_sample):
    cluster = make_cluster()
    for _ in range(3):
        make_sample(cluster=cluster)
    monkeypatch.setitem(app.config, "LIST_COUNT_LIMIT", 2)
    assert "Total: more than 2" in browser.get(f"/samples/?round={cluster.round_id}").get_data(
        as_text=True)
    monkeypatch.setitem(app.config, "LIST_COUNT_LIMIT", 3)
    assert "Total: 3" in browser.get(f"/samples/?round={cluster.round_id}").get_data(
        as_text=True)
