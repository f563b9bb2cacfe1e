"""Orders, read side: lists and details with their lines, units and exceptions.

The import (``importer.py``) and the confirmation gate (``guard.py``) live beside this module;
the queries are in ``repository.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy.orm import Session

from ordergate.db import PageRequest, utcnow
from ordergate.events import timeline
from ordergate.events.timeline import TimelineEntry, UserEmails
from ordergate.orders import repository
from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.errors import OrderHasUnresolvedExceptionsError, OrderNotFoundError
from ordergate.orders.guard import ensure_confirmable
from ordergate.orders.models import Order, OrderStatus
from ordergate.scope import Scope


class OrderSort(StrEnum):
    NEWEST = "newest"  # order date, newest first (the default)
    CONFIRM_BY = "confirm_by"  # soonest confirmation deadline first, orders without one last


def list_orders(
    session: Session,
    *,
    scope: Scope,
    page: PageRequest,
    status: OrderStatus | None = None,
    has_exceptions: bool | None = None,
    search: str | None = None,
    deadline_state: DeadlineState | None = None,
    sort: OrderSort = OrderSort.NEWEST,
    now: datetime | None = None,
) -> tuple[list[Order], int]:
    """Newest first (order date, then id), each with ``exception_count``: its blocking
    exceptions (``guard.is_blocking``), and its ``confirm_by``, ``deadline_state`` and
    ``age_seconds`` at ``now`` (``deadlines.py``). ``has_exceptions=True``: at least one
    blocking exception; ``search`` matches order number, customer email and name;
    ``deadline_state`` keeps the orders in that state; ``sort=confirm_by``: soonest deadline
    first, orders without one last."""
    term = search.strip() if search else ""
    return repository.list_orders(
        session,
        scope=scope,
        page=page,
        status=status,
        has_exceptions=has_exceptions,
        search=term or None,
        deadline_state=deadline_state,
        by_confirm_by=sort is OrderSort.CONFIRM_BY,
        now=now or utcnow(),
    )


def get_order(
    session: Session, *, scope: Scope, order_id: int, now: datetime | None = None
) -> Order:
    """One order with its lines (deadline and age at ``now``); another vendor's order is
    reported as missing."""
    order = repository.get_order(session, scope=scope, order_id=order_id, now=now or utcnow())
    if order is None:
        raise OrderNotFoundError(order_id)
    return order


def order_events(
    session: Session, *, scope: Scope, order_id: int, page: PageRequest, emails: UserEmails
) -> tuple[list[TimelineEntry], int]:
    """The order's timeline, oldest first: its own events (re-import status changes,
    confirmations, declines) and those of its lines' exceptions."""
    order = repository.find_order(session, scope=scope, order_id=order_id)
    if order is None:
        raise OrderNotFoundError(order_id)
    events, total = repository.order_timeline(
        session, vendor_id=order.vendor_id, order_id=order.id, page=page
    )
    return timeline.entries(session, events, emails=emails), total


@dataclass(frozen=True, slots=True)
class LineProduct:
    """The catalog product an order line points at (the placeholder while unmatched)."""

    id: int
    title: str
    sku: str | None
    gtin: str | None
    is_placeholder: bool


def line_products(session: Session, *, order: Order) -> dict[int, LineProduct]:
    """Line id -> its product, for an order read with ``get_order`` (one query)."""
    ids = {item.product_id for item in order.items}
    products = {
        p.id: LineProduct(p.id, p.title, p.sku, p.gtin, p.is_placeholder)
        for p in repository.products_by_ids(session, vendor_id=order.vendor_id, product_ids=ids)
    }
    return {i.id: products[i.product_id] for i in order.items if i.product_id in products}


def confirmation_blocker(
    session: Session, *, order_id: int
) -> OrderHasUnresolvedExceptionsError | None:
    """Why the gate would refuse to confirm the order now (its own error), or None."""
    try:
        ensure_confirmable(session, order_id=order_id)
    except OrderHasUnresolvedExceptionsError as refusal:
        return refusal
    return None
