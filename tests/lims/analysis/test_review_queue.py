"""The review queue: filters in the URL, flagged first, bulk verify with the four-eyes rule per
row, refusals listed, a row changed since it was shown left alone, and the keyboard's JSON."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis import review
from lims.analysis.models import AnalyticalRun, Analyte, Result, ResultStatus, RunStatus
from lims.analysis.review_queue import ReviewCursor, ReviewFilter, review_count, review_page
from lims.audit.models import AuditEvent
from lims.core.errors import PermissionDenied, ValidationError
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW


@pytest.fixture()
def preliminary(session: Session, lab: dict[str, Any],
                make_sample: Callable[..., Sample]) -> Callable[..., Result]:
    """A current preliminary result of a sample pending review, entered by ``by``."""

    def factory(*, by: Any = None, flags: list[str] | None = None, run: AnalyticalRun | None = None,
                kind: SampleKind = SampleKind.SALT, value: float = 30.0, **sample: Any) -> Result:
        smp = make_sample(kind, status=SampleStatus.PENDING_REVIEW, **sample)
        mv = lab["titration"] if kind is SampleKind.SALT else lab["plate_method"]
        result = Result(sample_id=smp.id, analyte=Analyte.SALT_IODINE if kind is SampleKind.SALT
                        else Analyte.UIC, method_version_id=mv.id,
                        run_id=run.id if run else None, version=1, is_current=True,
                        status=ResultStatus.PRELIMINARY, value=value,
                        unit="mg/kg" if kind is SampleKind.SALT else "ug/L", flags=flags or [],
                        details={}, created_at=FIXED_NOW, created_by_id=(by or lab["tech"]).id)
        session.add(result)
        session.flush()
        return result

    return factory


def _seen(*results: Result) -> dict[int, str]:
    return {r.id: review.result_fingerprint(r) for r in results}


def _events(session: Session, action: str, result: Result) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.entity_id == result.id,
        AuditEvent.entity_type == "result")) or 0


# -- service -------------------------------------------------------------------------------------

def test_bulk_verify_checks_four_eyes_per_row(session, lab, preliminary):
    mine = preliminary(by=lab["tech2"])  # tech2 entered it: tech2 may not verify it
    others = [preliminary(), preliminary()]
    outcome = review.verify_results(session, actor=lab["tech2"], now=FIXED_NOW,
                                    seen=_seen(mine, *others))
    assert [r.id for r in outcome.verified] == [r.id for r in others]
    assert [(r.result_id, r.label) for r in outcome.refused] == [(mine.id, mine.sample.accession)]
    assert "second person" in outcome.refused[0].reason
    assert mine.status is ResultStatus.PRELIMINARY
    assert all(r.status is ResultStatus.VERIFIED and r.verified_by_id == lab["tech2"].id
               for r in others)
    assert all(r.sample.status is SampleStatus.VERIFIED for r in others)
    assert [_events(session, "result_verified", r) for r in (mine, *others)] == [0, 1, 1]


def test_a_row_changed_since_shown_is_left_alone(session, lab, preliminary):
    changed, fine = preliminary(), preliminary()
    seen = _seen(changed, fine)
    review.send_back_result(session, actor=lab["reviewer"], now=FIXED_NOW, result=changed,
                            reason="spread")
    outcome = review.verify_results(session, actor=lab["reviewer"], now=FIXED_NOW, seen=seen)
    assert [r.id for r in outcome.verified] == [fine.id]
    assert outcome.refused[0].result_id == changed.id
    assert "Changed since the page was shown" in outcome.refused[0].reason
    assert changed.status is ResultStatus.REPEAT
    # a stale fingerprint of a row that is still preliminary (a flag added) is refused too
    flagged = preliminary()
    stale = _seen(flagged)
    flagged.flags = ["look again"]
    session.flush()
    outcome = review.verify_results(session, actor=lab["reviewer"], now=FIXED_NOW, seen=stale)
    assert not outcome.verified and flagged.status is ResultStatus.PRELIMINARY


def test_verify_all_unflagged_leaves_flagged_rows(session, lab, preliminary):
    plain, flagged = preliminary(), preliminary(flags=["replicate spread 12 %"])
    outcome = review.verify_results(session, actor=lab["reviewer"], now=FIXED_NOW,
                                    seen=_seen(plain, flagged), only_unflagged=True)
    assert [r.id for r in outcome.verified] == [plain.id]
    assert outcome.refused == []
    assert flagged.status is ResultStatus.PRELIMINARY


def test_bulk_verify_refuses_unaccepted_runs_missing_rows_and_non_reviewers(
        session, lab, preliminary):
    run = AnalyticalRun(method_version_id=lab["titration"].id, status=RunStatus.CALCULATED,
                        created_at=FIXED_NOW, created_by_id=lab["tech"].id)
    session.add(run)
    session.flush()
    on_run = preliminary(run=run)
    outcome = review.verify_results(session, actor=lab["reviewer"], now=FIXED_NOW,
                                    seen={**_seen(on_run), 987654321: "x"})
    assert outcome.verified == []
    assert [r.result_id for r in outcome.refused] == [987654321, on_run.id]
    with pytest.raises(PermissionDenied):
        review.verify_results(session, actor=lab["tech"], now=FIXED_NOW, seen=_seen(on_run))
    with pytest.raises(ValidationError):
        review.verify_results(session, actor=lab["reviewer"], now=FIXED_NOW, seen={})
    too_many = {i: "x" for i in range(1, review.BULK_MAX + 2)}
    with pytest.raises(ValidationError):
        review.verify_results(session, actor=lab["reviewer"], now=FIXED_NOW, seen=too_many)


def test_queue_filters_and_flagged_first(session, lab, preliminary, make_cluster, region):
    astana = make_cluster("KZ-71")
    old = preliminary(flags=["below LOQ"])
    newer = [preliminary() for _ in range(3)]
    urine = preliminary(kind=SampleKind.URINE, by=lab["tech2"], cluster=astana)
    rows = review_page(session, ReviewFilter(), limit=10)
    ids = [r.id for r in rows]
    assert ids[0] == old.id  # flagged first, although oldest
    assert ids[1:] == sorted([r.id for r in (*newer, urine)], reverse=True)[:len(ids) - 1]
    assert review_count(session, ReviewFilter()) >= 5
    assert [r.id for r in review_page(session, ReviewFilter(flagged=True), limit=10)] == [old.id]
    assert [r.id for r in review_page(session, ReviewFilter(analyte=Analyte.UIC), limit=10)] == [
        urine.id]
    assert [r.id for r in review_page(session, ReviewFilter(entered_by_id=lab["tech2"].id),
                                      limit=10)] == [urine.id]
    assert [r.id for r in review_page(session, ReviewFilter(region_id=astana.region_id),
                                      limit=10)] == [urine.id]
    assert [r.id for r in review_page(session, ReviewFilter(method_code="UIC-SK-PLATE"),
                                      limit=10)] == [urine.id]
    mine = review_page(session, ReviewFilter(verifiable_by_id=lab["tech2"].id), limit=10)
    assert urine.id not in [r.id for r in mine] and old.id in [r.id for r in mine]
    later = FIXED_NOW + timedelta(days=1)
    assert review_page(session, ReviewFilter(entered_from=later), limit=10) == []
    # keyset: page by page, flagged phase first, every row once
    seen, cursor = [], None
    while True:
        page = review_page(session, ReviewFilter(), limit=2, after=cursor)
        if not page:
            break
        seen += [r.id for r in page]
        cursor = ReviewCursor(bool(page[-1].flags), page[-1].id)
    assert seen == ids


def test_verify_run_locks_all_its_results_in_one_query(session, lab, preliminary):
    run = AnalyticalRun(method_version_id=lab["titration"].id, status=RunStatus.ACCEPTED,
                        created_at=FIXED_NOW, created_by_id=lab["tech"].id,
                        measured_by_id=lab["tech"].id)
    session.add(run)
    session.flush()
    results = [preliminary(run=run) for _ in range(4)]
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = session.get_bind()
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        assert review.verify_run(session, actor=lab["reviewer"], now=FIXED_NOW, run=run) == 4
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    assert all(r.status is ResultStatus.VERIFIED for r in results)
    reads = [s for s in statements if s.lstrip().upper().startswith("SELECT")
             and "FROM results" in s]
    assert len(reads) == 2, reads  # the run's results, then one lock of them all


# -- HTTP ----------------------------------------------------------------------------------------

def _form(*results: Result, action: str = "selected", checked: tuple[Result, ...] = ()
          ) -> dict[str, Any]:
    data: dict[str, Any] = {"action": action, "next": "/analysis/review?flag=unflagged",
                            "shown": [str(r.id) for r in results],
                            "result": [str(r.id) for r in checked]}
    data.update({f"seen_{r.id}": review.result_fingerprint(r) for r in results})
    return data


def test_review_page_keeps_filters_in_the_url_and_refuses_bad_ones(client, login, lab,
                                                                   preliminary):
    flagged = preliminary(flags=["below LOQ"])
    plain = preliminary()
    login(lab["reviewer"])
    page = client.get("/analysis/review").get_data(as_text=True)
    assert page.index(flagged.sample.accession) < page.index(plain.sample.accession)
    assert f'data-seen="{review.result_fingerprint(plain)}"' in page
    only = client.get("/analysis/review?flag=unflagged").get_data(as_text=True)
    assert plain.sample.accession in only and flagged.sample.accession not in only
    for bad in ("flag=sideways", "analyte=blood", "entered_by=abc", "region=999999999",
                "entered_from=2026-13-45", "run=PLATE-1", "after=z12", "after=f" + "9" * 30,
                "method=NOPE"):
        response = client.get(f"/analysis/review?{bad}")
        assert response.status_code == 400, bad
    assert client.get("/analysis/review?run=RUN-000001&mine=y").status_code == 200
    after_flagged = client.get(f"/analysis/review?after=f{flagged.id}").get_data(as_text=True)
    assert plain.sample.accession in after_flagged
    assert flagged.sample.accession not in after_flagged


def test_verify_selected_and_all_unflagged_through_http(session, client, login, lab,
                                                         preliminary):
    own, one, two = preliminary(by=lab["tech2"]), preliminary(), preliminary()
    flagged = preliminary(flags=["replicate spread"])
    login(lab["tech2"])
    response = client.post("/analysis/review/verify",
                           data=_form(own, one, two, flagged, checked=(own, one)))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/analysis/review?flag=unflagged")
    page = client.get("/analysis/review").get_data(as_text=True)
    assert "1 result verified." in page
    assert f"{own.sample.accession} not verified" in page
    assert one.status is ResultStatus.VERIFIED and two.status is ResultStatus.PRELIMINARY
    response = client.post("/analysis/review/verify",
                           data=_form(own, two, flagged, action="unflagged"))
    assert two.status is ResultStatus.VERIFIED
    assert flagged.status is ResultStatus.PRELIMINARY and own.status is ResultStatus.PRELIMINARY
    bad = client.post("/analysis/review/verify", data={"result": ["abc"]})
    assert bad.status_code == 400


def test_keyboard_verify_and_send_back_answer_json(session, client, login, lab, preliminary):
    first, second, third = preliminary(), preliminary(), preliminary()
    login(lab["reviewer"])
    json_headers = {"Accept": "application/json"}
    answer = client.post("/analysis/review/verify", headers=json_headers,
                         data={"result": str(first.id),
                               f"seen_{first.id}": review.result_fingerprint(first)})
    assert answer.status_code == 200 and answer.json == {"verified": [first.id], "refused": []}
    again = client.post("/analysis/review/verify", headers=json_headers,
                        data={"result": str(first.id), f"seen_{first.id}": "0" * 16})
    assert again.json["verified"] == [] and again.json["refused"][0]["id"] == first.id
    sent = client.post("/analysis/review/send-back", headers=json_headers, data={
        "result": str(second.id), f"seen_{second.id}": review.result_fingerprint(second),
        "reason": "replicates disagree"})
    assert sent.status_code == 200 and sent.json == {"sent_back": [second.id]}
    assert second.status is ResultStatus.REPEAT
    assert second.sample.status is SampleStatus.IN_ANALYSIS
    no_reason = client.post("/analysis/review/send-back", headers=json_headers, data={
        "result": str(third.id), f"seen_{third.id}": review.result_fingerprint(third)})
    assert no_reason.status_code == 422
    stale = client.post("/analysis/review/send-back", headers=json_headers, data={
        "result": str(third.id), f"seen_{third.id}": "stale", "reason": "x"})
    assert stale.status_code == 409 and third.status is ResultStatus.PRELIMINARY
    assert client.post("/analysis/review/send-back", data={}).status_code == 400
