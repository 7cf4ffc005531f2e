"""Population statistics of urinary and salt iodine by region × population group × period.

Pure pandas/numpy: tidy DataFrames in, tidy DataFrames out. The LIMS queries; this module counts.

Input: urine (one row per specimen)
    region_code   str    ISO 3166-2 code of the region, e.g. "KZ-75"; never empty
    group_code    str    population group, e.g. "SAC", "WRA", "PW", "LW", "U2"; each code must be
                         mapped to a criteria kind (``StatsParams.group_kinds``)
    period        str    survey round / period label, e.g. "2024"; periods sort as strings
    cluster_id    str|int|None  sampling cluster (PSU); optional column. Clusters are keyed by
                         (region_code, cluster_id), so "C01" in two regions are two clusters.
                         A null cluster_id makes that specimen its own cluster.
    stratum       str    optional: design stratum within the region (e.g. "urban"/"rural");
                         keyed by (region_code, stratum). Absent or null: the region is the stratum.
    weight        float  optional: design weight (1 / selection probability, e.g. of a PPS
                         cluster); > 0 where analysed. Absent: equal weights (self-weighting).
    population    float  optional: population of the row's stratum (from the round's reference
                         table). Where every stratum of a pooled row has one, each stratum's
                         weights are scaled to add up to it, so strata combine by population.
    uic           float  µg/L; NaN when censored (and for rejected/pending specimens)
    censored      bool   True when the result is "< LOD"
    lod           float  µg/L, the limit the censored result is below; required where censored
    status        str    optional: "analysed" (default when the column is absent), "rejected"
                         (collected but not analysable) or "pending" (collected, no result yet)
Input: salt (one row per household sample)
    region_code, period, status (optional, as above)
    method        str    "titration" | "wyd" | "rtk"; may be empty where the sample is not analysed
    iodine_mg_kg  float  mg/kg for titration and WYD; NaN when censored and for RTK
    category      str    RTK only: "none" | "below_15" | "at_least_15" (criteria.RTK_CATEGORIES)
    censored      bool   quantitative "< LOD" results
    lod           float  optional column, required where a quantitative result is censored
Bad input raises ``StatsInputError`` naming the column, the problem and the first offending rows.

Censored values (< LOD). Nothing is substituted (no LOD/2, no LOD/√2). A result "< L" is the
interval [0, L) — L may differ from row to row (a diluted sample's limit is the LOD times the
dilution). A censored value counts as below any cut-off at or above its L; against a cut-off
below its L it is *indeterminate*, and the proportion is then reported as a range: ``pct_…``
counts it as not meeting the condition and ``pct_…_hi`` as meeting it (the two are equal when
nothing is indeterminate). Quantiles (median, P25, P75) are weighted order statistics (the
"school" rule of ``reports.survey``; with equal weights numpy's "averaged_inverted_cdf", the
textbook median). With results below a limit they are intervals (``reports.censoring``):
``<q>_lo`` is the quantile with every "< L" at 0, ``<q>_hi`` the quantile with every "< L" at L
(``<q>_open``: that end is not reached) — the quantile is monotone in every value, so these
bound every value it can take over all orderings consistent with the data — and ``<q>`` is the
number only where that interval is one point. The median's class is given where its interval
lies within one class, else "indeterminate"; the distribution flag likewise. A stratum with
fewer than ``StatsParams.min_n`` analysed samples is marked ``few_samples``.

Design-based intervals (``reports.survey``): quantiles are weighted ("school" rule: the textbook
median when weights are equal); the CI of the median is Woodruff's, and every published
percentage gets a logit interval, both following the design — strata, clusters, weights, t
quantiles on PSUs − strata degrees of freedom (PSUs counted by their effective number where
weights are unequal, ``StatsParams.df_rule``). Pooled (national) rows are stratified by region
(or by the given strata) and weighted. Small designs are honest: below ``StatsParams.min_psus``
no interval is printed and ``ci_note`` says why; below the minimum counts of specimens the class
is provisional or withheld (``class_status``). Where censoring leaves the median a range, no
interval either (``ci_note`` "censored"; see ``urine_summary``). Where the median is a number,
an end of its interval may fall among results "< L" and is then given as ``ci_…_below``.

Wording: the output speaks of "% of samples below x µg/L", never of "% deficient" (domain.md §1.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reports import censoring, survey
from reports.criteria import (
    DEFAULT_FLAG_GROUPS,
    DEFAULT_GROUP_KINDS,
    DEFAULT_SALT,
    FLAG_CUTOFF,
    FLAG_MAX_PERCENT,
    FLAG_MEDIAN_AT_LEAST,
    INDICATORS,
    NOT_ANALYSED,
    QUANTITATIVE_METHODS,
    RTK_CATEGORIES,
    RTK_NO_IODINE,
    WHO2007,
    Kind,
    SaltCriteria,
    SaltMethod,
    Scheme,
)
from reports.survey import CellDesign

URINE_COLUMNS = ("region_code", "group_code", "period", "uic", "censored", "lod")
SALT_COLUMNS = ("region_code", "period", "method", "iodine_mg_kg", "category", "censored")
STATUSES = ("analysed", "rejected", "pending")
NATIONAL = "national"  # region_code of the pooled national rows
QUANTITIES = ("median", "p25", "p75")


class StatsInputError(ValueError):
    """The input frame does not have the documented shape; nothing is computed from it."""


@dataclass(frozen=True)
class StatsParams:
    scheme: Scheme = WHO2007
    salt: SaltCriteria = DEFAULT_SALT
    group_kinds: Mapping[str, Kind] = field(default_factory=lambda: dict(DEFAULT_GROUP_KINDS))
    confidence: float = 0.95
    #: Groups for which the "median ≥ 100 and ≤ 20 % below 50 µg/L" flag is defined (§1.5).
    flag_groups: frozenset[str] = DEFAULT_FLAG_GROUPS
    #: A stratum with fewer analysed samples gets its median and class marked as indicative.
    min_n: int = 30
    #: An interval needs PSUs − strata ≥ min_psus − 1 (for a one-stratum region: at least
    #: min_psus clusters) and two PSUs in every stratum; otherwise none is printed. Four: with
    #: three, the intervals that are bounded cover the median in only 92 % of surveys
    #: (benchmarks/bench_ci_coverage.py, README).
    min_psus: int = 4
    #: Degrees of freedom of the t quantiles: "effective" (PSUs counted by Kish's effective
    #: number, ``CellDesign.effective_df``) or "design" (PSUs − strata, R's ``degf``).
    df_rule: str = "effective"
    #: Fewer analysed specimens than this: the class is withheld (the median is still shown).
    min_n_class: int = 30
    #: Fewer than this, or no interval for lack of clusters: the class is provisional.
    min_n_final: int = 100

    def __post_init__(self) -> None:
        if not 0.5 < self.confidence < 1:
            raise ValueError("confidence must be between 0.5 and 1")
        if self.min_n < 1:
            raise ValueError("min_n must be at least 1")
        if self.min_psus < 2:
            raise ValueError("an interval needs at least two PSUs")
        if self.df_rule not in ("effective", "design"):
            raise ValueError('df_rule must be "effective" or "design"')
        if not 0 < self.min_n_class <= self.min_n_final:
            raise ValueError("need 0 < min_n_class ≤ min_n_final")


# --- validation ---------------------------------------------------------------------------------


def _fail(column: str, problem: str, mask: np.ndarray, index: pd.Index) -> None:
    rows = list(index[np.flatnonzero(mask)[:5]])
    raise StatsInputError(f"{column}: {problem} ({int(mask.sum())} rows, first: {rows})")


def _require(df: pd.DataFrame, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise StatsInputError(f"missing columns {missing}; expected at least {list(columns)}")


@dataclass(frozen=True)
class _Labels:
    """A label column as integer codes into sorted unique values (validated on the uniques)."""

    codes: np.ndarray
    uniques: np.ndarray

    @classmethod
    def of(cls, df: pd.DataFrame, column: str) -> _Labels:
        codes, uniques = pd.factorize(df[column], sort=True)
        uniques = np.asarray(uniques, dtype=object).astype(str)
        blank = np.char.strip(uniques.astype(str)) == ""
        bad = (codes < 0) | (blank[codes] if len(uniques) else False)
        if np.any(bad):
            _fail(column, "empty value", np.asarray(bad), df.index)
        return cls(codes.astype(np.int64), uniques.astype(object))

    @classmethod
    def constant(cls, value: str, rows: int) -> _Labels:
        return cls(np.zeros(rows, dtype=np.int64), np.array([value], dtype=object))

    def values(self) -> np.ndarray:
        return self.uniques[self.codes]


def _status(df: pd.DataFrame) -> np.ndarray:
    if "status" not in df.columns:
        return np.full(len(df), "analysed", dtype=object)
    status = _Labels.of(df, "status")
    bad = ~np.isin(status.uniques, STATUSES)
    if bad.any():
        _fail("status", f"must be one of {STATUSES}", bad[status.codes], df.index)
    return status.values()


def _bool(df: pd.DataFrame, column: str) -> np.ndarray:
    values = df[column]
    if values.isna().any():
        _fail(column, "missing boolean", values.isna().to_numpy(), df.index)
    return values.astype(bool).to_numpy()


def _measurements(
    df: pd.DataFrame, value_col: str, analysed: np.ndarray, quantitative: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Values, censored flags and LODs, checked: every analysed quantitative row has a value ≥ 0
    or is censored with a positive LOD."""
    value = pd.to_numeric(df[value_col], errors="coerce").to_numpy(dtype=float)
    censored = _bool(df, "censored") & quantitative
    lod = (
        pd.to_numeric(df["lod"], errors="coerce").to_numpy(dtype=float)
        if "lod" in df.columns
        else np.full(len(df), np.nan)
    )
    check = analysed & quantitative
    if (bad := check & ~censored & ~(value >= 0)).any():
        _fail(value_col, "analysed, not censored, but no value ≥ 0", bad, df.index)
    if (bad := check & censored & ~(lod > 0)).any():
        _fail("lod", "censored result without a positive LOD", bad, df.index)
    value = np.where(censored, np.nan, value)
    return value, censored, lod


# --- grouping and order statistics --------------------------------------------------------------


@dataclass(frozen=True)
class _DesignRows:
    """The survey design of every input row: weight, stratum and PSU (integer labels)."""

    weight: np.ndarray
    stratum: np.ndarray
    psu: np.ndarray
    population: np.ndarray  # of the row's stratum; NaN where unknown

    @classmethod
    def equal(cls, rows: int) -> _DesignRows:
        """Every row its own PSU with weight 1, one stratum (quantiles without a design)."""
        return cls(np.ones(rows), np.zeros(rows, dtype=np.int64), np.arange(rows),
                   np.full(rows, np.nan))


@dataclass
class _Strata:
    """Rows grouped by key columns; analysed rows sorted within each stratum, censored lowest.
    (A "stratum" here is an estimation cell of the output table; the design's strata are in
    ``design``.)"""

    keys: pd.DataFrame  # one row per stratum
    gid: np.ndarray  # stratum of every input row
    order: np.ndarray  # positions of analysed rows, by stratum then value
    starts: np.ndarray
    counts: np.ndarray  # analysed rows per stratum
    values: np.ndarray  # sorted; NaN where censored
    censored: np.ndarray  # sorted
    lod: np.ndarray  # sorted
    bound: np.ndarray  # per stratum: largest LOD among its censored values (NaN if none)
    design: CellDesign  # over the sorted rows
    weighting: np.ndarray  # per stratum: "self", "design" or "population"


def _value_order(analysed: np.ndarray, value: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Positions of the analysed rows by value, censored first (shared by several groupings)."""
    rows = np.flatnonzero(analysed)
    return rows[np.argsort(np.where(censored[rows], -np.inf, value[rows]), kind="stable")]


def _strata(
    labels: dict[str, _Labels],
    analysed: np.ndarray,
    value: np.ndarray,
    censored: np.ndarray,
    lod: np.ndarray,
    by_value: np.ndarray | None = None,
    design: _DesignRows | None = None,
) -> _Strata:
    combined = np.zeros(len(analysed), dtype=np.int64)
    for column in labels.values():
        combined = combined * len(column.uniques) + column.codes
    size = 1
    for column in labels.values():
        size *= len(column.uniques)
    present = np.flatnonzero(np.bincount(combined, minlength=size))
    lookup = np.zeros(size, dtype=np.int64)
    lookup[present] = np.arange(len(present))
    gid = lookup[combined]
    keys = {}
    rest = present
    for name, column in reversed(labels.items()):
        rest, code = np.divmod(rest, len(column.uniques))
        keys[name] = column.uniques[code]
    keys = pd.DataFrame({name: keys[name] for name in labels})
    strata = len(present)
    if by_value is None:
        by_value = _value_order(analysed, value, censored)
    small = gid.astype(np.uint16) if strata < 2**16 else gid  # radix sort for the stable pass
    order = by_value[np.argsort(small[by_value], kind="stable")]
    counts = np.bincount(gid[by_value], minlength=strata)
    starts = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    bound = np.full(strata, np.nan)
    cens_rows = by_value[censored[by_value]]
    if len(cens_rows):
        worst = pd.Series(lod[cens_rows]).groupby(gid[cens_rows]).max()
        bound[worst.index.to_numpy()] = worst.to_numpy()
    rows = design or _DesignRows.equal(len(analysed))
    cell = gid[order]
    weight, weighting = _cell_weights(strata, cell, rows.weight[order], rows.stratum[order],
                                      rows.population[order])
    cells = CellDesign.of(strata, cell, weight, rows.stratum[order], rows.psu[order])
    return _Strata(
        keys, gid, order, starts, counts, value[order], censored[order], lod[order], bound,
        cells, weighting,
    )


def _cell_weights(
    cells: int, cell: np.ndarray, weight: np.ndarray, stratum: np.ndarray, population: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weights of the sorted rows: the design weights, scaled within each stratum of a cell to
    its population where every stratum of the cell has one (so strata combine by population
    share, not by how many specimens each happened to yield). Also how each cell is weighted."""
    unequal = np.bincount(cell, weights=weight != weight[:1], minlength=cells) > 0
    weighting = np.where(unequal, "design", "self").astype(object)
    if not len(cell) or np.isnan(population).all():
        return weight, weighting
    key = survey.pairs(cell, stratum)
    per_stratum = np.bincount(key, weights=weight)
    known = np.bincount(cell, weights=np.isnan(population), minlength=cells) == 0
    scale = np.where(known[cell], population / per_stratum[key], 1.0)
    weighting[known & (np.bincount(cell, minlength=cells) > 0)] = "population"
    return weight * scale, weighting


def _quantiles(s: _Strata) -> dict[str, np.ndarray]:
    """Median, P25 and P75 of every stratum as intervals (``reports.censoring``): for each
    quantity ``<q>`` (the number, NaN unless every ordering consistent with the data gives the
    same value), ``<q>_lo``, ``<q>_hi`` and ``<q>_open`` (the upper end is not reachable).

    Weighted "school" quantiles of the lowest completion (every "< L" at 0: the stored order,
    censored first) and of the highest (every "< L" at L, re-sorted with its weight)."""
    plain = np.zeros(len(s.values), dtype=bool)
    lower = np.where(s.censored, 0.0, s.values)
    upper, open_, order = censoring.upper_order(
        s.starts, s.counts, np.where(s.censored, s.lod, s.values), s.censored
    )
    high_design = s.design.permuted(order)
    after = np.minimum(np.arange(len(open_)) + 1, max(len(open_) - 1, 0))
    columns: dict[str, np.ndarray] = {}
    for name, q in zip(QUANTITIES, (0.5, 0.25, 0.75)):
        low = survey.quantile(s.design, s.starts, lower, plain, s.bound, q).value
        top = survey.quantile(high_design, s.starts, upper, plain, s.bound, q)
        row = np.maximum(top.row, 0)
        open_high = (top.row >= 0) & (
            open_[row] | (top.exact & open_[after[row]]) if len(open_) else False
        )
        columns[name] = np.where((low == top.value) & ~open_high, low, np.nan)
        columns[f"{name}_lo"], columns[f"{name}_hi"] = low, top.value
        columns[f"{name}_open"] = open_high
    return columns


def _segment_count(s: _Strata, sorted_mask: np.ndarray) -> np.ndarray:
    running = np.concatenate(([0], np.cumsum(sorted_mask, dtype=np.int64)))
    return running[s.starts + s.counts] - running[s.starts]


def _proportion(
    s: _Strata, certain: np.ndarray, maybe: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted % of analysed samples certainly meeting a condition, and % possibly meeting it,
    per stratum. ``certain``/``maybe`` are masks over the stratum-sorted analysed rows
    (``_Strata.values``)."""
    yes, _ = s.design.mean(certain.astype(float))
    perhaps, _ = s.design.mean((certain | maybe).astype(float))
    return 100 * yes, 100 * perhaps


def _below(
    value: np.ndarray, censored: np.ndarray, lod: np.ndarray, cut: float
) -> tuple[np.ndarray, np.ndarray]:
    return (~censored & (value < cut)) | (censored & (lod <= cut)), censored & (lod > cut)


def _at_least(
    value: np.ndarray, censored: np.ndarray, lod: np.ndarray, cut: float
) -> tuple[np.ndarray, np.ndarray]:
    return ~censored & (value >= cut), censored & (lod > cut)


def _counts(s: _Strata, status: np.ndarray) -> dict[str, np.ndarray]:
    strata = len(s.counts)
    return {
        "n_collected": np.bincount(s.gid, minlength=strata),
        "n_rejected": np.bincount(s.gid, weights=status == "rejected", minlength=strata).astype(
            np.int64
        ),
        "n_analysed": s.counts,
        "n_censored": _segment_count(s, s.censored),
    }


def pct_label(cut: float, above: bool = False) -> str:
    return f"pct_{'at_least' if above else 'below'}_{cut:g}"


# --- design ------------------------------------------------------------------------------------


def _cluster_codes(df: pd.DataFrame, region: _Labels) -> np.ndarray | None:
    """A global cluster index per row (-1: no cluster), or None when the frame has no clusters.
    Codes follow the sorted labels, so they do not depend on row order."""
    if "cluster_id" not in df.columns or df["cluster_id"].isna().all():
        return None
    labels = df["cluster_id"]
    if labels.dtype == object:  # mixed labels ("C01", 7) sort only as text
        labels = labels.astype("string")
    cluster, uniques = pd.factorize(labels, sort=True)
    return np.where(cluster < 0, -1, region.codes * (len(uniques) + 1) + cluster)


def _design_rows(df: pd.DataFrame, region: _Labels, analysed: np.ndarray) -> _DesignRows:
    """Strata, PSUs and weights of every row from the optional design columns (validated)."""
    rows = len(df)
    clusters = _cluster_codes(df, region)
    psu = np.full(rows, -1, dtype=np.int64) if clusters is None else clusters
    alone = psu < 0  # no cluster: the specimen is its own PSU
    psu = np.where(alone, psu.max(initial=-1) + 1 + np.cumsum(alone), psu)
    stratum = region.codes
    if "stratum" in df.columns and df["stratum"].notna().any():
        labels = df["stratum"].astype("string").fillna("")
        inner, uniques = pd.factorize(labels, sort=True)
        stratum = region.codes * (len(uniques) + 1) + inner
    weight = np.ones(rows)
    if "weight" in df.columns:
        weight = pd.to_numeric(df["weight"], errors="coerce").to_numpy(dtype=float)
        if (bad := analysed & ~(np.isfinite(weight) & (weight > 0))).any():
            _fail("weight", "design weight must be a finite number > 0", bad, df.index)
    population = np.full(rows, np.nan)
    if "population" in df.columns:
        population = pd.to_numeric(df["population"], errors="coerce").to_numpy(dtype=float)
        if (bad := analysed & ~np.isnan(population) & ~(np.isfinite(population) & (population > 0))).any():
            _fail("population", "stratum population must be a finite number > 0", bad, df.index)
    # the design is checked per PSU: a PSU lies in one stratum
    if rows:
        first = np.zeros(int(psu.max()) + 1, dtype=np.int64)
        first[psu[::-1]] = stratum[::-1]
        if (spread := first[psu] != stratum).any():
            _fail("stratum", "a cluster lies in more than one stratum", spread, df.index)
    return _DesignRows(weight, stratum, psu, population)


def _class_status(n: np.ndarray, note: np.ndarray, params: StatsParams) -> np.ndarray:
    """final, provisional (few specimens, or no interval for lack of clusters) or withheld."""
    status = np.where(
        (n < params.min_n_final) | (note == survey.NOTE_FEW_PSUS), "provisional", "final"
    ).astype(object)
    status[n < params.min_n_class] = "withheld"
    status[n == 0] = "withheld"
    return status


# --- urine ---------------------------------------------------------------------------------------


@dataclass
class UrineResult:
    """The summary table (its ``median_se`` and ``ci_df`` columns carry what trends need)."""

    table: pd.DataFrame


def _urine_inputs(df: pd.DataFrame, params: StatsParams) -> dict:
    _require(df, URINE_COLUMNS)
    region, group, period = (_Labels.of(df, c) for c in ("region_code", "group_code", "period"))
    unknown = ~np.isin(group.uniques, list(params.group_kinds))
    if unknown.any():
        _fail(
            "group_code",
            f"no criteria kind for group(s) {sorted(group.uniques[unknown])}; known: "
            f"{sorted(params.group_kinds)}",
            unknown[group.codes],
            df.index,
        )
    status = _status(df)
    analysed = status == "analysed"
    value, censored, lod = _measurements(df, "uic", analysed, np.ones(len(df), dtype=bool))
    return {
        "region_code": region,
        "group_code": group,
        "period": period,
        "status": status,
        "analysed": analysed,
        "value": value,
        "censored": censored,
        "lod": lod,
        "by_value": _value_order(analysed, value, censored),
        "design": _design_rows(df, region, analysed),
        "clustered": "cluster_id" in df.columns and bool(df["cluster_id"].notna().any()),
    }


def urine_summary(
    df: pd.DataFrame, params: StatsParams = StatsParams(), *, national: bool = True
) -> UrineResult:
    """One row per region × group × period (plus pooled ``region_code == "national"`` rows).

    Columns: region_code, group_code, period, kind, n_collected, n_rejected, n_analysed,
    n_censored, median, p25, p75 (each with ``_lo``, ``_hi``, ``_open``: the interval it is known
    to lie in), ci_low, ci_low_below, ci_high, ci_high_below, median_se, ci_df, psus, strata,
    ci_note (why there is no interval: ``reports.survey.NOTE_*``), pct_below_20/50/100/150 and
    pct_at_least_300/500 (each with a ``_hi`` twin and a design-based interval
    ``_ci_low``/``_ci_high``, from the low and the high count respectively; NaN where the cut-off
    does not apply to the group's kind), class_key, class_status (final / provisional /
    withheld), few_samples (bool), flag_applies (bool: the group is one of
    ``StatsParams.flag_groups``), flag_met (bool or None), scheme (the scheme's printed name),
    clustered (bool), weighting (self / design / population).

    Each population group of a period is its own design (groups are sampled from their own
    frames: schools, clinics…); a regional row is the domain of that region's strata.

    The median's interval where censoring leaves the median itself an interval (``median`` NaN,
    ``median_lo`` < ``median_hi``): none. Woodruff's interval inverts the distribution function
    at the estimate, and an estimate that is only known to lie in a range has no single F̂ to
    invert; an envelope over all completions would be a range of ranges that reads as precision
    the data do not have. ``ci_note`` is then ``survey.NOTE_CENSORED`` and the report says why.
    """
    x = _urine_inputs(df, params)
    frames = [_urine_table(df, x, params, by_region=True)]
    if national:
        frames.append(_urine_table(df, x, params, by_region=False))
    return UrineResult(pd.concat(frames, ignore_index=True))


def _urine_table(df: pd.DataFrame, x: dict, params: StatsParams, *, by_region: bool) -> pd.DataFrame:
    region = x["region_code"] if by_region else _Labels.constant(NATIONAL, len(df))
    s = _strata(
        {"region_code": region, "group_code": x["group_code"], "period": x["period"]},
        x["analysed"],
        x["value"],
        x["censored"],
        x["lod"],
        x["by_value"],
        x["design"],
    )
    out = s.keys.copy()
    out["kind"] = [str(params.group_kinds[g]) for g in out["group_code"]]
    for name, column in _counts(s, x["status"]).items():
        out[name] = column
    for name, column in _quantiles(s).items():
        out[name] = column
    df = s.design.effective_df if params.df_rule == "effective" else s.design.df
    ci = survey.woodruff(s.design, s.starts, s.values, s.censored, s.bound,
                         out["median"].to_numpy(), params.confidence, params.min_psus, df)
    out["ci_low"], out["ci_low_below"] = ci.low.value, ci.low.below
    out["ci_high"], out["ci_high_below"] = ci.high.value, ci.high.below
    out["median_se"], out["ci_df"] = ci.se, ci.df
    out["psus"], out["strata"], out["ci_note"] = s.design.psus, s.design.strata, ci.note
    kinds = out["kind"].to_numpy()
    for above, cuts in (
        (False, sorted({c for i in INDICATORS.values() for c in i.below})),
        (True, sorted({c for i in INDICATORS.values() for c in i.at_or_above})),
    ):
        for cut in cuts:
            test = _at_least if above else _below
            certain, maybe = test(s.values, s.censored, s.lod, cut)
            applies = np.isin(
                kinds,
                [
                    str(k)
                    for k, i in INDICATORS.items()
                    if cut in (i.at_or_above if above else i.below)
                ],
            )
            label = pct_label(cut, above)
            # the low count's lower end and the high count's upper end bound the range (the
            # same count when no censored value is indeterminate against this cut-off)
            low, ci_low, low_high = survey.logit_interval(s.design, certain, params.confidence,
                                                          params.min_psus, df)
            high, _, ci_high = survey.logit_interval(
                s.design, certain | maybe, params.confidence, params.min_psus, df
            ) if maybe.any() else (low, ci_low, low_high)
            out[label] = np.where(applies, 100 * low, np.nan)
            out[label + "_hi"] = np.where(applies, 100 * high, np.nan)
            out[label + "_ci_low"] = np.where(applies, 100 * ci_low, np.nan)
            out[label + "_ci_high"] = np.where(applies, 100 * ci_high, np.nan)
    out["class_key"] = [
        _classify(params.scheme, Kind(k), lo, hi, op, n)
        for k, lo, hi, op, n in zip(
            kinds, out["median_lo"], out["median_hi"], out["median_open"], out["n_analysed"]
        )
    ]
    out["few_samples"] = (out["n_analysed"] > 0) & (out["n_analysed"] < params.min_n)
    out["flag_applies"] = out["group_code"].isin(list(params.flag_groups)).to_numpy()
    out["flag_met"] = pd.Series(
        dtype=object,
        data=[
            _flag(applies, lo, hi, op, pct, pct_hi) if n else None
            for applies, lo, hi, op, pct, pct_hi, n in zip(
                out["flag_applies"],
                out["median_lo"],
                out["median_hi"],
                out["median_open"],
                out[pct_label(FLAG_CUTOFF)],
                out[pct_label(FLAG_CUTOFF) + "_hi"],
                out["n_analysed"],
            )
        ],
    )
    out["class_status"] = _class_status(out["n_analysed"].to_numpy(), ci.note, params)
    out["scheme"] = params.scheme.name
    out["clustered"] = x["clustered"]
    out["weighting"] = s.weighting
    return out


def _classify(
    scheme: Scheme, kind: Kind, low: float, high: float, open_high: bool, n: int
) -> str:
    """The class of the median when its whole interval lies in one class, else "indeterminate"."""
    if n == 0:
        return "no_data"
    return (
        censoring.classify_interval(scheme.table(kind), low, high, bool(open_high))
        or "indeterminate"
    )


def _flag(
    applies: bool, low: float, high: float, open_high: bool, pct: float, pct_hi: float
) -> bool | None:
    """domain.md §1.5: median ≥ 100 µg/L and ≤ 20 % of samples < 50 µg/L, for the groups the
    criterion is defined for (``StatsParams.flag_groups``: school-age children); None where it
    does not apply or censoring leaves it undecided."""
    if not applies:
        return None
    median_ok = censoring.at_least(low, high, bool(open_high), FLAG_MEDIAN_AT_LEAST)
    if median_ok is False or bool(pct > FLAG_MAX_PERCENT):
        return False
    if pct_hi > FLAG_MAX_PERCENT or median_ok is None:
        return None
    return True


# --- trends --------------------------------------------------------------------------------------


def urine_trends(
    current: UrineResult, earlier: UrineResult, confidence: float = 0.95
) -> pd.DataFrame:
    """Difference in medians (current − earlier) for every region × group present in both, for
    each current period against each earlier period. The rounds are independent designs: the
    difference's variance is the sum of the two Woodruff standard errors squared, with
    Welch–Satterthwaite degrees of freedom. No CI (NaN) where either round has none.

    Columns: region_code, group_code, period, earlier_period, median, earlier_median, difference,
    diff_ci_low, diff_ci_high.
    """
    def analysed(result: UrineResult) -> dict[tuple[str, str, str], tuple[float, float, float]]:
        table = result.table[result.table["n_analysed"] > 0]
        keys = table[["region_code", "group_code", "period"]].astype(str).itertuples(index=False)
        return {
            tuple(k): (m, se, df)  # type: ignore[misc]
            for k, m, se, df in zip(keys, table["median"], table["median_se"], table["ci_df"])
        }

    now_medians, then_medians = analysed(current), analysed(earlier)
    earlier_by: dict[tuple[str, str], list[str]] = {}
    for region, group, period in then_medians:
        earlier_by.setdefault((region, group), []).append(period)
    rows = []
    for (region, group, period), (now, se_now, df_now) in sorted(now_medians.items()):
        for earlier_period in sorted(earlier_by.get((region, group), [])):
            if earlier_period == period:
                continue
            then, se_then, df_then = then_medians[(region, group, earlier_period)]
            low, high = survey.difference_interval(
                now - then, se_now, df_now, se_then, df_then, confidence
            )
            rows.append((region, group, period, earlier_period, now, then, now - then, low, high))
    return pd.DataFrame(
        rows,
        columns=[
            "region_code",
            "group_code",
            "period",
            "earlier_period",
            "median",
            "earlier_median",
            "difference",
            "diff_ci_low",
            "diff_ci_high",
        ],
    )


# --- salt ----------------------------------------------------------------------------------------


def salt_summary(
    df: pd.DataFrame, params: StatsParams = StatsParams(), *, national: bool = True
) -> pd.DataFrame:
    """One row per region × period × method (plus pooled ``"national"`` rows).

    Salt samples collected but not analysed (status pending or rejected) have no method: their
    method cell may be empty, and they are counted on a ``method == "not_analysed"`` line of their
    own (collected, rejected; no percentages), never under a method.

    Columns: region_code, period, method, n_collected, n_rejected, n_analysed, n_censored,
    pct_any_iodine (> 0 mg/kg), pct_at_least_15, pct_household_range (WHO household range,
    15–40 mg/kg), pct_national_range (the national standard's range), pct_below_5 (each with
    ``_hi``; for RTK only pct_any_iodine, the others NaN), median, p25, p75 with their
    ``_lo``/``_hi``/``_open`` bounds (NaN for RTK), criteria (the thresholds' printed label). The
    cut-off values come from ``params.salt``; the column names keep the defaults' numbers only in
    their documentation.
    """
    _require(df, SALT_COLUMNS)
    status = _status(df)
    analysed = status == "analysed"
    methods = df["method"].astype(object).where(df["method"].notna(), None).to_numpy()
    methods = np.where(~analysed & pd.isna(methods), NOT_ANALYSED, methods)
    df = df.assign(method=methods)
    region, period, method_labels = (_Labels.of(df, c) for c in ("region_code", "period", "method"))
    known = [str(m) for m in SaltMethod]
    bad = ~np.isin(method_labels.uniques, known + [NOT_ANALYSED])
    if bad.any():
        _fail("method", f"must be one of {known}", bad[method_labels.codes], df.index)
    method = method_labels.values()
    if (bad := analysed & (method == NOT_ANALYSED)).any():
        _fail("method", f"an analysed sample needs one of {known}", bad, df.index)
    quantitative = np.isin(method, [str(m) for m in QUANTITATIVE_METHODS])
    value, censored, lod = _measurements(df, "iodine_mg_kg", analysed, quantitative)
    category = df["category"].astype(object).where(df["category"].notna(), None).to_numpy()
    rtk = method == str(SaltMethod.RTK)
    bad = rtk & analysed & ~np.isin(category, RTK_CATEGORIES)
    if bad.any():
        _fail("category", f"RTK result must be one of {RTK_CATEGORIES}", bad, df.index)
    crit = params.salt

    def within(low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
        return quantitative & ~censored & (value >= low) & (value <= high), censored & (lod > low)

    adequate, adequate_maybe = _at_least(value, censored, lod, crit.adequate_at_least)
    conditions = {
        "pct_any_iodine": (
            (quantitative & ~censored & (value > 0)) | (rtk & (category != RTK_NO_IODINE)),
            quantitative & censored,
        ),
        "pct_at_least_15": (adequate & quantitative, adequate_maybe),
        "pct_household_range": within(*crit.household_range),
        "pct_national_range": within(*crit.national_range),
        "pct_below_5": _below(value, censored, lod, crit.non_iodized_below),
    }
    by_value = _value_order(analysed, value, censored)
    tables = []
    for regions in [region, _Labels.constant(NATIONAL, len(df))] if national else [region]:
        s = _strata(
            {"region_code": regions, "period": period, "method": method_labels},
            analysed,
            value,
            censored,
            lod,
            by_value,
        )
        out = s.keys.copy()
        for name, column in _counts(s, status).items():
            out[name] = column
        is_rtk = (out["method"] == str(SaltMethod.RTK)).to_numpy()
        for name, (certain, maybe) in conditions.items():
            pct, pct_hi = _proportion(s, certain[s.order], maybe[s.order])
            keep = ~is_rtk | (name == "pct_any_iodine")
            out[name] = np.where(keep, pct, np.nan)
            out[name + "_hi"] = np.where(keep, pct_hi, np.nan)
        for name, column in _quantiles(s).items():
            out[name] = np.where(is_rtk, False, column) if name.endswith("_open") else np.where(
                is_rtk, np.nan, column)
        out["criteria"] = crit.label
        tables.append(out)
    return pd.concat(tables, ignore_index=True)
