"""Standard curves: fit, accept or refuse, and turn sample responses into results.

The run's standards are fitted with the method version's model; the default for Sandell–Kolthoff
is ``ln(A) = a + b·C`` because the ceric reduction is pseudo-first-order with a rate linear in
iodide, so absorbance *falls* exponentially as iodine rises (domain.md §2.1, §2.4). Linear,
quadratic and four-parameter logistic models are offered because SOPs differ.

A sample result is never invented: a response beyond the top standard asks for dilution, one
under the LOD is stored censored (``< LOD``) with the limit, and replicates that disagree are sent
back for repetition rather than averaged.
"""

from __future__ import annotations

import enum
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from flask_babel import gettext
from scipy import optimize, stats

from lims.analysis.labels import analysis_label, decimal
from lims.analysis.methods import (
    CalibrationModel,
    CalibrationSpec,
    MethodVersion,
    ResponseDirection,
    ToleranceKind,
)

__all__ = [
    "CalibrationError", "StandardPoint", "CalibrationCurve", "CurveVerdict", "ResultStatus",
    "SampleResult", "fit_curve", "evaluate_curve", "classify_sample", "classify_reading",
]


class CalibrationError(ValueError):
    """Standards that cannot be fitted at all (too few, non-positive for a log model, flat)."""


@dataclass(frozen=True)
class StandardPoint:
    """One standard reading and how well the fitted curve gives its concentration back.

    `residual` is in the space the model is fitted in (ln units for ``ln_linear``); recovery is
    ``None`` for the zero standard, which has no concentration to recover.
    """

    concentration: float
    response: float
    residual: float
    back_calculated: float
    recovery_pct: float | None


_MIN_POINTS = {CalibrationModel.LN_LINEAR: 2, CalibrationModel.LINEAR: 2,
               CalibrationModel.QUADRATIC: 3, CalibrationModel.FOUR_PL: 4}


def _four_pl(x: np.ndarray, a: float, b: float, c: float, d: float) -> np.ndarray:
    """Response at zero concentration is `a`, at infinite concentration `d`; `c` is the midpoint."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return d + (a - d) / (1.0 + np.power(np.asarray(x, dtype=float) / c, b))


@dataclass(frozen=True)
class CalibrationCurve:
    """A fitted standard curve. `params` are (a, b) for ln_linear/linear (intercept, slope),
    (p0, p1, p2) for quadratic (y = p0 + p1·C + p2·C²) and (a, b, c, d) for 4PL."""

    model: CalibrationModel
    params: tuple[float, ...]
    r2: float
    standards: tuple[StandardPoint, ...]

    @property
    def residuals(self) -> tuple[float, ...]:
        return tuple(p.residual for p in self.standards)

    @property
    def top(self) -> float:
        """The highest standard actually fitted: the top of the calibrated range."""
        return max(p.concentration for p in self.standards)

    @property
    def lowest_nonzero(self) -> float | None:
        return min((p.concentration for p in self.standards if p.concentration > 0), default=None)

    def response(self, concentration: float) -> float:
        """The model's response at a concentration (for plotting and checks)."""
        p = self.params
        match self.model:
            case CalibrationModel.LN_LINEAR:
                return math.exp(p[0] + p[1] * concentration)
            case CalibrationModel.LINEAR:
                return p[0] + p[1] * concentration
            case CalibrationModel.QUADRATIC:
                return p[0] + p[1] * concentration + p[2] * concentration ** 2
            case CalibrationModel.FOUR_PL:
                return float(_four_pl(np.array([concentration]), *p)[0])
        raise AssertionError(self.model)  # pragma: no cover - enum is exhaustive

    def _rising(self) -> bool:
        low = min(p.concentration for p in self.standards)
        return self.response(self.top) > self.response(low)

    def concentration(self, response: float, dilution_factor: float = 1.0) -> float:
        """Concentration in the original sample for a response, times the dilution factor.

        Returns ``+inf`` / ``-inf`` when no concentration on the curve gives the response, on
        the high or low side (e.g. an S-K absorbance ≤ 0, or beyond a 4PL asymptote), so the
        caller can tell "dilute" from "below the curve" without a made-up number.
        """
        if dilution_factor <= 0:
            raise ValueError(f"dilution factor must be positive, got {dilution_factor}")
        return self._in_well(response) * dilution_factor

    def _in_well(self, y: float) -> float:
        p = self.params
        rising = self._rising()
        match self.model:
            case CalibrationModel.LN_LINEAR:
                if y <= 0:
                    return -math.inf if rising else math.inf
                return (math.log(y) - p[0]) / p[1]
            case CalibrationModel.LINEAR:
                return (y - p[0]) / p[1]
            case CalibrationModel.QUADRATIC:
                return self._quadratic_root(y, rising)
            case CalibrationModel.FOUR_PL:
                a, b, c, d = p
                if (y - d) * (a - d) <= 0:
                    return math.inf  # at or beyond the infinite-concentration asymptote
                q = (a - d) / (y - d) - 1.0
                return -math.inf if q < 0 else c * q ** (1.0 / b)
        raise AssertionError(self.model)  # pragma: no cover

    def _quadratic_root(self, y: float, rising: bool) -> float:
        """The root on the branch whose slope has the curve's direction (a parabola has one)."""
        p0, p1, p2 = self.params
        roots = np.roots([p2, p1, p0 - y]) if p2 != 0 else np.array([(y - p0) / p1])
        for root in roots:
            if abs(root.imag) < 1e-12 and ((p1 + 2 * p2 * root.real) > 0) == rising:
                return float(root.real)
        past_top = y - self.response(self.top)
        return math.inf if (past_top > 0 if rising else past_top < 0) else -math.inf

    def sample(self, points: int = 50) -> list[tuple[float, float]]:
        """(concentration, response) pairs along the calibrated range, for charts."""
        return [(float(x), self.response(float(x)))
                for x in np.linspace(0.0, self.top, points)]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; a non-finite back-calculation (standard off the curve) is stored as null."""
        return {"model": self.model.value, "params": list(self.params), "r2": self.r2,
                "standards": [{k: _finite(v) for k, v in asdict(p).items()}
                              for p in self.standards]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CalibrationCurve:
        def num(value: float | None) -> float:
            return math.nan if value is None else float(value)

        return cls(CalibrationModel(data["model"]), tuple(float(v) for v in data["params"]),
                   float(data["r2"]),
                   tuple(StandardPoint(float(p["concentration"]), float(p["response"]),
                                       num(p["residual"]), num(p["back_calculated"]),
                                       None if p["concentration"] == 0 else num(p["recovery_pct"]))
                         for p in data["standards"]))


def _finite(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


def fit_curve(concentrations: Sequence[float], responses: Sequence[float | None],
              model: CalibrationModel = CalibrationModel.LN_LINEAR) -> CalibrationCurve:
    """Fit the standards; a ``None`` response (no reading, over range) is left out of the fit.

    r² is computed in the space the model is fitted in (ln(A) for ln_linear).
    """
    if len(concentrations) != len(responses):
        raise CalibrationError(gettext("%(concentrations)d concentrations but %(responses)d "
                                       "responses", concentrations=len(concentrations),
                                       responses=len(responses)))
    pairs = [(float(c), float(r)) for c, r in zip(concentrations, responses, strict=True)
             if r is not None]
    x = np.array([c for c, _ in pairs])
    y = np.array([r for _, r in pairs])
    levels = len(set(x.tolist()))
    if levels < _MIN_POINTS[model]:
        raise CalibrationError(gettext("a %(model)s curve needs at least %(needed)d standard "
                                       "concentrations with a reading; got %(got)d",
                                       model=analysis_label(model), needed=_MIN_POINTS[model],
                                       got=levels))
    if model is CalibrationModel.LN_LINEAR:
        bad = [decimal(c, "g") for c, r in pairs if r <= 0]
        if bad:
            raise CalibrationError(gettext("ln model needs positive responses; non-positive at "
                                           "standard(s) %(standards)s", standards=", ".join(bad)))
        fit_y = np.log(y)
        line = stats.linregress(x, fit_y)
        params: tuple[float, ...] = (float(line.intercept), float(line.slope))
        predicted = line.intercept + line.slope * x
    elif model is CalibrationModel.LINEAR:
        fit_y = y
        line = stats.linregress(x, y)
        params = (float(line.intercept), float(line.slope))
        predicted = line.intercept + line.slope * x
    elif model is CalibrationModel.QUADRATIC:
        fit_y = y
        coef, *_ = np.linalg.lstsq(np.column_stack([np.ones_like(x), x, x ** 2]), y, rcond=None)
        params = tuple(float(v) for v in coef)
        predicted = coef[0] + coef[1] * x + coef[2] * x ** 2
    else:
        fit_y = y
        params = _fit_four_pl(x, y)
        predicted = _four_pl(x, *params)
    if model in (CalibrationModel.LN_LINEAR, CalibrationModel.LINEAR) and params[1] == 0:
        raise CalibrationError(gettext("the standards give a flat line (slope 0)"))
    ss_res = float(np.sum((fit_y - predicted) ** 2))
    ss_tot = float(np.sum((fit_y - fit_y.mean()) ** 2))
    if ss_tot == 0:
        raise CalibrationError(gettext("all standards have the same response"))
    r2 = 1.0 - ss_res / ss_tot
    unscored = tuple(StandardPoint(c, r, math.nan, math.nan, None) for c, r in pairs)
    curve = CalibrationCurve(model, params, r2, unscored)  # to invert with before scoring
    points = []
    for (c, r), fitted in zip(pairs, predicted, strict=True):
        back = curve.concentration(r)
        residual = (math.log(r) if model is CalibrationModel.LN_LINEAR else r) - float(fitted)
        points.append(StandardPoint(c, r, residual, back, 100.0 * back / c if c > 0 else None))
    return CalibrationCurve(model, params, r2, tuple(points))


def _fit_four_pl(x: np.ndarray, y: np.ndarray) -> tuple[float, ...]:
    order = np.argsort(x)
    positive = x[x > 0]
    p0 = [float(y[order[0]]), 1.0, float(np.median(positive)) if positive.size else 1.0,
          float(y[order[-1]])]
    bounds = ([-np.inf, 1e-3, 1e-9, -np.inf], [np.inf, 20.0, np.inf, np.inf])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optimize.OptimizeWarning)  # covariance is not used
            params, _ = optimize.curve_fit(_four_pl, x, y, p0=p0, bounds=bounds, maxfev=20000)
    except (RuntimeError, ValueError) as exc:
        raise CalibrationError(gettext("the 4PL fit did not converge: %(error)s",
                                       error=exc)) from exc
    return tuple(float(v) for v in params)


@dataclass(frozen=True)
class CurveVerdict:
    accepted: bool
    reasons: tuple[str, ...]


def evaluate_curve(curve: CalibrationCurve, spec: CalibrationSpec,
                   unit: str = "µg/L") -> CurveVerdict:
    """Check the curve against the method version's criteria; each failure is one plain sentence."""
    rules = spec.acceptance
    reasons: list[str] = []
    unit = analysis_label(unit)
    by_level: dict[float, list[float]] = {}
    for p in curve.standards:
        by_level.setdefault(p.concentration, []).append(p.response)
    if len(by_level) < rules.min_points:
        reasons.append(gettext("Only %(got)d standard concentrations have a reading; at least "
                               "%(needed)d are needed.", got=len(by_level),
                               needed=rules.min_points))
    if rules.require_monotonic:
        falling = spec.direction is ResponseDirection.DECREASING
        levels = sorted(by_level)
        means = [float(np.mean(by_level[c])) for c in levels]
        for (c0, m0), (c1, m1) in pairwise(zip(levels, means, strict=True)):
            if (m1 >= m0) if falling else (m1 <= m0):
                words = (gettext("Standards are not monotonic: the response at %(c1)s %(unit)s "
                                 "(%(m1)s) is not below the response at %(c0)s %(unit)s "
                                 "(%(m0)s).") if falling else
                         gettext("Standards are not monotonic: the response at %(c1)s %(unit)s "
                                 "(%(m1)s) is not above the response at %(c0)s %(unit)s "
                                 "(%(m0)s)."))
                reasons.append(words % {"c1": decimal(c1, "g"), "m1": decimal(m1, ".4g"),
                                        "c0": decimal(c0, "g"), "m0": decimal(m0, ".4g"),
                                        "unit": unit})
    if curve.r2 < rules.r2_min:
        reasons.append(gettext("r² %(r2)s is below the minimum %(minimum)s.",
                               r2=decimal(curve.r2, ".4f"), minimum=decimal(rules.r2_min, "g")))
    lowest = curve.lowest_nonzero
    for p in curve.standards:
        if p.recovery_pct is None:
            continue
        tol = rules.lowest_recovery_tolerance_pct if p.concentration == lowest \
            else rules.recovery_tolerance_pct
        if not math.isfinite(p.recovery_pct) or abs(p.recovery_pct - 100.0) > tol:
            reasons.append(gettext(
                "Standard %(standard)s %(unit)s back-calculates to %(back)s %(unit)s "
                "(%(recovery)s %% recovery; allowed %(low)s–%(high)s %%).",
                standard=decimal(p.concentration, "g"), unit=unit,
                back=decimal(p.back_calculated, ".4g"), recovery=decimal(p.recovery_pct, ".1f"),
                low=decimal(100 - tol, "g"), high=decimal(100 + tol, "g")))
    return CurveVerdict(not reasons, tuple(reasons))


class ResultStatus(enum.StrEnum):
    REPORTABLE = "reportable"
    BELOW_LOQ = "below_loq"  # measured value kept, flagged as not quantifiable with full precision
    BELOW_LOD = "below_lod"  # censored: value None, comparator "<", limit = the LOD
    BELOW_RANGE = "below_range"  # censored at the lowest standard (the LOD lies below it)
    DILUTE = "dilute_and_repeat"
    REPEAT = "repeat"


@dataclass(frozen=True)
class SampleResult:
    status: ResultStatus
    value: float | None
    comparator: str | None
    limit: float | None
    replicates: tuple[float | None, ...]
    spread: float | None
    dilution_factor: float
    suggested_dilution: float | None
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; replicates off the curve (±inf) are stored as null, the reason says why."""
        d = asdict(self)
        d["status"] = self.status.value
        d["replicates"] = [_finite(v) for v in self.replicates]
        d["reasons"] = list(self.reasons)
        return {k: _finite(v) for k, v in d.items()}


def classify_sample(responses: Sequence[float | None], curve: CalibrationCurve,
                    method: MethodVersion, dilution_factor: float = 1.0) -> SampleResult:
    """One sample's replicate responses (``None`` = no reading) → a result or an instruction.

    The top of the range is the highest fitted standard; the LOD is the method's, or the lowest
    non-zero standard when the method version has none. Both apply to the assayed (diluted)
    solution, so they scale with `dilution_factor`.
    """
    values = [curve.concentration(r, dilution_factor) if r is not None else None for r in responses]
    lod = method.lod if method.lod is not None else curve.lowest_nonzero
    return _classify(values, method, top=curve.top, lod=lod, dilution_factor=dilution_factor,
                     bottom=curve.lowest_nonzero)


def classify_reading(values: Sequence[float | None], method: MethodVersion) -> SampleResult:
    """Replicates of a direct-reading method (e.g. a WYD checker, already in the method's unit)."""
    top = method.reportable_range[1] if method.reportable_range else math.inf
    return _classify(list(values), method, top=top, lod=method.lod, dilution_factor=1.0)


def _classify(values: list[float | None], method: MethodVersion, *, top: float,
              lod: float | None, dilution_factor: float,
              bottom: float | None = None) -> SampleResult:
    """``bottom``: the lowest non-zero standard; a mean between the LOD and it is outside the
    calibrated range, so it is stored censored (``< bottom``) rather than as an extrapolation."""
    unit = analysis_label(method.unit)

    def result(status: ResultStatus, *reasons: str, value: float | None = None,
               comparator: str | None = None, limit: float | None = None,
               spread: float | None = None, suggested: float | None = None) -> SampleResult:
        return SampleResult(status, value, comparator, limit, tuple(values), spread,
                            dilution_factor, suggested, reasons)

    if not values:
        raise ValueError("no replicate responses given")
    if any(v is None for v in values):
        return result(ResultStatus.REPEAT,
                      gettext("A replicate has no usable reading (over range or missing)."))
    measured = [float(v) for v in values if v is not None]
    top_sample = top * dilution_factor
    above = [v for v in measured if v > top_sample]
    if above:
        suggested = method.dilution.suggest(max(above) / dilution_factor, top) \
            if method.dilution else None
        return result(ResultStatus.DILUTE,
                      gettext("Above the top of the range (%(top)s %(unit)s): dilute and "
                              "repeat.", top=decimal(top_sample, "g"), unit=unit),
                      comparator=">", limit=top_sample, suggested=suggested)
    limit = lod * dilution_factor if lod is not None else None
    below_lod = "" if limit is None else gettext("Below the LOD (%(limit)s %(unit)s).",
                                                 limit=decimal(limit, "g"), unit=unit)
    if limit is not None and all(v < limit for v in measured):
        return result(ResultStatus.BELOW_LOD, below_lod,
                      comparator="<", limit=limit)
    spread = _spread(measured, method)
    tol = method.duplicate_tolerance
    if spread is not None and tol is not None and spread > tol.limit:
        words = (gettext("Replicate CV %(spread)s %% exceeds %(limit)s %%: repeat.")
                 if tol.kind is ToleranceKind.CV_PCT else
                 gettext("Replicate difference %(spread)s %(unit)s exceeds %(limit)s %(unit)s: "
                         "repeat."))
        return result(ResultStatus.REPEAT,
                      words % {"spread": decimal(spread, ".3g"), "limit": decimal(tol.limit, "g"),
                               "unit": unit},
                      spread=spread)
    mean = float(np.mean(measured))
    if limit is not None and mean < limit:
        return result(ResultStatus.BELOW_LOD, below_lod,
                      comparator="<", limit=limit, spread=spread)
    low_standard = bottom * dilution_factor if bottom is not None else None
    if low_standard is not None and mean < low_standard:
        return result(ResultStatus.BELOW_RANGE,
                      gettext("Below the lowest standard (%(low)s %(unit)s): reported as "
                              "< %(low)s.", low=decimal(low_standard, "g"), unit=unit),
                      comparator="<", limit=low_standard, spread=spread)
    loq = method.loq * dilution_factor if method.loq is not None else None
    if loq is not None and mean < loq:
        return result(ResultStatus.BELOW_LOQ,
                      gettext("Between LOD and LOQ (%(loq)s %(unit)s).", loq=decimal(loq, "g"),
                              unit=unit),
                      value=mean, limit=loq, spread=spread)
    return result(ResultStatus.REPORTABLE, value=mean, spread=spread)


def _spread(values: list[float], method: MethodVersion) -> float | None:
    """CV % (sample SD / mean) or largest-minus-smallest, as the method's tolerance is stated."""
    if len(values) < 2 or method.duplicate_tolerance is None:
        return None
    if method.duplicate_tolerance.kind is ToleranceKind.ABS_DIFF:
        return max(values) - min(values)
    mean = float(np.mean(values))
    return math.inf if mean <= 0 else 100.0 * float(np.std(values, ddof=1)) / mean
