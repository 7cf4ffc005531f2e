"""Read side of storage: the location tree with capacity and occupancy, a box's grid, pick lists
in walking order, and tubes out too long. Each is a handful of indexed queries, whatever the
number of tubes: occupancy is one grouped count over ``uq_aliquots_position``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _
from sqlalchemy.orm import Session, aliased, selectinload

from lims.logistics.storage_models import (
    ROW_LETTERS,
    Aliquot,
    AliquotState,
    SampleDisposal,
    StorageUnit,
)
from lims.samples.models import Sample

#: A pick list is at most this long (a few plates).
MAX_PICK = 500


@dataclass
class Node:
    """A freezer, rack or box with its capacity (positions) and occupancy (tubes held)."""

    unit: StorageUnit
    capacity: int = 0
    occupied: int = 0
    children: list[Node] = field(default_factory=list)

    @property
    def free(self) -> int:
        return self.capacity - self.occupied


def location_tree(session: Session) -> list[Node]:
    """Freezers → racks → boxes, with capacity and occupancy summed upwards."""
    units = list(session.scalars(sa.select(StorageUnit).order_by(StorageUnit.code)))
    counts = dict(session.execute(sa.select(Aliquot.box_id, sa.func.count())
                                  .where(Aliquot.box_id.is_not(None))
                                  .group_by(Aliquot.box_id)).all())
    nodes = {u.id: Node(u, u.capacity, counts.get(u.id, 0)) for u in units}
    roots = []
    for unit in units:
        node = nodes[unit.id]
        if unit.parent_id is None:
            roots.append(node)
        elif unit.parent_id in nodes:
            nodes[unit.parent_id].children.append(node)
    for root in roots:
        for rack in root.children:
            rack.capacity = sum(b.capacity for b in rack.children)
            rack.occupied = sum(b.occupied for b in rack.children)
        root.capacity = sum(r.capacity for r in root.children)
        root.occupied = sum(r.occupied for r in root.children)
    return roots


def box_path(unit: StorageUnit) -> list[StorageUnit]:
    """Freezer, rack, box."""
    path = [unit]
    while path[0].parent is not None:
        path.insert(0, path[0].parent)
    return path


@dataclass(frozen=True)
class Cell:
    row: int
    col: int
    name: str
    tube: Aliquot | None


def box_grid(session: Session, box: StorageUnit) -> list[list[Cell]]:
    """The box's positions row by row, each with the tube it holds (or None)."""
    tubes = {(t.pos_row, t.pos_col): t for t in session.scalars(
        sa.select(Aliquot).where(Aliquot.box_id == box.id).options(selectinload(Aliquot.sample)))}
    return [[Cell(r, c, f"{ROW_LETTERS[r - 1]}{c}", tubes.get((r, c)))
             for c in range(1, (box.n_cols or 0) + 1)] for r in range(1, (box.n_rows or 0) + 1)]


@dataclass(frozen=True)
class PickLine:
    accession: str
    label: str = ""
    freezer: str = ""
    rack: str = ""
    box: str = ""
    position: str = ""
    #: Why the sample cannot be picked (empty: it can).
    problem: str = ""


def pick_list(session: Session, samples: Sequence[Sample]) -> list[PickLine]:
    """One line per sample: its first stored tube (lowest number), in walking order — freezer,
    rack, box, then position row by row; the samples not in storage last, each with why."""
    ids = [s.id for s in samples]
    rack, freezer = aliased(StorageUnit), aliased(StorageUnit)
    rows = session.execute(
        sa.select(Aliquot, StorageUnit.code, rack.code, freezer.code)
        .join(StorageUnit, StorageUnit.id == Aliquot.box_id)
        .join(rack, rack.id == StorageUnit.parent_id)
        .join(freezer, freezer.id == rack.parent_id)
        .where(Aliquot.sample_id.in_(ids))
        .order_by(Aliquot.sample_id, Aliquot.number)).all()
    best: dict[int, PickLine] = {}
    away: dict[int, Aliquot] = {}
    for tube, box_code, rack_code, freezer_code in rows:
        if tube.state is AliquotState.CHECKED_OUT:
            away.setdefault(tube.sample_id, tube)
        elif tube.sample_id not in best:
            best[tube.sample_id] = PickLine(tube.sample.accession, tube.label, freezer_code,
                                            rack_code, box_code, tube.position or "")
    disposed = set(session.scalars(sa.select(SampleDisposal.sample_id)
                                   .where(SampleDisposal.sample_id.in_(ids))))
    found = sorted(best.values(), key=lambda p: (p.freezer, p.rack, p.box,
                                                 ROW_LETTERS.index(p.position[0]),
                                                 int(p.position[1:])))
    missing = []
    for sample in samples:
        if sample.id in best:
            continue
        if sample.id in disposed:
            problem = _("disposed of")
        elif sample.id in away:
            tube = away[sample.id]
            problem = _("%(label)s checked out since %(day)s", label=tube.label,
                        day=format_date(tube.checked_out_at))
        else:
            problem = _("not in storage")
        missing.append(PickLine(sample.accession, problem=problem))
    return found + missing


def overdue_checkouts(session: Session, now: datetime, days: int, *, limit: int
                      ) -> list[Aliquot]:
    """Tubes checked out more than ``days`` ago and not returned, oldest first."""
    return list(session.scalars(
        sa.select(Aliquot).where(Aliquot.state == AliquotState.CHECKED_OUT,
                                 Aliquot.checked_out_at < now - timedelta(days=days))
        .options(selectinload(Aliquot.checked_out_by))
        .order_by(Aliquot.checked_out_at, Aliquot.id).limit(limit)))

