"""96-well plate layouts: which well holds which blank, standard, control or sample.

A plate reader sends 96 absorbances and knows nothing of what is in them (see
`instruments.records.PlateReading`); the layout made when the run is set up gives each well its
meaning. The layout is a pure function of the method version and the worklist, so the same inputs
always give the same plate. Samples are taken by priority (higher first), then oldest receipt,
then accession; those that do not fit are returned as overflow for the next plate, never dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask_babel import gettext as _

from instruments.records import PLATE_COLUMNS, PLATE_ROWS, WELLS
from lims.analysis.labels import analysis_label, decimal
from lims.analysis.methods import MethodVersion

__all__ = ["WorklistItem", "WellRole", "WellAssignment", "PlateLayout", "PlateReadings",
           "build_plate_layout", "check_layout_matches", "split_readings", "fill_order"]


@dataclass(frozen=True)
class WorklistItem:
    """A received sample waiting for this method; a re-assay after dilution carries its factor."""

    accession: str
    received_at: datetime
    priority: int = 0
    dilution_factor: float = 1.0


class WellRole(enum.StrEnum):
    BLANK = "blank"
    CALIBRATOR = "calibrator"
    CONTROL = "control"
    SAMPLE = "sample"


@dataclass(frozen=True)
class WellAssignment:
    well: str
    role: WellRole
    label: str
    replicate: int
    concentration: float | None = None  # calibrators
    level: str | None = None  # controls
    accession: str | None = None  # samples
    dilution_factor: float = 1.0


@dataclass(frozen=True)
class PlateLayout:
    method_key: str
    assignments: tuple[WellAssignment, ...]
    placed: tuple[WorklistItem, ...]
    overflow: tuple[WorklistItem, ...]
    sample_capacity: int
    _by_well: Mapping[str, WellAssignment] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_well", {a.well: a for a in self.assignments})

    def __getitem__(self, well: str) -> WellAssignment | None:
        return self._by_well.get(well)

    @property
    def empty_wells(self) -> tuple[str, ...]:
        return tuple(w for w in WELLS if w not in self._by_well)

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method_key,
            "sample_capacity": self.sample_capacity,
            "wells": [{"well": a.well, "role": a.role.value, "label": a.label,
                       "replicate": a.replicate, "concentration": a.concentration,
                       "level": a.level, "accession": a.accession,
                       "dilution_factor": a.dilution_factor} for a in self.assignments],
            "overflow": [i.accession for i in self.overflow],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlateLayout:
        """The layout a run stored; overflow and placed items are not needed once stored."""
        wells = tuple(
            WellAssignment(w["well"], WellRole(w["role"]), w["label"], w["replicate"],
                           w.get("concentration"), w.get("level"), w.get("accession"),
                           float(w.get("dilution_factor", 1.0)))
            for w in data["wells"])
        return cls(str(data["method"]), wells, (), (), int(data["sample_capacity"]))


def fill_order(column_wise: bool) -> tuple[str, ...]:
    """A1, B1, … H1, A2 … (column-wise, as 8-channel pipettes fill) or A1 … A12, B1 … (row-wise)."""
    if column_wise:
        return tuple(f"{r}{c}" for c in PLATE_COLUMNS for r in PLATE_ROWS)
    return WELLS


def build_plate_layout(method: MethodVersion, worklist: Sequence[WorklistItem]) -> PlateLayout:
    """Blanks, standards (ascending), controls (in the method's level order), then samples."""
    spec = method.plate
    if spec is None or method.calibration is None:
        raise ValueError(f"{method.key} is not a plate method")
    accessions = [i.accession for i in worklist]
    repeated = sorted({a for a in accessions if accessions.count(a) > 1})
    if repeated:
        raise ValueError(f"accession(s) listed twice in the worklist: {', '.join(repeated)}")
    fixed: list[tuple[WellRole, str, int, dict[str, object]]] = []
    fixed += [(WellRole.BLANK, "Blank", i + 1, {}) for i in range(spec.blanks)]
    for conc in method.calibration.concentrations:
        fixed += [(WellRole.CALIBRATOR, f"STD {conc:g}", i + 1, {"concentration": conc})
                  for i in range(spec.calibrator_replicates)]
    for control in method.controls:
        fixed += [(WellRole.CONTROL, f"QC {control.level.value}", i + 1,
                   {"level": control.level.value}) for i in range(spec.control_replicates)]
    order = fill_order(spec.column_wise)
    if len(fixed) > len(order):
        raise ValueError(f"{method.key}: blanks, standards and controls need {len(fixed)} wells; "
                         f"a plate has {len(order)}")
    capacity = (len(order) - len(fixed)) // spec.sample_replicates
    queue = sorted(worklist, key=lambda i: (-i.priority, i.received_at, i.accession))
    placed, overflow = queue[:capacity], queue[capacity:]
    wells = iter(order)
    assignments = [WellAssignment(next(wells), role, label, rep, **extra)  # type: ignore[arg-type]
                   for role, label, rep, extra in fixed]
    for item in placed:
        assignments += [WellAssignment(next(wells), WellRole.SAMPLE, item.accession, rep + 1,
                                       accession=item.accession,
                                       dilution_factor=item.dilution_factor)
                        for rep in range(spec.sample_replicates)]
    return PlateLayout(method.key, tuple(assignments), tuple(placed), tuple(overflow), capacity)


def well_text(a: WellAssignment) -> str:
    """What a well holds, in the reader's language (the stored label is the English one)."""
    if a.role is WellRole.BLANK:
        return _("Blank")
    if a.role is WellRole.CALIBRATOR and a.concentration is not None:
        return _("STD %(concentration)s", concentration=decimal(a.concentration, "g"))
    if a.role is WellRole.CONTROL and a.level is not None:
        return _("QC %(level)s", level=analysis_label(a.level))
    return a.label


def check_layout_matches(layout: PlateLayout, plate_wells: Mapping[str, float | None]) -> list[str]:
    """What makes this reading unusable with this layout, one sentence each (empty = matches).

    ``None`` in `plate_wells` is the reader's over-range mark. An over-range blank, standard or
    control breaks the run; an over-range sample is that sample's problem (classification).
    """
    problems = [_("The reading has a well %(well)s that a 96-well plate does not have.",
                  well=repr(w)) for w in plate_wells if w not in WELLS]
    for a in layout.assignments:
        if a.well not in plate_wells:
            problems.append(_("%(well)s (%(label)s) has no reading.", well=a.well,
                              label=well_text(a)))
        elif plate_wells[a.well] is None and a.role is not WellRole.SAMPLE:
            problems.append(_("%(well)s (%(label)s) is over range.", well=a.well,
                              label=well_text(a)))
    return problems


@dataclass(frozen=True)
class PlateReadings:
    """A plate's responses grouped by what the wells hold; a missing well reads as ``None``."""

    blanks: tuple[float | None, ...]
    calibrators: tuple[tuple[float, float | None], ...]
    controls: Mapping[str, tuple[float | None, ...]]
    samples: Mapping[str, tuple[float | None, ...]]


def split_readings(layout: PlateLayout, plate_wells: Mapping[str, float | None]) -> PlateReadings:
    """Responses per role, ready for `fit_curve`, Westgard and `classify_sample`."""
    blanks: list[float | None] = []
    calibrators: list[tuple[float, float | None]] = []
    controls: dict[str, list[float | None]] = {}
    samples: dict[str, list[float | None]] = {}
    for a in layout.assignments:
        value = plate_wells.get(a.well)
        if a.role is WellRole.BLANK:
            blanks.append(value)
        elif a.role is WellRole.CALIBRATOR:
            calibrators.append((float(a.concentration or 0.0), value))
        elif a.role is WellRole.CONTROL:
            controls.setdefault(str(a.level), []).append(value)
        else:
            samples.setdefault(str(a.accession), []).append(value)
    return PlateReadings(tuple(blanks), tuple(calibrators),
                         {k: tuple(v) for k, v in controls.items()},
                         {k: tuple(v) for k, v in samples.items()})
