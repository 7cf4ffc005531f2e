"""The audit hash chain, pure: a seal covers the event and every event before it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lims.audit.chain import GENESIS, next_seal, seal_events, verify_chain


def events(n: int) -> list[dict]:
    start = datetime(2026, 5, 14, 8, 30, tzinfo=UTC)
    return [{"id": i, "occurred_at": start + timedelta(seconds=i), "actor_id": 1,
             "actor_name": "tech", "action": "sample_registered", "entity_type": "sample",
             "entity_id": 100 + i, "entity_label": f"U-2026-{i:06d}",
             "changes": {"status": {"after": "registered", "before": None}, "n": i},
             "reason": None} for i in range(1, n + 1)]


def rows(evs: list[dict], seals: list[tuple[int, str]]) -> list[tuple[int, dict | None, str | None]]:
    by_id = {e["id"]: e for e in evs}
    sealed = dict(seals)
    return [(i, by_id.get(i), sealed.get(i)) for i in sorted(set(by_id) | set(sealed))]


def test_same_content_read_from_either_backend_seals_the_same() -> None:
    aware = events(1)[0]
    naive = {**aware, "occurred_at": aware["occurred_at"].replace(tzinfo=None),
             "changes": '{"n": 1, "status": {"before": null, "after": "registered"}}'}
    assert next_seal(GENESIS, aware) == next_seal(GENESIS, naive)


def test_intact_chain_verifies_and_reports_its_head() -> None:
    evs = events(5)
    seals = seal_events(GENESIS, evs)
    report = verify_chain(rows(evs, seals))
    assert (report.broken, report.verified, report.head_id, report.head_seal) == (
        None, 5, 5, seals[-1][1])


def test_a_changed_event_is_named() -> None:
    evs = events(5)
    seals = seal_events(GENESIS, evs)
    evs[2] = {**evs[2], "reason": "rewritten"}
    report = verify_chain(rows(evs, seals))
    assert report.broken is not None and "#3 (after #2)" in report.broken
    assert report.verified == 2


def test_a_deleted_event_is_named_by_its_remaining_seal() -> None:
    evs = events(5)
    seals = seal_events(GENESIS, evs)
    del evs[3]
    report = verify_chain(rows(evs, seals))
    assert report.broken == "audit event #4 is missing: it was sealed, then deleted"


def test_an_event_deleted_with_its_seal_breaks_the_next_link() -> None:
    evs = events(5)
    seals = seal_events(GENESIS, evs)
    del evs[1], seals[1]
    report = verify_chain(rows(evs, seals))
    assert report.broken is not None and report.broken.startswith("audit event #3 (after #1)")


def test_a_removed_seal_below_the_head_is_named_and_the_tail_is_counted() -> None:
    evs = events(6)
    seals = seal_events(GENESIS, evs[:4])
    assert verify_chain(rows(evs, seals)).unsealed == 2  # not sealed yet: no break
    del seals[1]
    report = verify_chain(rows(evs, seals))
    assert report.broken is not None and report.broken.startswith("audit event #2 has no seal")
