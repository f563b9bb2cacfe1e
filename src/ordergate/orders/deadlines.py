"""Confirmation deadlines and ages, as SQL expressions every list reuses (orders, exceptions,
the stats, the groups view).

A vendor's ``confirmation_deadline_hours`` (null: no deadline) is the marketplace's window for
confirming an order. **An order gets a ``confirm_by``** (its order date, or its arrival when the
marketplace sent none, plus the vendor's hours) while it still awaits confirmation (status
``pending``) and an exception blocks it (``guard.is_blocking``); otherwise it has none. Its
**``deadline_state``** at a moment ``now``:

- ``overdue``: ``now >= confirm_by``;
- ``at_risk``: less than 24 hours left (``confirm_by - now < 24 h``);
- ``on_track``: 24 hours or more left.

An exception row carries its order's values while the exception itself blocks.

Both databases compute the same values exactly: PostgreSQL adds an ``interval`` of whole hours to
a ``timestamptz``; SQLite (which stores UTC datetimes as ``YYYY-MM-DD HH:MM:SS.ffffff`` text)
adds the hours with ``strftime`` and keeps the stored fraction, so the result compares as text
with bound datetimes in the same format. Ages are whole seconds: the difference of the two
instants' epoch seconds (floored), on both databases.

Every function that depends on the time takes ``now``: nothing here reads the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, and_, case, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ordergate.db import UTCDateTime
from ordergate.orders.models import OrderStatus
from ordergate.vendors.models import Vendor

AT_RISK_WITHIN = timedelta(hours=24)
# The setting's bounds (the API refuses others): one hour to one year.
MIN_DEADLINE_HOURS = 1
MAX_DEADLINE_HOURS = 8_760


class DeadlineState(StrEnum):
    ON_TRACK = "on_track"  # 24 hours or more left
    AT_RISK = "at_risk"  # less than 24 hours left
    OVERDUE = "overdue"  # the deadline has passed


class add_hours(FunctionElement[datetime]):  # noqa: N801 (SQL function spelling)
    """``timestamp + hours`` (whole hours), NULL when either is NULL."""

    type = UTCDateTime()
    inherit_cache = True
    name = "add_hours"


@compiles(add_hours, "postgresql")
def _add_hours_pg(element: add_hours, compiler: SQLCompiler, **kw: Any) -> str:
    moment, hours = (compiler.process(c, **kw) for c in element.clauses)
    return f"({moment} + make_interval(hours => {hours}))"


@compiles(add_hours, "sqlite")
def _add_hours_sqlite(element: add_hours, compiler: SQLCompiler, **kw: Any) -> str:
    moment, hours = (compiler.process(c, **kw) for c in element.clauses)
    # strftime drops the fraction; the stored text's own ".ffffff" (from character 20) is put
    # back: whole hours never change it.
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', {moment}, '+' || ({hours}) || ' hours')"
        f" || substr({moment}, 20))"
    )


class epoch_seconds(FunctionElement[int]):  # noqa: N801 (SQL function spelling)
    """Whole seconds since 1970-01-01 UTC (floored), NULL for NULL."""

    type = BigInteger()
    inherit_cache = True
    name = "epoch_seconds"


@compiles(epoch_seconds, "postgresql")
def _epoch_pg(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = element.clauses
    return f"CAST(floor(extract(epoch FROM {compiler.process(moment, **kw)})) AS BIGINT)"


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: epoch_seconds, compiler: SQLCompiler, **kw: Any) -> str:
    (moment,) = element.clauses
    return f"CAST(strftime('%s', {compiler.process(moment, **kw)}) AS INTEGER)"


def _at(now: datetime) -> ColumnElement[datetime]:
    return literal(now, UTCDateTime())


def vendor_deadline_hours(vendor_id: Any) -> ColumnElement[int | None]:
    """Per row with a vendor id column: that vendor's ``confirmation_deadline_hours``."""
    return (
        select(Vendor.confirmation_deadline_hours).where(Vendor.id == vendor_id).scalar_subquery()
    )


def due_at(*, order_date: Any, order_created_at: Any, vendor_id: Any) -> ColumnElement[datetime]:
    """When the order must be confirmed by, whether or not anything blocks it: the order date
    (its arrival when the marketplace sent none) plus the vendor's hours; NULL without hours."""
    return add_hours(func.coalesce(order_date, order_created_at), vendor_deadline_hours(vendor_id))


def confirm_by(
    *,
    order_status: Any,
    order_date: Any,
    order_created_at: Any,
    vendor_id: Any,
    blocked: ColumnElement[bool],
) -> ColumnElement[datetime]:
    """``confirm_by`` of an order (columns of ``orders`` or an alias) that ``blocked`` says an
    exception blocks: NULL unless it still awaits confirmation and is blocked."""
    return case(
        (
            and_(order_status == OrderStatus.PENDING, blocked),
            due_at(order_date=order_date, order_created_at=order_created_at, vendor_id=vendor_id),
        ),
        else_=None,
    )


def deadline_state(deadline: ColumnElement[datetime], *, now: datetime) -> ColumnElement[str]:
    """The ``DeadlineState`` of a ``confirm_by`` expression at ``now``; NULL without one."""
    return case(
        (deadline.is_(None), None),
        (deadline <= _at(now), DeadlineState.OVERDUE.value),
        (deadline < _at(now + AT_RISK_WITHIN), DeadlineState.AT_RISK.value),
        else_=DeadlineState.ON_TRACK.value,
    )


def in_state(
    deadline: ColumnElement[datetime], state: DeadlineState, *, now: datetime
) -> ColumnElement[bool]:
    """``deadline_state(deadline) == state`` as ranges of the deadline (NULL never matches)."""
    if state is DeadlineState.OVERDUE:
        return deadline <= _at(now)
    if state is DeadlineState.AT_RISK:
        return and_(deadline > _at(now), deadline < _at(now + AT_RISK_WITHIN))
    return deadline >= _at(now + AT_RISK_WITHIN)


def age_seconds(since: Any, *, now: datetime) -> ColumnElement[int]:
    """Whole seconds from ``since`` to ``now`` (negative if ``since`` is later)."""
    return epoch_seconds(_at(now)) - epoch_seconds(since)


def state_at(deadline: datetime | None, *, now: datetime) -> DeadlineState | None:
    """``deadline_state`` in Python (for values already read), the same rule."""
    if deadline is None:
        return None
    if deadline <= now:
        return DeadlineState.OVERDUE
    if deadline < now + AT_RISK_WITHIN:
        return DeadlineState.AT_RISK
    return DeadlineState.ON_TRACK
