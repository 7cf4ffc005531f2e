"""The QA annex's computations: control statistics per material and level with Westgard
violations counted by rule, replicate agreement, run summaries; rendered as annex sections."""

from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from pypdf import PdfReader

from reports.monitoring_report import build_monitoring_report
from reports.qa_annex import (
    AnnexSection,
    control_statistics,
    replicate_agreement,
    run_summary,
)
from tests.reports.test_monitoring_report import PARAMS, frames


def test_control_statistics_per_level_with_violations() -> None:
    controls = pd.DataFrame({
        "material": ["UIC low"] * 4 + ["UIC high"] * 3,
        "level": ["low"] * 4 + ["high"] * 3,
        "lot": ["L1"] * 4 + ["H1"] * 3,
        "target_mean": [50.0] * 4 + [200.0] * 3,
        "target_sd": [4.0] * 4 + [12.0] * 3,
        "value": [48.0, 52.0, 55.0, None, 190.0, 210.0, 230.0],
    })
    violations = pd.DataFrame({"level": ["high", "high", "low"], "rule": ["1-2s", "1-2s", "2-2s"]})
    stats = control_statistics(controls, violations).set_index("level")
    low = stats.loc["low"]
    assert low["n"] == 3 and math.isclose(low["mean"], 155 / 3)
    assert math.isclose(low["sd"], float(np.std([48, 52, 55], ddof=1)))
    assert math.isclose(low["cv"], 100 * low["sd"] / low["mean"])
    assert math.isclose(low["bias_pct"], 100 * (155 / 3 - 50) / 50)
    assert stats.loc["high", "violations"] == "1-2s: 2" and low["violations"] == "2-2s: 1"
    assert control_statistics(controls.iloc[:0], violations.iloc[:0]).empty


def test_replicate_agreement_and_runs() -> None:
    spreads = pd.DataFrame({"method": ["UIC"] * 4 + ["SALT"] * 2,
                            "spread": [2.0, 4.0, 12.0, None, 0.1, 0.5],
                            "tolerance": [10.0] * 4 + [math.nan] * 2})
    table = replicate_agreement(spreads).set_index("method")
    assert table.loc["UIC", "n"] == 3 and table.loc["UIC", "median"] == 4.0
    assert math.isclose(table.loc["UIC", "within_pct"], 200 / 3)
    assert math.isnan(table.loc["SALT", "within_pct"])
    runs = pd.DataFrame({"method": ["UIC", "UIC", "UIC", "SALT"],
                         "status": ["accepted", "rejected", "accepted", "accepted"]})
    summary = run_summary(runs).set_index(["method", "status"])["runs"]
    assert summary[("UIC", "accepted")] == 2 and summary[("UIC", "rejected")] == 1


def test_sections_are_rendered_in_the_annex() -> None:
    urine, salt, previous = frames()
    sections = [AnnexSection("Control materials", ("Control", "Mean", "CV, %"),
                             (("UIC low", 51.234, 4.25),), note="Targets from the lot."),
                AnnexSection("Instruments", ("Instrument",), (), empty="No instrument.")]
    pdf = build_monitoring_report(urine, salt, params=PARAMS, lang="en",
                                  qc_annex={"sections": sections})
    last = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages[-2:])
                    .split())
    assert "UIC low 51.2 4.25" in last and "Targets from the lot." in last
    assert "No instrument." in last
