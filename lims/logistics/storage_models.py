"""Storage: where each urine or salt container is, and what happened to it.

Locations are one tree of ``storage_units``: a freezer holds racks, a rack holds boxes, a box has
a grid of positions (``rows`` × ``cols``, at most 26 × 26). Rows are letters (A at the top), columns
numbers (1 at the left), so a position reads "C5" as on the box's own lid and on the plate maps.
Positions are not rows of their own: a position is occupied when an aliquot names it.

An ``Aliquot`` is one tube of a sample. Number 0 is the sample's original container (its label is
the accession); numbers 1, 2 … are aliquots split from it, labelled "U-2026-001629-A1". Each is
unplaced, stored, checked out (taken for a run; its position stays reserved for its return) or
disposed (its position freed). The unique index on (box, row, col) is the last line behind the
box lock: two tubes never share a position, whatever races.

Disposal is per sample (``sample_disposals``): who disposed it, who witnessed it and why. Results
and history stay; only the tubes are gone. Retention periods are a table (``retention_rules``)
so a lab manager sets them on a page, per sample kind and, where a round needs longer (a
re-analysis planned), per survey round; a rule for a round beats the kind's default.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lims.auth.models import User
from lims.core.labels import LABELS
from lims.core.models import Base, format_repr, intpk, str_enum
from lims.monitoring.models import SurveyRound
from lims.samples.models import Sample, SampleKind

#: The largest box grid (rows are the letters A–Z).
MAX_GRID = 26
ROW_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: Aliquots per sample at most (A1 … A20): a urine sample is rarely split into more than four.
MAX_ALIQUOTS = 20
#: Retention at most 100 years, in days.
MAX_RETENTION_DAYS = 36_500


#: The words for this room's stored values, added to the one table ``lims.core.labels`` reads.
LABELS.update({
    "freezer": _l("Freezer"), "rack": _l("Rack"), "box": _l("Box"),
    "unplaced": _l("Not placed"), "stored": _l("Stored"), "checked_out": _l("Checked out"),
    "disposed": _l("Disposed"),
})


class UnitLevel(enum.StrEnum):
    FREEZER = "freezer"
    RACK = "rack"
    BOX = "box"


class AliquotState(enum.StrEnum):
    UNPLACED = "unplaced"
    STORED = "stored"
    CHECKED_OUT = "checked_out"
    DISPOSED = "disposed"


class StorageUnit(Base):
    """A freezer, a rack in a freezer, or a box in a rack (with its grid and sample kind)."""

    __tablename__ = "storage_units"
    __table_args__ = (
        sa.CheckConstraint(
            "(level = 'box') = (n_rows IS NOT NULL AND n_cols IS NOT NULL"
            " AND sample_kind IS NOT NULL)", name="box_has_grid"),
        sa.CheckConstraint(f"n_rows IS NULL OR n_rows BETWEEN 1 AND {MAX_GRID}", name="rows_bounded"),
        sa.CheckConstraint(f"n_cols IS NULL OR n_cols BETWEEN 1 AND {MAX_GRID}", name="cols_bounded"),
        sa.CheckConstraint("(level = 'freezer') = (parent_id IS NULL)", name="only_freezers_top"),
        sa.Index("ix_storage_units_parent_code", "parent_id", "code"),
    )

    id: Mapped[intpk]
    level: Mapped[UnitLevel] = mapped_column(str_enum(UnitLevel, "storage_level"))
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("storage_units.id"))
    n_rows: Mapped[int | None] = mapped_column(sa.SmallInteger)
    n_cols: Mapped[int | None] = mapped_column(sa.SmallInteger)
    sample_kind: Mapped[SampleKind | None] = mapped_column(str_enum(SampleKind, "sample_kind"))
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    parent: Mapped[StorageUnit | None] = relationship(remote_side="StorageUnit.id")

    @property
    def capacity(self) -> int:
        return (self.n_rows or 0) * (self.n_cols or 0)

    def __repr__(self) -> str:
        return format_repr(self, "id", "level", "code")


class Aliquot(Base):
    """One tube of a sample (number 0: the original container) and where it is now."""

    __tablename__ = "aliquots"
    __table_args__ = (
        sa.UniqueConstraint("sample_id", "number"),
        # the last line behind the box lock: one tube per position
        sa.Index("uq_aliquots_position", "box_id", "pos_row", "pos_col", unique=True,
                 postgresql_where=sa.text("box_id IS NOT NULL"),
                 sqlite_where=sa.text("box_id IS NOT NULL")),
        # the dashboard's "checked out and not returned"
        sa.Index("ix_aliquots_state_checked_out", "state", "checked_out_at"),
        sa.CheckConstraint(
            "(box_id IS NULL) = (pos_row IS NULL) AND (box_id IS NULL) = (pos_col IS NULL)",
            name="position_whole"),
        sa.CheckConstraint(
            "(state IN ('stored', 'checked_out')) = (box_id IS NOT NULL)", name="placed_state"),
        sa.CheckConstraint(
            "(state = 'checked_out') = (checked_out_at IS NOT NULL)", name="checkout_time"),
        sa.CheckConstraint(f"number BETWEEN 0 AND {MAX_ALIQUOTS}", name="number_bounded"),
    )

    id: Mapped[intpk]
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("samples.id"), index=True)
    number: Mapped[int] = mapped_column(sa.SmallInteger)
    label: Mapped[str] = mapped_column(sa.String(32).with_variant(
        sa.String(32, collation="C"), "postgresql"), unique=True)
    state: Mapped[AliquotState] = mapped_column(str_enum(AliquotState, "aliquot_state"))
    box_id: Mapped[int | None] = mapped_column(sa.ForeignKey("storage_units.id"))
    pos_row: Mapped[int | None] = mapped_column(sa.SmallInteger)
    pos_col: Mapped[int | None] = mapped_column(sa.SmallInteger)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    checked_out_at: Mapped[datetime | None]
    checked_out_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    checked_out_for: Mapped[str | None] = mapped_column(sa.String(200))

    sample: Mapped[Sample] = relationship()
    box: Mapped[StorageUnit | None] = relationship()
    checked_out_by: Mapped[User | None] = relationship(foreign_keys=[checked_out_by_id])

    @property
    def position(self) -> str | None:
        return position_text(self.pos_row, self.pos_col)

    def __repr__(self) -> str:
        return format_repr(self, "id", "label", "state", "box_id", "position")


def position_text(row: int | None, col: int | None) -> str | None:
    """"C5" for row 3, column 5."""
    if row is None or col is None:
        return None
    return f"{ROW_LETTERS[row - 1]}{col}"


class SampleDisposal(Base):
    """A sample's tubes thrown away: by whom, witnessed by whom (never the same person), why."""

    __tablename__ = "sample_disposals"
    __table_args__ = (
        sa.CheckConstraint("witness_id <> disposed_by_id", name="witness_not_actor"),
    )

    id: Mapped[intpk]
    sample_id: Mapped[int] = mapped_column(sa.ForeignKey("samples.id"), unique=True)
    disposed_at: Mapped[datetime] = mapped_column(index=True)
    disposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    witness_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.String(500))

    sample: Mapped[Sample] = relationship()
    disposed_by: Mapped[User] = relationship(foreign_keys=[disposed_by_id])
    witness: Mapped[User] = relationship(foreign_keys=[witness_id])


class RetentionRule(Base):
    """How long a sample kind is kept after collection, for every round (``round_id`` empty) or
    for one survey round."""

    __tablename__ = "retention_rules"
    __table_args__ = (
        sa.UniqueConstraint("kind", "round_id"),
        # NULLs are distinct in a unique constraint: one default per kind is its own index
        sa.Index("uq_retention_rules_default", "kind", unique=True,
                 postgresql_where=sa.text("round_id IS NULL"),
                 sqlite_where=sa.text("round_id IS NULL")),
        sa.CheckConstraint(f"days BETWEEN 1 AND {MAX_RETENTION_DAYS}", name="days_bounded"),
    )

    id: Mapped[intpk]
    kind: Mapped[SampleKind] = mapped_column(str_enum(SampleKind, "sample_kind"))
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("survey_rounds.id"))
    days: Mapped[int]
    set_at: Mapped[datetime]
    set_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))

    survey_round: Mapped[SurveyRound | None] = relationship()
