"""Each Westgard rule with sequences that must fire and sequences that must not (boundaries)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from lims.analysis.methods import WESTGARD_N2, WESTGARD_N3
from lims.qc.stats import ControlTarget
from lims.qc.westgard import ControlRun, QcEvaluation, evaluate_run, parse_rule

LEVELS3 = {"low": ControlTarget(50.0, 5.0), "mid": ControlTarget(150.0, 10.0),
           "high": ControlTarget(300.0, 20.0)}
LEVELS2 = {"low": ControlTarget(50.0, 5.0), "high": ControlTarget(300.0, 20.0)}

Row = Mapping[str, float | Sequence[float]]


def evaluate(rows: Sequence[Row], rules: Sequence[str],
             targets: Mapping[str, ControlTarget] = LEVELS3) -> QcEvaluation:
    """Rows of z-scores per level (oldest first) as control values; the last row is judged."""
    runs = []
    for i, row in enumerate(rows, 1):
        values = {}
        for level, zs in row.items():
            t = targets[level]
            zlist = [zs] if isinstance(zs, float | int) else zs
            values[level] = [t.mean + z * t.sd for z in zlist]
        runs.append(ControlRun(f"r{i}", values))
    return evaluate_run(runs, targets, rules)


def fired(rows: Sequence[Row], rule: str, targets: Mapping[str, ControlTarget] = LEVELS3) -> bool:
    found = evaluate(rows, [rule], targets).violations
    assert all(v.rule == rule for v in found)
    return bool(found)


def lows(*zs: float) -> list[Row]:
    return [{"low": z} for z in zs]


# -- 1-2s / 1-3s ------------------------------------------------------------------------------

@pytest.mark.parametrize(("z", "fires"), [(2.1, True), (-2.01, True), (2.0, False), (-2.0, False),
                                          (1.5, False)])
def test_1_2s_is_a_warning(z: float, fires: bool) -> None:
    result = evaluate(lows(z), ["1-2s"])
    assert bool(result.warnings) is fires
    assert result.accepted and result.rejections == ()


@pytest.mark.parametrize(("z", "fires"), [(3.01, True), (-3.5, True), (3.0, False), (-3.0, False)])
def test_1_3s(z: float, fires: bool) -> None:
    result = evaluate(lows(z), ["1-3s"])
    assert bool(result.rejections) is fires and result.accepted is not fires


def test_1_3s_looks_only_at_the_current_run() -> None:
    assert not fired(lows(4.0, 0.0), "1-3s")


# -- 2-2s ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "fires"), [
    (lows(2.1, 2.2), True),          # within a material, across runs
    (lows(-2.1, -2.5), True),
    (lows(2.1, -2.1), False),        # opposite limits
    (lows(2.1, 2.0), False),         # on the limit is not beyond it
    (lows(2.1, 2.1, 0.0), False),    # an old violation is not this run's
    ([{"low": 2.1, "mid": 2.1, "high": 0.0}], True),   # across materials within the run
    ([{"low": 2.1, "mid": 1.9, "high": 2.1}], False),  # not consecutive (2of3-2s covers it)
    ([{"high": 2.1}, {"low": 2.1}], False),            # across materials *and* runs: not 2-2s
    ([{"low": [2.3, 2.4]}], True),                     # two replicates of one level in the run
], ids=lambda v: str(v))
def test_2_2s(rows: list[Row], fires: bool) -> None:
    assert fired(rows, "2-2s") is fires


def test_2_2s_reports_rule_levels_runs_and_message() -> None:
    (violation,) = evaluate(lows(2.1, 2.2), ["2-2s"]).violations
    assert (violation.rule, violation.levels, violation.run_ids, violation.reject) == (
        "2-2s", ("low",), ("r1", "r2"), True)
    assert violation.message == ("2-2s (reject): 2 consecutive values beyond the same 2 SD limit "
                                 "(runs r1, r2; Low +2.10 SD, Low +2.20 SD).")


# -- R-4s ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "fires"), [
    ([{"low": 2.1, "high": -2.1}], True),
    ([{"low": [2.1, -2.2]}], True),
    ([{"low": 2.1, "high": -2.0}], False),
    (lows(2.1, -2.1), False),                # across runs: never R-4s
    ([{"low": 3.5, "mid": -1.5}], False),    # range 5 SD but not one past each 2 SD limit
], ids=lambda v: str(v))
def test_r_4s_within_the_run_only(rows: list[Row], fires: bool) -> None:
    assert fired(rows, "R-4s") is fires


# -- 4-1s ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rows", "fires"), [
    (lows(1.1, 1.1, 1.1, 1.1), True),
    (lows(-1.1, -1.2, -3.0, -1.5), True),
    (lows(1.1, 1.1, 1.1), False),
    (lows(1.1, 1.1, 1.0, 1.1), False),
    (lows(1.1, 1.1, -1.1, 1.1), False),
    (lows(1.1, 1.1, 1.1, 1.1, 0.0), False),
], ids=lambda v: str(v))
def test_4_1s_within_a_material(rows: list[Row], fires: bool) -> None:
    assert fired(rows, "4-1s", LEVELS2) is fires


def test_4_1s_across_materials() -> None:
    assert fired([{"low": 1.2, "high": 1.2}, {"low": 1.2, "high": 1.2}], "4-1s", LEVELS2)
    assert not fired([{"low": 1.2, "high": 0.5}, {"low": 1.2, "high": 1.2}], "4-1s", LEVELS2)


def test_4_1s_fires_without_any_2s_point_in_the_full_set() -> None:
    """No 1-2s gate: every rejection rule is evaluated on every run (domain.md §4.1)."""
    result = evaluate(lows(1.5, 1.5, 1.5, 1.5), WESTGARD_N2, LEVELS2)
    assert [v.rule for v in result.violations] == ["4-1s"]
    assert not result.accepted and result.warnings == ()


# -- N = 3 set: 3-1s, 2of3-2s, 6x ---------------------------------------------------------------

@pytest.mark.parametrize(("rows", "fires"), [
    ([{"low": 1.5, "mid": 1.5, "high": 1.5}], True),   # across the run's three levels
    ([{"low": 1.5, "mid": 1.5, "high": 0.9}], False),
    (lows(1.5, 1.5, 1.5), True),                       # one level across runs
    (lows(1.5, 1.5, 1.0), False),
    ([{"high": 1.5}, {"low": 1.5, "mid": 1.5}], True), # across levels and runs
], ids=lambda v: str(v))
def test_3_1s(rows: list[Row], fires: bool) -> None:
    assert fired(rows, "3-1s") is fires


@pytest.mark.parametrize(("rows", "fires"), [
    ([{"low": 2.1, "mid": 0.0, "high": 2.1}], True),
    ([{"low": -2.1, "mid": -2.5, "high": 0.0}], True),
    ([{"low": 2.1, "mid": 0.0, "high": -2.1}], False),
    ([{"low": 2.1, "mid": 0.0, "high": 2.0}], False),
    (lows(2.1, 0.0, 2.1), True),
    (lows(2.1, 0.0, 0.0, 2.1), False),                 # the first is out of the last three
    (lows(2.1, 2.1, 0.0, 0.0), False),                 # both flagged values are history
], ids=lambda v: str(v))
def test_2of3_2s(rows: list[Row], fires: bool) -> None:
    assert fired(rows, "2of3-2s") is fires


@pytest.mark.parametrize(("rule", "n"), [("6x", 6), ("8x", 8), ("9x", 9), ("10x", 10), ("12x", 12)])
def test_nx_counts_values_on_one_side_of_the_mean(rule: str, n: int) -> None:
    assert fired(lows(*[0.5] * n), rule)
    assert fired(lows(*[-0.1] * n), rule)
    assert not fired(lows(*[0.5] * (n - 1)), rule)
    assert not fired(lows(*([0.5] * (n - 1) + [0.0])), rule)   # on the mean is on neither side
    assert not fired(lows(*([0.5] * n + [-0.5])), rule)        # the current run breaks the streak


def test_10x_across_materials() -> None:
    assert fired([{"low": 0.5, "high": 0.3}] * 5, "10x", LEVELS2)
    assert not fired([{"low": 0.5, "high": 0.3}] * 4 + [{"low": 0.5, "high": -0.3}], "10x", LEVELS2)


def test_a_long_shift_is_reported_once() -> None:
    (violation,) = evaluate(lows(*[0.5] * 12), ["10x"]).violations
    assert violation.run_ids == tuple(f"r{i}" for i in range(1, 13))


def test_the_n3_set_on_a_clean_and_a_bad_run() -> None:
    history: list[Row] = [{"low": 0.3, "mid": -0.4, "high": 0.8},
                          {"low": -0.6, "mid": 0.2, "high": 0.1}]
    clean = evaluate(history + [{"low": 1.1, "mid": -0.9, "high": 0.0}], WESTGARD_N3)
    assert clean.accepted and clean.violations == ()
    bad = evaluate(history + [{"low": 2.4, "mid": 0.2, "high": -3.2}], WESTGARD_N3)
    assert {v.rule for v in bad.violations} == {"1-2s", "1-3s", "R-4s"}
    assert not bad.accepted and [v.rule for v in bad.warnings] == ["1-2s", "1-2s"]


# -- rule names and bad input -------------------------------------------------------------------

@pytest.mark.parametrize(("name", "shape"), [
    ("1-2s", ("single", 2, 1, 1, False)), ("1-3s", ("single", 3, 1, 1, True)),
    ("2-2s", ("consecutive", 2, 2, 1, True)), ("4-1s", ("consecutive", 1, 4, 1, True)),
    ("3-1s", ("consecutive", 1, 3, 1, True)), ("R-4s", ("range", 4, 1, 1, True)),
    ("2of3-2s", ("k_of_n", 2, 2, 3, True)), ("10x", ("consecutive", 0, 10, 1, True)),
])
def test_rule_names(name: str, shape: tuple) -> None:
    rule = parse_rule(name)
    assert (rule.kind, rule.limit, rule.count, rule.window, rule.reject) == shape


@pytest.mark.parametrize("name", ["foo", "1x", "3of2-2s", "R4s", "2-2", ""])
def test_unknown_rule_names(name: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(name)


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="no target for control level.s. extra"):
        evaluate_run([ControlRun("r1", {"extra": [1.0]})], LEVELS3, ["1-3s"])
    with pytest.raises(ValueError, match="no run"):
        evaluate_run([], LEVELS3, ["1-3s"])
