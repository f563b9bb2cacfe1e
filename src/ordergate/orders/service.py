"""Orders, read side: lists and details with their lines, units and exceptions.

The import (``importer.py``) and the confirmation gate (``guard.py``) live beside this module;
the queries are in ``repository.py``.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.db import PageRequest
from ordergate.events import timeline
from ordergate.events.timeline import TimelineEntry, UserEmails
from ordergate.orders import repository
from ordergate.orders.errors import OrderNotFoundError
from ordergate.orders.models import Order, OrderStatus
from ordergate.scope import Scope


def list_orders(
    session: Session,
    *,
    scope: Scope,
    page: PageRequest,
    status: OrderStatus | None = None,
    has_exceptions: bool | None = None,
    search: str | None = None,
) -> tuple[list[Order], int]:
    """Newest first (order date, then id), each with ``exception_count``: its blocking
    exceptions (``guard.is_blocking``). ``has_exceptions=True``: at least one blocking
    exception; ``search`` matches order number, customer email and name."""
    term = search.strip() if search else ""
    return repository.list_orders(
        session,
        scope=scope,
        page=page,
        status=status,
        has_exceptions=has_exceptions,
        search=term or None,
    )


def get_order(session: Session, *, scope: Scope, order_id: int) -> Order:
    """One order with its lines; another vendor's order is reported as missing."""
    order = repository.get_order(session, scope=scope, order_id=order_id)
    if order is None:
        raise OrderNotFoundError(order_id)
    return order


# -- merge point: suggestions --

# -- merge point: actions --

# -- merge point: queue --

# -- merge point: history --


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


# -- merge point: deadlines --
