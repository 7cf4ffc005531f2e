"""The sample list (filters, search, keyset pages) and the sample page (fields, household,
receipts, actions, timeline), with access rules."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from lims.core.permissions import Role
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import ReceiptDecision, SampleKind
from lims.samples.transitions import receive_sample
from tests.conftest import FIXED_NOW


@pytest.fixture()
def tech(make_user):
    return make_user(Role.TECHNICIAN)


@pytest.fixture()
def browser(client, tech, login):
    login(tech)
    return client


def listed(page: str) -> set[str]:
    return set(re.findall(r'href="/samples/([A-Z]+-\d{4}-\d{6})"', page))


def get(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_list_shows_rows_with_region_names_and_links(browser, make_cluster, make_sample):
    sample = make_sample(cluster=make_cluster("KZ-11"))
    page = get(browser, f"/samples/?round={sample.round_id}")
    assert sample.accession in listed(page)
    assert "Akmola" in page and sample.cluster.code in page and sample.participant.code in page
    assert "Total: 1" in page


def test_region_names_follow_the_language(browser, make_cluster, make_sample):
    # (the tests share one app context, where Flask-Babel caches the locale: switch first)
    browser.post("/language", data={"language": "ru", "next": "/"})
    sample = make_sample(cluster=make_cluster("KZ-11"))
    assert "Акмолинская" in get(browser, f"/samples/?round={sample.round_id}")


@pytest.mark.parametrize("name", ["kind", "status", "region", "round", "dates"])
def test_each_filter(browser, make_cluster, make_sample, name):
    north, south = make_cluster("KZ-11"), make_cluster("KZ-19")
    urine = make_sample(cluster=north)
    salt = make_sample(SampleKind.SALT, cluster=north, status=SampleStatus.RECEIVED)
    old = make_sample(cluster=south, collected_at=datetime(2026, 4, 1, 12, tzinfo=UTC))
    late_evening = make_sample(cluster=south,
                               collected_at=datetime(2026, 5, 9, 21, 0, tzinfo=UTC))
    mine = {s.accession for s in (urine, salt, old, late_evening)}
    query, expected = {
        "kind": ("kind=salt", {salt}),
        "status": ("status=received", {salt}),
        "region": (f"region={south.region_id}", {old, late_evening}),
        "round": (f"round={north.round_id}", {urine, salt}),
        # 21:00 UTC on 9 May is already 10 May in Almaty, the app's time zone
        "dates": ("collected_from=2026-05-10&collected_to=2026-05-13", {urine, salt, late_evening}),
    }[name]
    page = get(browser, f"/samples/?{query}")
    assert listed(page) & mine == {s.accession for s in expected}


@pytest.mark.parametrize(("query", "named", "says"), [
    ("region=nowhere", "region", "whole number"),
    ("collected_from=yesterday", "collected_from", "YYYY-MM-DD"),
    ("status=lost", "status", "offered values"),
    ("sort=colour", "colour", "accession, collected, registered"),
    ("colour=red", "colour", "no filter"),
    ("after=yesterday", "after", "not a position"),
])
def test_bad_filter_value_is_reported(browser, query, named, says):
    response = browser.get(f"/samples/?{query}")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert named in page and says in page


def test_exact_search_opens_the_sample(browser, make_sample):
    sample = make_sample()
    response = browser.get(f"/samples/?q={sample.accession.lower()}%20")
    assert response.status_code == 302
    assert response.location.endswith(f"/samples/{sample.accession}")


def test_exact_search_for_a_missing_accession_says_so(browser):
    page = get(browser, "/samples/?q=U-2026-999999")
    assert "No sample with accession U-2026-999999." in page


def test_prefix_search(browser, make_cluster, make_sample):
    cluster = make_cluster()
    hits = {make_sample(cluster=cluster, accession=f"U-2031-00010{i}").accession for i in range(3)}
    make_sample(cluster=cluster, accession="U-2031-000200")
    page = get(browser, "/samples/?q=u-2031-0001")
    assert listed(page) == hits


def test_keyset_paging(browser, app, monkeypatch, make_cluster, make_sample):
    monkeypatch.setitem(app.config, "PAGE_SIZE", 5)
    cluster = make_cluster()
    made = sorted((make_sample(cluster=cluster) for _ in range(12)), key=lambda s: -s.id)
    accessions = [s.accession for s in made]
    page1 = get(browser, f"/samples/?round={cluster.round_id}")
    assert listed(page1) == set(accessions[:5])
    assert "Total: 12" in page1 and 'rel="prev"' not in page1
    older = re.search(r'href="([^"]*after=[^"]*)" rel|rel="next" href="([^"]*)"', page1)
    older = older.group(2).replace("&amp;", "&")
    assert f"round={cluster.round_id}" in older
    page2 = get(browser, older)
    assert listed(page2) == set(accessions[5:10]) and 'rel="prev"' in page2
    page3 = get(browser, re.search(r'rel="next" href="([^"]*)"', page2).group(1)
                .replace("&amp;", "&"))
    assert listed(page3) == set(accessions[10:]) and 'rel="next"' not in page3
    newer = re.search(r'rel="prev" href="([^"]*)"', page3).group(1).replace("&amp;", "&")
    assert "before=" in newer
    assert listed(get(browser, newer)) == set(accessions[5:10])


def test_detail_shows_fields_participant_household_and_label(browser, make_cluster,
                                                             make_participant, make_sample):
    cluster = make_cluster("KZ-11")
    person = make_participant(cluster, age_months=9 * 12 + 4)
    urine = make_sample(cluster=cluster, participant=person, volume_ml=Decimal("4.50"))
    salt = make_sample(SampleKind.SALT, cluster=cluster, household=person.household,
                       brand="Тұз Ltd")
    page = get(browser, f"/samples/{urine.accession}")
    for text in (urine.accession, "Urine", "4.50 mL", "Screw-cap tube", person.code, "9 y 4 m",
                 "Female", "School-age children", person.household.code, cluster.code,
                 "Akmola", f"/samples/{urine.accession}/label.pdf"):
        assert text in page, text
    assert f'href="/samples/{salt.accession}"' in page
    salt_page = get(browser, f"/samples/{salt.accession.lower()}")
    assert "Тұз Ltd" in salt_page and f'href="/samples/{urine.accession}"' in salt_page


def test_detail_of_unknown_sample_is_404(browser):
    response = browser.get("/samples/U-2026-999999")
    assert response.status_code == 404
    assert "No sample with accession U-2026-999999." in response.get_data(as_text=True)


def test_timeline_and_receipts(browser, session, tech, make_sample):
    sample = make_sample()
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=sample,
                   decision=ReceiptDecision.ACCEPTED, temperature_c=Decimal("-20.0"),
                   container_intact=True)
    page = get(browser, f"/samples/{sample.accession}")
    receipts = page[page.index("<h2>Receipts"):page.index("<h2>Timeline")]
    assert "-20.0" in receipts and tech.username in receipts and "Accepted" in receipts
    timeline = page[page.index("<h2>Timeline"):]
    assert "<strong>Sample received</strong>" in timeline and tech.username in timeline
    assert "May 14, 2026" in timeline  # occurred_at in the user's locale
    assert re.search(r"<td>Status</td>\s*<td>Registered</td><td>Received</td>", timeline)


def test_reject_from_the_page(browser, session, make_sample):
    sample = make_sample(status=SampleStatus.RECEIVED)
    session.commit()
    page = get(browser, f"/samples/{sample.accession}")
    assert f'action="/samples/{sample.accession}/reject"' in page
    response = browser.post(f"/samples/{sample.accession}/reject",
                            data={"rejection_reason": "contaminated", "note": "spilled"})
    assert response.status_code == 302
    session.refresh(sample)
    assert sample.status is SampleStatus.REJECTED
    page = get(browser, f"/samples/{sample.accession}")
    timeline = page[page.index("<h2>Timeline"):]
    assert "<strong>Sample rejected</strong>" in timeline and "Reason: spilled" in timeline
    assert f'action="/samples/{sample.accession}/reject"' not in page  # rejected is final
    listing = get(browser, "/samples/?status=rejected")
    assert sample.accession in listed(listing)
    assert re.search(r"Contaminated</td><td class=\"num\">1<", listing)


def test_reject_and_cancel_need_reasons(browser, session, make_sample):
    sample = make_sample()
    session.commit()
    response = browser.post(f"/samples/{sample.accession}/reject", data={"rejection_reason": ""})
    assert response.status_code == 422
    assert "Choose a rejection reason." in response.get_data(as_text=True)
    response = browser.post(f"/samples/{sample.accession}/cancel", data={"reason": ""})
    assert response.status_code == 422
    assert "A reason is required to cancel a sample." in response.get_data(as_text=True)
    session.refresh(sample)
    assert sample.status is SampleStatus.REGISTERED
    response = browser.post(f"/samples/{sample.accession}/cancel", data={"reason": "duplicate"})
    assert response.status_code == 302
    session.refresh(sample)
    assert sample.status is SampleStatus.CANCELLED


def test_illegal_action_is_a_409_with_the_reason(browser, session, make_sample):
    sample = make_sample(status=SampleStatus.CANCELLED)
    session.commit()
    response = browser.post(f"/samples/{sample.accession}/cancel", data={"reason": "again"})
    assert response.status_code == 409
    assert "Cannot cancel sample" in response.get_data(as_text=True)


def test_reviewer_sees_no_actions_and_may_not_reject(client, login, make_user, session,
                                                     make_sample):
    sample = make_sample()
    session.commit()
    login(make_user(Role.REVIEWER))
    page = get(client, f"/samples/{sample.accession}")
    assert "/reject" not in page and "/cancel" not in page and "Receive at the desk" not in page
    response = client.post(f"/samples/{sample.accession}/reject",
                           data={"rejection_reason": "leaking"})
    assert response.status_code == 403
    session.refresh(sample)
    assert sample.status is SampleStatus.REGISTERED


def test_ministry_gets_403(client, login, make_user, make_sample):
    sample = make_sample()
    login(make_user(Role.MINISTRY))
    for url in ("/samples/", f"/samples/{sample.accession}"):
        assert client.get(url).status_code == 403
    assert client.post(f"/samples/{sample.accession}/cancel",
                       data={"reason": "x"}).status_code == 403


def test_anonymous_goes_to_login(client, make_sample):
    sample = make_sample()
    for url in ("/samples/", f"/samples/{sample.accession}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location
