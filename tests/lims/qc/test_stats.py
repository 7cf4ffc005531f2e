"""Control targets against the standard library's statistics."""

from __future__ import annotations

import statistics

import pytest

from lims.qc.stats import ControlTarget, cv_pct, establish_target, z_scores

VALUES = [148.2, 151.0, 149.5, 152.3, 147.9, 150.4, 153.1, 146.8, 150.0, 149.1,
          151.7, 148.8, 150.9, 152.0, 147.5, 149.9, 151.2, 150.6, 148.4, 149.7]


def test_target_from_twenty_runs() -> None:
    target = establish_target(VALUES)
    assert target.mean == pytest.approx(statistics.mean(VALUES))
    assert target.sd == pytest.approx(statistics.stdev(VALUES))
    assert target.n == 20
    assert target.cv_pct == pytest.approx(100 * statistics.stdev(VALUES) / statistics.mean(VALUES))
    two_sd = 2 * statistics.stdev(VALUES)
    assert target.limits(2) == pytest.approx((target.mean - two_sd, target.mean + two_sd))


def test_fewer_than_twenty_runs_is_refused_unless_provisional() -> None:
    with pytest.raises(ValueError, match="at least 20 runs; got 19"):
        establish_target(VALUES[:19])
    assert establish_target(VALUES[:10], min_runs=10).n == 10


def test_new_lot_carries_the_sd() -> None:
    target = establish_target([x + 5 for x in VALUES[:10]], min_runs=10, carry_sd=1.8)
    assert target.sd == 1.8
    assert target.mean == pytest.approx(statistics.mean(VALUES[:10]) + 5)


def test_bad_values() -> None:
    with pytest.raises(ValueError, match="finite"):
        establish_target(VALUES[:19] + [float("nan")])
    with pytest.raises(ValueError, match="SD must be positive"):
        ControlTarget(100.0, 0.0)
    with pytest.raises(ValueError, match="two values"):
        cv_pct([1.0])


def test_cv_and_z_scores() -> None:
    assert cv_pct([90.0, 110.0]) == pytest.approx(100 * statistics.stdev([90, 110]) / 100)
    assert z_scores([100.0, 112.5, 85.0], ControlTarget(100.0, 5.0)) == [0.0, 2.5, -3.0]
