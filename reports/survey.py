"""Design-based estimates for stratified cluster samples: weighted quantiles with Woodruff
intervals, proportions with logit intervals, many estimation cells at once.

Why design-based: a survey round samples clusters (PSUs: schools, clinics, settlements) within
strata (regions, or region × urban/rural), often with unequal selection probabilities. The
precision of a median depends on how many clusters were drawn, not on how many specimens; with
2–3 clusters per region a percentile bootstrap of clusters has a handful of possible outcomes and
prints intervals many times too narrow. Here every interval follows the design: strata, PSUs,
weights, and finite degrees of freedom (PSUs − strata) with t quantiles — the estimators of R's
``survey`` package (Lumley), which the test suite runs as the reference:

* point estimate of a quantile: the weighted "school" rule of ``svyquantile(qrule = "school")``:
  the smallest value whose weighted cumulative share reaches p, or the mean of it and the next
  value when the share is exactly p — the textbook median when weights are equal;
* its interval (Woodruff 1952; ``interval.type = "mean"``): the design-based interval of the
  estimated distribution function at the quantile, F̂(q̂) ± t·SE, mapped back through the
  weighted quantile rule. Either end outside [0, 1] makes the interval unbounded (R returns NaN);
* a proportion: the weighted mean of an indicator, its interval on the logit scale
  (``svyciprop(method = "xlogit")``, equal to the default "logit" to rounding);
* variances by Taylor linearisation of the ratio estimator, with-replacement PSUs within strata
  (``svydesign(ids = ~psu, strata = ~stratum, weights = ~w, nest = TRUE)``).

Why not a library: no maintained Python package computes Woodruff intervals for hundreds of
domains of a million rows in well under a second; the linearisation is a few vectorised
``bincount`` passes, and ``tests/reports/test_survey_r.py`` holds it to R's results.

An estimation *cell* is a set of rows (a region × group × period, or the pooled rows of a group ×
period) that together are one design: its strata are the strata its rows come from, its PSUs the
clusters they come from. Rows arrive sorted by cell, then by value (censored values first, as
``reports.stats`` sorts them); the caller passes the cell of every row.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

#: Why a cell has no interval (``ci_note``); the report words each one.
NOTE_NONE = ""
NOTE_NO_DATA = "no_data"
NOTE_FEW_PSUS = "few_psus"  # fewer PSUs than the configured minimum (or one in some stratum)
NOTE_UNBOUNDED = "unbounded"  # F̂ ± t·SE leaves [0, 1]: the design cannot bound the quantile
NOTE_CENSORED = "censored"  # the estimate itself is "< LOD": no interval is computed around it


def t_quantile(confidence: float, df: np.ndarray) -> np.ndarray:
    """Two-sided t critical value per cell; NaN where df < 1."""
    df = np.asarray(df, dtype=float)
    out = np.full(df.shape, np.nan)
    ok = df >= 1
    out[ok] = sps.t.ppf(0.5 + confidence / 2, df[ok])
    return out


def pairs(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """Codes 0..k-1 of the distinct (outer, inner) integer pairs, in order of appearance."""
    if not len(outer):
        return np.zeros(0, dtype=np.int64)
    inner = np.asarray(inner, dtype=np.int64)
    low = inner.min()
    key = outer.astype(np.int64) * (int(inner.max() - low) + 1) + (inner - low)
    return pd.factorize(key)[0].astype(np.int64)


@dataclass(frozen=True)
class CellDesign:
    """The design of every cell, over rows sorted by cell (then by value).

    ``cell``: cell index of each row (0..cells-1, non-decreasing); ``weight``: > 0;
    ``stratum`` and ``psu``: integer labels, globally unique (a PSU lies in one stratum).
    """

    cells: int
    cell: np.ndarray
    weight: np.ndarray
    psu_of_row: np.ndarray  # 0..P-1, a PSU of one cell
    psu_cell: np.ndarray  # cell of each PSU
    psu_stratum: np.ndarray  # stratum-in-cell (0..S-1) of each PSU
    stratum_cell: np.ndarray  # cell of each stratum-in-cell
    stratum_psus: np.ndarray  # PSUs of each stratum-in-cell
    psu_weight: np.ndarray  # Σ weight per PSU
    total: np.ndarray  # Σ weight per cell
    cumulative: np.ndarray  # running Σ weight within the cell, per row
    psus: np.ndarray  # PSUs per cell
    strata: np.ndarray  # strata per cell

    @classmethod
    def of(
        cls, cells: int, cell: np.ndarray, weight: np.ndarray, stratum: np.ndarray, psu: np.ndarray
    ) -> CellDesign:
        cell = np.asarray(cell, dtype=np.int64)
        weight = np.asarray(weight, dtype=float)
        psu_codes = pairs(cell, psu)
        psu_first = np.zeros(int(psu_codes.max(initial=-1)) + 1, dtype=np.int64)
        psu_first[psu_codes[::-1]] = np.arange(len(cell))[::-1]  # any row of the PSU
        psu_cell = cell[psu_first]
        stratum_codes = pairs(psu_cell, stratum[psu_first])
        stratum_psus = np.bincount(stratum_codes, minlength=int(stratum_codes.max(initial=-1)) + 1)
        stratum_first = np.zeros(len(stratum_psus), dtype=np.int64)
        stratum_first[stratum_codes[::-1]] = np.arange(len(stratum_codes))[::-1]
        stratum_cell = psu_cell[stratum_first]
        return cls(
            cells=cells,
            cell=cell,
            weight=weight,
            psu_of_row=psu_codes,
            psu_cell=psu_cell,
            psu_stratum=stratum_codes,
            stratum_cell=stratum_cell,
            stratum_psus=stratum_psus,
            psu_weight=np.bincount(psu_codes, weights=weight, minlength=len(psu_first)),
            total=np.bincount(cell, weights=weight, minlength=cells),
            cumulative=pd.Series(weight).groupby(cell).cumsum().to_numpy(),
            psus=np.bincount(psu_cell, minlength=cells),
            strata=np.bincount(stratum_cell, minlength=cells),
        )

    def permuted(self, order: np.ndarray) -> CellDesign:
        """The same design over its rows in another order within their cells (``order`` keeps
        every row in its cell): only the per-row arrays move; PSU and stratum totals stay."""
        weight = self.weight[order]
        return dataclasses.replace(
            self,
            weight=weight,
            psu_of_row=self.psu_of_row[order],
            cumulative=pd.Series(weight).groupby(self.cell).cumsum().to_numpy(),
        )

    @property
    def df(self) -> np.ndarray:
        """Degrees of freedom per cell: PSUs − strata (R's ``degf``)."""
        return self.psus - self.strata

    @property
    def effective_df(self) -> np.ndarray:
        """Degrees of freedom per cell counting each stratum's PSUs by Kish's effective number,
        (Σ W_c)² / Σ W_c² over the PSUs' weight totals W_c, minus one per stratum. Equal to
        ``df`` when the PSUs weigh alike (self-weighting, equal takes); smaller when a few PSUs
        carry most of the weight, which is when the linearised variance of a ratio understates
        the truth with few PSUs (benchmarks/bench_ci_coverage.py: 91 % coverage at 5–10 PSUs
        with unequal weights on ``df``, 94 % on this)."""
        strata = len(self.stratum_psus)
        total = np.bincount(self.psu_stratum, weights=self.psu_weight, minlength=strata)
        square = np.bincount(self.psu_stratum, weights=self.psu_weight**2, minlength=strata)
        with np.errstate(invalid="ignore", divide="ignore"):
            effective = np.where(square > 0, total**2 / square, 0.0)
        effective = np.minimum(effective, self.stratum_psus)  # rounding never adds a PSU
        return np.bincount(self.stratum_cell, weights=effective - 1, minlength=self.cells)

    def mean(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean of ``y`` per cell and its linearised design variance.

        A stratum with a single PSU has no within-stratum variance to estimate from; as R's
        ``options(survey.lonely.psu = "adjust")``, its PSU is centred at the mean of all the
        cell's PSU scores (zero) instead, which errs on the wide side. A cell of one stratum with
        one PSU has no variance (NaN)."""
        per_psu = np.bincount(self.psu_of_row, weights=self.weight * y, minlength=len(self.psu_cell))
        with np.errstate(invalid="ignore", divide="ignore"):
            estimate = np.bincount(self.psu_cell, weights=per_psu, minlength=self.cells) / self.total
            score = (per_psu - estimate[self.psu_cell] * self.psu_weight) / self.total[self.psu_cell]
            n_h = self.stratum_psus
            centre = np.bincount(self.psu_stratum, weights=score, minlength=len(n_h)) / n_h
            lonely = n_h[self.psu_stratum] < 2
            deviation = np.where(lonely, score, score - centre[self.psu_stratum])
            squares = np.bincount(self.psu_stratum, weights=deviation**2, minlength=len(n_h))
            per_stratum = np.where(n_h > 1, squares * n_h / np.maximum(n_h - 1, 1), squares)
        variance = np.bincount(self.stratum_cell, weights=per_stratum, minlength=self.cells)
        return estimate, np.where(self.psus < 2, np.nan, variance)

    def position(self, starts: np.ndarray, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per cell, the row of the weighted quantile at cumulative ``share`` by the "school"
        rule, and whether the share is hit exactly (then the quantile is the mean of that row and
        the next). ``share`` NaN gives position -1."""
        target = share * self.total
        counts = np.bincount(self.cell, minlength=self.cells)
        # R's qs(): the last row whose running weight is ≤ p·W; "exact" when its share is p.
        # One binary search per cell on its running weights (cells are few, rows many).
        reached = np.zeros(self.cells, dtype=np.int64)
        for c in np.flatnonzero((counts > 0) & ~np.isnan(share)):
            start = int(starts[c])
            reached[c] = np.searchsorted(self.cumulative[start:start + int(counts[c])],
                                         target[c], side="right")
        last = starts + np.maximum(reached - 1, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            exact = (reached > 0) & (share - self.cumulative[np.minimum(last, len(self.cell) - 1)]
                                     / self.total == 0) if len(self.cell) else reached > 0
        # otherwise the next row (R takes the second row when even the first exceeds p·W; the
        # first is the smallest value whose share reaches p, and is taken here)
        found = np.where(exact, reached - 1, np.minimum(reached, np.maximum(counts - 1, 0)))
        row = np.where(np.isnan(share) | (counts == 0), -1, starts + found)
        exact &= (row >= 0) & (found < counts - 1)
        return row, exact


@dataclass(frozen=True)
class Quantiles:
    """A quantile per cell as a value or a bound (``reports.stats``' convention): ``value`` NaN
    where the quantile is a censored value, then ``below`` holds the limit it lies below."""

    value: np.ndarray
    below: np.ndarray
    row: np.ndarray  # the row whose value reaches the share (-1: none)
    exact: np.ndarray  # the share is hit exactly: the quantile is the mean of ``row`` and the next


def quantile(
    design: CellDesign,
    starts: np.ndarray,
    values: np.ndarray,
    censored: np.ndarray,
    bound: np.ndarray,
    share: np.ndarray | float,
) -> Quantiles:
    """Weighted "school" quantile per cell over sorted rows. A censored row counts as its cell's
    ``bound`` (its largest limit): the result is then a bound, not a value."""
    share = np.broadcast_to(np.asarray(share, dtype=float), (design.cells,))
    row, exact = design.position(starts, share)
    safe = np.maximum(row, 0)
    after = np.minimum(safe + 1, max(len(values) - 1, 0))
    if not len(values):
        nan = np.full(design.cells, np.nan)
        return Quantiles(nan, nan.copy(), row, exact)
    cell_bound = bound[design.cell[safe]]
    first = np.where(censored[safe], cell_bound, values[safe])
    second = np.where(censored[after], cell_bound, values[after])
    estimate = np.where(exact, (first + second) / 2, first)
    is_bound = censored[safe] | (exact & censored[after])
    missing = row < 0
    return Quantiles(
        np.where(missing | is_bound, np.nan, estimate),
        np.where(~missing & is_bound, estimate, np.nan),
        row,
        exact,
    )


@dataclass(frozen=True)
class Interval:
    low: Quantiles
    high: Quantiles
    se: np.ndarray  # standard error of the quantile, (high − low) / (2 t), R's convention
    df: np.ndarray
    note: np.ndarray  # object array of NOTE_* per cell


def woodruff(
    design: CellDesign,
    starts: np.ndarray,
    values: np.ndarray,
    censored: np.ndarray,
    bound: np.ndarray,
    estimate: np.ndarray,
    confidence: float,
    min_psus: int,
    df: np.ndarray,
) -> Interval:
    """Woodruff interval of a quantile per cell (``svyquantile(interval.type = "mean")``).

    ``estimate``: the quantile per cell, NaN where it is not a number (censoring leaves it an
    interval). A cell gets no interval (NaN, with the reason in ``note``) when it has no data,
    when its estimate is not a number, when it has fewer than ``min_psus`` − 1 degrees of freedom beyond its
    strata (PSUs − strata < min_psus − 1), or when F̂ ± t·SE leaves [0, 1]."""
    at = np.where(np.isnan(estimate), np.inf, estimate)
    below = censored | (values <= at[design.cell])
    share, variance = design.mean(below.astype(float))
    t = t_quantile(confidence, df)
    half = t * np.sqrt(variance)
    lo_share, hi_share = share - half, share + half
    note = np.full(design.cells, NOTE_NONE, dtype=object)
    note[(lo_share < 0) | (hi_share > 1)] = NOTE_UNBOUNDED
    few = (design.df < min_psus - 1) | np.isnan(variance)
    few |= ~np.isfinite(t)
    note[few] = NOTE_FEW_PSUS
    note[np.isnan(estimate)] = NOTE_CENSORED
    note[design.total == 0] = NOTE_NO_DATA
    keep = note == NOTE_NONE
    low = quantile(design, starts, values, censored, bound, np.where(keep, lo_share, np.nan))
    high = quantile(design, starts, values, censored, bound, np.where(keep, hi_share, np.nan))
    with np.errstate(invalid="ignore"):
        se = np.where(keep, (high.value - low.value) / (2 * t), np.nan)
    return Interval(low, high, se, np.asarray(df, dtype=float), note)


def logit_interval(
    design: CellDesign, indicator: np.ndarray, confidence: float, min_psus: int, df: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(proportion, low, high) per cell, as fractions: the weighted mean of a 0/1 indicator and
    its interval logit(p̂) ± t·SE/(p̂(1 − p̂)) mapped back (``svyciprop(method = "xlogit")``).
    No interval (NaN) under the same minimum of PSUs as quantiles, nor at p̂ = 0 or 1, where the
    logit scale has no width to offer."""
    p, variance = design.mean(indicator.astype(float))
    t = t_quantile(confidence, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.log(p / (1 - p))
        half = t * np.sqrt(variance) / (p * (1 - p))
        low = 1 / (1 + np.exp(-(centre - half)))
        high = 1 / (1 + np.exp(-(centre + half)))
    ok = (design.df >= min_psus - 1) & (p > 0) & (p < 1)
    ok &= np.isfinite(half)
    return p, np.where(ok, low, np.nan), np.where(ok, high, np.nan)


def difference_interval(
    diff: float, se_now: float, df_now: float, se_then: float, df_then: float, confidence: float
) -> tuple[float, float]:
    """Interval of a difference between two independent rounds: SE² adds; degrees of freedom by
    Welch–Satterthwaite. NaN when either round has no interval."""
    v_now, v_then = se_now**2, se_then**2
    if not (np.isfinite(v_now) and np.isfinite(v_then)) or v_now + v_then == 0:
        return np.nan, np.nan
    df = (v_now + v_then) ** 2 / (v_now**2 / df_now + v_then**2 / df_then)
    half = float(sps.t.ppf(0.5 + confidence / 2, df)) * np.sqrt(v_now + v_then)
    return diff - half, diff + half
