"""The list queries: each filter, accession prefixes, keyset pages, rejection counts, and (on
PostgreSQL) that the region + status list is answered from its index."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lims.core.permissions import Role
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import ReceiptDecision, RejectionReason, Sample, SampleKind
from lims.samples.queries import (
    SampleFilter,
    household_samples,
    list_samples,
    rejection_counts,
    sample_list_statement,
)
from lims.samples.transitions import receive_sample
from tests.conftest import FIXED_NOW, is_postgres


def ids(session, flt, **kwargs):
    kwargs.setdefault("page_size", 100)
    return [s.id for s in list_samples(session, flt, **kwargs).rows]


def test_each_filter(session, make_cluster, make_sample):
    north = make_cluster("KZ-11")
    south = make_cluster("KZ-19")
    urine = make_sample(cluster=north)
    salt = make_sample(SampleKind.SALT, cluster=north, status=SampleStatus.RECEIVED)
    old = make_sample(cluster=south, collected_at=FIXED_NOW - timedelta(days=30))
    mine = {urine.id, salt.id, old.id}

    def found(**flt):
        return set(ids(session, SampleFilter(**flt))) & mine

    assert found() == mine
    assert found(kind=SampleKind.SALT) == {salt.id}
    assert found(kind=SampleKind.URINE) == {urine.id, old.id}
    assert found(status=SampleStatus.RECEIVED) == {salt.id}
    assert found(region_id=north.region_id) == {urine.id, salt.id}
    assert found(round_id=south.round_id) == {old.id}
    assert found(collected_from=FIXED_NOW - timedelta(days=2)) == {urine.id, salt.id}
    assert found(collected_to=FIXED_NOW - timedelta(days=2)) == {old.id}
    assert found(region_id=north.region_id, status=SampleStatus.REGISTERED,
                 kind=SampleKind.URINE) == {urine.id}


def test_prefix_search_is_a_range(session, make_cluster, make_sample):
    cluster = make_cluster()
    a = make_sample(cluster=cluster, accession="U-2031-000101")
    b = make_sample(cluster=cluster, accession="U-2031-000199")
    c = make_sample(cluster=cluster, accession="U-2031-000200")
    salt = make_sample(SampleKind.SALT, cluster=cluster, accession="S-2031-000101")
    assert set(ids(session, SampleFilter(accession_prefix="U-2031-0001"))) == {a.id, b.id}
    assert set(ids(session, SampleFilter(accession_prefix="U-2031-"))) == {a.id, b.id, c.id}
    assert ids(session, SampleFilter(accession_prefix="U-2031-000200")) == [c.id]
    assert ids(session, SampleFilter(accession_prefix="S-2031")) == [salt.id]
    assert ids(session, SampleFilter(accession_prefix="U-2032")) == []


def test_keyset_pages_walk_both_ways(session, make_cluster, make_sample):
    cluster = make_cluster()
    made = [make_sample(cluster=cluster).id for _ in range(7)]
    newest_first = sorted(made, reverse=True)
    flt = SampleFilter(round_id=cluster.round_id)

    first = list_samples(session, flt, page_size=3)
    assert [s.id for s in first.rows] == newest_first[:3]
    assert first.has_older and not first.has_newer
    second = list_samples(session, flt, page_size=3, before=first.last_key)
    assert [s.id for s in second.rows] == newest_first[3:6]
    assert second.has_older and second.has_newer
    third = list_samples(session, flt, page_size=3, before=second.last_key)
    assert [s.id for s in third.rows] == newest_first[6:]
    assert not third.has_older and third.has_newer

    back = list_samples(session, flt, page_size=3, after=third.first_key)
    assert [s.id for s in back.rows] == newest_first[3:6] and back.has_newer
    # Stepping back onto a partial top page shows the full first page instead.
    top = list_samples(session, flt, page_size=3, after=newest_first[2])
    assert [s.id for s in top.rows] == newest_first[:3] and not top.has_newer


def test_list_loads_its_relations_in_a_fixed_number_of_queries(session, make_cluster,
                                                                make_sample):
    clusters = [make_cluster(iso) for iso in ("KZ-11", "KZ-15", "KZ-19")]
    for cluster in clusters:
        make_sample(cluster=cluster)
        make_sample(SampleKind.SALT, cluster=cluster)
    session.expunge_all()
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = session.get_bind().engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        page = list_samples(session, SampleFilter(), page_size=50)
        for sample in page.rows:
            _ = (sample.region.name("en"), sample.cluster.code, sample.round.code,
                 sample.participant and sample.participant.code)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(page.rows) >= 6
    assert 1 <= len(selects) <= 5, selects  # the page, then one per relation


def test_rejection_counts_by_reason(session, make_user, make_cluster, make_sample):
    tech = make_user(Role.TECHNICIAN)
    cluster = make_cluster()
    reasons = [RejectionReason.LEAKING, RejectionReason.LEAKING, RejectionReason.TOO_OLD]
    for reason in reasons:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=make_sample(cluster=cluster),
                       decision=ReceiptDecision.REJECTED, rejection_reason=reason)
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=make_sample(cluster=cluster),
                   decision=ReceiptDecision.ACCEPTED)
    counts = rejection_counts(session, SampleFilter(round_id=cluster.round_id))
    assert counts == {RejectionReason.LEAKING: 2, RejectionReason.TOO_OLD: 1}
    assert list(counts) == [RejectionReason.LEAKING, RejectionReason.TOO_OLD]
    assert rejection_counts(session, SampleFilter(round_id=cluster.round_id,
                                                  kind=SampleKind.SALT)) == {}


def test_household_samples_link_salt_and_urine(session, make_cluster, make_participant,
                                               make_sample):
    cluster = make_cluster()
    person = make_participant(cluster)
    urine = make_sample(cluster=cluster, participant=person)
    salt = make_sample(SampleKind.SALT, cluster=cluster, household=person.household)
    make_sample(cluster=cluster)  # another household
    assert [s.id for s in household_samples(session, urine)] == [salt.id]
    assert [s.id for s in household_samples(session, salt)] == [urine.id]


def plan_of(session, stmt) -> str:
    sql = stmt.compile(dialect=session.get_bind().dialect,
                       compile_kwargs={"literal_binds": True})
    rows = session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one()
    return json.dumps(rows if not isinstance(rows, str) else json.loads(rows))


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="EXPLAIN plans are checked on PostgreSQL")
def test_region_status_list_uses_its_index(session, make_cluster, make_sample):
    cluster = make_cluster("KZ-11")
    make_sample(cluster=cluster)
    template = session.execute(sa.select(Sample.__table__)).mappings().first()
    rows = []
    regions = session.scalars(sa.text("SELECT id FROM regions ORDER BY id")).all()
    statuses = list(SampleStatus)
    for n in range(4000):
        row = dict(template)
        row.pop("id")
        row.update(accession=f"X-2026-{n:06d}", region_id=regions[n % len(regions)],
                   status=statuses[n % len(statuses)])
        rows.append(row)
    session.execute(sa.insert(Sample.__table__), rows)
    session.execute(sa.text("ANALYZE samples"))
    stmt = sample_list_statement(
        SampleFilter(region_id=cluster.region_id, status=SampleStatus.VERIFIED), limit=51)
    plan = plan_of(session, stmt)
    assert "ix_samples_region_status_id" in plan, plan
    assert '"Node Type": "Seq Scan"' not in plan, plan
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    older = sample_list_statement(
        SampleFilter(region_id=cluster.region_id, status=SampleStatus.VERIFIED),
        limit=51, before=10**9)
    assert "ix_samples_region_status_id" in plan_of(session, older)


def test_prefix_search_pages_by_accession(session, make_cluster, make_sample):
    """A prefix search is ordered by accession, highest first, and pages by accession keyset:
    one backward range scan of the unique index, however many accessions share the prefix."""
    cluster = make_cluster()
    accessions = [f"U-2031-{n:06d}" for n in (5, 1, 7, 3, 2, 6, 4)]
    for accession in accessions:
        make_sample(cluster=cluster, accession=accession)
    make_sample(cluster=cluster, accession="U-2032-000001")  # outside the prefix
    flt = SampleFilter(accession_prefix="U-2031-")
    expected = sorted(accessions, reverse=True)

    first = list_samples(session, flt, page_size=3)
    assert [s.accession for s in first.rows] == expected[:3]
    assert first.has_older and not first.has_newer
    second = list_samples(session, flt, page_size=3, before=first.last_key)
    assert [s.accession for s in second.rows] == expected[3:6]
    third = list_samples(session, flt, page_size=3, before=second.last_key)
    assert [s.accession for s in third.rows] == expected[6:]
    assert not third.has_older
    back = list_samples(session, flt, page_size=3, after=third.first_key)
    assert [s.accession for s in back.rows] == expected[3:6]


@pytest.mark.skipif(not is_postgres(), reason="EXPLAIN plans are checked on PostgreSQL")
def test_prefix_search_is_a_limited_scan_of_the_accession_index(session):
    # The test table is tiny, where a sequential scan wins on cost; take that option away and
    # check the query's shape is answered by the accession index with no sort step.
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
    stmt = sample_list_statement(SampleFilter(accession_prefix="U-2026-00"), limit=51)
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = json.dumps(session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar())
    assert "uq_samples_accession" in plan
    assert '"Node Type": "Sort"' not in plan
