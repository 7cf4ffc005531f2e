"""Results below a limit, with several limits in one group: what the data say and no more.

A result reported ``< L`` (below the limit of detection, or below a dilution-scaled limit such as
``< 28 µg/L`` for a sample diluted twice) is the interval ``[0, L)``; a measured result ``v`` is
the point ``[v, v]``. With several limits the results cannot simply be sorted "censored lowest":
``< 28`` may lie above a measured 20. So every order statistic is an interval too.

Why this is exact: the k-th smallest of values ``x_i ∈ [a_i, b_i]`` is non-decreasing in every
``x_i``, so over all values consistent with the data it ranges from the k-th smallest lower end
to the k-th smallest upper end, and (being continuous on a connected set) takes every value in
between. The weighted "school" quantile ``stats`` prints (``reports.survey``) is the smallest
value whose weighted running share reaches p (or the mean of it and the next one): raising any
value lowers the weighted distribution function everywhere, so it is monotone too, and it is
continuous (where two values cross, they are equal). Its interval runs from the quantile of the
lower ends to that of the upper ends, each sorted with its weight. The upper end is *open* (not
reachable) when an order statistic it uses comes from a
``< L``; for that, an open ``L`` sorts just below a measured ``L`` (it stands for "L minus a
little"). A quantile is a number exactly when its interval is one point: every ordering
consistent with the data gives the same value.

A class is given when the whole interval lies in one class (``classify_interval``); a
proportion is a range (``low``: censored results counted only where they certainly meet the
condition, ``high``: wherever they may); a confidence interval is printed from the lowest its
lower end can be to the highest its upper end can be, which is never inverted.

Pure numpy; the functions take per-stratum sorted arrays so that a national table of a million
rows stays one vectorised pass (``stats`` does the grouping).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reports.criteria import ClassTable


@dataclass(frozen=True)
class Bounds:
    """A quantity known to lie in ``[low, high]`` (``[low, high)`` when ``open_high``); a number
    when ``low == high``. NaN bounds: no data."""

    low: float
    high: float
    open_high: bool = False

    @property
    def known(self) -> bool:
        return not math.isnan(self.low) and self.low == self.high and not self.open_high

    @property
    def empty(self) -> bool:
        return math.isnan(self.low) or math.isnan(self.high)


def upper_order(
    starts: np.ndarray, counts: np.ndarray, upper: np.ndarray, open_: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper ends sorted within each segment (``starts``/``counts``), an open end just below a
    closed one of the same value: (sorted upper ends, their open flags, the positions they come
    from — so that weights can follow their values).

    Expects the order ``stats`` keeps its strata in: within a segment the open ends (results
    below a limit) first, then the closed ones ascending. Only the open ends move: each segment
    holding some has them sorted and merged into its closed values (one ``searchsorted``), so a
    national frame with a few censored results in every stratum costs milliseconds, not a sort
    of every row."""
    upper = upper.copy()
    open_ = open_.copy()
    order = np.arange(len(upper))
    running = np.concatenate(([0], np.cumsum(open_, dtype=np.int64)))
    n_open = running[starts + counts] - running[starts]
    for segment in np.flatnonzero(n_open):
        first, opens, end = starts[segment], n_open[segment], starts[segment] + counts[segment]
        by_limit = np.argsort(upper[first : first + opens], kind="stable")
        limits = upper[first : first + opens][by_limit]
        closed = upper[first + opens : end]
        at = np.searchsorted(closed, limits, side="left")  # an open L goes before a closed L
        moved = at + np.arange(opens)  # where each open end lands in the segment
        is_open = np.zeros(end - first, dtype=bool)
        is_open[moved] = True
        segment_order = np.empty(end - first, dtype=np.int64)
        segment_order[moved] = first + by_limit
        segment_order[~is_open] = np.arange(first + opens, end)
        order[first:end] = segment_order
        upper[first:end] = np.insert(closed, at, limits)
        open_[first:end] = is_open
    return upper, open_, order


def classify_interval(table: ClassTable, low: float, high: float, open_high: bool) -> str | None:
    """The class of a median known to lie in ``[low, high]`` (or ``[low, high)``), or None when
    that interval reaches into two classes. Classes are half-open ``[break, next break)``, so an
    open upper end at a break stays in the class below it."""
    first = table.classify(low)
    if open_high:
        index = int(np.searchsorted(np.asarray(table.breaks, dtype=float), high, side="left"))
        last = table.classes[index]
    else:
        last = table.classify(high)
    return first if first == last else None


def at_least(low: float, high: float, open_high: bool, cut: float) -> bool | None:
    """Whether a quantity in the interval is ≥ ``cut``: True, False, or None (cannot be told)."""
    if low >= cut:
        return True
    if high < cut or (open_high and high <= cut):
        return False
    return None


def ci_envelope(low: Bounds, high: Bounds) -> tuple[Bounds, Bounds]:
    """The ends of a confidence interval whose ends are themselves intervals, as printed: the
    lower end as low as it can be, the upper end as high as it can be. The lower end never
    exceeds the upper (``low ≤ high`` in every ordering), so its upper bound is clipped to the
    upper end's, and the printed interval is never inverted."""
    if low.empty or high.empty:
        return low, high
    clipped_high = min(low.high, high.high)
    clipped_open = low.open_high if low.high < high.high else (low.open_high and high.open_high)
    return Bounds(min(low.low, clipped_high), clipped_high, clipped_open), high
