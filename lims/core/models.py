"""Declarative base shared by every domain's models.

The naming convention makes constraint names stable across SQLite and PostgreSQL, so Alembic
migrations can name them; ``UTCDateTime`` keeps datetimes timezone-aware even on SQLite, which
stores them without a zone.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, mapped_column

from lims.core.dt import ensure_utc

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        value = ensure_utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        return None if value is None else ensure_utc(value)


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: sa.Numeric(12, 4),
        dict[str, Any]: sa.JSON(),
    }


intpk = Annotated[int, mapped_column(primary_key=True)]
code_str = Annotated[str, mapped_column(sa.String(32))]
name_str = Annotated[str, mapped_column(sa.String(200))]


def str_enum(enum_cls: type[enum.StrEnum], name: str) -> sa.Enum:
    """A string enum stored by value with a CHECK constraint (not a native PG enum)."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def format_repr(obj: object, *attrs: str) -> str:
    values = ", ".join(f"{a}={getattr(obj, a)!r}" for a in attrs)
    return f"<{type(obj).__name__} {values}>"
