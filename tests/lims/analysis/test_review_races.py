"""Two reviewers bulk-verify overlapping selections at the same moment (PostgreSQL): every
result is verified exactly once, with one audit event; the rows the other reviewer took first
are refused as changed since shown; nobody deadlocks (``lock_all`` takes rows in id order)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from lims.analysis import review
from lims.analysis.models import Result, ResultStatus
from lims.extensions import db
from lims.samples.lifecycle import SampleStatus
from tests.lims.test_races import (  # noqa: F401 (fixtures)
    NOW,
    Lab,
    actor,
    cheap_passwords,
    committed,
    events,
    lab,
    new_result,
    new_sample,
    scalar,
)
from tests.race import needs_postgres, race, split

pytestmark = [pytest.mark.postgres, needs_postgres]

REPEAT = 10
ROWS = 12


def test_overlapping_bulk_verifications_verify_each_result_once(race_app: Flask,
                                                                lab: Lab) -> None:
    for round_no in range(REPEAT):
        def build(session: Any) -> list[int]:
            return [new_result(session, lab, new_sample(session, lab, SampleStatus.PENDING_REVIEW),
                               ResultStatus.PRELIMINARY).id for _ in range(ROWS)]

        ids = committed(race_app, build)
        # reviewer 0 takes the first two thirds, reviewer 1 the last two thirds (shuffled order)
        chosen = [ids[:2 * ROWS // 3], list(reversed(ids[ROWS // 3:]))]
        reviewers = [lab.reviewer, lab.admin]

        def prepare(i: int) -> dict[int, str]:
            rows = [db.session.get(Result, rid) for rid in chosen[i]]
            return {r.id: review.result_fingerprint(r) for r in rows}

        def act(i: int, seen: dict[int, str]) -> tuple[list[int], list[int]]:
            outcome = review.verify_results(db.session, actor=actor(reviewers[i]), now=NOW,
                                            seen=seen)
            return [r.id for r in outcome.verified], [r.result_id for r in outcome.refused]

        won, refused = split(race(race_app, 2, prepare, act))
        assert not refused, refused
        verified = sorted(rid for done, _ in won for rid in done)
        assert verified == sorted(ids), round_no
        overlap = set(chosen[0]) & set(chosen[1])
        assert sorted(rid for _, left in won for rid in left) == sorted(overlap)
        for result_id in ids:
            assert events(race_app, "result_verified", "result", result_id) == 1
            assert scalar(race_app, Result.__table__.select().with_only_columns(
                Result.status).where(Result.id == result_id)) == "verified"
