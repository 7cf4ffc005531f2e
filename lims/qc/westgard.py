"""Westgard multirules on a run's controls, with the history that the across-run rules need.

Definitions are domain.md §4.1, to the letter: "beyond" a limit is strictly beyond it; 1-2s only
warns; every rejection rule is evaluated on every run (no 1-2s gate, which can hide a 4-1s shift
with no point past 2 SD). The scopes differ by rule, as Westgard states them:

- 1-ks: each control of the run.
- 2-2s, 2of3-2s: within one material across runs, and across materials within the run.
- R-4s: within the run only (random error kept apart from between-run shifts).
- 4-1s, 3-1s, Nx (6x, 8x, 9x, 10x, 12x): within one material, and across materials (the run's
  levels in order, run after run).

Only violations that include a value from the run being judged are reported: older ones were
reported with their own run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from lims.analysis.labels import analysis_label, decimal
from lims.qc.stats import ControlTarget

__all__ = ["Rule", "parse_rule", "ControlRun", "Violation", "QcEvaluation", "evaluate_run"]

WITHIN_LEVEL = "within_level"
WITHIN_RUN = "within_run"  # across levels, current run only
ACROSS_LEVELS = "across_levels"  # across levels and runs


@dataclass(frozen=True)
class Rule:
    """`kind`: ``single`` (1-ks), ``consecutive`` (n-ks and Nx; limit 0 = side of the mean),
    ``k_of_n`` (2of3-2s) or ``range`` (R-4s)."""

    name: str
    kind: str
    limit: float
    count: int = 1
    window: int = 1
    scopes: tuple[str, ...] = ()

    @property
    def reject(self) -> bool:
        return self.name != "1-2s"


_N_KS = re.compile(r"(\d+)-(\d+)s")
_K_OF_N = re.compile(r"(\d+)of(\d+)-(\d+)s")
_RANGE = re.compile(r"R-(\d+)s")
_NX = re.compile(r"(\d+)x")


def parse_rule(name: str) -> Rule:
    """A rule by its usual name: 1-2s, 1-3s, 2-2s, R-4s, 4-1s, 3-1s, 2of3-2s, 6x/8x/9x/10x/12x."""
    if m := _N_KS.fullmatch(name):
        n, k = int(m[1]), int(m[2])
        if n == 1:
            return Rule(name, "single", k)
        # Westgard states 2-2s across materials within a run; 4-1s and 3-1s across runs too
        scopes = (WITHIN_LEVEL, WITHIN_RUN) if k >= 2 else (WITHIN_LEVEL, ACROSS_LEVELS)
        return Rule(name, "consecutive", k, count=n, scopes=scopes)
    if m := _K_OF_N.fullmatch(name):
        k, n, lim = int(m[1]), int(m[2]), int(m[3])
        if not 1 < k <= n:
            raise ValueError(_("Westgard rule %(rule)s: need 1 < k ≤ n", rule=repr(name)))
        return Rule(name, "k_of_n", lim, count=k, window=n, scopes=(WITHIN_LEVEL, WITHIN_RUN))
    if m := _RANGE.fullmatch(name):
        return Rule(name, "range", int(m[1]), scopes=(WITHIN_RUN,))
    if (m := _NX.fullmatch(name)) and int(m[1]) >= 2:
        return Rule(name, "consecutive", 0, count=int(m[1]), scopes=(WITHIN_LEVEL, ACROSS_LEVELS))
    raise ValueError(_("unknown Westgard rule %(rule)s", rule=repr(name)))


@dataclass(frozen=True)
class ControlRun:
    """The control results of one run: level → its values in this run, in measuring order."""

    run_id: str
    values: Mapping[str, Sequence[float]]


@dataclass(frozen=True)
class Violation:
    rule: str
    levels: tuple[str, ...]
    run_ids: tuple[str, ...]
    message: str
    reject: bool


@dataclass(frozen=True)
class QcEvaluation:
    violations: tuple[Violation, ...]

    @property
    def rejections(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.reject)

    @property
    def warnings(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if not v.reject)

    @property
    def accepted(self) -> bool:
        """Accept the run only if no rejection rule fired (domain.md §4.2)."""
        return not self.rejections


@dataclass(frozen=True)
class _Obs:
    index: int  # position in the whole history, for identity
    run_pos: int
    run_id: str
    level: str
    z: float


def evaluate_run(runs: Sequence[ControlRun], targets: Mapping[str, ControlTarget],
                 rules: Sequence[str]) -> QcEvaluation:
    """Judge the last of `runs` (oldest first) against `targets` (level → mean/SD).

    The order of `targets` is the order of levels within a run (low, mid, high).
    """
    if not runs:
        raise ValueError("no run to evaluate")
    parsed = [parse_rule(r) for r in rules]
    observations: list[_Obs] = []
    for pos, run in enumerate(runs):
        unknown = sorted(set(run.values) - set(targets))
        if unknown:
            raise ValueError(
                f"run {run.run_id}: no target for control level(s) {', '.join(unknown)}")
        for level, target in targets.items():
            for value in run.values.get(level, ()):
                observations.append(_Obs(len(observations), pos, run.run_id, level,
                                         target.z(float(value))))
    current = len(runs) - 1
    sequences = {
        WITHIN_LEVEL: [[o for o in observations if o.level == level] for level in targets],
        WITHIN_RUN: [[o for o in observations if o.run_pos == current]],
        ACROSS_LEVELS: [observations],
    }
    found: list[Violation] = []
    for rule in parsed:
        groups: list[list[_Obs]] = []
        if rule.kind == "single":
            groups = [[o] for o in sequences[WITHIN_RUN][0] if abs(o.z) > rule.limit]
        elif rule.kind == "range":
            run_obs = sequences[WITHIN_RUN][0]
            high = max(run_obs, key=lambda o: o.z, default=None)
            low = min(run_obs, key=lambda o: o.z, default=None)
            if high and low and high.z > rule.limit / 2 and low.z < -rule.limit / 2:
                groups = [[high, low]]
        else:
            for scope in rule.scopes:
                for seq in sequences[scope]:
                    finder = _streaks if rule.kind == "consecutive" else _k_of_n
                    groups += finder(seq, rule, current)
        found += _report(rule, _maximal(groups))
    return QcEvaluation(tuple(found))


def _side(z: float, limit: float) -> int:
    if z > limit:
        return 1
    if z < -limit:
        return -1
    return 0


def _streaks(seq: list[_Obs], rule: Rule, current: int) -> list[list[_Obs]]:
    """Maximal runs of ≥ count values beyond the same limit that reach into the current run."""
    out: list[list[_Obs]] = []
    streak: list[_Obs] = []
    side = 0
    for o in seq + [None]:  # type: ignore[list-item]  # sentinel closes the last streak
        s = _side(o.z, rule.limit) if o is not None else 0
        if s != 0 and s == side:
            streak.append(o)
            continue
        if len(streak) >= rule.count and any(x.run_pos == current for x in streak):
            out.append(streak)
        streak, side = ([o], s) if s != 0 else ([], 0)
    return out


def _k_of_n(seq: list[_Obs], rule: Rule, current: int) -> list[list[_Obs]]:
    out: list[list[_Obs]] = []
    for start in range(max(1, len(seq) - rule.window + 1)):
        window = seq[start:start + rule.window]
        for side in (1, -1):
            hits = [o for o in window if _side(o.z, rule.limit) == side]
            if len(hits) >= rule.count and any(o.run_pos == current for o in hits):
                out.append(hits)
    return out


def _maximal(groups: list[list[_Obs]]) -> list[list[_Obs]]:
    """Drop groups contained in a larger one, so one shift is reported once."""
    kept: list[list[_Obs]] = []
    for group in sorted(groups, key=len, reverse=True):
        ids = {o.index for o in group}
        if not any(ids <= {o.index for o in k} for k in kept):
            kept.append(group)
    return sorted(kept, key=lambda g: g[0].index)


def _report(rule: Rule, groups: list[list[_Obs]]) -> list[Violation]:
    out = []
    for group in groups:
        levels = tuple(dict.fromkeys(o.level for o in group))
        run_ids = tuple(dict.fromkeys(o.run_id for o in group))
        zs = ", ".join(f"{analysis_label(o.level)} {decimal(o.z, '+.2f')} SD" for o in group)
        if rule.kind == "single":
            what = _("beyond ±%(limit)s SD", limit=decimal(rule.limit, "g"))
        elif rule.kind == "range":
            what = _("one above +%(half)s SD and one below −%(half)s SD in the run",
                     half=decimal(rule.limit / 2, "g"))
        elif rule.kind == "k_of_n":
            what = _("%(count)d of %(window)d consecutive values beyond the same %(limit)s SD "
                     "limit", count=rule.count, window=rule.window, limit=decimal(rule.limit, "g"))
        elif rule.limit == 0:
            what = ngettext("%(num)d consecutive value on the same side of the mean",
                            "%(num)d consecutive values on the same side of the mean", len(group))
        else:
            what = ngettext("%(num)d consecutive value beyond the same %(limit)s SD limit",
                            "%(num)d consecutive values beyond the same %(limit)s SD limit",
                            len(group), limit=decimal(rule.limit, "g"))
        message = (_("%(rule)s (reject): %(what)s (runs %(runs)s; %(values)s).") if rule.reject
                   else _("%(rule)s (warning): %(what)s (runs %(runs)s; %(values)s)."))
        out.append(Violation(rule.name, levels, run_ids,
                             message % {"rule": rule.name, "what": what,
                                        "runs": ", ".join(run_ids), "values": zs},
                             rule.reject))
    return out
