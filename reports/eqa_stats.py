"""ISO 13528:2015 statistics for the regional EQA (proficiency-testing) scheme, issue 15.

Pure numpy: plain numbers in, frozen dataclasses out; the LIMS (``lims/eqa``) stores, this module
computes. Every refusal is an ``EqaStatsError`` (a ``ValueError``) whose English message says why,
so the LIMS can show it (translated by class) instead of a 500.

Why robust statistics: the plain mean and SD of participants' results are pulled by one outlying
laboratory, which then makes every other laboratory's z-score wrong. ISO 13528 Algorithm A
(Annex C.3) winsorises the results at x* ± 1.5 s* and iterates, so an outlier moves the consensus
only as far as the edge of the winsorising window.

What is here:
- ``algorithm_a``: robust average x*, robust SD s* and the standard uncertainty of the assigned
  value u(x_pt) = 1.25 s*/√p (ISO 13528 §7.7.3), refusing fewer than ``min_p`` results;
- ``SigmaRule``: σ_pt as configuration (fitness for purpose: % of x_pt or a + b·x_pt; or s*);
- ``homogeneity`` and ``stability``: ISO 13528 Annex B.3 (s_s of ≥ 10 units in duplicate against
  0.3 σ_pt) and B.5 (difference of means against 0.3 σ_pt);
- scores z, z′, ζ, E_n (§9.4–9.7) and their classes (§9.3, ISO/IEC 17043 B.4);
- ``method_group_stats``: per-method summary for the round report.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

import numpy as np

#: Winsorising half-width factor and the consistency factor of the winsorised SD (ISO 13528 C.3.1).
_DELTA_FACTOR = 1.5
_SD_FACTOR = 1.134
#: Consistency factor of the median absolute deviation (ISO 13528 C.3.1).
_MAD_FACTOR = 1.483
#: u(x_pt) = 1.25 s*/√p (ISO 13528 §7.7.3): 1.25 is the ratio of the standard error of the
#: robust average to that of the mean for normal data.
_U_FACTOR = 1.25
#: Convergence of Algorithm A: see ``algorithm_a``.
_RTOL = 1e-9
#: A criterion of ISO 13528 Annex B and of §9.2 (u(x_pt) "large"): 0.3 σ_pt.
_CRITERION_FACTOR = 0.3
#: Scores are classified after rounding to this many decimals: see ``_magnitude``.
_CLASSIFY_DECIMALS = 9


class EqaStatsError(ValueError):
    """Input the statistics cannot be computed from; the message says why, for the user."""


class TooFewResults(EqaStatsError):
    """Fewer results than the programme's minimum for a robust consensus (issue 15, "bad input")."""

    def __init__(self, p: int, min_p: int) -> None:
        self.p = p
        self.min_p = min_p
        super().__init__(
            f"Algorithm A needs at least {min_p} results for a robust consensus value; "
            f"there are only {p} (p = {p}, minimum p = {min_p})."
        )

    def __reduce__(self) -> tuple[type[TooFewResults], tuple[int, int]]:
        # Keep the exception picklable (its __init__ does not take the message).
        return (type(self), (self.p, self.min_p))


def _finite_array(values: Sequence[float], what: str) -> np.ndarray:
    """The values as a 1-D float array, or ``EqaStatsError`` naming the first bad one (1-based)."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise EqaStatsError(f"The {what} must be numbers.") from None
    if array.ndim != 1:
        raise EqaStatsError(f"The {what} must be a flat list of numbers.")
    bad = np.flatnonzero(~np.isfinite(array))
    if bad.size:
        raise EqaStatsError(
            f"The {what} must be finite numbers; value {bad[0] + 1} is {array[bad[0]]!r}.")
    return array


def _finite(value: float, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise EqaStatsError(f"{name} must be a number.") from None
    if not math.isfinite(number):
        raise EqaStatsError(f"{name} must be a finite number, not {number!r}.")
    return number


def _positive(value: float, name: str) -> float:
    number = _finite(value, name)
    if number <= 0:
        raise EqaStatsError(f"{name} must be greater than zero (it is {number:g}).")
    return number


def _non_negative(value: float, name: str) -> float:
    number = _finite(value, name)
    if number < 0:
        raise EqaStatsError(f"{name} must not be negative (it is {number:g}).")
    return number


# --- Algorithm A ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RobustEstimate:
    """Result of Algorithm A.

    ``iterations`` is the number of winsorising updates done (0 when all results are identical);
    ``u_x_pt`` = 1.25 s*/√p is the standard uncertainty of x* used as an assigned value.
    """

    x_star: float
    s_star: float
    p: int
    iterations: int
    u_x_pt: float


def algorithm_a(values: Sequence[float], *, min_p: int = 12, max_iterations: int = 100) -> RobustEstimate:
    """Robust average x* and robust SD s* by ISO 13528:2015 Algorithm A (Annex C.3.1).

    Start x* = median, s* = 1.483·median|xᵢ − x*|; then repeat the update: δ = 1.5 s*,
    winsorise every xᵢ to [x* − δ, x* + δ], x* = mean and s* = 1.134·SD (n − 1) of the
    winsorised values. The answer is the fixed point of that update.

    Convergence rule. The standard stops "when there is no change from one iteration to the next
    in the third significant figure" of s* and the equivalent figure of x*. That rule is made for
    hand calculation, and it stops early: the update converges linearly, sometimes slowly (13
    results with 3 outliers can need ~100 updates per decimal digit at a rate of 0.95), so that
    successive values agree to three figures while they are still up to 0.5 % from their limit
    (ISO 13528:2022 E.1 prints s* = 7.23 where the limit is 7.237). We return the limit itself,
    which any correct implementation agrees with, in two steps:

    1. After each update the results fall into L winsorised low, H winsorised high and m in
       between. For that split the fixed point has a closed form — x* = x̄ₘ + (H − L)·1.5 s*/m
       and s*²·[(p − 1)/1.134² − 2.25·((H − L)²/m + H + L)] = Σ(xᵢ − x̄ₘ)² over the m — and if that
       point winsorises the results into the same split, it *is* the fixed point; it is returned
       with ``iterations`` = the updates done (usually 1–5). Else updating goes on; if x* and s*
       change by at most 1e-9·s* (the standard's scale, far below its third figure) the iterate
       is returned.
    2. If neither happened within ``max_iterations`` (a result lies just inside the limit's
       winsorising bound, so the iterates creep towards it — 1 set in 20 000 random ones), every
       split is tried (p²/2 closed forms, ``_consistent_splits``) and the one consistent with
       itself is returned: the limit the iterates creep towards. Algorithm A is Huber's
       "proposal 2" estimator, whose estimating equations have one solution with s* > 0; should
       no split, or splits with different answers, be consistent, it raises rather than choose.

    Zero spread (ISO 13528:2015 C.3.1, note on more than half the results being identical): the
    initial s* is then 0 and the procedure "will not perform properly"; as the note allows, the
    initial s* is replaced by the sample standard deviation. If that is 0 too (all results
    identical), x* is that value and s* = u(x_pt) = 0 with 0 iterations. When so many results are
    identical (about two thirds) that winsorising shrinks s* towards 0, the split has the
    identical results in between, its fixed point is s* = 0, and x* is their value. A σ_pt taken
    from s* = 0 is refused by ``SigmaRule``.

    Refuses (``EqaStatsError``) non-finite or non-numeric values, and (``TooFewResults``) fewer
    than ``min_p`` results: ISO 13528 §5.4 warns that consensus values from few participants
    are unreliable, so the programme sets a minimum (issue 15: e.g. 12).
    """
    if isinstance(min_p, bool) or not isinstance(min_p, int) or min_p < 2:
        raise EqaStatsError("The minimum number of results for Algorithm A must be a whole number ≥ 2.")
    if isinstance(max_iterations, bool) or not isinstance(max_iterations, int) or max_iterations < 1:
        raise EqaStatsError("The maximum number of iterations must be a whole number ≥ 1.")
    x = np.sort(_finite_array(values, "results"))
    p = int(x.size)
    if p < min_p:
        raise TooFewResults(p, min_p)

    def estimate(x_star: float, s_star: float, iterations: int) -> RobustEstimate:
        return RobustEstimate(x_star=x_star, s_star=s_star, p=p, iterations=iterations,
                              u_x_pt=_U_FACTOR * s_star / math.sqrt(p))

    x_star = float(np.median(x))
    s_star = _MAD_FACTOR * float(np.median(np.abs(x - x_star)))
    if s_star == 0.0:
        s_star = float(np.std(x, ddof=1))
        if s_star == 0.0:
            return estimate(x_star, 0.0, 0)

    for iteration in range(1, max_iterations + 1):
        delta = _DELTA_FACTOR * s_star
        winsorised = np.clip(x, x_star - delta, x_star + delta)
        new_x = float(np.mean(winsorised))
        new_s = _SD_FACTOR * float(np.std(winsorised, ddof=1))
        converged = abs(new_x - x_star) <= _RTOL * new_s and abs(new_s - s_star) <= _RTOL * new_s
        x_star, s_star = new_x, new_s
        delta = _DELTA_FACTOR * s_star
        n_low = int(np.searchsorted(x, x_star - delta, side="left"))
        n_high = p - int(np.searchsorted(x, x_star + delta, side="right"))
        fixed = _split_fixed_point(x, n_low, n_high)
        if fixed is not None:
            return estimate(*fixed, iteration)
        if converged:
            return estimate(x_star, s_star, iteration)

    candidates = _consistent_splits(x)
    if candidates and all(math.isclose(c[0], candidates[0][0], rel_tol=1e-9, abs_tol=1e-9 * c[1])
                          and math.isclose(c[1], candidates[0][1], rel_tol=1e-9) for c in candidates):
        return estimate(*candidates[0], max_iterations)
    raise EqaStatsError(
        f"Algorithm A did not converge in {max_iterations} iterations "
        f"(last x* = {x_star:.6g}, s* = {s_star:.6g}); the results need review.")


def _consistent_splits(x: np.ndarray) -> list[tuple[float, float]]:
    """The fixed points with s* > 0 of every split of the sorted results ``x`` that are
    consistent with their split (see ``_split_fixed_point``), for the fallback of ``algorithm_a``.

    All p(p + 1)/2 splits are screened at once per number of low results from prefix sums of the
    results centred on their median (so that sums of squares lose no digits to a large common
    offset), and every split that passes is recomputed exactly by ``_split_fixed_point``: O(p²)
    arithmetic in O(p) numpy calls, well under a second for thousands of results.
    """
    p = int(x.size)
    c = x - float(np.median(x))
    sums = np.concatenate(([0.0], np.cumsum(c)))
    squares = np.concatenate(([0.0], np.cumsum(c * c)))
    found = []
    for n_low in range(p):
        n_high = np.arange(p - n_low)
        end = p - n_high
        m = end - n_low
        total = sums[end] - sums[n_low]
        mean = total / m
        q = np.maximum(squares[end] - squares[n_low] - total * mean, 0.0)
        denominator = ((p - 1) / _SD_FACTOR**2
                       - _DELTA_FACTOR**2 * ((n_high - n_low) ** 2 / m + n_high + n_low))
        usable = denominator > 0
        s_fixed = np.sqrt(q / np.where(usable, denominator, 1.0))
        x_fixed = mean + (n_high - n_low) * _DELTA_FACTOR * s_fixed / m
        low_bound = x_fixed - _DELTA_FACTOR * s_fixed
        high_bound = x_fixed + _DELTA_FACTOR * s_fixed
        passes = (usable & (s_fixed > 0) & (c[n_low] >= low_bound) & (c[end - 1] <= high_bound)
                  & ((n_high == 0) | (c[np.minimum(end, p - 1)] > high_bound)))
        if n_low > 0:
            passes &= c[n_low - 1] < low_bound
        for candidate in np.flatnonzero(passes):
            exact = _split_fixed_point(x, n_low, int(n_high[candidate]))
            if exact is not None and exact[1] > 0:
                found.append(exact)
    return found


def _split_fixed_point(x: np.ndarray, n_low: int, n_high: int) -> tuple[float, float] | None:
    """The fixed point (x*, s*) of Algorithm A's update at which the ``n_low`` smallest and the
    ``n_high`` largest of the *sorted* results ``x`` are winsorised and the others are not, if it
    exists and winsorises exactly those; else None.

    Derivation (``algorithm_a``): with L = ``n_low``, H = ``n_high`` and the m others (mean x̄ₘ,
    sum of squares Qₘ about it), a fixed point satisfies p·x* = m·x̄ₘ + H(x* + δ) + L(x* − δ) and
    (p − 1)s*²/1.134² = Qₘ + (H − L)²δ²/m + (H + L)δ² with δ = 1.5 s*.
    """
    p = int(x.size)
    between = x[n_low:p - n_high]
    m = int(between.size)
    if m == 0:
        return None
    denominator = ((p - 1) / _SD_FACTOR**2
                   - _DELTA_FACTOR**2 * ((n_high - n_low) ** 2 / m + n_high + n_low))
    if denominator <= 0:
        return None
    mean = float(between.mean())
    s_fixed = math.sqrt(float(np.sum((between - mean) ** 2)) / denominator)
    x_fixed = mean + (n_high - n_low) * _DELTA_FACTOR * s_fixed / m
    low_bound = x_fixed - _DELTA_FACTOR * s_fixed
    high_bound = x_fixed + _DELTA_FACTOR * s_fixed
    consistent = (
        (n_low == 0 or x[n_low - 1] < low_bound) and low_bound <= x[n_low]
        and (n_high == 0 or x[p - n_high] > high_bound) and x[p - n_high - 1] <= high_bound)
    return (x_fixed, s_fixed) if consistent else None


# --- σ_pt -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SigmaRule:
    """How a programme sets σ_pt, the standard deviation for proficiency assessment (ISO 13528 §8).

    Configuration, not code (issue 15):
    - ``percent``: σ_pt = percent/100 · x_pt (fitness for purpose, §8.2; e.g. 10 % for UIC);
    - ``linear``: σ_pt = a + b·x_pt (a function of level, §8.4: a floor plus a proportional part);
    - ``robust``: σ_pt = s* of the participants' results (§8.6, Algorithm A).
    Only the fields of the chosen kind may be set; a rule that could not give a σ_pt raises
    ``EqaStatsError`` when it is made, and a σ_pt that is not > 0 raises when it is computed.
    """

    kind: Literal["percent", "linear", "robust"]
    percent: float | None = None
    a: float | None = None
    b: float | None = None

    def __post_init__(self) -> None:
        if self.kind == "percent":
            if self.percent is None or self.a is not None or self.b is not None:
                raise EqaStatsError("A percentage σ_pt rule takes a percentage only.")
            if not 0 < _finite(self.percent, "The σ_pt percentage") <= 100:
                raise EqaStatsError("The σ_pt percentage must be greater than 0 and at most 100.")
        elif self.kind == "linear":
            if self.a is None or self.b is None or self.percent is not None:
                raise EqaStatsError("A linear σ_pt rule takes a and b only.")
            a = _non_negative(self.a, "The constant a of the σ_pt rule")
            b = _non_negative(self.b, "The slope b of the σ_pt rule")
            if a == 0 and b == 0:
                raise EqaStatsError("A linear σ_pt rule needs a > 0 or b > 0.")
        elif self.kind == "robust":
            if self.percent is not None or self.a is not None or self.b is not None:
                raise EqaStatsError("A robust σ_pt rule (σ_pt = s*) takes no parameters.")
        else:
            raise EqaStatsError(f"Unknown σ_pt rule {self.kind!r}: use percent, linear or robust.")

    def sigma_pt(self, x_pt: float, s_star: float | None = None) -> float:
        """σ_pt for the assigned value ``x_pt`` (and the robust SD ``s_star`` for ``robust``)."""
        x_pt = _finite(x_pt, "The assigned value")
        if self.kind == "percent":
            assert self.percent is not None
            sigma = self.percent / 100.0 * x_pt
        elif self.kind == "linear":
            assert self.a is not None and self.b is not None
            sigma = self.a + self.b * x_pt
        else:
            if s_star is None:
                raise EqaStatsError("σ_pt = s* needs the robust SD s* of the participants' results.")
            sigma = _finite(s_star, "The robust SD s*")
        if sigma <= 0:
            raise EqaStatsError(
                f"σ_pt must be greater than zero; the {self.kind} rule gives {sigma:g} "
                f"for the assigned value {x_pt:g}.")
        return sigma


def uncertainty_is_large(u_x_pt: float, sigma_pt: float) -> bool:
    """True when u(x_pt) > 0.3 σ_pt (ISO 13528 §9.2.1): then z ignores a material uncertainty of
    the assigned value, and the scheme scores with z′ and says so in the report (§9.5)."""
    u = _non_negative(u_x_pt, "The uncertainty of the assigned value")
    return u > _CRITERION_FACTOR * _positive(sigma_pt, "σ_pt")


# --- Homogeneity and stability (ISO 13528 Annex B) --------------------------------------------


@dataclass(frozen=True)
class Homogeneity:
    """ISO 13528 B.3: g units measured in duplicate.

    ``grand_mean`` x̿, ``s_x`` SD of the unit means, ``s_w`` within-unit SD from the duplicate
    differences, ``s_s`` between-unit SD, ``criterion`` = 0.3 σ_pt, ``passed`` = s_s ≤ criterion.
    """

    units: int
    grand_mean: float
    s_x: float
    s_w: float
    s_s: float
    criterion: float
    passed: bool


def homogeneity(pairs: Sequence[tuple[float, float]], sigma_pt: float, *, min_units: int = 10) -> Homogeneity:
    """Homogeneity check of ISO 13528:2015 B.2–B.3 on ``pairs`` (duplicate results per unit).

    x̄ₜ = (xₜ,₁ + xₜ,₂)/2, wₜ = |xₜ,₁ − xₜ,₂|, x̿ = mean of x̄ₜ, s_x = SD (g − 1) of x̄ₜ,
    s_w = √(Σwₜ²/(2g)), s_s = √max(0, s_x² − s_w²/2) (s_x² also contains half the within-unit
    variance; where that exceeds it, the between-unit SD is estimated as 0).
    The material is sufficiently homogeneous when s_s ≤ 0.3 σ_pt (B.2.2). Fewer than
    ``min_units`` units (ISO: at least 10) raise ``EqaStatsError``.
    """
    if isinstance(min_units, bool) or not isinstance(min_units, int) or min_units < 2:
        raise EqaStatsError("The minimum number of units must be a whole number ≥ 2.")
    sigma = _positive(sigma_pt, "σ_pt")
    try:
        data = np.asarray(pairs, dtype=float)
    except (TypeError, ValueError):
        raise EqaStatsError("Homogeneity needs two numeric results per unit.") from None
    if data.size == 0:
        data = data.reshape(0, 2)
    if data.ndim != 2 or data.shape[1] != 2:
        raise EqaStatsError("Homogeneity needs exactly two results (a duplicate) per unit.")
    g = int(data.shape[0])
    if g < min_units:
        raise EqaStatsError(
            f"Homogeneity needs at least {min_units} units measured in duplicate; there are {g}.")
    _finite_array(data.ravel(), "homogeneity results")
    means = data.mean(axis=1)
    grand_mean = float(means.mean())
    s_x = float(np.std(means, ddof=1))
    s_w = math.sqrt(float(np.sum((data[:, 0] - data[:, 1]) ** 2)) / (2 * g))
    s_s = math.sqrt(max(0.0, s_x * s_x - s_w * s_w / 2))
    criterion = _CRITERION_FACTOR * sigma
    return Homogeneity(units=g, grand_mean=grand_mean, s_x=s_x, s_w=s_w, s_s=s_s,
                       criterion=criterion, passed=s_s <= criterion)


@dataclass(frozen=True)
class Stability:
    """ISO 13528 B.5: ``difference`` = |ȳ_homogeneity − ȳ_stability|, ``passed`` = difference ≤
    ``criterion`` (0.3 σ_pt)."""

    homogeneity_mean: float
    stability_mean: float
    difference: float
    criterion: float
    passed: bool


def stability(homogeneity_mean: float, stability_values: Sequence[float], sigma_pt: float) -> Stability:
    """Stability check of ISO 13528:2015 B.5: the mean of the units measured at the end of the
    round (or after transport stress) against the homogeneity study's mean x̿, within 0.3 σ_pt."""
    y1 = _finite(homogeneity_mean, "The homogeneity mean")
    sigma = _positive(sigma_pt, "σ_pt")
    y = _finite_array(stability_values, "stability results")
    if y.size == 0:
        raise EqaStatsError("The stability check needs at least one result.")
    y2 = float(y.mean())
    difference = abs(y1 - y2)
    criterion = _CRITERION_FACTOR * sigma
    return Stability(homogeneity_mean=y1, stability_mean=y2, difference=difference,
                     criterion=criterion, passed=difference <= criterion)


# --- Scores -----------------------------------------------------------------------------------


def z_score(x: float, x_pt: float, sigma_pt: float) -> float:
    """z = (x − x_pt)/σ_pt (ISO 13528 §9.4)."""
    return (_finite(x, "The result") - _finite(x_pt, "The assigned value")) / _positive(sigma_pt, "σ_pt")


def z_prime(x: float, x_pt: float, sigma_pt: float, u_x_pt: float) -> float:
    """z′ = (x − x_pt)/√(σ_pt² + u(x_pt)²) (ISO 13528 §9.5): z widened by the uncertainty of the
    assigned value, used when ``uncertainty_is_large``."""
    sigma = _positive(sigma_pt, "σ_pt")
    u = _non_negative(u_x_pt, "The uncertainty of the assigned value")
    return (_finite(x, "The result") - _finite(x_pt, "The assigned value")) / math.hypot(sigma, u)


def zeta(x: float, x_pt: float, u_x: float | None, u_x_pt: float) -> float:
    """ζ = (x − x_pt)/√(u(x)² + u(x_pt)²) (ISO 13528 §9.6), with standard uncertainties.

    Only for a laboratory that reported its uncertainty: ``u_x`` None raises ``EqaStatsError``
    (the caller may pass None straight from a result without an uncertainty), as does a zero
    denominator (both uncertainties 0).
    """
    if u_x is None:
        raise EqaStatsError("ζ needs the laboratory's standard uncertainty, which was not reported.")
    denominator = math.hypot(_non_negative(u_x, "The laboratory's uncertainty"),
                             _non_negative(u_x_pt, "The uncertainty of the assigned value"))
    if denominator == 0:
        raise EqaStatsError("ζ is undefined when both uncertainties are zero.")
    return (_finite(x, "The result") - _finite(x_pt, "The assigned value")) / denominator


def en_number(x: float, x_pt: float, U_x: float | None, U_x_pt: float) -> float:
    """E_n = (x − x_pt)/√(U(x)² + U(x_pt)²) (ISO 13528 §9.7), with *expanded* uncertainties
    (k = 2 usually). ``U_x`` None or a zero denominator raise ``EqaStatsError``."""
    if U_x is None:
        raise EqaStatsError("E_n needs the laboratory's expanded uncertainty, which was not reported.")
    denominator = math.hypot(_non_negative(U_x, "The laboratory's expanded uncertainty"),
                             _non_negative(U_x_pt, "The expanded uncertainty of the assigned value"))
    if denominator == 0:
        raise EqaStatsError("E_n is undefined when both expanded uncertainties are zero.")
    return (_finite(x, "The result") - _finite(x_pt, "The assigned value")) / denominator


class ScoreClass(StrEnum):
    SATISFACTORY = "satisfactory"
    QUESTIONABLE = "questionable"
    UNSATISFACTORY = "unsatisfactory"


def _magnitude(score: float) -> float:
    # Rounded to 9 decimals so that binary noise in a quotient such as (100.6 − 100)/0.3 =
    # 1.9999999999999811 cannot move a score that is exactly on a boundary in decimal across it.
    return round(abs(_finite(score, "The score")), _CLASSIFY_DECIMALS)


def classify(score: float) -> ScoreClass:
    """Class of a z, z′ or ζ score (ISO 13528 §9.3, ISO/IEC 17043 B.4.1.1): |s| ≤ 2.0
    satisfactory, 2.0 < |s| < 3.0 questionable, |s| ≥ 3.0 unsatisfactory (both boundaries as
    written: 2.0 is satisfactory, 3.0 unsatisfactory). The score is compared after rounding to
    9 decimals, which removes binary noise only: a report that prints z = 2.004 as "2.00" still
    shows a questionable result, and should say so by its class, not by the printed digits."""
    magnitude = _magnitude(score)
    if magnitude <= 2.0:
        return ScoreClass.SATISFACTORY
    if magnitude < 3.0:
        return ScoreClass.QUESTIONABLE
    return ScoreClass.UNSATISFACTORY


def classify_en(en: float) -> ScoreClass:
    """Class of an E_n number (ISO 13528 §9.7.3): |E_n| ≤ 1.0 satisfactory, else unsatisfactory
    (E_n has no "questionable" band)."""
    return ScoreClass.SATISFACTORY if _magnitude(en) <= 1.0 else ScoreClass.UNSATISFACTORY


# --- Method groups ----------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupStats:
    """Summary of one method group's results: ``sd`` is None for n < 2; ``x_star``/``s_star`` are
    Algorithm A's, None when the group has fewer than ``min_p`` results."""

    method: str
    n: int
    median: float
    mean: float
    sd: float | None
    x_star: float | None
    s_star: float | None


def method_group_stats(values_by_method: Mapping[str, Sequence[float]], *, min_p: int = 12) -> list[GroupStats]:
    """Per-method statistics for the round summary (issue 15: S-K microplate, ammonium persulfate,
    ICP-MS), in the mapping's order. A method bias shows as group medians apart; the robust values
    are given only where the group is large enough for Algorithm A (``min_p``), since a small
    group's "robust" SD would be presented with more confidence than it deserves. An empty group
    raises ``EqaStatsError`` naming the method."""
    groups = []
    for method, values in values_by_method.items():
        x = _finite_array(values, f"results of method {method}")
        if x.size == 0:
            raise EqaStatsError(f"Method {method} has no results.")
        robust = algorithm_a(x, min_p=min_p) if x.size >= min_p else None
        groups.append(GroupStats(
            method=method, n=int(x.size), median=float(np.median(x)), mean=float(np.mean(x)),
            sd=float(np.std(x, ddof=1)) if x.size >= 2 else None,
            x_star=robust.x_star if robust else None, s_star=robust.s_star if robust else None))
    return groups
