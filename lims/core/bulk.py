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
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
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
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    copy_sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row([_copy_value(row[c], c in json_columns) for c in columns])


def _copy_value(value: Any, is_json: bool) -> Any:
    if is_json:
        return json.dumps(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value
