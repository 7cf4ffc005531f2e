"""Chart axes tick at 1-2-5 steps ("nice" numbers), never at 62.5 or 187.5."""

from __future__ import annotations

import math

import pytest

from reports.charts import nice_scale, ticks


@pytest.mark.parametrize("value", [0.3, 1, 7, 62.5, 101.1, 187.5, 250, 310, 600, 999, 12345])
def test_ticks_are_1_2_5_multiples_covering_the_value(value: float) -> None:
    top, step = nice_scale(value)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 9) in (1, 2, 5)
    marks = ticks(top, step)
    assert marks[0] == 0 and marks[-1] == top >= value and 2 <= len(marks) - 1 <= 5
    assert top - step < value  # no empty interval on top
