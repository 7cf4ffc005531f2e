"""Reading an intake spreadsheet (CSV or XLSX) into typed rows, with every shape error found.

No database here: this module checks what a spreadsheet can get wrong on its own (columns,
types, choices, dates, codes repeated inside the file) and hands typed values to
``registration``, which applies the rules that need reference data. Every cell is read as a
string (``dtype=str``, ``keep_default_na=False``) so pandas never turns ``007`` into ``7`` or
``NA`` into a missing value behind the user's back; conversion happens here, cell by cell,
with a message naming the row (as the spreadsheet numbers it: the header is row 1) and column.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

import pandas as pd
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from instruments.codecs.workbook import WorkbookRefused, read_sheet
from lims.core.errors import ValidationError
from lims.core.inputs import bounded_int_problem, date_problem, text_problem
from lims.core.labels import label
from lims.monitoring.models import PhysiologicalStatus, Sex
from lims.samples.models import SaltPackaging, SaltSource, SampleKind, UrineContainer

HEADER_ROW = 1
# A workbook whose parts unpack to more than this is refused before it is parsed (a 50,000-row
# intake sheet unpacks to about 25 MiB).
MAX_UNPACKED_BYTES = 48 * 2**20
MAX_COLUMNS = 200
KIND_COLUMN = "kind"

REQUIRED: dict[SampleKind, tuple[str, ...]] = {
    SampleKind.URINE: ("cluster_code", "participant_code", "age_months", "sex", "population_group",
                       "volume_ml", "container", "collected_at"),
    SampleKind.SALT: ("cluster_code", "salt_source", "collected_at"),
}
OPTIONAL: dict[SampleKind, tuple[str, ...]] = {
    SampleKind.URINE: ("physiological_status", "household_code", "notes", KIND_COLUMN),
    SampleKind.SALT: ("household_code", "brand", "packaging", "iodized_per_label", "notes", KIND_COLUMN),
}
# Service field name -> spreadsheet column, where they differ.
FIELD_COLUMNS = {"cluster_id": "cluster_code", "population_group_code": "population_group"}

# What each column holds, for the guide on the intake page (the column names themselves are codes
# the file must use as they are, in every language).
COLUMN_MEANINGS: dict[str, Any] = {
    "cluster_code": _l("Cluster code in the chosen survey round"),
    "participant_code": _l("Participant code (a code only, never a name)"),
    "age_months": _l("Age in whole months"),
    "sex": _l("Sex"),
    "physiological_status": _l("Pregnancy / lactation (empty: neither)"),
    "population_group": _l("Population group code"),
    "household_code": _l("Household code: links the urine samples and the salt sample of a household"),
    "volume_ml": _l("Urine volume, mL (4.5 or 4,5)"),
    "container": _l("Container"),
    "salt_source": _l("Salt source"),
    "brand": _l("Brand on the pack"),
    "packaging": _l("Packaging"),
    "iodized_per_label": _l("Iodized according to the label: yes or no"),
    "collected_at": _l("Collection date or time, lab time: YYYY-MM-DD or YYYY-MM-DD HH:MM"),
    "notes": _l("Notes (free text)"),
    KIND_COLUMN: _l("Kind of sample, when it is not chosen on the page"),
}
CHOICE_CODES: dict[str, type[StrEnum]] = {
    "sex": Sex, "physiological_status": PhysiologicalStatus, "container": UrineContainer,
    "salt_source": SaltSource, "packaging": SaltPackaging, KIND_COLUMN: SampleKind,
}


@dataclass(frozen=True)
class ColumnGuide:
    column: str
    required: bool
    meaning: str
    codes: str  # the values a choice column takes, as the file writes them


def column_guide(kind: SampleKind) -> list[ColumnGuide]:
    """The columns of a ``kind`` file, required first, with their meaning and codes."""
    return [
        ColumnGuide(column, column in REQUIRED[kind], str(COLUMN_MEANINGS[column]),
                    ", ".join(m.value for m in CHOICE_CODES[column]) if column in CHOICE_CODES else "")
        for column in REQUIRED[kind] + OPTIONAL[kind]
    ]


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?$")
_WHOLE = re.compile(r"^\d+(\.0+)?$")
_TRUE = {"yes", "y", "true", "1", "да", "иә"}
_FALSE = {"no", "n", "false", "0", "нет", "жоқ"}


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class ParsedRow:
    number: int
    values: dict[str, Any]


@dataclass
class ParsedFile:
    kind: SampleKind
    rows: list[ParsedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


class CellError(ValueError):
    """A cell that cannot be converted; the message is shown to the user."""


def column_for(field_name: str) -> str:
    return FIELD_COLUMNS.get(field_name, field_name)


def too_long(max_length: int) -> str:
    """The message for a text longer than ``max_length``, shared with the registration rules."""
    return ngettext("at most %(num)d character", "at most %(num)d characters", max_length)


# ---------------------------------------------------------------------------------------------
# Reading


def _file_error(message: str, column: str = "") -> ValidationError:
    return ValidationError(message, field="file",
                           errors=[RowError(HEADER_ROW, column, message).as_dict()] if column else [])


def read_table(data: bytes, filename: str, *, max_rows: int,
               max_unpacked: int = MAX_UNPACKED_BYTES) -> pd.DataFrame:
    """The file as a frame of stripped strings with normalised column names. A workbook is
    refused by its limits (``max_unpacked`` bytes unpacked, ``max_rows`` data rows) before or
    while it is read, never after: see `instruments.codecs.workbook`."""
    name = filename.lower()
    try:
        if name.endswith(".xlsx"):
            frame = _workbook_frame(data, max_rows=max_rows, max_unpacked=max_unpacked)
        elif name.endswith(".csv") or name.endswith(".txt"):
            text = _decode(data)
            first_line = text.split("\n", 1)[0]
            separator = ";" if first_line.count(";") > first_line.count(",") else ","
            frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_filter=False,
                                sep=separator, skip_blank_lines=False)
        else:
            raise _file_error(_("upload a .csv or .xlsx file"))
    except ValidationError:
        raise
    except WorkbookRefused as refused:
        raise _file_error(_refusal_message(refused, max_unpacked)) from refused
    except (ValueError, KeyError, OSError, zipfile.BadZipFile, pd.errors.ParserError,
            SyntaxError) as exc:  # broken sheet XML raises xml.etree's ParseError, a SyntaxError
        raise _file_error(_("the file could not be read as a spreadsheet: %(error)s", error=str(exc)[:200])) from exc
    frame = frame.fillna("").astype(str)
    frame.columns = [_normalise_column(str(c)) for c in frame.columns]
    frame = frame.apply(lambda column: column.str.strip())
    frame.index = pd.RangeIndex(HEADER_ROW + 1, HEADER_ROW + 1 + len(frame))
    # Spreadsheets often carry formatted but empty rows; the index keeps the spreadsheet's row numbers.
    return frame[(frame != "").any(axis=1)]


def _workbook_frame(data: bytes, *, max_rows: int, max_unpacked: int) -> pd.DataFrame:
    """The first sheet as pandas' ``read_excel(dtype=str)`` would give it: the first row names
    the columns (blank ones "Unnamed: n", repeated ones "name.1"), whole floats read as whole
    numbers, empty cells as ""."""
    sheet = read_sheet(data, max_unpacked=max_unpacked, max_rows=max_rows + 1,
                       max_columns=MAX_COLUMNS)
    if not sheet.rows:
        return pd.DataFrame()
    width = max(len(row) for row in sheet.rows)
    header = [*sheet.rows[0], *[None] * (width - len(sheet.rows[0]))]
    columns: list[str] = []
    for index, cell in enumerate(header):
        name = "" if cell is None else str(_cell_text(cell))
        name = name or f"Unnamed: {index}"
        base, repeat = name, 0
        while name in columns:
            repeat += 1
            name = f"{base}.{repeat}"
        columns.append(name)
    body = [[_cell_text(cell) for cell in row] + [""] * (width - len(row)) for row in sheet.rows[1:]]
    return pd.DataFrame(body, columns=columns, dtype=str)


def _cell_text(cell: object) -> str:
    if cell is None:
        return ""
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    return str(cell)


def _refusal_message(refused: WorkbookRefused, max_unpacked: int) -> str:
    """What the user reads when a workbook passes a limit: the limit, by name and size."""
    if refused.reason == "unpacked_size":
        return _("the file unpacks to more than %(size)s MiB; split it or save it as CSV",
                 size=max_unpacked // 2**20)
    if refused.reason == "rows":
        limit = refused.limit - 1  # the header row is not registered
        return ngettext("the file has more than %(num)d row; at most %(num)d can be registered at once",
                        "the file has more than %(num)d rows; at most %(num)d can be registered at once",
                        limit)
    if refused.reason == "columns":
        return ngettext("the sheet has more than %(num)d column", "the sheet has more than %(num)d columns",
                        refused.limit)
    if refused.reason == "entities":
        return _("the file declares XML entities, which are not accepted")
    return ngettext("the file has more than %(num)d part", "the file has more than %(num)d parts",
                    refused.limit)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise _file_error(_("the file is not UTF-8 text: save it as CSV UTF-8"))


def _normalise_column(name: str) -> str:
    return "_".join(name.strip().lower().split())


# ---------------------------------------------------------------------------------------------
# Parsing


def parse_file(data: bytes, filename: str, *, kind: SampleKind | None, timezone: tzinfo,
               max_rows: int) -> ParsedFile:
    """Check the columns (raising at once if they are wrong: rows would be meaningless) and
    convert every row, collecting every cell error."""
    frame = read_table(data, filename, max_rows=max_rows)
    if frame.empty:
        raise _file_error(_("the file has no data rows"))
    if len(frame) > max_rows:
        raise _file_error(ngettext("the file has %(num)d row; at most %(max)d can be registered at once",
                                   "the file has %(num)d rows; at most %(max)d can be registered at once",
                                   len(frame), max=max_rows))
    kind, kind_errors = _file_kind(frame, kind)
    _check_columns(frame, kind)
    parsed = ParsedFile(kind=kind, errors=kind_errors)
    converters = _CONVERTERS[kind]
    numbers = frame.index.tolist()
    records = frame.to_dict(orient="records")
    for number, record in zip(numbers, records, strict=True):
        values: dict[str, Any] = {}
        row_ok = True
        for column, (target, convert) in converters.items():
            try:
                values[target] = convert(record.get(column, ""), timezone)
            except CellError as exc:
                parsed.errors.append(RowError(number, column, str(exc)))
                row_ok = False
        if row_ok:
            parsed.rows.append(ParsedRow(number, values))
    if kind == SampleKind.URINE:
        parsed.errors.extend(_duplicates(frame, "participant_code"))
    if parsed.errors:
        bad = {e.row for e in parsed.errors}
        parsed.rows = [row for row in parsed.rows if row.number not in bad]
    return parsed


def _file_kind(frame: pd.DataFrame, chosen: SampleKind | None) -> tuple[SampleKind, list[RowError]]:
    """The kind chosen on the page, or the one the ``kind`` column names (one kind per file)."""
    if KIND_COLUMN not in frame.columns:
        if chosen is None:
            raise _file_error(_("choose the kind of sample or add a 'kind' column (urine or salt)"))
        return chosen, []
    errors = []
    seen: dict[SampleKind, int] = {}
    for number, value in frame[KIND_COLUMN].items():
        try:
            seen.setdefault(SampleKind(value.lower()), number)
        except ValueError:
            errors.append(RowError(number, KIND_COLUMN, _("kind must be urine or salt")))
    if chosen is not None:
        for value, number in seen.items():
            if value != chosen:
                errors.append(RowError(number, KIND_COLUMN,
                                       _("this file is registered as %(kind)s samples", kind=label(chosen).lower())))
        return chosen, errors
    if len(seen) != 1:
        message = (_("a file holds one kind of sample: register urine and salt in separate files")
                   if seen else _("the kind column is empty"))
        raise ValidationError(message, field="file", errors=[*(e.as_dict() for e in errors)])
    return next(iter(seen)), errors


def _check_columns(frame: pd.DataFrame, kind: SampleKind) -> None:
    present = list(frame.columns)
    missing = [c for c in REQUIRED[kind] if c not in present]
    allowed = set(REQUIRED[kind]) | set(OPTIONAL[kind])
    unknown = [c for c in present if c not in allowed]
    duplicated = sorted({c for c in present if present.count(c) > 1})
    if not (missing or unknown or duplicated):
        return
    errors = [RowError(HEADER_ROW, c, _("required column is missing")) for c in missing]
    errors += [RowError(HEADER_ROW, c, _("unknown column")) for c in unknown]
    errors += [RowError(HEADER_ROW, c, _("column appears twice")) for c in duplicated]
    parts = []
    if missing:
        parts.append(_("missing columns: %(cols)s", cols=", ".join(missing)))
    if unknown:
        parts.append(_("unknown columns: %(cols)s", cols=", ".join(unknown)))
    if duplicated:
        parts.append(_("repeated columns: %(cols)s", cols=", ".join(duplicated)))
    message = "; ".join(parts) + ". " + _("Expected columns for %(kind)s: %(cols)s", kind=label(kind).lower(),
                                             cols=", ".join(REQUIRED[kind] + OPTIONAL[kind]))
    raise ValidationError(message, field="file", errors=[e.as_dict() for e in errors])


def _duplicates(frame: pd.DataFrame, column: str) -> list[RowError]:
    codes = frame[column]
    repeated = codes[(codes != "") & codes.duplicated(keep=False)]
    errors = []
    positions: dict[str, list[int]] = {}
    for number, code in repeated.items():
        positions.setdefault(code, []).append(number)
    for code, rows in positions.items():
        listed = ", ".join(str(r) for r in rows)
        errors.extend(RowError(r, column, _("participant code %(code)s appears more than once in the file "
                                             "(rows %(rows)s)", code=code, rows=listed)) for r in rows)
    return errors


# ---------------------------------------------------------------------------------------------
# Cell converters: (text, lab timezone) -> value, raising CellError with a user message.

Converter = Callable[[str, tzinfo], Any]


def _required_text(max_length: int) -> Converter:
    def convert(text: str, _tz: tzinfo) -> str:
        if not text:
            raise CellError(_("required"))
        if len(text) > max_length:
            raise CellError(too_long(max_length))
        _check_text(text)
        return text

    return convert


def _optional_text(max_length: int) -> Converter:
    def convert(text: str, _tz: tzinfo) -> str | None:
        if len(text) > max_length:
            raise CellError(too_long(max_length))
        _check_text(text)
        return text or None

    return convert


def _check_text(text: str) -> None:
    """NUL (which PostgreSQL refuses), bidi overrides and zero-width characters are named in the
    cell that holds them, like every other problem of the file."""
    problem = text_problem(text)
    if problem is not None:
        raise CellError(problem)


def _whole_number(text: str, _tz: tzinfo) -> int:
    if not _WHOLE.match(text):
        raise CellError(_("expected a whole number, got '%(value)s'", value=text) if text else _("required"))
    value = int(float(text)) if "." in text else int(text)
    problem = bounded_int_problem(value)
    if problem is not None:
        raise CellError(problem)
    return value


def _volume(text: str, _tz: tzinfo) -> Decimal:
    if not text:
        raise CellError(_("required"))
    try:
        value = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise CellError(_("expected a number of millilitres, got '%(value)s'", value=text)) from None
    if not value.is_finite() or abs(value) >= Decimal(100000):
        raise CellError(_("expected a number of millilitres, got '%(value)s'", value=text))
    if value != value.quantize(Decimal("0.01")):
        raise CellError(_("at most two decimal places"))
    if value < 0:
        raise CellError(_("volume cannot be negative"))
    return value


def _choice(enum_cls: type[StrEnum], *, required: bool, default: StrEnum | None = None) -> Converter:
    by_text = {m.value.lower(): m for m in enum_cls}

    def convert(text: str, _tz: tzinfo) -> StrEnum | None:
        if not text:
            if required:
                raise CellError(_("required"))
            return default
        member = by_text.get(text.lower())
        if member is None:
            raise CellError(_("'%(value)s' is not one of: %(allowed)s", value=text,
                              allowed=", ".join(m.value for m in enum_cls)))
        return member

    return convert


def _yes_no(text: str, _tz: tzinfo) -> bool | None:
    lowered = text.lower()
    if not lowered:
        return None
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CellError(_("expected yes or no, got '%(value)s'", value=text))


def parse_local_datetime(text: str, timezone: tzinfo) -> datetime:
    """An ISO date or date-time (``YYYY-MM-DD[ HH:MM[:SS]]``) in the lab's local time, in UTC.
    The pattern comes first: ``fromisoformat`` alone would also take week dates and offsets."""
    if not _ISO_DATE.match(text):
        raise ValueError(text)
    return datetime.fromisoformat(text).replace(tzinfo=timezone).astimezone(UTC)


def _collected_at(text: str, timezone: tzinfo) -> datetime:
    if not text:
        raise CellError(_("required"))
    try:
        value = parse_local_datetime(text, timezone)
    except (ValueError, OverflowError):
        raise CellError(_("expected a date as YYYY-MM-DD or YYYY-MM-DD HH:MM, got '%(value)s'",
                          value=text)) from None
    problem = date_problem(value)
    if problem is not None:
        raise CellError(problem)
    return value


_CONVERTERS: dict[SampleKind, dict[str, tuple[str, Converter]]] = {
    SampleKind.URINE: {
        "cluster_code": ("cluster_code", _required_text(32)),
        "participant_code": ("participant_code", _required_text(32)),
        "age_months": ("age_months", _whole_number),
        "sex": ("sex", _choice(Sex, required=True)),
        "physiological_status": ("physiological_status",
                                 _choice(PhysiologicalStatus, required=False, default=PhysiologicalStatus.NONE)),
        "population_group": ("population_group_code", _required_text(32)),
        "household_code": ("household_code", _optional_text(32)),
        "volume_ml": ("volume_ml", _volume),
        "container": ("container", _choice(UrineContainer, required=True)),
        "collected_at": ("collected_at", _collected_at),
        "notes": ("notes", _optional_text(2000)),
    },
    SampleKind.SALT: {
        "cluster_code": ("cluster_code", _required_text(32)),
        "household_code": ("household_code", _optional_text(32)),
        "salt_source": ("salt_source", _choice(SaltSource, required=True)),
        "brand": ("brand", _optional_text(120)),
        "packaging": ("packaging", _choice(SaltPackaging, required=False)),
        "iodized_per_label": ("iodized_per_label", _yes_no),
        "collected_at": ("collected_at", _collected_at),
        "notes": ("notes", _optional_text(2000)),
    },
}
