"""The confirmation gate: the one rule every confirming path calls.

An order (or one of its items) may not be confirmed to the marketplace while an item that is not
declined has a pending or ignored exception. Declining is never blocked: refusing a line whose
product is unknown is a legitimate answer, and a declined item no longer blocks the rest.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from ordergate.orders.errors import OrderHasUnresolvedExceptionsError
from ordergate.orders.models import ExceptionStatus, OrderItem, OrderItemException, OrderItemUnit

DECLINED_UNIT_STATE = "confirmed_unavailable"


def blocking_exception_ids(
    session: Session, *, order_id: int, item_ids: Sequence[int] | None = None
) -> list[int]:
    """Ids of pending/ignored exceptions on the order's items that are not declined."""
    not_declined = exists().where(
        and_(
            OrderItemUnit.order_item_id == OrderItem.id,
            OrderItemUnit.state != DECLINED_UNIT_STATE,
        )
    )
    query = (
        select(OrderItemException.id)
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .where(
            OrderItem.order_id == order_id,
            OrderItemException.status.in_(ExceptionStatus.blocking()),
            not_declined,
        )
        .order_by(OrderItemException.id)
    )
    if item_ids is not None:
        query = query.where(OrderItem.id.in_(item_ids))
    return list(session.scalars(query))


def ensure_confirmable(
    session: Session, *, order_id: int, item_ids: Sequence[int] | None = None
) -> None:
    blocking = blocking_exception_ids(session, order_id=order_id, item_ids=item_ids)
    if blocking:
        scope = "Order" if item_ids is None else "Order item"
        raise OrderHasUnresolvedExceptionsError(
            f"{scope} cannot be confirmed: {len(blocking)} unresolved product exception(s) "
            f"on order {order_id} (resolve them, or decline the lines)",
            details={"order_id": order_id, "count": len(blocking), "exception_ids": blocking},
        )
