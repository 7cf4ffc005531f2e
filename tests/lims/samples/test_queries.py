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
from lims.core.listing import fetch_page, parse_query, rows_statement
from lims.samples.queries import SAMPLE_LIST, household_samples, rejection_counts
from lims.samples.transitions import receive_sample
from tests.conftest import FIXED_NOW, is_postgres


def query(**args):
    return parse_query(SAMPLE_LIST, {k: str(v) for k, v in args.items()})


def page(session, size=100, **args):
    return fetch_page(session, query(**args), size=size, endpoint="samples.index", locale="en")


def ids(session, **args):
    return [s._lims_id for s in page(session, **args).rows]


def statement(**args):
    return rows_statement(query(**args), locale="en").limit(51)


def test_each_filter(session, make_cluster, make_sample):
    north = make_cluster("KZ-11")
    south = make_cluster("KZ-19")
    urine = make_sample(cluster=north)
    salt = make_sample(SampleKind.SALT, cluster=north, status=SampleStatus.RECEIVED)
    old = make_sample(cluster=south, collected_at=FIXED_NOW - timedelta(days=30))
    mine = {urine.id, salt.id, old.id}

    def found(**flt):
        return set(ids(session, **flt)) & mine

    two_days_ago = (FIXED_NOW - timedelta(days=2)).date()
    assert found() == mine
    assert found(kind="salt") == {salt.id}
    assert found(kind="urine") == {urine.id, old.id}
    assert found(status="received") == {salt.id}
    assert found(region=north.region_id) == {urine.id, salt.id}
    assert found(round=south.round_id) == {old.id}
    assert found(collected_from=two_days_ago) == {urine.id, salt.id}
    assert found(collected_to=two_days_ago) == {old.id}
    assert found(region=north.region_id, status="registered", kind="urine") == {urine.id}


def test_prefix_search_is_a_range(session, make_cluster, make_sample):
    cluster = make_cluster()
    a = make_sample(cluster=cluster, accession="U-2031-000101")
    b = make_sample(cluster=cluster, accession="U-2031-000199")
    c = make_sample(cluster=cluster, accession="U-2031-000200")
    salt = make_sample(SampleKind.SALT, cluster=cluster, accession="S-2031-000101")
    assert set(ids(session, q="U-2031-0001")) == {a.id, b.id}
    assert set(ids(session, q="u-2031-")) == {a.id, b.id, c.id}
    assert ids(session, q="U-2031-000200") == [c.id]
    assert ids(session, q="S-2031") == [salt.id]
    assert ids(session, q="U-2032") == []


def test_keyset_pages_walk_both_ways(session, make_cluster, make_sample):
    """Newest registration first, ties (same minute) broken by id, so the order is total: pages
    of 3 walk forward and back without a row lost or repeated, whatever the insertion order."""
    cluster = make_cluster()
    minutes = [5, 1, 5, 3, 0, 5, 2]  # three samples registered in the same minute
    made = [make_sample(cluster=cluster, registered_at=FIXED_NOW + timedelta(minutes=m))
            for m in minutes]
    expected = [s.id for s in sorted(made, key=lambda s: (s.registered_at, s.id), reverse=True)]
    args = {"round": cluster.round_id}

    def walk(**cursor):
        return fetch_page(session, query(**args, **cursor), size=3, endpoint="samples.index",
                          locale="en")

    first = walk()
    assert [r._lims_id for r in first.rows] == expected[:3]
    assert first.has_next and not first.has_prev and first.total == 7
    second = walk(after=first._key(first.rows[-1]))
    assert [r._lims_id for r in second.rows] == expected[3:6]
    assert second.has_next and second.has_prev
    third = walk(after=second._key(second.rows[-1]))
    assert [r._lims_id for r in third.rows] == expected[6:]
    assert not third.has_next and third.has_prev

    back = walk(before=third._key(third.rows[0]))
    assert [r._lims_id for r in back.rows] == expected[3:6] and back.has_prev
    # Stepping back onto a partial top page shows the full first page instead.
    top = walk(before=first._key(first.rows[2]))
    assert [r._lims_id for r in top.rows] == expected[:3] and not top.has_prev

    ascending = fetch_page(session, query(**args, sort="registered"), size=7,
                           endpoint="samples.index", locale="en")
    assert [r._lims_id for r in ascending.rows] == expected[::-1]


def test_list_is_two_statements_whatever_the_page(session, make_cluster, make_sample):
    """The count and one joined SELECT: no query per row for the region, cluster or round."""
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
        result = page(session, size=50)
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    assert len(result.rows) >= 6
    assert all(r.region and r.cluster and r.round for r in result.rows)
    assert len(selects) == 2, selects


def test_rejection_counts_by_reason(session, make_user, make_cluster, make_sample):
    tech = make_user(Role.TECHNICIAN)
    cluster = make_cluster()
    reasons = [RejectionReason.LEAKING, RejectionReason.LEAKING, RejectionReason.TOO_OLD]
    for reason in reasons:
        receive_sample(session, actor=tech, now=FIXED_NOW, sample=make_sample(cluster=cluster),
                       decision=ReceiptDecision.REJECTED, rejection_reason=reason)
    receive_sample(session, actor=tech, now=FIXED_NOW, sample=make_sample(cluster=cluster),
                   decision=ReceiptDecision.ACCEPTED)
    counts = rejection_counts(session, query(round=cluster.round_id, status="rejected"))
    assert counts == {RejectionReason.LEAKING: 2, RejectionReason.TOO_OLD: 1}
    assert list(counts) == [RejectionReason.LEAKING, RejectionReason.TOO_OLD]
    assert rejection_counts(session, query(round=cluster.round_id, status="rejected",
                                           kind="salt")) == {}


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
    args = {"region": cluster.region_id, "status": "verified"}
    plan = plan_of(session, statement(**args))
    assert "ix_samples_region_status_registered" in plan, plan
    assert '"Node Type": "Seq Scan"' not in plan, plan
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    older = statement(**args, after=f"{FIXED_NOW.isoformat()}~{10**9}")
    assert "ix_samples_region_status_registered" in plan_of(session, older)


def test_prefix_search_pages_by_accession(session, make_cluster, make_sample):
    """A prefix search is ordered by accession, highest first, and pages by accession keyset:
    one backward range scan of the unique index, however many accessions share the prefix."""
    cluster = make_cluster()
    accessions = [f"U-2031-{n:06d}" for n in (5, 1, 7, 3, 2, 6, 4)]
    for accession in accessions:
        make_sample(cluster=cluster, accession=accession)
    make_sample(cluster=cluster, accession="U-2032-000001")  # outside the prefix
    expected = sorted(accessions, reverse=True)

    def walk(**cursor):
        return fetch_page(session, query(q="U-2031-", **cursor), size=3,
                          endpoint="samples.index", locale="en")

    first = walk()
    assert first.query.sort_param == "-accession"
    assert [s.accession for s in first.rows] == expected[:3]
    assert first.has_next and not first.has_prev
    second = walk(after=first.rows[-1].accession)
    assert [s.accession for s in second.rows] == expected[3:6]
    third = walk(after=second.rows[-1].accession)
    assert [s.accession for s in third.rows] == expected[6:]
    assert not third.has_next
    back = walk(before=third.rows[0].accession)
    assert [s.accession for s in back.rows] == expected[3:6]


@pytest.mark.skipif(not is_postgres(), reason="EXPLAIN plans are checked on PostgreSQL")
def test_prefix_search_is_a_limited_scan_of_the_accession_index(session):
    # The test table is tiny, where a sequential scan wins on cost; take that option away and
    # check the query's shape is answered by the accession index with no sort step.
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
    stmt = statement(q="U-2026-00")
    sql = str(stmt.compile(session.get_bind(), compile_kwargs={"literal_binds": True}))
    plan = json.dumps(session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar())
    assert "uq_samples_accession" in plan
    assert '"Node Type": "Sort"' not in plan
