"""Control targets and scores: the mean and SD that Westgard rules and Levey-Jennings charts use.

A new control material needs ≥ 20 results on separate days before its mean and SD are trusted
(CLSI C24-A4, domain.md §4.2); a new lot of an existing material may take a mean from 10 and carry
the previous lot's SD. Those minimums are parameters because provisional schemes exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from flask_babel import gettext as _

__all__ = ["ControlTarget", "establish_target", "cv_pct", "z_scores", "MIN_RUNS_NEW_MATERIAL",
           "MIN_RUNS_NEW_LOT"]

MIN_RUNS_NEW_MATERIAL = 20
MIN_RUNS_NEW_LOT = 10


@dataclass(frozen=True)
class ControlTarget:
    mean: float
    sd: float
    n: int = 0

    def __post_init__(self) -> None:
        if not self.sd > 0:
            raise ValueError(_("a control SD must be positive, got %(sd)s", sd=self.sd))

    @property
    def cv_pct(self) -> float:
        return 100.0 * self.sd / self.mean

    def z(self, value: float) -> float:
        return (value - self.mean) / self.sd

    def limits(self, k: float) -> tuple[float, float]:
        """mean − k·SD, mean + k·SD (the Levey-Jennings lines)."""
        return self.mean - k * self.sd, self.mean + k * self.sd


def establish_target(values: Sequence[float], *, min_runs: int = MIN_RUNS_NEW_MATERIAL,
                     carry_sd: float | None = None) -> ControlTarget:
    """Mean and sample SD (n − 1) of the control's results, one per run.

    With `carry_sd` (a new lot of an existing material) only the mean is taken from `values`.
    """
    data = np.asarray(values, dtype=float)
    if data.size < min_runs:
        raise ValueError(_("a target needs at least %(needed)d runs; got %(got)d", needed=min_runs,
                           got=data.size))
    if not np.all(np.isfinite(data)):
        raise ValueError(_("control values must be finite numbers"))
    sd = carry_sd if carry_sd is not None else float(np.std(data, ddof=1))
    return ControlTarget(float(np.mean(data)), sd, int(data.size))


def cv_pct(values: Sequence[float]) -> float:
    """Coefficient of variation in % (sample SD / mean)."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        raise ValueError("a CV needs at least two values")
    return 100.0 * float(np.std(data, ddof=1)) / float(np.mean(data))


def z_scores(values: Sequence[float], target: ControlTarget) -> list[float]:
    return [target.z(float(v)) for v in values]
