"""Blocking, defined once, and the confirmation gate: the one rule every confirming path calls.

**An exception blocks** while it is pending or ignored *and* its line is not declined, that is
while at least one of the line's units is not ``confirmed_unavailable``. Declining is never
blocked: refusing a line whose product is unknown is a legitimate answer, and a declined line no
longer blocks the rest of its order.

``is_blocking()`` is that rule as SQL. The gate (``ensure_confirmable``), the orders'
``exception_count`` and ``has_exceptions`` filter (``repository.py``) use it; the context table
behind the exceptions stats' ``orders_with_exceptions`` spells the same rule in its triggers
(migration 0005), which recompute it when an exception's status or a unit's state changes.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, exists
from sqlalchemy.orm import Session

from ordergate.orders import repository
from ordergate.orders.errors import OrderHasUnresolvedExceptionsError
from ordergate.orders.models import ExceptionStatus, OrderItemException, OrderItemUnit, UnitState


def is_blocking() -> ColumnElement[bool]:
    """True for an ``OrderItemException`` row that blocks (see the module docstring)."""
    return and_(
        OrderItemException.status.in_(ExceptionStatus.blocking()),
        exists().where(
            OrderItemUnit.order_item_id == OrderItemException.order_item_id,
            OrderItemUnit.state != UnitState.CONFIRMED_UNAVAILABLE,
        ),
    )


def ensure_confirmable(
    session: Session, *, order_id: int, item_ids: Sequence[int] | None = None
) -> None:
    """Refuse (400) while exceptions block the order, or the given items of it."""
    blocking = repository.blocking_exception_ids(session, order_id=order_id, item_ids=item_ids)
    if blocking:
        raise OrderHasUnresolvedExceptionsError(
            order_id=order_id, exception_ids=blocking, items=item_ids is not None
        )
