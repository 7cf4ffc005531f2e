"""One list machinery for every list of the app: sorting, filters in the URL, totals, keyset pages
and streamed CSV/XLSX exports.

A room declares a list once in its ``queries.py`` as a :class:`ListSpec`: the columns (translated
labels, SQL expressions, which ones sort), the filters (a parser that refuses what it cannot read,
and the condition it adds) and the default order. This module turns the query string into a
:class:`ListQuery` (an unknown parameter, sort key or malformed value is a 400 naming it, never a
silent default), then into one SQL statement, which serves three things:

* a **page**: sorted on the server by one indexed column plus the spec's unique id as tiebreaker
  (so the order is total and stable), cut by keyset (``after``/``before`` carry the last/first
  row's key), never by OFFSET, so page 20 000 costs what page 1 costs;
* the **total** of the filtered rows (one ``count(*)`` without the joins), exact up to
  ``LIST_COUNT_LIMIT`` rows and "more than" beyond (a million-row count alone would take longer
  than the page's budget; an export always counts exactly);
* an **export** of exactly the filtered rows in the same order, streamed: rows come from a
  server-side cursor (``yield_per``), CSV leaves in chunks as it is written, XLSX goes through
  openpyxl's write-only workbook into a temporary file. Memory stays flat at a million rows.
  Headers are the reader's language, numbers stay numbers (with the list's number formats in
  XLSX), every text cell passes ``reports.cells.safe_cell``, and each export writes one audit
  event (who, which list, filters, order, format, rows) before the first byte leaves.

Sort keys must be NOT NULL columns: keyset comparisons with NULLs drop rows, and the two
databases order NULLs differently. Each sort key has an index ``(key, id)`` (migration 0016), with
the list's usual equality filters in front where a page would otherwise scan far.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Response, current_app, request, stream_with_context, url_for
from flask_babel import get_locale, get_timezone
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from lims.audit.service import record_event
from lims.core.dt import ensure_utc
from lims.core.inputs import ID_MAX, BadParameter, date_problem, parse_id, text_problem
from lims.core.labels import label
from lims.core.text import strip_hidden
from reports.cells import safe_cell

#: Rows a worksheet holds below its header row (Excel's limit is 1,048,576 rows).
XLSX_MAX_ROWS = 1_048_575
#: Rows fetched per round trip while exporting.
EXPORT_BATCH = 2000
#: Parameters of the machinery itself (besides the spec's filters).
SORT, AFTER, BEFORE, EXPORT = "sort", "after", "before", "export"
FORMATS = ("csv", "xlsx")
#: A cursor or a filter text longer than this is no value of ours.
MAX_PARAMETER_LENGTH = 200
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Expression = sa.ColumnElement[Any] | Callable[[str], sa.ColumnElement[Any]]


@dataclass(frozen=True)
class Column:
    """One column of a list. ``expr`` is an SQL expression, or a function of the locale giving
    one (a region's name in the reader's language). ``kind`` says how a cell is written:
    ``text``, ``label`` (an enum value shown by its translated label), ``int``, ``number``
    (``digits`` decimals in XLSX), ``datetime`` (in the lab's zone), ``bool``. A column with
    ``label=None`` is fetched for the page (an id for a link) but not exported."""

    key: str
    label: Any
    expr: Expression
    kind: str = "text"
    digits: int = 1
    sortable: bool = False
    #: The column alone identifies a row (an accession): no tiebreaker needed to order by it.
    unique: bool = False
    #: Turns the stored value into what people read (a run's id into RUN-000123, an action
    #: code into its label) in the file; ``kind`` still says how a cursor on it is read.
    display: Callable[[Any], Any] | None = None

    def sql(self, locale: str) -> sa.ColumnElement[Any]:
        expr = self.expr(locale) if callable(self.expr) else self.expr
        return expr.label(self.key)

    @property
    def exported(self) -> bool:
        return self.label is not None


@dataclass(frozen=True)
class Filter:
    """A filter parameter: ``parse`` turns its text into a value or raises ``ValueError`` with
    the reader's-language reason; ``where`` gives the condition. ``kind`` is how the filter form
    shows it (``choice`` with ``choices()``, ``text``, ``date``, or ``hidden`` for filters that
    arrive in links, such as a run's id). ``default`` applies when the parameter is absent (an
    empty value means "all")."""

    key: str
    label: Any
    parse: Callable[[str], Any]
    where: Callable[[Any], sa.ColumnElement[bool] | Sequence[sa.ColumnElement[bool]]]
    kind: str = "choice"
    choices: Callable[[], Sequence[tuple[str, str]]] | None = None
    default: str | None = None
    #: The order this filter is best read in when the URL names none (an accession prefix:
    #: by accession, one range scan of its unique index).
    prefers_sort: str | None = None


@dataclass(frozen=True)
class ListSpec:
    """A list: ``name`` (the audit's and the file's name), the statement's ``source`` (the main
    table, counted without joins), ``joins`` (adds what the columns read from other tables),
    the unique ``id`` tiebreaker, columns, filters and the default order (``-key`` descending)."""

    name: str
    title: Any
    source: Any
    id: Any
    columns: tuple[Column, ...]
    filters: tuple[Filter, ...]
    default_sort: str
    joins: Callable[[sa.Select[Any]], sa.Select[Any]] = lambda stmt: stmt

    def __post_init__(self) -> None:
        for column in self.columns:
            if column.sortable and not callable(column.expr):
                nullable = getattr(getattr(column.expr, "expression", column.expr), "nullable",
                                   False)
                if nullable:
                    raise ValueError(f"{self.name}.{column.key}: a sort key must be NOT NULL")
        if self.default_sort.lstrip("-") not in self.sort_keys:
            raise ValueError(f"{self.name}: default sort {self.default_sort!r} is not sortable")

    @property
    def sort_keys(self) -> dict[str, Column]:
        return {c.key: c for c in self.columns if c.sortable}

    @property
    def exported_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.exported)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)


# -- parsing the query string ------------------------------------------------------------------

@dataclass(frozen=True)
class Cursor:
    """The key of a row: its sort value and its id (``None`` when the sort key is unique)."""

    value: Any
    id: int | None

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else str(self.value)
        return value if self.id is None else f"{value}~{self.id}"


@dataclass(frozen=True)
class ListQuery:
    """What the URL asks of a list: the sort column and direction, the parsed filter values, the
    raw parameters that make the URL (to keep in links), and the keyset cursor if any."""

    spec: ListSpec
    sort: Column
    descending: bool
    values: dict[str, Any]
    params: dict[str, str]
    after: Cursor | None = None
    before: Cursor | None = None

    @property
    def sort_param(self) -> str:
        return ("-" if self.descending else "") + self.sort.key

    def conditions(self) -> list[sa.ColumnElement[bool]]:
        found: list[sa.ColumnElement[bool]] = []
        for flt in self.spec.filters:
            value = self.values.get(flt.key)
            if value is None:
                continue
            where = flt.where(value)
            found.extend(where if isinstance(where, (list, tuple)) else [where])
        return found

    def audit_filters(self) -> dict[str, str]:
        return {k: v for k, v in self.params.items() if k != SORT}


def _refuse(name: str, reason: str) -> BadParameter:
    return BadParameter(_("The parameter %(name)s is not valid: %(reason)s", name=name,
                          reason=reason), field=name)


def parse_query(spec: ListSpec, args: Mapping[str, str], *,
                ignore: Iterable[str] = ()) -> ListQuery:
    """The list query of a URL, or a 400 that names the parameter and says what is wrong:
    an unknown parameter or sort key, a malformed filter value or cursor."""
    known = {SORT, AFTER, BEFORE, EXPORT, *(f.key for f in spec.filters), *ignore}
    for name in args:
        if name not in known:
            raise BadParameter(_("This list has no filter %(name)s.", name=name), field=name)
    preferred = next((f.prefers_sort for f in spec.filters
                      if f.prefers_sort and (args.get(f.key) or "").strip()), None)
    raw_sort = (args.get(SORT) or preferred or spec.default_sort).strip()
    key = raw_sort.removeprefix("-")
    if key not in spec.sort_keys:
        names = ", ".join(spec.sort_keys)
        raise BadParameter(_("This list cannot be sorted by %(name)s; it can be sorted by "
                             "%(names)s.", name=key[:40], names=names), field=SORT)
    sort = spec.sort_keys[key]
    params: dict[str, str] = {}
    if args.get(SORT):
        params[SORT] = raw_sort
    values: dict[str, Any] = {}
    for flt in spec.filters:
        raw = args.get(flt.key)
        if raw is not None and (raw.strip() or flt.default):
            params[flt.key] = raw.strip()  # an empty value of a defaulted filter means "all"
        if raw is None:
            raw = flt.default
        if raw is None or raw.strip() == "":
            continue
        # A search box takes what a scanner or a paste brings (a GS separator, a zero-width
        # space) and looks for the visible text; any other filter refuses such characters.
        raw = strip_hidden(raw).strip() if flt.kind == "text" else raw.strip()
        if len(raw) > MAX_PARAMETER_LENGTH or (problem := text_problem(raw)):
            raise _refuse(flt.key, problem if len(raw) <= MAX_PARAMETER_LENGTH
                          else _("the value is too long."))
        try:
            values[flt.key] = flt.parse(raw)
        except (ValueError, LookupError) as error:
            raise _refuse(flt.key, str(error) or _("the value is not one this list knows.")) \
                from error
    after = _parse_cursor(spec, sort, args, AFTER)
    before = _parse_cursor(spec, sort, args, BEFORE)
    if after is not None and before is not None:
        raise BadParameter(_("Give either %(a)s or %(b)s, not both.", a=AFTER, b=BEFORE),
                           field=BEFORE)
    return ListQuery(spec, sort, raw_sort.startswith("-"), values, params, after, before)


def _parse_value(column: Column, raw: str) -> Any:
    if column.kind == "datetime":
        moment = datetime.fromisoformat(raw)
        if date_problem(moment) is not None:
            raise ValueError(raw)
        return ensure_utc(moment)
    if column.kind == "int":
        value = parse_id(raw)
        if value is None:
            raise ValueError(raw)
        return value
    return raw


def _parse_cursor(spec: ListSpec, sort: Column, args: Mapping[str, str],
                  name: str) -> Cursor | None:
    raw = args.get(name)
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    try:
        if len(raw) > MAX_PARAMETER_LENGTH or text_problem(raw):
            raise ValueError(raw)
        if sort.unique:
            return Cursor(_parse_value(sort, raw), None)
        value, sep, row_id = raw.rpartition("~")
        identifier = parse_id(row_id)
        if not sep or identifier is None:
            raise ValueError(raw)
        return Cursor(_parse_value(sort, value), identifier)
    except ValueError as error:
        raise _refuse(name, _("it is not a position in this list; start again from the "
                              "first page.")) from error


# -- common filter parsers ---------------------------------------------------------------------

def choice_parser(values: Iterable[str]) -> Callable[[str], str]:
    allowed = frozenset(values)

    def parse(raw: str) -> str:
        if raw not in allowed:
            raise ValueError(_("choose one of the offered values."))
        return raw

    return parse


def enum_parser(enum_cls: Any) -> Callable[[str], Any]:
    parse_text = choice_parser(m.value for m in enum_cls)
    return lambda raw: enum_cls(parse_text(raw))


def enum_choices(enum_cls: Any) -> Callable[[], list[tuple[str, str]]]:
    return lambda: [(m.value, label(m)) for m in enum_cls]


def id_parser(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise ValueError(_("it must be a whole number between 1 and %(max)s.", max=ID_MAX))
    return value


def date_parser(raw: str) -> date:
    try:
        day = date.fromisoformat(raw)
    except ValueError as error:
        raise ValueError(_("write the date as YYYY-MM-DD.")) from error
    problem = date_problem(day)
    if problem is not None:
        raise ValueError(problem)
    return day


def local_midnight(day: date, days_after: int = 0) -> datetime:
    """A date typed by the user is a day in the user's time zone; stored times are UTC."""
    return ensure_utc(datetime.combine(day + timedelta(days=days_after), time.min,
                                       tzinfo=get_timezone()))


def date_range_filters(column: Any, key: str, label_from: Any,
                       label_to: Any) -> tuple[Filter, Filter]:
    """``<key>_from`` and ``<key>_to``: whole days in the reader's zone, both inclusive."""
    return (
        Filter(f"{key}_from", label_from, date_parser,
               lambda day: column >= local_midnight(day), kind="date"),
        Filter(f"{key}_to", label_to, date_parser,
               lambda day: column < local_midnight(day, 1), kind="date"),
    )


def text_parser(max_length: int = 80) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if len(raw) > max_length:
            raise ValueError(_("the value is too long."))
        return raw

    return parse


# -- statements --------------------------------------------------------------------------------

def _locale() -> str:
    return str(get_locale() or "en")


def rows_statement(query: ListQuery, *, locale: str, reverse: bool = False) -> sa.Select[Any]:
    """The list's rows in its order (or the reverse), filtered, without the cursor or a limit."""
    spec = query.spec
    columns = [c.sql(locale) for c in spec.columns]
    stmt = spec.joins(sa.select(*columns).select_from(spec.source)).where(*query.conditions())
    descending = query.descending != reverse
    key = query.sort.expr(locale) if callable(query.sort.expr) else query.sort.expr
    order = [key] if query.sort.unique else [key, spec.id]
    return stmt.order_by(*(o.desc() if descending else o.asc() for o in order))


def _past(query: ListQuery, cursor: Cursor, *, forward: bool, locale: str) -> sa.ColumnElement[bool]:
    """Rows that come after ``cursor`` in the list's order (``forward``) or before it."""
    key = query.sort.expr(locale) if callable(query.sort.expr) else query.sort.expr
    value = sa.literal(cursor.value, key.type)
    greater = query.descending != forward  # ascending order and forward: greater keys
    if query.sort.unique or cursor.id is None:
        return key > value if greater else key < value
    mine = sa.tuple_(key, query.spec.id)
    theirs = sa.tuple_(value, sa.literal(cursor.id, query.spec.id.type))
    return mine > theirs if greater else mine < theirs


def count_statement(query: ListQuery) -> sa.Select[tuple[int]]:
    """The total of the filtered rows, on the main table alone: filters name its columns (or
    test other tables with EXISTS), so no join is paid for a count."""
    return sa.select(sa.func.count()).select_from(query.spec.source).where(*query.conditions())


@dataclass
class Page:
    """One page of a list, with what its template needs to link on."""

    query: ListQuery
    rows: list[Any]
    total: int
    has_next: bool
    has_prev: bool
    endpoint: str
    view_args: dict[str, Any] = field(default_factory=dict)
    #: False when the list holds more rows than were counted (``total`` is then the limit).
    total_exact: bool = True

    def url(self, **changes: str | None) -> str:
        params = {**self.query.params, **changes}
        return url_for(self.endpoint, **self.view_args,
                       **{k: v for k, v in params.items() if v not in (None, "")})

    def _key(self, row: Any) -> str:
        value = getattr(row, self.query.sort.key)
        cursor = Cursor(value, None if self.query.sort.unique else row._lims_id)
        return cursor.encode()

    @property
    def next_url(self) -> str:
        return self.url(after=self._key(self.rows[-1])) if self.has_next and self.rows else ""

    @property
    def prev_url(self) -> str:
        if not self.has_prev:
            return ""
        if not self.rows:
            return self.url()
        return self.url(before=self._key(self.rows[0]))

    def sort_url(self, column: Column) -> str:
        """Sorted by ``column``: the other direction if it is the current one, else its natural
        first direction (newest, largest first for times and numbers; A to Z for text)."""
        if column is self.query.sort:
            flip = "" if self.query.descending else "-"
        else:
            flip = "-" if column.kind in ("datetime", "int", "number") else ""
        return self.url(sort=flip + column.key)

    def aria_sort(self, column: Column) -> str | None:
        if column is not self.query.sort:
            return None
        return "descending" if self.query.descending else "ascending"

    def export_url(self, fmt: str) -> str:
        return self.url(export=fmt)


def count_rows(session: Session, query: ListQuery, *, limit: int | None = None
               ) -> tuple[int, bool]:
    """The number of filtered rows and whether it is exact: with ``limit``, counting stops
    after ``limit`` rows (a million-row count costs more than the page it heads)."""
    if limit is None:
        return session.scalar(count_statement(query)) or 0, True
    rows = (sa.select(sa.literal(1)).select_from(query.spec.source)
            .where(*query.conditions()).limit(limit + 1).subquery())
    counted = session.scalar(sa.select(sa.func.count()).select_from(rows)) or 0
    return min(counted, limit), counted <= limit


def fetch_page(session: Session, query: ListQuery, *, size: int, endpoint: str,
               view_args: dict[str, Any] | None = None, locale: str | None = None,
               count_limit: int | None = None) -> Page:
    """One page in the list's order: ``after`` the cursor (the next page), or the ``size`` rows
    just ``before`` it (a previous page; the first page if that runs into the top); with the
    total of the filtered rows (counted up to ``count_limit``)."""
    locale = locale or _locale()
    id_col = query.spec.id.label("_lims_id")

    def fetch(cursor: Cursor | None, *, forward: bool) -> list[Any]:
        stmt = rows_statement(query, locale=locale, reverse=not forward).add_columns(id_col)
        if cursor is not None:
            stmt = stmt.where(_past(query, cursor, forward=forward, locale=locale))
        return list(session.execute(stmt.limit(size + 1)))

    total, exact = count_rows(session, query, limit=count_limit)

    def page(rows: list[Any], has_next: bool, has_prev: bool) -> Page:
        return Page(query, rows, total, has_next, has_prev, endpoint, view_args or {}, exact)

    if query.before is not None:
        rows = fetch(query.before, forward=False)
        if len(rows) > size:
            return page(rows[:size][::-1], True, True)
    elif query.after is not None:
        rows = fetch(query.after, forward=True)
        return page(rows[:size], len(rows) > size, True)
    rows = fetch(None, forward=True)
    return page(rows[:size], len(rows) > size, False)


# -- export ------------------------------------------------------------------------------------

def cell(column: Column, value: Any) -> Any:
    """A value as it goes into a file: numbers stay numbers, times are the lab's local time
    (spreadsheets know no zones), enum values their translated label, booleans yes/no, and text
    made safe from spreadsheet formulas (OWASP)."""
    return _convert(column, value, get_timezone())


def _convert(column: Column, value: Any, zone: Any) -> Any:
    if value is None:
        return None
    if column.display is not None:
        shown = column.display(value)
        return safe_cell(shown) if isinstance(shown, str) else shown
    if column.kind == "datetime" and isinstance(value, datetime):
        return ensure_utc(value).astimezone(zone).replace(tzinfo=None)
    if column.kind == "int":
        return int(value)
    if column.kind == "number":
        return float(value) if isinstance(value, Decimal) else value
    if column.kind == "bool":
        return _("yes") if value else _("no")
    if column.kind == "label":
        return safe_cell(label(value))
    return safe_cell(value if isinstance(value, str) else str(value))


#: Distinct values remembered per column while exporting (statuses, kinds: a handful).
CONVERTED_CACHE = 1000


def converter(column: Column, zone: Any) -> Callable[[Any], Any]:
    """``cell`` for one column of an export, fast at a million rows: the time zone looked up
    once, and a label translated once per distinct value (gettext per cell would cost more than
    the rest of the export)."""
    if column.display is None and column.kind not in ("label", "bool"):
        return lambda value: _convert(column, value, zone)
    cache: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return cache[value]
        except KeyError:
            found = cache[value] = _convert(column, value, zone)
            if len(cache) > CONVERTED_CACHE:
                cache.clear()
            return found
        except TypeError:  # unhashable (a JSON list or mapping)
            return _convert(column, value, zone)

    return convert


def export_rows(session: Session, query: ListQuery, *, locale: str) -> Iterator[list[Any]]:
    """Every filtered row in the list's order, as file cells, from a server-side cursor."""
    columns = query.spec.exported_columns
    keys = [c.key for c in columns]
    converters = [converter(c, get_timezone()) for c in columns]
    stmt = rows_statement(query, locale=locale).execution_options(yield_per=EXPORT_BATCH)
    for row in session.execute(stmt):
        mapping = row._mapping
        yield [convert(mapping[key]) for convert, key in zip(converters, keys, strict=True)]


def csv_chunks(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """UTF-8 with a byte-order mark (so Excel reads Cyrillic right), RFC 4180 quoting, a chunk
    per ``EXPORT_BATCH`` rows. Times are written ``YYYY-MM-DD HH:MM:SS``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in headers])
    yield ("\ufeff" + buffer.getvalue()).encode("utf-8")
    buffer.seek(0)
    buffer.truncate()
    for n, row in enumerate(rows, 1):
        writer.writerow([v.isoformat(sep=" ", timespec="seconds") if isinstance(v, datetime)
                         else v for v in row])
        if n % EXPORT_BATCH == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode("utf-8")


def _number_format(column: Column, locale: str) -> str | None:
    if column.display is not None:
        return None
    if column.kind == "number":
        return "0" if column.digits <= 0 else "0." + "0" * column.digits
    if column.kind == "int":
        return "0"
    if column.kind == "datetime":
        return "dd.mm.yyyy hh:mm" if locale in ("ru", "kk") else "yyyy-mm-dd hh:mm"
    return None


def xlsx_chunks(title: str, columns: Sequence[Column], headers: Sequence[str],
                rows: Iterable[Sequence[Any]], *, locale: str) -> Iterator[bytes]:
    """A write-only workbook (rows go to a temporary file as they come, never all in memory),
    its header row bold and frozen, each column with its number format; then the file's bytes
    in chunks."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet(title=safe_sheet_title(title))
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for text in headers:
        item = WriteOnlyCell(sheet, value=safe_cell(text))
        item.font = bold
        header_cells.append(item)
    sheet.append(header_cells)
    formats = [_number_format(c, locale) for c in columns]
    for row in rows:
        out: list[Any] = []
        for value, number_format in zip(row, formats, strict=True):
            if number_format is None or value is None:
                out.append(value)
            else:
                item = WriteOnlyCell(sheet, value=value)
                item.number_format = number_format
                out.append(item)
        sheet.append(out)
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(1 << 16):
            yield chunk


def safe_sheet_title(title: str) -> str:
    for char in "[]:*?/\\":
        title = title.replace(char, " ")
    return title[:31] or "list"


def record_export(session: Session, *, actor: Any, now: datetime, name: str, fmt: str,
                  rows: int, filters: Mapping[str, Any], sort: str | None = None) -> None:
    """The one audit event of an export: who (the event's actor), which list, with which
    filters and order, in which format, how many rows."""
    changes: dict[str, Any] = {"list": name, "format": fmt, "filters": dict(filters),
                               "rows": rows}
    if sort:
        changes["sort"] = sort
    record_event(session, actor=actor, now=now, action="list_exported", entity_type="user",
                 entity_id=actor.id, entity_label=name, changes=changes)


def export_table(session: Session, *, name: str, title: str, columns: Sequence[Column],
                 rows: Iterable[Sequence[Any]], total: int, fmt: str, actor: Any,
                 now: datetime, filters: Mapping[str, Any], sort: str | None = None,
                 ) -> Response:
    """Audit and commit, then stream ``rows`` (file cells, one per exported column) as CSV or
    XLSX. An XLSX beyond a worksheet's rows is refused (400) before anything is written: it
    could not hold exactly the rows asked for."""
    if fmt not in FORMATS:
        raise BadParameter(_("Export as %(formats)s.", formats=" or ".join(FORMATS)),
                           field=EXPORT)
    if fmt == "xlsx" and total > XLSX_MAX_ROWS:
        raise BadParameter(_("%(num)s rows do not fit in one worksheet (at most %(max)s); "
                             "narrow the filters or export CSV.", num=total, max=XLSX_MAX_ROWS),
                           field=EXPORT)
    record_export(session, actor=actor, now=now, name=name, fmt=fmt, rows=total,
                  filters=filters, sort=sort)
    session.commit()
    headers = [str(c.label) for c in columns]
    if fmt == "csv":
        body = csv_chunks(headers, rows)
        mimetype = "text/csv; charset=utf-8"
    else:
        body = xlsx_chunks(title, columns, headers, rows, locale=_locale())
        mimetype = XLSX_MIMETYPE
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(body), mimetype=mimetype, headers={
        "Content-Disposition": f'attachment; filename="{name}-{stamp}.{fmt}"',
        "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})


def export_response(session: Session, query: ListQuery, fmt: str, *, actor: Any,
                    now: datetime) -> Response:
    """Exactly the filtered rows of a list, in its order: counted (for the audit and the XLSX
    limit), then streamed from a server-side cursor."""
    total = session.scalar(count_statement(query)) or 0
    return export_table(session, name=query.spec.name, title=str(query.spec.title),
                        columns=query.spec.exported_columns,
                        rows=export_rows(session, query, locale=_locale()), total=total,
                        fmt=fmt, actor=actor, now=now, filters=query.audit_filters(),
                        sort=query.sort_param)


def list_page(session: Session, spec: ListSpec, *, actor: Any, now: datetime,
              ignore: Iterable[str] = (), view_args: dict[str, Any] | None = None
              ) -> Page | Response:
    """What a list view does with its request: the export if ``export`` is asked, else the page.
    A bad parameter raises ``BadParameter`` (400) before any query runs."""
    query = parse_query(spec, request.args, ignore=ignore)
    fmt = request.args.get(EXPORT)
    if fmt is not None:
        return export_response(session, query, fmt.strip(), actor=actor, now=now)
    return fetch_page(session, query, size=current_app.config["PAGE_SIZE"],
                      endpoint=request.endpoint or "core.index", view_args=view_args,
                      count_limit=current_app.config["LIST_COUNT_LIMIT"])
