"""The quality-assurance annex from the laboratory's own records: pure computations and the
section structure the PDF renders.

The LIMS reads its records (control results, run decisions, results' replicate spreads,
instruments) into frames and calls the functions here; each returns the rows of one annex
section. An annex is a list of ``AnnexSection`` — a title, column headers, rows and a note, in
the report's language — so a later room (equipment records, EQA rounds) appends sections of its
own without touching the renderer. Every figure is computed from stored data: nothing is typed
into the annex by hand.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

Cell = str | int | float | None


@dataclass(frozen=True)
class AnnexSection:
    """One titled table of the annex (``rows`` may be empty: ``empty`` says what that means)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    empty: str = ""
    #: Relative column widths (the renderer scales them to the page); equal when empty.
    widths: tuple[float, ...] = field(default=())


#: Columns of the control frame ``control_statistics`` reads.
CONTROL_COLUMNS = ("material", "level", "lot", "target_mean", "target_sd", "value")


def control_statistics(controls: pd.DataFrame, violations: pd.DataFrame) -> pd.DataFrame:
    """Per control material, level and lot: the assigned target (mean, SD), the observed n, mean,
    SD and CV % of the values of the runs used, the bias of the observed mean from the target
    (%), and the Westgard rule violations counted by rule ("1-2s: 3; 2-2s: 1").

    ``controls``: ``CONTROL_COLUMNS``, one row per control value; ``violations``: ``level``,
    ``rule`` (one row per violation and level it involved)."""
    keys = ["material", "level", "lot"]
    if not len(controls):
        return pd.DataFrame(columns=[*keys, "target_mean", "target_sd", "n", "mean", "sd", "cv",
                                     "bias_pct", "violations"])
    values = controls.dropna(subset=["value"])
    grouped = values.groupby(keys, sort=True, observed=True)
    out = grouped.agg(target_mean=("target_mean", "first"), target_sd=("target_sd", "first"),
                      n=("value", "size"), mean=("value", "mean"),
                      sd=("value", lambda v: float(np.std(v, ddof=1)) if len(v) > 1 else math.nan))
    out["cv"] = 100 * out["sd"] / out["mean"].where(out["mean"] != 0)
    out["bias_pct"] = 100 * (out["mean"] - out["target_mean"]) / out["target_mean"].where(
        out["target_mean"] != 0)
    out = out.reset_index()
    counts: dict[str, str] = {}
    if len(violations):
        for level, rows in violations.groupby("level", sort=True):
            tally = rows["rule"].value_counts().sort_index()
            counts[str(level)] = "; ".join(f"{rule}: {n}" for rule, n in tally.items())
    out["violations"] = [counts.get(str(level), "") for level in out["level"]]
    return out


def replicate_agreement(spreads: pd.DataFrame) -> pd.DataFrame:
    """Per method: how well replicates of a sample agreed — results with replicates, the median
    and 95th percentile of their spread (CV % or absolute difference, as the method defines it),
    and the share within the method's tolerance. ``spreads``: ``method``, ``spread``,
    ``tolerance`` (NaN where the method sets none)."""
    rows = []
    for method, frame in spreads.dropna(subset=["spread"]).groupby("method", sort=True):
        spread = frame["spread"].to_numpy(dtype=float)
        tolerance = float(frame["tolerance"].iloc[0])
        within = (100 * float(np.mean(spread <= tolerance + 1e-12))
                  if not math.isnan(tolerance) else math.nan)
        rows.append({"method": method, "n": len(spread), "median": float(np.median(spread)),
                     "p95": float(np.percentile(spread, 95)), "tolerance": tolerance,
                     "within_pct": within})
    return pd.DataFrame(rows, columns=["method", "n", "median", "p95", "tolerance",
                                       "within_pct"])


def run_summary(runs: pd.DataFrame) -> pd.DataFrame:
    """Runs that analysed the report's samples, by method and decision: ``runs`` has ``method``
    and ``status`` per run. Returns method, status, runs."""
    if not len(runs):
        return pd.DataFrame(columns=["method", "status", "runs"])
    return (runs.groupby(["method", "status"], sort=True).size().rename("runs").reset_index())


def rounded(value: float | None, digits: int = 1) -> float | None:
    """A figure for the annex table, or None (printed as a dash)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return round(float(value), digits)


def cells(rows: Sequence[Sequence[Cell]]) -> tuple[tuple[Cell, ...], ...]:
    return tuple(tuple(row) for row in rows)
