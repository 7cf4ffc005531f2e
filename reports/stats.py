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
nothing is indeterminate). Quantiles (median, P25, P75; numpy's default linear interpolation,
"type 7") are intervals (``reports.censoring``): ``<q>_lo``/``<q>_hi``/``<q>_open`` bound every
value the quantile can take over all orderings consistent with the data, and ``<q>`` is the
number only where that interval is one point. The median's class is given where its interval
lies within one class, else "indeterminate"; the distribution flag likewise. A stratum with
fewer than ``StatsParams.min_n`` analysed samples is marked ``few_samples``.

Confidence interval of the median: percentile bootstrap, ``replicates`` replicates, seed derived
from ``StatsParams.seed`` and the stratum's key (so a stratum's CI does not depend on which other
strata are in the frame). Without clusters, each replicate draws the resample's middle order
statistics directly — the k-th smallest of n uniform draws is Beta(k, n−k+1), and the next one
is that plus (1−it)·Beta(1, n−k) — which is the same distribution as resampling n values with
replacement and taking the median, at O(replicates) cost instead of O(replicates·n). With clusters,
whole clusters are resampled with replacement (multinomial counts per cluster) and the weighted
median of each replicate is found blockwise: a matrix product of copies drawn and per-cluster
counts finds the block of sorted values holding it, then that block is weighed value by value.
A stratum whose values all come from one cluster gets no CI (NaN): resampling one cluster always
returns it, and the zero-width interval would claim a precision the design cannot show.
The bootstrap is unweighted (self-weighting design assumed).

Wording: the output speaks of "% of samples below x µg/L", never of "% deficient" (domain.md §1.1).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from reports import censoring
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
    replicates: int = 1000
    seed: int = 20070
    confidence: float = 0.95
    #: Groups for which the "median ≥ 100 and ≤ 20 % below 50 µg/L" flag is defined (§1.5).
    flag_groups: frozenset[str] = DEFAULT_FLAG_GROUPS
    #: A stratum with fewer analysed samples gets its median and class marked as indicative.
    min_n: int = 30

    def __post_init__(self) -> None:
        if self.replicates < 100:
            raise ValueError(
                "at least 100 bootstrap replicates are needed for a 95 % percentile CI"
            )
        if not 0.5 < self.confidence < 1:
            raise ValueError("confidence must be between 0.5 and 1")
        if self.min_n < 1:
            raise ValueError("min_n must be at least 1")


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


@dataclass
class _Strata:
    """Rows grouped by key columns; analysed rows sorted within each stratum, censored lowest."""

    keys: pd.DataFrame  # one row per stratum
    gid: np.ndarray  # stratum of every input row
    order: np.ndarray  # positions of analysed rows, by stratum then value
    starts: np.ndarray
    counts: np.ndarray  # analysed rows per stratum
    values: np.ndarray  # sorted; NaN where censored
    censored: np.ndarray  # sorted
    lod: np.ndarray  # sorted
    bound: np.ndarray  # per stratum: largest LOD among its censored values (NaN if none)


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
    return _Strata(
        keys, gid, order, starts, counts, value[order], censored[order], lod[order], bound
    )


def _quantiles(s: _Strata) -> dict[str, np.ndarray]:
    """Median, P25 and P75 of every stratum as intervals (``reports.censoring``): for each
    quantity ``<q>`` (the number, NaN unless every ordering consistent with the data gives the
    same value), ``<q>_lo``, ``<q>_hi`` and ``<q>_open`` (the upper end is not reachable)."""
    lower = np.where(s.censored, 0.0, s.values)  # stratum order: censored first, then by value
    upper, open_ = censoring.upper_order(
        s.starts, s.counts, np.where(s.censored, s.lod, s.values), s.censored
    )
    columns: dict[str, np.ndarray] = {}
    for name, q in zip(QUANTITIES, (0.5, 0.25, 0.75)):
        low, high, open_high = censoring.quantile_bounds(s.starts, s.counts, lower, upper, open_, q)
        columns[name] = np.where((low == high) & ~open_high, low, np.nan)
        columns[f"{name}_lo"], columns[f"{name}_hi"], columns[f"{name}_open"] = low, high, open_high
    return columns


def _segment_count(s: _Strata, sorted_mask: np.ndarray) -> np.ndarray:
    running = np.concatenate(([0], np.cumsum(sorted_mask, dtype=np.int64)))
    return running[s.starts + s.counts] - running[s.starts]


def _proportion(
    s: _Strata, certain: np.ndarray, maybe: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """% of analysed samples certainly meeting a condition, and % possibly meeting it, per stratum.
    ``certain``/``maybe`` are masks over the stratum-sorted analysed rows (``_Strata.values``)."""
    yes = _segment_count(s, certain)
    unsure = _segment_count(s, maybe)
    with np.errstate(invalid="ignore", divide="ignore"):
        n = np.where(s.counts > 0, s.counts, np.nan)
        return 100 * yes / n, 100 * (yes + unsure) / n


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


# --- bootstrap -----------------------------------------------------------------------------------


def _rng(params: StatsParams, key: tuple[str, ...]) -> np.random.Generator:
    return np.random.default_rng([params.seed, zlib.crc32("|".join(key).encode("utf-8"))])


def _iid_median_ranks(
    n: int, replicates: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """0-based ranks of the two middle order statistics of ``replicates`` resamples of size n."""
    k = (n + 1) // 2  # 1-based rank of the lower middle value
    u1 = rng.beta(k, n - k + 1, size=replicates)
    if n % 2:
        u2 = u1
    else:
        u2 = u1 + (1 - u1) * rng.beta(1, n - k, size=replicates)
    r1 = np.minimum((u1 * n).astype(np.int64), n - 1)
    r2 = np.minimum((u2 * n).astype(np.int64), n - 1)
    return r1, r2


def _cluster_median_ranks(
    clusters: np.ndarray, replicates: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """0-based ranks (in the stratum's sorted order) of the two middle values of ``replicates``
    cluster resamples. ``clusters`` holds the cluster index (0..m-1) of each sorted value."""
    m = int(clusters.max()) + 1
    picks = rng.integers(0, m, size=(replicates, m)) + (np.arange(replicates) * m)[:, None]
    draws = np.bincount(picks.ravel(), minlength=replicates * m).reshape(
        replicates, m
    )  # copies drawn
    return weighted_middle_ranks(clusters, draws)


def weighted_middle_ranks(
    clusters: np.ndarray, draws: np.ndarray, blocks: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``draws`` (copies of each cluster in one replicate), the 0-based ranks of the
    two middle values of the replicate's pooled sample.

    Every value weighs "copies drawn of its cluster"; the middle values are where the running
    weight reaches half the total. The sorted values are cut into ``blocks`` blocks (by default
    about 2√n, at most 512: measured fastest from 700 to 265,000 values); one matrix product
    gives every replicate's running weight at every block end (per-cluster counts per block,
    times copies drawn), which finds the block; the values inside it are then weighed one by
    one. Integer weights in float64 are exact far beyond any survey's size."""
    replicates, m = draws.shape
    n = len(clusters)
    if blocks is None:
        blocks = min(512, max(16, int(2 * np.sqrt(n))))
    block = -(-n // blocks)
    blocks = -(-n // block)
    per_block = np.bincount(clusters * blocks + np.arange(n) // block, minlength=m * blocks)
    prefix = np.cumsum(per_block.reshape(m, blocks), axis=1)  # values of cluster c in blocks 0..k
    reached = draws.astype(np.float64) @ prefix.astype(np.float64)  # replicate × block end
    total = reached[:, -1].astype(np.int64)
    rows = np.arange(replicates)

    def search(target: np.ndarray) -> np.ndarray:
        found = (reached < target[:, None]).sum(axis=1)  # the block where the weight reaches target
        before = np.where(found > 0, reached[rows, np.maximum(found - 1, 0)], 0).astype(np.int64)
        positions = found[:, None] * block + np.arange(block)
        inside = positions < n
        weights = np.where(inside, draws[rows[:, None], clusters[np.minimum(positions, n - 1)]], 0)
        running = before[:, None] + np.cumsum(weights, axis=1)
        return found * block + np.argmax(running >= target[:, None], axis=1)

    return search((total + 1) // 2), search(total // 2 + 1)


@dataclass(frozen=True)
class Replicates:
    """Bootstrap replicate medians of one stratum; ``censored`` replicates are known only to lie
    below ``value`` (a bound)."""

    value: np.ndarray
    censored: np.ndarray

    def interval(self, confidence: float) -> tuple[float, float, float, float]:
        """Percentile interval: (low, low_below, high, high_below), *_below as in ``_quantile``."""
        order = np.lexsort((self.value, ~self.censored))  # censored first, then by value
        b = len(order)
        tail = (1 - confidence) / 2
        ends = []
        for position in (int(np.floor(tail * b)), int(np.ceil((1 - tail) * b)) - 1):
            pick = order[min(max(position, 0), b - 1)]
            if self.censored[pick]:
                # censored replicates are ordered by bound; the order statistic of the unknown
                # values is at most the same order statistic of their bounds
                ends += [np.nan, float(self.value[pick])]
            else:
                ends += [float(self.value[pick]), np.nan]
        return ends[0], ends[1], ends[2], ends[3]


def _bootstrap(
    s: _Strata, g: int, clusters: np.ndarray | None, params: StatsParams, key: tuple[str, ...]
) -> Replicates | None:
    n = int(s.counts[g])
    if n == 0:
        return None
    rng = _rng(params, key)
    start = int(s.starts[g])
    if clusters is None:
        r1, r2 = _iid_median_ranks(n, params.replicates, rng)
    else:
        local, labels = pd.factorize(clusters[s.order[start : start + n]], sort=True)
        singles = local < 0  # no cluster: its own cluster, numbered in sorted-value order
        local[singles] = len(labels) + np.arange(int(singles.sum()))
        if local.max() < 1:
            # One cluster: resampling it returns it every time, a zero-width "interval" that
            # would claim a precision the design cannot show. No CI rather than a false one.
            return None
        r1, r2 = _cluster_median_ranks(local, params.replicates, rng)
    values = s.values[start : start + n]
    cens = s.censored[start : start + n]
    bound = np.where(cens, s.bound[g], values)
    return Replicates((bound[r1] + bound[r2]) / 2, cens[r1])


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


# --- urine ---------------------------------------------------------------------------------------


@dataclass
class UrineResult:
    """The summary table plus the bootstrap replicates behind its CIs (for trends)."""

    table: pd.DataFrame
    replicates: dict[tuple[str, str, str], Replicates]


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
    }


def urine_summary(
    df: pd.DataFrame,
    params: StatsParams = StatsParams(),
    *,
    national: bool = True,
    bootstrap: bool = True,
) -> UrineResult:
    """One row per region × group × period (plus pooled ``region_code == "national"`` rows).

    Columns: region_code, group_code, period, kind, n_collected, n_rejected, n_analysed,
    n_censored, median, p25, p75 (each with ``_lo``, ``_hi``, ``_open``: the interval it is known
    to lie in), ci_low, ci_low_below, ci_high, ci_high_below, pct_below_20/50/100/150 and
    pct_at_least_300/500 (each with a ``_hi`` twin; NaN where the cut-off does not apply to the
    group's kind), class_key, few_samples (bool), flag_applies (bool: the group is one of
    ``StatsParams.flag_groups``), flag_met (bool or None), scheme (the scheme's printed name),
    clustered (bool), replicates.
    """
    x = _urine_inputs(df, params)
    clusters = _cluster_codes(df, x["region_code"])
    frames = [_urine_table(df, x, clusters, params, by_region=True, bootstrap=bootstrap)]
    if national:
        frames.append(_urine_table(df, x, clusters, params, by_region=False, bootstrap=bootstrap))
    tables, reps = zip(*frames)
    replicates: dict[tuple[str, str, str], Replicates] = {}
    for r in reps:
        replicates.update(r)
    table = pd.concat(tables, ignore_index=True)
    return UrineResult(table, replicates)


def _urine_table(
    df: pd.DataFrame,
    x: dict,
    clusters: np.ndarray | None,
    params: StatsParams,
    *,
    by_region: bool,
    bootstrap: bool,
) -> tuple[pd.DataFrame, dict]:
    region = x["region_code"] if by_region else _Labels.constant(NATIONAL, len(df))
    s = _strata(
        {"region_code": region, "group_code": x["group_code"], "period": x["period"]},
        x["analysed"],
        x["value"],
        x["censored"],
        x["lod"],
        x["by_value"],
    )
    out = s.keys.copy()
    out["kind"] = [str(params.group_kinds[g]) for g in out["group_code"]]
    for name, column in _counts(s, x["status"]).items():
        out[name] = column
    for name, column in _quantiles(s).items():
        out[name] = column
    kinds = out["kind"].to_numpy()
    for above, cuts in (
        (False, sorted({c for i in INDICATORS.values() for c in i.below})),
        (True, sorted({c for i in INDICATORS.values() for c in i.at_or_above})),
    ):
        for cut in cuts:
            test = _at_least if above else _below
            low, high = _proportion(s, *test(s.values, s.censored, s.lod, cut))
            applies = np.isin(
                kinds,
                [
                    str(k)
                    for k, i in INDICATORS.items()
                    if cut in (i.at_or_above if above else i.below)
                ],
            )
            out[pct_label(cut, above)] = np.where(applies, low, np.nan)
            out[pct_label(cut, above) + "_hi"] = np.where(applies, high, np.nan)
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
    replicates = {}
    ci = np.full((len(out), 4), np.nan)
    for g, key in enumerate(out[["region_code", "group_code", "period"]].itertuples(index=False)):
        key = tuple(map(str, key))
        rep = _bootstrap(s, g, clusters, params, key) if bootstrap else None
        if rep is not None:
            replicates[key] = rep
            ci[g] = rep.interval(params.confidence)
    out["ci_low"], out["ci_low_below"], out["ci_high"], out["ci_high_below"] = ci.T
    out["scheme"] = params.scheme.name
    out["clustered"] = clusters is not None
    out["replicates"] = params.replicates
    return out, replicates


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
    each current period against each earlier period. The CI is the percentile interval of the
    differences of the two rounds' independent bootstrap replicates; it is left NaN when any
    replicate of either round is censored (the differences cannot all be told) or when either
    round has no CI (one cluster).

    Columns: region_code, group_code, period, earlier_period, median, earlier_median, difference,
    diff_ci_low, diff_ci_high.
    """
    def analysed(result: UrineResult) -> dict[tuple[str, str, str], float]:
        table = result.table[result.table["n_analysed"] > 0]
        keys = table[["region_code", "group_code", "period"]].astype(str).itertuples(index=False)
        return {tuple(k): m for k, m in zip(keys, table["median"])}  # type: ignore[misc]

    now_medians, then_medians = analysed(current), analysed(earlier)
    earlier_by: dict[tuple[str, str], list[str]] = {}
    for region, group, period in then_medians:
        earlier_by.setdefault((region, group), []).append(period)
    rows = []
    tail = (1 - confidence) / 2
    for (region, group, period), now in sorted(now_medians.items()):
        for earlier_period in sorted(earlier_by.get((region, group), [])):
            if earlier_period == period:
                continue
            then = then_medians[(region, group, earlier_period)]
            rep = current.replicates.get((region, group, period))
            old = earlier.replicates.get((region, group, earlier_period))
            low = high = np.nan  # no CI where either round has none (one cluster) or censoring
            if rep is not None and old is not None:
                lost = rep.censored | old.censored
                if not lost.any():
                    ordered = np.sort(rep.value - old.value)
                    b = len(ordered)
                    low = ordered[int(np.floor(tail * b))]
                    high = ordered[int(np.ceil((1 - tail) * b)) - 1]
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
