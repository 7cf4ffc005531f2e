"""Storage operations: locations, aliquots, placement, moves, checkout for a run and return.

Every change locks its deciding row before the rule is checked (``lims.core.locking``) and
writes its audit event in the same transaction. A placement locks the *box* first: two
technicians filling one box queue at that lock, so the second sees the first's tube and "next
free position" never hands one position out twice; the unique index on (box, row, col) is the
last line. Lock order is always box(es), then sample, then tube, so operations never deadlock.

A refusal (occupied position, box of the wrong kind, a disposed or not-received sample, a
position outside the grid) is a ``LimsError`` raised before anything is written: nothing changes.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lims.audit.service import record_event
from lims.auth.models import User
from lims.core.errors import BusinessRuleViolation, ConflictError, NotFoundError, ValidationError
from lims.core.inputs import require_code, require_text
from lims.core.labels import label
from lims.core.locking import conflict_from_integrity, lock, lock_all
from lims.logistics.storage_models import (
    MAX_ALIQUOTS,
    MAX_GRID,
    ROW_LETTERS,
    Aliquot,
    AliquotState,
    SampleDisposal,
    StorageUnit,
    UnitLevel,
    position_text,
)
from lims.samples.accession import normalise_query
from lims.samples.models import Sample, SampleKind

__all__ = [
    "ALIQUOT_ENTITY",
    "UNIT_ENTITY",
    "check_out",
    "create_unit",
    "find_box",
    "find_tube",
    "move",
    "parse_position",
    "place",
    "return_aliquot",
    "split_aliquots",
]

ALIQUOT_ENTITY = "aliquot"
UNIT_ENTITY = "storage_unit"
#: What each level may hold.
CHILD_OF = {UnitLevel.RACK: UnitLevel.FREEZER, UnitLevel.BOX: UnitLevel.RACK}
_POSITION = re.compile(r"([A-Z])([0-9]{1,2})")
_ALIQUOT_SUFFIX = re.compile(r"(.+)-A([0-9]{1,2})")


def parse_position(text: str, box: StorageUnit) -> tuple[int, int]:
    """(row, col) of "C5" in ``box``; refused when malformed or outside the box's grid."""
    match = _POSITION.fullmatch(normalise_query(text))
    if match is None:
        raise ValidationError(_("A position is a row letter and a column number, e.g. C5."),
                              field="position")
    row, col = ROW_LETTERS.index(match.group(1)) + 1, int(match.group(2))
    if not (1 <= row <= (box.n_rows or 0) and 1 <= col <= (box.n_cols or 0)):
        raise ValidationError(
            _("Position %(position)s is outside box %(box)s (rows A–%(last_row)s, columns "
              "1–%(last_col)d).", position=match.group(0), box=box.code,
              last_row=ROW_LETTERS[(box.n_rows or 1) - 1], last_col=box.n_cols or 0),
            field="position")
    return row, col


def _flush(session: Session) -> None:
    """Flush; a unique index refusing the write (the last line behind the locks) is a 409."""
    try:
        session.flush()
    except IntegrityError as error:
        raise conflict_from_integrity(error) from error


def _audit_unit(session: Session, unit: StorageUnit, *, actor: User, now: datetime, action: str,
                changes: dict[str, Any]) -> None:
    record_event(session, actor=actor, now=now, action=action, entity_type=UNIT_ENTITY,
                 entity_id=unit.id, entity_label=unit.code, changes=changes)


def _audit(session: Session, tube: Aliquot, *, actor: User, now: datetime, action: str,
           changes: dict[str, Any], reason: str | None = None) -> None:
    record_event(session, actor=actor, now=now, action=action, entity_type=ALIQUOT_ENTITY,
                 entity_id=tube.id, entity_label=tube.label, changes=changes, reason=reason)


def create_unit(session: Session, *, actor: User, now: datetime, level: UnitLevel, code: str,
                name: str = "", parent: StorageUnit | None = None, n_rows: int | None = None,
                n_cols: int | None = None, sample_kind: SampleKind | None = None
                ) -> StorageUnit:
    """A freezer (no parent), a rack in a freezer, or a box in a rack with its grid (1–26 rows
    and columns) and the one sample kind it holds."""
    code = normalise_query(code)
    if not code:
        raise ValidationError(_("Give the location a code."), field="code")
    if len(code) > 64:
        raise ValidationError(_("A code has at most 64 characters."), field="code")
    require_code(code, field="code")
    require_text(name, field="name")
    wanted_parent = CHILD_OF.get(level)
    if wanted_parent is None and parent is not None:
        raise ValidationError(_("A freezer is not inside another location."), field="parent")
    if wanted_parent is not None and (parent is None or parent.level is not wanted_parent):
        raise ValidationError(_("A %(level)s goes into a %(parent)s.", level=label(level).lower(),
                                parent=label(wanted_parent).lower()), field="parent")
    if level is UnitLevel.BOX:
        for field, value in (("n_rows", n_rows), ("n_cols", n_cols)):
            if value is None or not 1 <= value <= MAX_GRID:
                raise ValidationError(_("A box has 1 to %(max)d rows and columns.", max=MAX_GRID),
                                      field=field)
        if sample_kind is None:
            raise ValidationError(_("Say which kind of sample the box holds."),
                                  field="sample_kind")
    else:
        n_rows = n_cols = sample_kind = None
    if session.scalar(sa.select(StorageUnit.id).where(StorageUnit.code == code)) is not None:
        raise ConflictError(_("Location %(code)s exists already.", code=code), field="code")
    unit = StorageUnit(level=level, code=code, name=name.strip(), parent_id=parent.id if parent
                       else None, n_rows=n_rows, n_cols=n_cols, sample_kind=sample_kind,
                       created_at=now, created_by_id=actor.id)
    try:
        with session.begin_nested():  # two people creating one code at once: a 409, not a 500
            session.add(unit)
    except IntegrityError as error:
        raise conflict_from_integrity(error) from error
    _audit_unit(session, unit, actor=actor, now=now, action="storage_unit_created",
                changes={"level": level.value, "code": code, "parent": parent.code if parent
                         else None, "rows": n_rows, "cols": n_cols,
                         "sample_kind": sample_kind.value if sample_kind else None})
    return unit


def find_box(session: Session, scanned: str) -> StorageUnit:
    """The box whose code was scanned, or a `NotFoundError` naming what was scanned."""
    code = normalise_query(scanned)
    box = session.scalar(sa.select(StorageUnit).where(StorageUnit.code == code,
                                                      StorageUnit.level == UnitLevel.BOX))
    if box is None:
        raise NotFoundError(_("There is no box %(code)s.", code=code or "—"), field="box")
    return box


def _sample_of(session: Session, accession: str) -> Sample | None:
    return session.scalar(sa.select(Sample).where(Sample.accession == accession))


def find_tube(session: Session, scanned: str) -> tuple[Sample, Aliquot | None]:
    """The sample and tube a scan names: an aliquot label ("…-A1"), or an accession (its
    original container, None when that has no tube row yet)."""
    text = normalise_query(scanned)
    if not text or len(text) > 32:
        raise ValidationError(_("Scan a sample or aliquot label."), field="item")
    tube = session.scalar(sa.select(Aliquot).where(Aliquot.label == text))
    if tube is not None:
        return tube.sample, tube
    sample = _sample_of(session, text)
    if sample is None:
        match = _ALIQUOT_SUFFIX.fullmatch(text)
        if match and _sample_of(session, match.group(1)) is not None:
            raise NotFoundError(_("Sample %(accession)s has no aliquot %(label)s.",
                                  accession=match.group(1), label=text), field="item")
        raise NotFoundError(_("There is no sample or aliquot %(label)s.", label=text),
                            field="item")
    tube = session.scalar(sa.select(Aliquot).where(Aliquot.sample_id == sample.id,
                                                   Aliquot.number == 0))
    return sample, tube


def is_disposed(session: Session, sample: Sample) -> bool:
    return session.scalar(sa.select(SampleDisposal.id)
                          .where(SampleDisposal.sample_id == sample.id)) is not None


def _check_storable(session: Session, sample: Sample) -> None:
    """Refuse a sample the lab does not hold: disposed, or never received."""
    if is_disposed(session, sample):
        raise BusinessRuleViolation(_("Sample %(accession)s was disposed of; it cannot be "
                                      "stored.", accession=sample.accession), field="item")
    if sample.received_at is None:
        raise BusinessRuleViolation(_("Sample %(accession)s has not been received; receive it "
                                      "before storing it.", accession=sample.accession),
                                    field="item")


def split_aliquots(session: Session, *, actor: User, now: datetime, sample: Sample,
                   count: int) -> list[Aliquot]:
    """``count`` new aliquots of ``sample``, numbered after its last (A1, A2 …), unplaced."""
    if not 1 <= count <= MAX_ALIQUOTS:
        raise ValidationError(_("Split into 1 to %(max)d aliquots.", max=MAX_ALIQUOTS),
                              field="count")
    sample = lock(session, sample)
    _check_storable(session, sample)
    last = session.scalar(sa.select(sa.func.max(Aliquot.number))
                          .where(Aliquot.sample_id == sample.id)) or 0
    if last + count > MAX_ALIQUOTS:
        raise BusinessRuleViolation(ngettext(
            "Sample %(accession)s may have at most %(num)d aliquot.",
            "Sample %(accession)s may have at most %(num)d aliquots.", MAX_ALIQUOTS,
            accession=sample.accession), field="count")
    made = []
    for number in range(last + 1, last + count + 1):
        tube = Aliquot(sample_id=sample.id, number=number,
                       label=f"{sample.accession}-A{number}", state=AliquotState.UNPLACED,
                       created_at=now, created_by_id=actor.id)
        session.add(tube)
        made.append(tube)
    _flush(session)
    for tube in made:
        _audit(session, tube, actor=actor, now=now, action="aliquot_created",
               changes={"sample": sample.accession, "label": tube.label})
    return made


def _occupant(session: Session, box: StorageUnit, row: int, col: int) -> Aliquot | None:
    return session.scalar(sa.select(Aliquot).where(Aliquot.box_id == box.id,
                                                   Aliquot.pos_row == row, Aliquot.pos_col == col))


def _next_free(session: Session, box: StorageUnit) -> tuple[int, int]:
    """The first free position row by row (A1, A2 … then B1 …), or refused: the box is full."""
    taken = {(row, col) for row, col in session.execute(
        sa.select(Aliquot.pos_row, Aliquot.pos_col).where(Aliquot.box_id == box.id))}
    for row in range(1, (box.n_rows or 0) + 1):
        for col in range(1, (box.n_cols or 0) + 1):
            if (row, col) not in taken:
                return row, col
    raise BusinessRuleViolation(_("Box %(box)s is full.", box=box.code), field="position")


def _where(tube: Aliquot) -> str:
    return f"{tube.box.code} {tube.position}" if tube.box is not None else "—"


def _target(session: Session, box: StorageUnit, position: str | None) -> tuple[int, int]:
    """The position asked for (free and inside the grid), or the next free one."""
    if not position or not position.strip():
        return _next_free(session, box)
    row, col = parse_position(position, box)
    occupant = _occupant(session, box, row, col)
    if occupant is not None:
        raise ConflictError(_("Position %(position)s of box %(box)s holds %(label)s already.",
                              position=position_text(row, col), box=box.code,
                              label=occupant.label), field="position")
    return row, col


def place(session: Session, *, actor: User, now: datetime, box: StorageUnit, scanned: str,
          position: str | None = None) -> Aliquot:
    """Put the scanned tube into ``box`` at ``position`` ("C5"), or at the next free position
    when none is given. The sample's original container gets its tube row on first placement."""
    if box.level is not UnitLevel.BOX:
        raise ValidationError(_("Scan a box, not a %(level)s.", level=label(box.level).lower()),
                              field="box")
    box = lock(session, box)
    sample, _tube = find_tube(session, scanned)
    sample = lock(session, sample)
    # read again under the sample's lock: a tube row made meanwhile by someone placing the same
    # sample into another box is seen here, never made twice
    sample, tube = find_tube(session, scanned)
    _check_storable(session, sample)
    if sample.kind is not box.sample_kind:
        raise BusinessRuleViolation(
            _("Box %(box)s holds %(box_kind)s samples; %(accession)s is %(kind)s.", box=box.code,
              box_kind=label(box.sample_kind).lower(), accession=sample.accession,
              kind=label(sample.kind).lower()), field="item")
    if tube is not None:
        tube = lock(session, tube)
        if tube.state is not AliquotState.UNPLACED:
            raise ConflictError(_("%(label)s is %(state)s at %(where)s; use Move to put it "
                                  "elsewhere.", label=tube.label,
                                  state=label(tube.state).lower(), where=_where(tube)),
                                field="item")
    row, col = _target(session, box, position)
    if tube is None:
        tube = Aliquot(sample_id=sample.id, number=0, label=sample.accession,
                       state=AliquotState.UNPLACED, created_at=now, created_by_id=actor.id)
        session.add(tube)
    tube.state, tube.box_id, tube.pos_row, tube.pos_col = AliquotState.STORED, box.id, row, col
    _flush(session)
    _audit(session, tube, actor=actor, now=now, action="aliquot_placed",
           changes={"box": box.code, "position": position_text(row, col)})
    session.refresh(tube, ["box"])
    return tube


def move(session: Session, *, actor: User, now: datetime, tube: Aliquot, box: StorageUnit,
         position: str | None = None, reason: str = "") -> Aliquot:
    """Move a stored tube to another position (of the same or another box of its kind)."""
    if box.level is not UnitLevel.BOX:
        raise ValidationError(_("Scan a box, not a %(level)s.", level=label(box.level).lower()),
                              field="box")
    boxes = [box] if tube.box_id in (None, box.id) else [
        b for b in (box, session.get(StorageUnit, tube.box_id)) if b is not None]
    lock_all(session, sorted(boxes, key=lambda b: b.id))
    tube = lock(session, tube)
    if tube.state is not AliquotState.STORED:
        raise ConflictError(_("%(label)s is %(state)s; only a stored tube is moved.",
                              label=tube.label, state=label(tube.state).lower()), field="item")
    if tube.sample.kind is not box.sample_kind:
        raise BusinessRuleViolation(
            _("Box %(box)s holds %(box_kind)s samples; %(accession)s is %(kind)s.", box=box.code,
              box_kind=label(box.sample_kind).lower(), accession=tube.sample.accession,
              kind=label(tube.sample.kind).lower()), field="box")
    before = _where(tube)
    row, col = _target(session, box, position)
    tube.box_id, tube.pos_row, tube.pos_col = box.id, row, col
    _flush(session)
    session.refresh(tube, ["box"])
    _audit(session, tube, actor=actor, now=now, action="aliquot_moved",
           changes={"position": {"before": before, "after": _where(tube)}},
           reason=reason.strip() or None)
    return tube


def check_out(session: Session, *, actor: User, now: datetime, tube: Aliquot,
              purpose: str = "") -> Aliquot:
    """Take a stored tube out for a run; its position stays reserved for its return."""
    purpose = purpose.strip()[:200]
    require_text(purpose, field="purpose")
    tube = lock(session, tube)
    if tube.state is not AliquotState.STORED:
        raise ConflictError(_("%(label)s is %(state)s; only a stored tube is checked out.",
                              label=tube.label, state=label(tube.state).lower()), field="item")
    tube.state, tube.checked_out_at = AliquotState.CHECKED_OUT, now
    tube.checked_out_by_id, tube.checked_out_for = actor.id, purpose or None
    session.flush()
    _audit(session, tube, actor=actor, now=now, action="aliquot_checked_out",
           changes={"from": _where(tube), "purpose": purpose or None})
    return tube


def return_aliquot(session: Session, *, actor: User, now: datetime, tube: Aliquot) -> Aliquot:
    """A checked-out tube back into its reserved position."""
    tube = lock(session, tube)
    if tube.state is not AliquotState.CHECKED_OUT:
        raise ConflictError(_("%(label)s is %(state)s, not checked out.", label=tube.label,
                              state=label(tube.state).lower()), field="item")
    away = tube.checked_out_at
    tube.state, tube.checked_out_at = AliquotState.STORED, None
    tube.checked_out_by_id, tube.checked_out_for = None, None
    session.flush()
    _audit(session, tube, actor=actor, now=now, action="aliquot_returned",
           changes={"to": _where(tube), "checked_out_at": away})
    return tube


def scanned_tube(session: Session, scanned: str) -> Aliquot:
    """The existing tube a scan names (for move, checkout and return)."""
    sample, tube = find_tube(session, scanned)
    if tube is None:
        raise NotFoundError(_("Sample %(accession)s is not in storage.",
                              accession=sample.accession), field="item")
    return tube
