"""Our laboratory's results in an external scheme (CDC EQUIP, a salt scheme): the summary of the
replicate values of one blind material, and the verdict against the scheme's acceptance limit.

EQUIP does not publish its criterion (domain.md §2.6), so the limit is configuration: a share of
the target (``percent``), an absolute deviation (``absolute``) that applies below a level
(``absolute_below``; everywhere when that level is not set), or both — below the level the
absolute limit, at or above it the percentage. Pure: no Flask, no database.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ReplicateSummary:
    """``n`` values, their mean, SD (n − 1; None below two values) and CV % (None without SD
    or with a zero mean)."""

    n: int
    mean: float | None
    sd: float | None
    cv: float | None


def summarise(values: Sequence[float]) -> ReplicateSummary:
    """Mean, SD and CV of the finite ``values`` (non-finite ones are not measurements)."""
    finite = [float(v) for v in values if v is not None and math.isfinite(v)]
    n = len(finite)
    if not n:
        return ReplicateSummary(0, None, None, None)
    mean = math.fsum(finite) / n
    if n < 2:
        return ReplicateSummary(n, mean, None, None)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in finite) / (n - 1))
    return ReplicateSummary(n, mean, sd, 100 * sd / mean if mean else None)


def allowed_deviation(target: float, *, percent: float | None, absolute: float | None,
                      absolute_below: float | None) -> float:
    """How far from ``target`` our mean may lie and still be acceptable.

    Raises ``ValueError`` when the configuration gives no limit for this target (no percentage
    and the target is at or above the absolute limit's level)."""
    if absolute is not None and (absolute_below is None or target < absolute_below):
        return absolute
    if percent is not None:
        return abs(target) * percent / 100
    raise ValueError("no acceptance limit applies to this target")


def within_limits(mean: float, target: float, allowed: float) -> bool:
    """|mean − target| ≤ allowed, with a tolerance of rounding (a mean exactly on the limit,
    e.g. 115 against 100 ± 15 %, is acceptable however the floats fall)."""
    return abs(mean - target) <= allowed + 1e-9 * max(1.0, abs(target))
