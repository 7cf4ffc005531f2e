"""Bulk writes that stay fast at thousands of rows, on both backends.

PostgreSQL takes the rows through COPY (the bulk-load path: 10,000 rows in a fraction of a second,
in the caller's transaction); SQLite through executemany, which is in-process and fast. Callers
read new ids back by natural key. Building ORM objects, or sending INSERT … VALUES with tens of
thousands of parameters, costs seconds per 10,000 rows (and a 1,000-row readings batch spent more
time parsing its INSERT … RETURNING than writing its rows).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session


def bulk_insert(session: Session, table: sa.Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys) into ``table`` in the session's transaction."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(sa.insert(table), rows)
        return
    columns = list(rows[0])
    types = {c.name: c.type for c in table.columns}
    matrix = [[row[c] for c in columns] for row in rows]
    # converted column by column, only the columns whose type needs it (checking every value
    # was a third of a readings batch's COPY)
    for i, name in enumerate(columns):
        convert = _to_json if isinstance(types[name], sa.JSON) else _enum_value if (
            isinstance(types[name], sa.Enum) or isinstance(rows[0][name], enum.Enum)) else None
        if convert is not None:
            for values in matrix:
                values[i] = convert(values[i])
    copy_sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(copy_sql) as copy:
        for values in matrix:
            copy.write_row(values)


def among(session: Session, column: sa.ColumnElement[Any], values: Iterable[Any]
          ) -> sa.ColumnElement[bool]:
    """``column IN values``, on PostgreSQL as one array parameter (``= ANY(:values)``): the
    statement is then the same whatever the number of values, compiled and parsed once, where an
    expanding IN of 500 values was rendered, converted and parsed anew for every batch."""
    wanted = sorted(set(values))
    if session.get_bind().dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, wanted, type_=postgresql.ARRAY(column.type)))
    return column.in_(wanted)


def _to_json(value: Any) -> str:
    return json.dumps(value)


def _enum_value(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value
