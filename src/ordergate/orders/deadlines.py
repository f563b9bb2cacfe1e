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
with bound datetimes in the same format. Ages are whole seconds, the floor of the exact
difference, on both databases (``seconds_between``).

Every function that depends on the time takes ``now``: nothing here reads the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, Select, and_, case, exists, func, literal, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from ordergate.db import UTCDateTime
from ordergate.orders.exception_context import exception_context
from ordergate.scope import Scope, vendor_filter
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
    # SQLite's date functions keep milliseconds and round to them (".999999" became the next
    # second), so the whole seconds go in alone and the stored text's own ".ffffff" (from
    # character 20) is put back: whole hours never change it.
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', substr({moment}, 1, 19), '+' || ({hours}) || ' hours')"
        f" || substr({moment}, 20))"
    )


class seconds_between(FunctionElement[int]):  # noqa: N801 (SQL function spelling)
    """Whole seconds from ``earlier`` to ``later``, floored (``floor(later - earlier)``), NULL
    when either is NULL. Arguments: ``later, earlier``."""

    type = BigInteger()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "postgresql")
def _seconds_between_pg(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"CAST(floor(extract(epoch FROM ({later} - {earlier}))) AS BIGINT)"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    # Whole seconds of each (the text's first 19 characters: SQLite would round a fraction to
    # milliseconds), less one when the later instant's microseconds are fewer: the floor of the
    # exact difference.
    return (
        f"(CAST(strftime('%s', substr({later}, 1, 19)) AS INTEGER)"
        f" - CAST(strftime('%s', substr({earlier}, 1, 19)) AS INTEGER)"
        f" - (CAST(substr({later}, 21, 6) AS INTEGER) < CAST(substr({earlier}, 21, 6) AS INTEGER)))"
    )


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
    """Whole seconds from ``since`` to ``now``, floored (negative if ``since`` is later)."""
    return seconds_between(_at(now), since)


def state_at(deadline: datetime | None, *, now: datetime) -> DeadlineState | None:
    """``deadline_state`` in Python (for values already read), the same rule."""
    if deadline is None:
        return None
    if deadline <= now:
        return DeadlineState.OVERDUE
    if deadline < now + AT_RISK_WITHIN:
        return DeadlineState.AT_RISK
    return DeadlineState.ON_TRACK


# --- The stored deadline (migration 0012): the context table's columns ---------------------


def row_confirm_by() -> ColumnElement[datetime]:
    """Per exception row joined to its context row: its order's ``confirm_by`` while this
    exception blocks it (``orders/deadlines.py``), from the columns the triggers keep
    (migration 0012): ``due_at`` while the row blocks and the order awaits confirmation."""
    context = exception_context.c
    return case((and_(context.blocking, context.awaiting), context.due_at), else_=None)


def holds_deadline() -> list[ColumnElement[bool]]:
    """The context rows with a ``confirm_by``: the leading columns of the deadline indexes."""
    context = exception_context.c
    return [context.blocking, context.awaiting, context.due_at.is_not(None)]


def deadline_conditions(
    state: DeadlineState, *, scope: Scope, now: datetime
) -> list[ColumnElement[bool]]:
    """The context rows whose ``confirm_by`` is in `state` at `now`: one range of the
    ``(vendor_id,) blocking, awaiting, due_at`` index. The one rule of the exceptions list,
    the export, the groups, the orders list and the stats."""
    context = exception_context.c
    return [
        *vendor_filter(scope, context.vendor_id),
        context.blocking,
        context.awaiting,
        in_state(context.due_at, state, now=now),
    ]


def in_deadline_state(state: DeadlineState, *, scope: Scope, now: datetime) -> Select[Any]:
    """Ids of the exceptions whose ``confirm_by`` is in `state` at `now`."""
    return select(exception_context.c.exception_id).where(
        *deadline_conditions(state, scope=scope, now=now)
    )


def orders_in_deadline_state(state: DeadlineState, *, scope: Scope, now: datetime) -> Select[Any]:
    """Ids of the orders (possibly repeated) whose ``confirm_by`` is in `state` at `now`."""
    return select(exception_context.c.order_id).where(
        *deadline_conditions(state, scope=scope, now=now)
    )


def order_confirm_by(order_id: Any) -> ColumnElement[datetime]:
    """Per row with an order id column: the order's ``confirm_by`` (its blocking rows all carry
    the same ``due_at``), through the context's ``order_id`` index."""
    context = exception_context.c
    return (
        select(func.max(context.due_at))
        .where(context.order_id == order_id, context.blocking, context.awaiting)
        .scalar_subquery()
    )


def orders_with_deadline(*, scope: Scope) -> Select[Any]:
    """Ids of the orders (possibly repeated) that have a ``confirm_by``: one index range."""
    context = exception_context.c
    return select(context.order_id).where(
        *vendor_filter(scope, context.vendor_id), *holds_deadline()
    )


def order_holds_deadline(order_id: Any) -> ColumnElement[bool]:
    """Per row with an order id column: the order has a ``confirm_by``."""
    context = exception_context.c
    return exists(
        select(context.exception_id).where(context.order_id == order_id, *holds_deadline())
    )
