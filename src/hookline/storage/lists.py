"""Look-ups by a list of values with one statement text, whatever the list's length.

On PostgreSQL ``column = ANY(:values)``, the list bound as one array: the statement is compiled once by
SQLAlchemy and prepared once by asyncpg (an expanding ``IN`` is compiled again for each length of list, which
cost the API more than running it), and the plan probes the index once per value whether or not the table
has statistics yet. SQLite has no arrays: an expanding ``IN`` there, whose compiling the driver-side
statement cache makes cheap.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, all_, any_, bindparam
from sqlalchemy.dialects import postgresql


def one_of(column: Any, name: str, dialect_name: str) -> ColumnElement[bool]:
    """``column`` is one of the values bound as ``name`` (a list)."""
    if dialect_name == "postgresql":
        values: Any = bindparam(name, type_=postgresql.ARRAY(column.type))
        return column == any_(values)  # type: ignore[no-any-return]
    return column.in_(bindparam(name, expanding=True))  # type: ignore[no-any-return]


def none_of(column: Any, name: str, dialect_name: str) -> ColumnElement[bool]:
    """``column`` is none of the values bound as ``name`` (a list; every value passes an empty one)."""
    if dialect_name == "postgresql":
        values: Any = bindparam(name, type_=postgresql.ARRAY(column.type))
        return column != all_(values)  # type: ignore[no-any-return]
    return column.not_in(bindparam(name, expanding=True))  # type: ignore[no-any-return]
