"""Retention and disposal: the list of what may go, refusals for open work, the witnessed act."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.analysis.models import Analyte, MethodVersionRow, Result, ResultStatus
from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.core.errors import LimsError, ValidationError
from lims.core.permissions import Role
from lims.logistics import disposal, storage
from lims.logistics.storage_models import Aliquot, AliquotState, SampleDisposal
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import Sample, SampleKind
from tests.conftest import FIXED_NOW, is_postgres
from tests.factories import PASSWORD, unique
from tests.lims.logistics.storage_helpers import make_box, received

OLD = FIXED_NOW - timedelta(days=400)


@pytest.fixture()
def tech(make_user: Callable[..., User]) -> User:
    return make_user(Role.TECHNICIAN)


@pytest.fixture()
def witness(make_user: Callable[..., User]) -> User:
    return make_user(Role.TECHNICIAN)


@pytest.fixture()
def year_for_urine(session: Session, tech: User) -> None:
    disposal.set_retention(session, actor=tech, now=FIXED_NOW, kind=SampleKind.URINE,
                           survey_round=None, days=365)


def _old(make_sample: Callable[..., Sample], status: SampleStatus = SampleStatus.VERIFIED,
         **kwargs: object) -> Sample:
    return received(make_sample, status=status, **{"collected_at": OLD, **kwargs})


def _result(session: Session, sample: Sample, status: ResultStatus, actor: User) -> Result:
    method = MethodVersionRow(code=unique("M"), version=1, name="UIC", matrix="urine",
                              definition={}, created_at=FIXED_NOW)
    session.add(method)
    session.flush()
    row = Result(sample_id=sample.id, analyte=Analyte.UIC, method_version_id=method.id,
                 status=status, value=100.0, unit="µg/L", created_at=FIXED_NOW,
                 created_by_id=actor.id)
    if status is ResultStatus.VERIFIED:
        row.verified_at, row.verified_by_id = FIXED_NOW, actor.id
    session.add(row)
    session.flush()
    return row


def test_dispose_frees_position_keeps_history(session: Session, tech: User, witness: User,
                                              make_sample, year_for_urine: None) -> None:
    box = make_box(session, tech)
    sample = _old(make_sample)
    kept = _result(session, sample, ResultStatus.VERIFIED, tech)
    storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=sample.accession)
    extra = storage.split_aliquots(session, actor=tech, now=FIXED_NOW, sample=sample, count=1)[0]
    storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=extra.label)
    assert sample in disposal.disposal_candidates(session, FIXED_NOW, limit=1000)
    record = disposal.dispose(session, actor=tech, now=FIXED_NOW, scanned=extra.label,
                              reason="retention ended", witness=witness)
    assert record.witness_id == witness.id
    assert sample.disposed_at == FIXED_NOW  # leaves the disposal list's index
    tubes = session.scalars(sa.select(Aliquot).where(Aliquot.sample_id == sample.id)).all()
    assert {t.state for t in tubes} == {AliquotState.DISPOSED}
    assert all(t.box_id is None for t in tubes)
    assert session.get(Result, kept.id) is not None and sample.status is SampleStatus.VERIFIED
    assert sample not in disposal.disposal_candidates(session, FIXED_NOW, limit=1000)
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "sample_disposed",
                                                        AuditEvent.entity_id == sample.id)).one()
    assert event.reason == "retention ended" and event.changes["witness"] == witness.username
    # the freed position takes a new tube
    assert storage.place(session, actor=tech, now=FIXED_NOW, box=box,
                         scanned=received(make_sample).accession).position == "A1"


@pytest.mark.parametrize("work", ["status", "unverified", "retest", "held"])
def test_open_work_refused(session: Session, tech: User, witness: User, make_sample,
                           year_for_urine: None, work: str) -> None:
    sample = _old(make_sample, SampleStatus.RECEIVED if work == "status"
                  else SampleStatus.VERIFIED)
    if work != "status":
        _result(session, sample, {"unverified": ResultStatus.PRELIMINARY,
                                  "retest": ResultStatus.REPEAT,
                                  "held": ResultStatus.HELD}[work], tech)
    session.commit()
    assert sample not in disposal.disposal_candidates(session, FIXED_NOW, limit=1000)
    with pytest.raises(LimsError) as caught:
        disposal.dispose(session, actor=tech, now=FIXED_NOW, scanned=sample.accession,
                         reason="old", witness=witness)
    session.rollback()
    assert "open work" in caught.value.message
    assert session.scalar(sa.select(SampleDisposal.id)
                          .where(SampleDisposal.sample_id == sample.id)) is None


def test_refusals(session: Session, tech: User, witness: User, make_sample,
                  year_for_urine: None) -> None:
    young = received(make_sample, status=SampleStatus.VERIFIED)
    old = _old(make_sample)
    with pytest.raises(LimsError, match="kept until"):
        disposal.dispose(session, actor=tech, now=FIXED_NOW, scanned=young.accession,
                         reason="x", witness=witness)
    with pytest.raises(ValidationError, match="another person"):
        disposal.dispose(session, actor=tech, now=FIXED_NOW, scanned=old.accession,
                         reason="x", witness=tech)
    with pytest.raises(ValidationError):
        disposal.dispose(session, actor=tech, now=FIXED_NOW, scanned=old.accession,
                         reason="  ", witness=witness)
    disposal.dispose(session, actor=tech, now=FIXED_NOW, scanned=old.accession, reason="x",
                     witness=witness)
    with pytest.raises(LimsError, match="already"):
        disposal.dispose(session, actor=tech, now=FIXED_NOW, scanned=old.accession,
                         reason="x", witness=witness)


def test_checked_out_tube_must_come_back(session: Session, tech: User, witness: User,
                                         make_sample, year_for_urine: None) -> None:
    sample = _old(make_sample)
    tube = storage.place(session, actor=tech, now=FIXED_NOW, box=make_box(session, tech),
                         scanned=sample.accession)
    storage.check_out(session, actor=tech, now=FIXED_NOW, tube=tube)
    with pytest.raises(LimsError, match="return it"):
        disposal.dispose(session, actor=tech, now=FIXED_NOW, scanned=sample.accession,
                         reason="x", witness=witness)


def test_round_rule_beats_default(session: Session, tech: User, make_sample,
                                  year_for_urine: None) -> None:
    sample = _old(make_sample)
    assert disposal.retention_days(session, sample) == 365
    disposal.set_retention(session, actor=tech, now=FIXED_NOW, kind=SampleKind.URINE,
                           survey_round=sample.round, days=1000)
    assert disposal.retention_days(session, sample) == 1000
    assert sample not in disposal.disposal_candidates(session, FIXED_NOW, limit=1000)
    with pytest.raises(ValidationError):
        disposal.set_retention(session, actor=tech, now=FIXED_NOW, kind=SampleKind.URINE,
                               survey_round=None, days=0)


def test_witness_password(session: Session, witness: User) -> None:
    assert disposal.confirm_witness(session, username=witness.username, password=PASSWORD,
                                    now=FIXED_NOW, max_failures=5,
                                    lockout=timedelta(minutes=15)) == witness
    assert witness.last_login_at is None  # a witness's confirmation is not a login
    with pytest.raises(ValidationError):
        disposal.confirm_witness(session, username=witness.username, password="wrong",
                                 now=FIXED_NOW, max_failures=5, lockout=timedelta(minutes=15))
    assert witness.failed_logins == 1


def test_disposal_list_pages_oldest_collection_first(session: Session, make_sample,
                                                     year_for_urine: None) -> None:
    """Oldest collection first, paged by (collected_at, id): samples collected at one moment
    are split across pages without loss or repeat; samples with work left are not offered."""
    days = [500, 450, 450, 450, 420]
    due = [_old(make_sample, collected_at=FIXED_NOW - timedelta(days=d)) for d in days]
    _old(make_sample, status=SampleStatus.IN_ANALYSIS)
    _old(make_sample, collected_at=FIXED_NOW - timedelta(days=300))  # kept a while yet
    expected = [s.id for s in sorted(due, key=lambda s: (s.collected_at, s.id))]
    seen: list[int] = []
    after = None
    while True:
        page = disposal.disposal_candidates(session, FIXED_NOW, limit=2, after=after)
        seen += [s.id for s in page]
        if len(page) < 2:
            break
        raw = disposal.DisposalCursor(page[-1].collected_at, page[-1].id).encode()
        after = disposal.DisposalCursor.decode(raw)
        assert after == disposal.DisposalCursor(page[-1].collected_at, page[-1].id)
    assert seen == expected


@pytest.mark.parametrize("raw", ["", "x", "2026-01-01T00:00:00_1", "2026-01-01T00:00:00+00:00_0",
                                 "2026-01-01T00:00:00+00:00_99999999999", "9999-01-01T00:00+00:00_1",
                                 "2026-01-01T00:00:00+00:00_1_2", "1" * 200])
def test_disposal_cursor_refuses_what_it_did_not_write(raw: str) -> None:
    assert disposal.DisposalCursor.decode(raw) is None


@pytest.mark.postgres
@pytest.mark.skipif(not is_postgres(), reason="EXPLAIN plans are checked on PostgreSQL")
def test_disposal_list_is_a_range_scan_of_its_index(session: Session, make_sample, tech: User,
                                                    year_for_urine: None) -> None:
    """The plan at scale, on a tiny table: sequential and bitmap scans are taken away (they win
    on cost here), and the list must then be one ordered scan of ``ix_samples_disposable``
    with no sort step, whatever page."""
    disposal.set_retention(session, actor=tech, now=FIXED_NOW, kind=SampleKind.SALT,
                           survey_round=None, days=730)
    sample = _old(make_sample)
    session.execute(sa.text("ANALYZE samples"))
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    session.execute(sa.text("SET LOCAL enable_bitmapscan = off"))
    bind = session.get_bind()
    for after in (None, disposal.DisposalCursor(sample.collected_at, sample.id)):
        stmt = disposal.disposal_statement(session, FIXED_NOW, limit=51, after=after)
        sql = stmt.compile(dialect=bind.dialect, compile_kwargs={"literal_binds": True})
        plan = json.dumps(session.execute(sa.text(f"EXPLAIN (FORMAT JSON) {sql}")).scalar_one())
        assert '"Index Name": "ix_samples_disposable"' in plan, plan
        assert '"Node Type": "Sort"' not in plan and '"Seq Scan"' not in plan, plan
