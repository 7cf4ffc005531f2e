"""One rounding rule for every number a person reads: half away from zero on the decimal value.

Why: a figure is printed in the PDF, shown by the workbook's number format, returned by the API
and quoted in the summary sentences, and all of them must agree with what Excel's ``ROUND`` (and
its display of a "0.0" format) gives for the same number. ``f"{x:.1f}"`` and Python's ``round``
work on the binary float: 310.35 is stored as 310.34999…, so they give 310.3 where Excel gives
310.4, and an exact tie such as 118.25 goes to the even neighbour (118.2) where Excel gives 118.3.

The rule, as Excel applies it: take the number's decimal value to 15 significant digits (the
precision Excel keeps, which also removes float noise such as 0.1 + 0.2 = 0.30000000000000004),
then round half away from zero. ``rounded`` gives the result as a ``Decimal`` (exact, for the
API and for formatting); ``round_float`` as the nearest float, for storing in a workbook cell, so
that the cell's value is the number it displays.
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal
from typing import Literal

SIGNIFICANT = 15  # Excel keeps 15 significant decimal digits
#: "nearest" for a figure; "up"/"down" for the upper/lower bound of an interval, so that a bound
#: printed with fewer decimals still holds ("< 21.44" is printed "< 21.5", never "< 21.4").
Direction = Literal["nearest", "up", "down"]
_MODES = {"nearest": ROUND_HALF_UP, "up": ROUND_CEILING, "down": ROUND_FLOOR}


def rounded(value: float | Decimal, digits: int = 1, direction: Direction = "nearest") -> Decimal:
    """``value`` rounded to ``digits`` decimals, half away from zero, on its 15-digit decimal
    value (``ROUND_HALF_UP`` in ``decimal`` rounds ties away from zero, for negatives too); or,
    for a bound, ``direction`` "up" or "down" on the same decimal value."""
    if isinstance(value, Decimal):
        exact = value
    else:
        if not math.isfinite(value):
            raise ValueError(f"cannot round {value!r}")
        exact = Decimal(f"{value:.{SIGNIFICANT}g}")
    result = exact.quantize(Decimal(1).scaleb(-digits), rounding=_MODES[direction])
    return result + 0 if result else abs(result)  # no "-0.0": a zero is printed without a sign


def round_float(value: float, digits: int = 1) -> float:
    """``rounded`` as a float: what a spreadsheet cell stores so that it shows the same figure."""
    return float(rounded(value, digits))


def format_number(value: float | Decimal, digits: int = 1, *, decimal_mark: str = ".",
                  group: str = "", direction: Direction = "nearest") -> str:
    """``value`` rounded by the rule and written with exactly ``digits`` decimals, ``decimal_mark``
    between the whole and the decimal part and ``group`` between thousands (none by default)."""
    text = f"{rounded(value, digits, direction):f}"
    sign = "-" if text.startswith("-") else ""
    whole, _, fraction = text.lstrip("-").partition(".")
    if group:
        whole = f"{int(whole):,}".replace(",", group)
    return sign + whole + (decimal_mark + fraction if digits > 0 else "")
