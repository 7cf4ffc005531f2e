"""Retention and disposal: the list of what may go, refusals for open work, the witnessed act."""

from __future__ import annotations

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
from tests.conftest import FIXED_NOW
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
    return received(make_sample, status=status, collected_at=OLD, **kwargs)


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
