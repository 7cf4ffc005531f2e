"""Plate layouts: order, determinism, capacity and overflow, and checking a reading against them."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

import numpy as np
import pytest

from instruments.records import WELLS, PlateReading
from lims.analysis.calibration import ResultStatus, classify_sample, evaluate_curve, fit_curve
from lims.analysis.methods import PlateSpec, default_catalogue
from lims.analysis.plate_layout import (
    WellRole,
    WorklistItem,
    build_plate_layout,
    check_layout_matches,
    fill_order,
    split_readings,
)

CAT = {m.code: m for m in default_catalogue()}
SK = CAT["UIC-SK-PLATE"]
T0 = datetime(2026, 5, 1, 9, 0)
FIXED = 2 + 7 * 2 + 3  # blanks, standards in duplicate, three controls


def worklist(n: int) -> list[WorklistItem]:
    return [WorklistItem(f"U26-{i:05d}", T0 + timedelta(hours=i)) for i in range(n)]


def test_fixed_wells_come_first_in_column_order() -> None:
    layout = build_plate_layout(SK, worklist(3))
    roles = [(a.well, a.role, a.label, a.replicate) for a in layout.assignments[:FIXED]]
    assert roles[:4] == [("A1", WellRole.BLANK, "Blank", 1), ("B1", WellRole.BLANK, "Blank", 2),
                         ("C1", WellRole.CALIBRATOR, "STD 0", 1),
                         ("D1", WellRole.CALIBRATOR, "STD 0", 2)]
    assert [a.concentration for a in layout.assignments[2:16]] == [
        c for c in SK.calibration.concentrations for _ in range(2)]
    assert [(a.well, a.level) for a in layout.assignments[16:19]] == [
        ("A3", "low"), ("B3", "mid"), ("C3", "high")]
    samples = layout.assignments[FIXED:]
    assert [(a.well, a.accession, a.replicate) for a in samples[:2]] == [
        ("D3", "U26-00000", 1), ("E3", "U26-00000", 2)]
    assert len(layout.empty_wells) == 96 - FIXED - 6


def test_priority_first_then_oldest_then_accession() -> None:
    items = [WorklistItem("B", T0), WorklistItem("A", T0),
             WorklistItem("OLD", T0 - timedelta(days=1)),
             WorklistItem("URGENT", T0 + timedelta(days=3), priority=1)]
    layout = build_plate_layout(SK, items)
    assert [i.accession for i in layout.placed] == ["URGENT", "OLD", "A", "B"]


def test_layout_is_deterministic_whatever_the_input_order() -> None:
    items = worklist(30)
    shuffled = items[:]
    random.Random(4).shuffle(shuffled)
    assert build_plate_layout(SK, items) == build_plate_layout(SK, shuffled)


def test_capacity_and_overflow() -> None:
    capacity = (96 - FIXED) // 2
    assert capacity == 38
    full = build_plate_layout(SK, worklist(capacity))
    assert full.sample_capacity == 38 and full.overflow == () and full.empty_wells == ("H12",)
    over = build_plate_layout(SK, worklist(capacity + 5))
    assert len(over.placed) == 38
    assert [i.accession for i in over.overflow] == [f"U26-{i:05d}" for i in range(38, 43)]
    single = replace(SK, plate=replace(SK.plate, sample_replicates=1))
    assert build_plate_layout(single, worklist(100)).sample_capacity == 96 - FIXED


def test_row_wise_fill_and_too_many_fixed_wells() -> None:
    rows = replace(SK, plate=PlateSpec(column_wise=False))
    assert [a.well for a in build_plate_layout(rows, []).assignments[:3]] == ["A1", "A2", "A3"]
    assert fill_order(False) == WELLS and len(set(fill_order(True))) == 96
    crowded = replace(SK, plate=PlateSpec(blanks=90))
    with pytest.raises(ValueError, match="need 107 wells"):
        build_plate_layout(crowded, [])


def test_worklist_refusals() -> None:
    with pytest.raises(ValueError, match="listed twice.*U1"):
        build_plate_layout(SK, [WorklistItem("U1", T0), WorklistItem("U1", T0)])
    with pytest.raises(ValueError, match="not a plate method"):
        build_plate_layout(CAT["UIC-SK-TUBE"], [])


def full_plate(value: float = 0.5) -> dict[str, float | None]:
    return {w: value for w in WELLS}


def test_a_complete_reading_matches() -> None:
    assert check_layout_matches(build_plate_layout(SK, worklist(10)), full_plate()) == []


def test_mismatches_are_listed() -> None:
    layout = build_plate_layout(SK, worklist(10))
    assert [a.well for a in layout.assignments if a.label == "STD 300"] == ["G2", "H2"]
    wells = full_plate()
    wells["H2"] = None  # the reader's over-range mark on a standard
    wells["D3"] = None  # a sample over range is the sample's problem, not the layout's
    del wells["A1"]
    wells["I13"] = 0.1
    assert check_layout_matches(layout, wells) == [
        "The reading has a well 'I13' that a 96-well plate does not have.",
        "A1 (Blank) has no reading.", "H2 (STD 300) is over range."]

def test_plate_reading_to_results_end_to_end() -> None:
    """Layout → simulated S-K plate → curve → accepted → sample results."""
    items = worklist(4)
    layout = build_plate_layout(SK, items)
    truth = {"U26-00000": 120.0, "U26-00001": 8.0, "U26-00002": 450.0, "U26-00003": 60.0}
    controls = {"low": 50.0, "mid": 150.0, "high": 300.0}

    def absorbance(c: float) -> float:
        return float(1.2 * np.exp(-0.0055 * c))

    wells: dict[str, float | None] = {w: 0.0 for w in WELLS}
    for a in layout.assignments:
        conc = {WellRole.BLANK: 0.0, WellRole.CALIBRATOR: a.concentration,
                WellRole.CONTROL: controls.get(a.level or "", 0.0),
                WellRole.SAMPLE: truth.get(a.accession or "", 0.0)}[a.role]
        wells[a.well] = round(absorbance(conc), 3)
    plate = PlateReading("reader-1", wells)
    assert check_layout_matches(layout, plate.wells) == []
    grouped = split_readings(layout, plate.wells)
    assert grouped.controls.keys() == {"low", "mid", "high"} and len(grouped.blanks) == 2
    conc, resp = zip(*grouped.calibrators, strict=True)
    curve = fit_curve(conc, resp, SK.calibration.model)
    assert evaluate_curve(curve, SK.calibration).accepted
    results = {acc: classify_sample(r, curve, SK) for acc, r in grouped.samples.items()}
    assert results["U26-00000"].status is ResultStatus.REPORTABLE
    assert results["U26-00000"].value == pytest.approx(120.0, abs=1.0)
    assert results["U26-00001"].status is ResultStatus.BELOW_LOD
    assert results["U26-00002"].status is ResultStatus.DILUTE
    assert results["U26-00003"].status is ResultStatus.REPORTABLE
