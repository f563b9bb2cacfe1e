"""Declarative base, column types, engine and session factory."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar, cast

import orjson
from sqlalchemy import (
    JSON,
    CheckConstraint,
    ColumnElement,
    DateTime,
    Engine,
    MetaData,
    Select,
    any_,
    bindparam,
    create_engine,
    event,
    func,
    literal,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import CursorResult, Dialect, Result, make_url
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# None is stored as SQL NULL (not the JSON text 'null'), which also skips serialising it.
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC datetimes")
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Dialect) -> Any:
        """The usual conversion, remembering its last input: bulk inserts bind one ``now`` to
        every row, and converting it once per statement instead of per row was 8 % of the
        import. One tuple, swapped whole, so threads sharing the processor stay correct."""
        convert = super().bind_processor(dialect)
        last: tuple[datetime | None, Any] = (None, None)

        def process(value: datetime | None) -> Any:
            nonlocal last
            cached = last
            if value is not None and cached[0] is value:
                return cached[1]
            result = convert(value) if convert else value
            last = (value, result)
            return result

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_dumps(value: Any) -> str:
    """JSON columns through orjson: raw payloads and addresses made JSON encoding 6 % of the
    import with the standard library."""
    return orjson.dumps(value).decode()


def check_in(column: str, values: type[StrEnum]) -> CheckConstraint:
    """CHECK (column IN (...)) from a vocabulary enum, named after the column."""
    listed = ", ".join(f"'{v.value}'" for v in values)
    return CheckConstraint(f"{column} IN ({listed})", name=column)


def utcnow() -> datetime:
    return datetime.now(UTC)


def lease_expired(run: Any, *, running: StrEnum, lease_seconds: float) -> list[ColumnElement[bool]]:
    """Conditions for a job run (a model with ``status``, ``heartbeat_at`` and ``started_at``)
    still ``running`` (its vocabulary's value) whose last heartbeat is older than the lease: its
    process died. A run without a heartbeat (recorded before leases existed) counts from its
    start."""
    beat = func.coalesce(run.heartbeat_at, run.started_at)
    return [run.status == running, beat < utcnow() - timedelta(seconds=lease_seconds)]


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _sqlite_pragmas(dbapi_connection: Any, _: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # A 64 MiB page cache: the QC queue's counts scan indexes that
    # outgrow SQLite's 2 MiB default cache at a million order lines.
    cursor.execute("PRAGMA cache_size=-65536")
    # Checkpoint the WAL every ~40 MiB of pages, not SQLite's default ~4 MiB: an import commits
    # each Letzshop page (about 1,000 pages of orders, lines, units and their indexes), so the
    # default checkpointed, and fsynced, after every page; the hot index pages rewritten page
    # after page are now copied back once per ten (first import of 20,000 shipments 22-25 s ->
    # 19-20 s, bench/RESULTS.md 2026-12-04). The file is cut back to 64 MiB after a checkpoint.
    cursor.execute("PRAGMA wal_autocheckpoint=10000")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.close()


def _sqlite_begin_immediate(conn: Any) -> None:
    # Writers take the lock when the transaction starts, not on first write, so two
    # concurrent read-then-write transactions queue up instead of failing with "database is locked".
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_deferred(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """How many connections an engine opens and how long its statements may wait.

    ``lock_timeout`` and ``statement_timeout`` are seconds, set per connection on PostgreSQL
    (``None``: the server's default, i.e. none, which long CLI jobs keep)."""

    pool_size: int = 10
    max_overflow: int = 10
    pool_timeout: float = 30.0
    lock_timeout: float | None = None
    statement_timeout: float | None = None


def create_private_sqlite_file(url: str) -> None:
    """Create a new SQLite database file readable by its owner only (0600) before SQLite creates
    it with the umask's 0644; its -wal and -shm files take the same mode. Existing files and
    in-memory databases are left alone."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    # Exists already, or its folder does not (SQLite reports that itself).
    with contextlib.suppress(FileExistsError, FileNotFoundError):
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def make_engine(
    url: str, *, sqlite_immediate: bool = True, limits: PoolLimits | None = None, **kwargs: Any
) -> Engine:
    """An engine; on SQLite with foreign keys, WAL, a busy timeout and BEGIN IMMEDIATE (plain
    BEGIN with ``sqlite_immediate=False``, for read-only work)."""
    limits = limits or PoolLimits()
    if url.startswith("sqlite"):
        create_private_sqlite_file(url)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            json_serializer=json_dumps,
            json_deserializer=orjson.loads,
            **_sqlite_pool_args(url, limits),
            **kwargs,
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "connect")
        def _disable_pysqlite_begin(dbapi_connection: Any, _: Any) -> None:
            dbapi_connection.isolation_level = None

        begin = _sqlite_begin_immediate if sqlite_immediate else _sqlite_begin_deferred
        event.listen(engine, "begin", begin)
        return engine
    # psycopg prepares a statement after 5 executions and PostgreSQL may then switch to a generic
    # plan, which for "external_shipment_id IN (...)" is a sequential scan. Never preparing keeps
    # the app's statements on custom plans while PostgreSQL still caches its own plans for
    # foreign-key checks and trigger functions (plan_cache_mode=force_custom_plan did not).
    connect_args = {"prepare_threshold": None, **kwargs.pop("connect_args", {})}
    options = _postgres_timeouts(limits)
    if options:
        connect_args["options"] = options
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=limits.pool_size,
        max_overflow=limits.max_overflow,
        pool_timeout=limits.pool_timeout,
        connect_args=connect_args,
        json_serializer=json_dumps,
        json_deserializer=orjson.loads,
        **kwargs,
    )


def _sqlite_pool_args(url: str, limits: PoolLimits) -> dict[str, Any]:
    # An in-memory database lives in one connection (SingletonThreadPool takes no sizes).
    if make_url(url).database in (None, "", ":memory:"):
        return {}
    return {
        "pool_size": limits.pool_size,
        "max_overflow": limits.max_overflow,
        "pool_timeout": limits.pool_timeout,
    }


def _postgres_timeouts(limits: PoolLimits) -> str:
    """libpq ``options`` setting the timeouts for every session of the connection."""
    settings = {"lock_timeout": limits.lock_timeout, "statement_timeout": limits.statement_timeout}
    return " ".join(
        f"-c {name}={round(seconds * 1000)}"
        for name, seconds in settings.items()
        if seconds is not None
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)


def upsert_insert(session: Session) -> Any:
    """The dialect's ``insert`` construct, which offers ``on_conflict_do_nothing/update``."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert


# --- One row per vendor (its Letzshop credentials, its webhook) -------------------------------

VendorRow = TypeVar("VendorRow", bound="Base")


def update_vendor_row(
    session: Session, model: type[VendorRow], vendor_id: int, values: dict[str, Any]
) -> VendorRow | None:
    """Change the vendor's row of `model` (a table keyed by a unique ``vendor_id`` with an
    ``updated_at``); None when it has none. No values: read it."""
    vendor_column = cast(Any, model).vendor_id
    if not values:
        found: VendorRow | None = session.scalar(select(model).where(vendor_column == vendor_id))
        return found
    statement = (
        update(model)
        .where(vendor_column == vendor_id)
        .values(**values, updated_at=utcnow())
        .returning(model)
    )
    changed: VendorRow | None = session.scalar(
        statement, execution_options={"populate_existing": True}
    )
    return changed


def upsert_vendor_row(
    session: Session,
    model: type[VendorRow],
    vendor_id: int,
    *,
    created: dict[str, Any],
    changed: dict[str, Any],
) -> VendorRow:
    """Insert the vendor's row of `model` (``created``); if it exists by then, apply
    ``changed``."""
    now = utcnow()
    insert = upsert_insert(session)(model).values(
        vendor_id=vendor_id, created_at=now, updated_at=now, **created
    )
    statement = insert.on_conflict_do_update(
        index_elements=[cast(Any, model).vendor_id], set_={**changed, "updated_at": now}
    )
    row: VendorRow = session.scalars(
        statement.returning(model), execution_options={"populate_existing": True}
    ).one()
    return row


# --- Pages and id lists -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageRequest:
    """`skip` rows, then up to `limit`. `count_up_to`: the total is exact up to that many rows,
    and `count_up_to + 1` ("more than") beyond, so a long list's pager does not count every row
    (the dashboard's orders list over all vendors: 388,853 rows, 27-47 ms on PostgreSQL)."""

    skip: int = 0
    limit: int = 50
    count_up_to: int | None = None


def paginate(session: Session, statement: Select[Any], page: PageRequest) -> tuple[list[Any], int]:
    """One page of `statement`'s rows (ORM entities when it selects one) and the total."""
    rows = list(session.scalars(statement.offset(page.skip).limit(page.limit)))
    return rows, count_rows(session, statement, up_to=page.count_up_to)


def count_rows(session: Session, statement: Select[Any], *, up_to: int | None = None) -> int:
    """How many rows `statement` selects; with `up_to`, at most `up_to + 1`."""
    if up_to is None:
        counted = statement.order_by(None).with_only_columns(
            func.count(), maintain_column_froms=True
        )
        return session.scalar(counted) or 0
    first = statement.order_by(None).with_only_columns(literal(1), maintain_column_froms=True)
    return session.scalar(select(func.count()).select_from(first.limit(up_to + 1).subquery())) or 0


# Long id lists: one array parameter on PostgreSQL (a 900-id IN list cost 20-35 ms per statement
# there, and often a scan per chunk), bound parameters in chunks on SQLite (whose limit is 32,766
# per statement). Every long IN goes through these two.
ARRAY_BATCH_SIZE = 10_000
IN_LIST_SIZE = 900  # bound parameters per statement on SQLite, well below its limit


def chunks(items: Sequence[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def in_list_batches(
    session: Session, values: Sequence[T], size: int = IN_LIST_SIZE
) -> Iterator[list[T]]:
    """`values` in lists for `in_list`: `size` at a time (one bound parameter per value), or
    `ARRAY_BATCH_SIZE` at a time on PostgreSQL (one array parameter)."""
    return chunks(values, ARRAY_BATCH_SIZE if binds_arrays(session) else size)


def in_list(
    session: Session, column: ColumnElement[Any] | InstrumentedAttribute[Any], values: Sequence[Any]
) -> ColumnElement[bool]:
    """`column IN (values)`, or `column = ANY(:values)` with one array parameter."""
    if binds_arrays(session):
        array = bindparam(None, list(values), type_=postgresql.ARRAY(column.type))
        return column == any_(array)
    return column.in_(values)


def in_parameter(column: ColumnElement[Any], name: str, *, arrays: bool) -> ColumnElement[bool]:
    """`in_list` for a statement built once: `column IN :name` (expanding), or with
    ``arrays`` (PostgreSQL, `binds_arrays`) `column = ANY(:name)`, executed with a list."""
    if arrays:
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    return column.in_(bindparam(name, expanding=True))


def rows_changed(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (`Session.execute` types its result as the
    generic `Result`; a DML statement's is a `CursorResult`)."""
    return cast(CursorResult[Any], result).rowcount


def binds_arrays(session: Session) -> bool:
    """Whether long id lists go as one array parameter (PostgreSQL)."""
    return session.get_bind().dialect.name == "postgresql"
