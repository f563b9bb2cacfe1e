"""Bulk inserts below the ORM and SQLAlchemy's per-row parameter handling, for the import's
hot path: ids allocated for a whole batch up front, then the rows written with one statement
per table — ``COPY … FROM STDIN`` on PostgreSQL, one prepared ``executemany`` on SQLite.

Only for rows no other transaction can conflict with (the lines, units, exceptions and events
of orders this transaction inserted): neither statement has ``ON CONFLICT``. The caller hands
plain values; ``_plain`` converts what the column types would (JSON, enums, datetimes).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson
import psycopg
from sqlalchemy import Table, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

Row = Sequence[Any]


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` fresh ids of `table`'s integer primary key, for rows this transaction inserts.

    PostgreSQL: its sequence's next values (never handed out twice). SQLite: the ids after the
    largest, which is what SQLite itself would give; safe because the transaction holds the
    database's write lock from its first statement (``BEGIN IMMEDIATE``, ``db.py``)."""
    if count == 0:
        return []
    if _is_postgresql(session):
        statement = text(
            f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) "
            "FROM generate_series(1, :count)"
        )
        return list(session.scalars(statement, {"count": count}))
    largest = session.scalar(text(f"SELECT max(id) FROM {table.name}")) or 0
    return list(range(largest + 1, largest + 1 + count))


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Row]
) -> None:
    """Insert `rows` (values in `columns`' order) into `table` with one statement. A refusal
    raises SQLAlchemy's ``DBAPIError``, as any other statement of the session would."""
    if not rows:
        return
    listed = ", ".join(columns)
    connection = session.connection()
    if not _is_postgresql(session):
        marks = ", ".join("?" for _ in columns)
        connection.exec_driver_sql(
            f"INSERT INTO {table.name} ({listed}) VALUES ({marks})",
            [tuple(_plain(value, postgresql=False) for value in row) for row in rows],
        )
        return
    statement = f"COPY {table.name} ({listed}) FROM STDIN"
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        with driver.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row([_plain(value, postgresql=True) for value in row])
    except psycopg.Error as error:
        raise DBAPIError.instance(statement, None, error, psycopg.Error) from error


def _plain(value: Any, *, postgresql: bool) -> Any:
    """What the column types write: JSON as text (orjson, as ``db.json_dumps``), an enum as its
    value, a datetime in UTC (SQLite: SQLAlchemy's naive text form)."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, int | float | str):
        return value
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        utc = value.astimezone(UTC)
        return utc if postgresql else utc.replace(tzinfo=None).isoformat(" ", "microseconds")
    return value


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
