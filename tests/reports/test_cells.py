"""OWASP formula-injection neutralisation of exported cells (reports/cells.py)."""

from __future__ import annotations

import datetime as dt

import pytest

from reports.cells import safe_cell


@pytest.mark.parametrize("text", ["=1+1", "+7", "-2", "@SUM(A1)", "\tx", "\rx",
                                  '=HYPERLINK("http://x","y")'])
def test_text_a_spreadsheet_would_evaluate_is_quoted(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["U-2026-000001", "", "a=b", " =1", "Ақмола", "'=already"])
def test_other_text_is_unchanged(value: str) -> None:
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [-2, -2.5, 0, 1e300, True, None, dt.date(2026, 1, 2)])
def test_numbers_and_other_values_stay_what_they_are(value: object) -> None:
    assert safe_cell(value) is value
