"""Coverage numbers for a hand-built round, from the query and on the page."""

from __future__ import annotations

import re

import pytest

from lims.core.permissions import Role
from lims.monitoring.coverage import default_round, round_coverage
from lims.monitoring.models import RoundStatus
from lims.samples.lifecycle import SampleStatus as S
from lims.samples.models import SampleKind as K


@pytest.fixture()
def dataset(make_cluster, make_sample):
    """Cluster A (Akmola, target 10) and B (Almaty city, target 4) in one round."""
    a = make_cluster("KZ-11", target_count=10)
    b = make_cluster("KZ-75", survey_round=a.round, target_count=4)
    a.code, b.code = "A-01", "B-01"
    for status in (S.RECEIVED, S.RECEIVED, S.VERIFIED, S.REJECTED, S.REGISTERED, S.CANCELLED):
        make_sample(K.URINE, cluster=a, status=status)
    for status in (S.RECEIVED, S.RECEIVED, S.REJECTED):
        make_sample(K.SALT, cluster=a, status=status)
    for status in (S.IN_ANALYSIS, S.REGISTERED):
        make_sample(K.URINE, cluster=b, status=status)
    make_sample(K.SALT, cluster=b, status=S.REGISTERED)
    return a, b


def test_round_coverage_counts(session, dataset):
    a, b = dataset
    data = round_coverage(session, a.round, "en")
    by_cluster = {c.code: c.tally for row in data.regions for c in row.clusters}
    ta, tb = by_cluster["A-01"], by_cluster["B-01"]
    assert (ta.target, ta.collected[K.URINE], ta.collected[K.SALT]) == (10, 5, 3)
    assert (ta.received[K.URINE], ta.received[K.SALT], ta.rejected, ta.cancelled) == (3, 2, 2, 1)
    assert ta.collected_percent == pytest.approx(50.0) and ta.received_percent == pytest.approx(30.0)
    assert (tb.target, tb.collected[K.URINE], tb.received[K.URINE], tb.collected[K.SALT]) == (4, 2, 1, 1)
    assert tb.collected_percent == pytest.approx(50.0)
    regions = {row.region.iso_code: row.tally for row in data.regions}
    assert regions["KZ-75"].collected_total == 3 and regions["KZ-11"].collected_total == 8
    assert data.total.target == 14 and data.total.collected_total == 11
    assert data.total.received_total == 6 and data.total.rejected == 2
    # regions are sorted by their name in the locale: Akmola before Almaty in English
    assert [row.region.iso_code for row in data.regions][:2] == ["KZ-11", "KZ-75"]


def test_region_names_follow_the_locale(session, dataset):
    a, _ = dataset
    names = [row.region.name("kk") for row in round_coverage(session, a.round, "kk").regions]
    assert names == sorted(names) and "Ақмола облысы" in names


def test_default_round_is_the_latest_active(session, make_cluster):
    older = make_cluster().round
    newer = make_cluster().round
    newer.status = RoundStatus.PLANNED
    session.flush()
    assert default_round(session).id == older.id
    newer.status = RoundStatus.ACTIVE
    session.flush()
    assert default_round(session).id == newer.id


def row_cells(page: str, row_id: str) -> list[str]:
    match = re.search(rf'<tr class="\w+" id="{row_id}">(.*?)</tr>', page, re.S)
    assert match, row_id
    return [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", match[1], re.S)]


def test_ministry_sees_coverage_page(client, make_user, login, dataset):
    a, _ = dataset
    login(make_user(Role.MINISTRY))
    page = client.get(f"/coverage?round={a.round_id}").get_data(as_text=True)
    # target, urine, salt collected, urine, salt received, rejected, % of target
    assert row_cells(page, "cluster-A-01")[1:8] == ["10", "5", "3", "3", "2", "2", "50 %"]
    assert row_cells(page, "region-KZ-75")[:7] == ["4", "2", "1", "1", "0", "0", "50 %"]
    assert 'data-percent="50.0"' in page  # the bar's width, set by lims.js (no style attribute)
    assert client.get("/coverage?round=987654").status_code == 404


def test_coverage_page_in_kazakh(client, make_user, login, dataset):
    login(make_user(Role.TECHNICIAN))
    client.post("/language", data={"language": "kk", "next": "/"})
    page = client.get("/coverage").get_data(as_text=True)
    assert "Ақмола облысы" in page
