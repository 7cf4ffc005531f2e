"""Reading a laboratory's EQA results from a CSV or XLSX file, for the provider who uploads them on
its behalf (a laboratory that e-mailed its sheet instead of using its account).

No database here: the file is read with the batch intake's reader (`lims.samples.batch_import`),
so the same limits, encodings and row numbering hold (the header is row 1), and the columns are
checked at once. Cells stay text: whether a value is a number, in the programme's unit and below
its ceiling is the submission service's rule (`lims.eqa.submissions`), the same for a form, the
API and a file, and it names the row.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _

from lims.core.errors import ValidationError
from lims.samples.batch_import import HEADER_ROW, RowError, read_table

#: The columns of a results file, in the order a template lists them.
REQUIRED_COLUMNS = ("sample_code", "value", "unit")
OPTIONAL_COLUMNS = ("uncertainty", "method")
#: A laboratory reports a handful of materials per round; a file is never long.
MAX_ROWS = 200


@dataclass(frozen=True)
class ResultRow:
    """One row as written: ``row`` as the spreadsheet numbers it."""

    row: int
    sample_code: str
    value: str
    unit: str
    uncertainty: str
    method: str


def read_result_file(data: bytes, filename: str) -> list[ResultRow]:
    """The rows of the file; a file that cannot be read, has no rows, too many, or columns other
    than the expected ones is refused as a whole with every column problem listed."""
    frame = read_table(data, filename, max_rows=MAX_ROWS)
    if frame.empty:
        raise ValidationError(_("the file has no data rows"), field="file")
    if len(frame) > MAX_ROWS:
        raise ValidationError(_("the file has more than %(num)d rows", num=MAX_ROWS), field="file")
    present = list(frame.columns)
    allowed = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
    errors = [RowError(HEADER_ROW, c, _("required column is missing"))
              for c in REQUIRED_COLUMNS if c not in present]
    errors += [RowError(HEADER_ROW, c, _("unknown column")) for c in present if c not in allowed]
    errors += [RowError(HEADER_ROW, c, _("column appears twice"))
               for c in sorted({c for c in present if present.count(c) > 1})]
    if errors:
        raise ValidationError(
            _("Expected columns: %(cols)s", cols=", ".join(allowed)), field="file",
            errors=[e.as_dict() for e in errors])
    return [ResultRow(row=int(number), sample_code=record.get("sample_code", ""),
                      value=record.get("value", ""), unit=record.get("unit", ""),
                      uncertainty=record.get("uncertainty", ""), method=record.get("method", ""))
            for number, record in zip(frame.index.tolist(), frame.to_dict(orient="records"),
                                      strict=True)]
