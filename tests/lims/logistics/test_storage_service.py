"""Storage services: locations, aliquots, placement and its refusals, moves, checkout, return."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from lims.audit.models import AuditEvent
from lims.auth.models import User
from lims.core.errors import ConflictError, LimsError, ValidationError
from lims.core.permissions import Role
from lims.logistics import storage
from lims.logistics.storage_models import Aliquot, AliquotState, SampleDisposal, UnitLevel
from lims.samples.lifecycle import SampleStatus
from lims.samples.models import SampleKind
from tests.conftest import FIXED_NOW
from tests.lims.logistics.storage_helpers import make_box, received


@pytest.fixture()
def tech(make_user: Callable[..., User]) -> User:
    return make_user(Role.TECHNICIAN)


def _events(session: Session, action: str) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == action)) or 0


def test_tree_levels_and_bounds(session: Session, tech: User) -> None:
    box = make_box(session, tech, rows=10, cols=10)
    assert box.capacity == 100 and box.parent.level is UnitLevel.RACK
    with pytest.raises(ValidationError):  # a box straight into a freezer
        storage.create_unit(session, actor=tech, now=FIXED_NOW, level=UnitLevel.BOX, code="X1",
                            parent=box.parent.parent, n_rows=9, n_cols=9,
                            sample_kind=SampleKind.URINE)
    for rows, cols in ((0, 9), (27, 9), (9, 27)):
        with pytest.raises(ValidationError):
            storage.create_unit(session, actor=tech, now=FIXED_NOW, level=UnitLevel.BOX,
                                code="X2", parent=box.parent, n_rows=rows, n_cols=cols,
                                sample_kind=SampleKind.URINE)
    with pytest.raises(LimsError):  # the same code twice
        storage.create_unit(session, actor=tech, now=FIXED_NOW, level=UnitLevel.FREEZER,
                            code=box.code)


def test_aliquots_labelled_and_audited(session: Session, tech: User, make_sample) -> None:
    sample = received(make_sample)
    made = storage.split_aliquots(session, actor=tech, now=FIXED_NOW, sample=sample, count=2)
    more = storage.split_aliquots(session, actor=tech, now=FIXED_NOW, sample=sample, count=1)
    assert [t.label for t in made + more] == [f"{sample.accession}-A{n}" for n in (1, 2, 3)]
    assert all(t.state is AliquotState.UNPLACED for t in made)
    assert _events(session, "aliquot_created") >= 3
    with pytest.raises(ValidationError):
        storage.split_aliquots(session, actor=tech, now=FIXED_NOW, sample=sample, count=21)


def test_place_by_scan_and_fill_in_order(session: Session, tech: User, make_sample) -> None:
    box = make_box(session, tech, rows=2, cols=2)
    first, second, third = (received(make_sample) for _ in range(3))
    tube = storage.split_aliquots(session, actor=tech, now=FIXED_NOW, sample=first, count=1)[0]
    placed = storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=tube.label.lower(),
                           position="b2")
    assert (placed.box_id, placed.position, placed.state) == (box.id, "B2", AliquotState.STORED)
    # fill in order: A1 then A2; the original container gets its tube row (its label: the accession)
    a1 = storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=second.accession)
    a2 = storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=third.accession)
    assert (a1.position, a1.number, a1.label) == ("A1", 0, second.accession)
    assert a2.position == "A2"
    assert _events(session, "aliquot_placed") == 3


def _refused(session: Session, call: Callable[[], object], words: str) -> None:
    before = session.scalar(sa.select(sa.func.count()).select_from(Aliquot))
    events = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    with pytest.raises(LimsError) as caught:
        call()
    session.rollback()
    assert words in caught.value.message
    assert session.scalar(sa.select(sa.func.count()).select_from(Aliquot)) == before
    assert session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) == events


def test_refusals_change_nothing(session: Session, tech: User, make_sample) -> None:
    box = make_box(session, tech, rows=3, cols=3)
    salt_box = make_box(session, tech, kind=SampleKind.SALT)
    stored = received(make_sample)
    storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=stored.accession,
                  position="A1")
    other = received(make_sample)
    not_received = make_sample(SampleKind.URINE, status=SampleStatus.REGISTERED)
    session.commit()

    def place(scanned: str, position: str | None = None, into=box):
        return lambda: storage.place(session, actor=tech, now=FIXED_NOW, box=into,
                                     scanned=scanned, position=position)

    _refused(session, place(other.accession, "A1"), "holds")
    _refused(session, place(other.accession, "D1"), "outside")
    _refused(session, place(other.accession, "A4"), "outside")
    _refused(session, place(other.accession, "11"), "row letter")
    _refused(session, place(other.accession, into=salt_box), "holds salt samples")
    _refused(session, place(not_received.accession), "has not been received")
    _refused(session, place(stored.accession, "B1"), "Move")
    _refused(session, place("U-2099-999999"), "no sample")


def test_disposed_sample_refused(session: Session, tech: User, make_sample,
                                 make_user: Callable[..., User]) -> None:
    box = make_box(session, tech)
    sample = received(make_sample)
    witness = make_user(Role.TECHNICIAN)
    session.add(SampleDisposal(sample_id=sample.id, disposed_at=FIXED_NOW,
                               disposed_by_id=tech.id, witness_id=witness.id, reason="old"))
    session.commit()
    _refused(session, lambda: storage.place(session, actor=tech, now=FIXED_NOW, box=box,
                                            scanned=sample.accession), "disposed")


def test_full_box(session: Session, tech: User, make_sample) -> None:
    box = make_box(session, tech, rows=1, cols=1)
    storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=received(make_sample).accession)
    session.commit()
    _refused(session, lambda: storage.place(session, actor=tech, now=FIXED_NOW, box=box,
                                            scanned=received(make_sample).accession), "full")


def test_move_checkout_return(session: Session, tech: User, make_sample) -> None:
    box, other = make_box(session, tech), make_box(session, tech)
    sample = received(make_sample)
    tube = storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=sample.accession)
    tube = storage.move(session, actor=tech, now=FIXED_NOW, tube=tube, box=other, position="C3")
    assert (tube.box_id, tube.position) == (other.id, "C3")
    storage.check_out(session, actor=tech, now=FIXED_NOW, tube=tube, purpose="run 12")
    assert tube.state is AliquotState.CHECKED_OUT and tube.position == "C3"  # reserved
    with pytest.raises(LimsError):
        storage.check_out(session, actor=tech, now=FIXED_NOW, tube=tube)
    storage.return_aliquot(session, actor=tech, now=FIXED_NOW, tube=tube)
    assert tube.state is AliquotState.STORED and tube.checked_out_at is None
    with pytest.raises(LimsError):
        storage.return_aliquot(session, actor=tech, now=FIXED_NOW, tube=tube)
    for action in ("aliquot_moved", "aliquot_checked_out", "aliquot_returned"):
        assert _events(session, action) == 1


def test_position_unique_in_database(session: Session, tech: User, make_sample) -> None:
    """The last line: even written around the service, two tubes cannot share a position."""
    box = make_box(session, tech)
    one, two = received(make_sample), received(make_sample)
    storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=one.accession,
                  position="A1")
    session.add(Aliquot(sample_id=two.id, number=0, label=two.accession,
                        state=AliquotState.STORED, box_id=box.id, pos_row=1, pos_col=1,
                        created_at=FIXED_NOW, created_by_id=tech.id))
    with pytest.raises(sa.exc.IntegrityError):
        session.flush()
    session.rollback()


def test_index_refusal_is_a_conflict(session: Session, tech: User, make_sample,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Were the lock ever bypassed, the index's refusal reaches the person as a 409."""
    box = make_box(session, tech)
    one, two = received(make_sample), received(make_sample)
    storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=one.accession,
                  position="A1")
    monkeypatch.setattr(storage, "_target", lambda *_args: (1, 1))  # a stale "free" position
    with pytest.raises(ConflictError):
        storage.place(session, actor=tech, now=FIXED_NOW, box=box, scanned=two.accession)
    session.rollback()


def test_salt_box_takes_salt_not_urine(session: Session, tech: User, make_sample) -> None:
    box = make_box(session, tech, kind=SampleKind.SALT)
    salt = received(make_sample, SampleKind.SALT)
    assert storage.place(session, actor=tech, now=FIXED_NOW, box=box,
                         scanned=salt.accession).position == "A1"
    with pytest.raises(LimsError, match="holds salt samples"):
        storage.place(session, actor=tech, now=FIXED_NOW, box=box,
                      scanned=received(make_sample).accession)
