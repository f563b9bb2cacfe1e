"""Orders, read side: lists and details with their lines, units and exceptions.

The import (``importer.py``) and the confirmation gate (``guard.py``) live beside this module.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session

from ordergate.errors import NotFoundError
from ordergate.orders.models import (
    ExceptionStatus,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
)
from ordergate.scope import Scope, scoped, vendor_filter


class OrderNotFoundError(NotFoundError):
    code = "ORDER_NOT_FOUND"

    def __init__(self, order_id: int) -> None:
        super().__init__(f"Order {order_id} not found", details={"order_id": order_id})


@dataclass(frozen=True, slots=True)
class ItemView:
    item: OrderItem
    units: list[OrderItemUnit]
    exception: OrderItemException | None


@dataclass(frozen=True, slots=True)
class OrderView:
    order: Order
    items: list[ItemView]
    exception_count: int


def _has_blocking_exception() -> ColumnElement[bool]:
    return exists(
        select(OrderItemException.id)
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .where(
            OrderItem.order_id == Order.id,
            OrderItemException.status.in_(ExceptionStatus.blocking()),
        )
    )


def list_orders(
    session: Session,
    *,
    scope: Scope,
    status: str | None = None,
    has_exceptions: bool | None = None,
    search: str | None = None,
    skip: int = 0,
    limit: int = 50,
) -> tuple[list[OrderView], int]:
    """Newest first (order date, then id). ``has_exceptions=True``: at least one pending or
    ignored exception; ``search`` matches order number, customer email and name."""
    conditions = vendor_filter(scope, Order.vendor_id)
    if status is not None:
        conditions.append(Order.status == status)
    if has_exceptions is not None:
        blocking = _has_blocking_exception()
        conditions.append(blocking if has_exceptions else ~blocking)
    if search and search.strip():
        term = search.strip()
        conditions.append(
            or_(
                Order.order_number.icontains(term, autoescape=True),
                Order.customer_email.icontains(term, autoescape=True),
                Order.customer_name.icontains(term, autoescape=True),
            )
        )
    orders = list(
        session.scalars(
            select(Order)
            .where(*conditions)
            .order_by(Order.order_date.desc().nulls_last(), Order.id.desc())
            .offset(skip)
            .limit(limit)
        )
    )
    total = session.scalar(select(func.count()).select_from(Order).where(*conditions)) or 0
    return _with_lines(session, orders), total


def get_order(session: Session, *, order_id: int, scope: Scope) -> OrderView:
    """One order with its lines; another vendor's order is reported as missing."""
    order = session.scalar(
        scoped(select(Order).where(Order.id == order_id), scope, Order.vendor_id)
    )
    if order is None:
        raise OrderNotFoundError(order_id)
    return _with_lines(session, [order])[0]


def _with_lines(session: Session, orders: Sequence[Order]) -> list[OrderView]:
    """Items, units and exceptions of a page of orders: three IN queries, whatever the size."""
    if not orders:
        return []
    items = list(
        session.scalars(
            select(OrderItem)
            .where(OrderItem.order_id.in_(bindparam("ids", expanding=True)))
            .order_by(OrderItem.order_id, OrderItem.id),
            {"ids": [o.id for o in orders]},
        )
    )
    item_ids = [i.id for i in items]
    units_by_item: dict[int, list[OrderItemUnit]] = defaultdict(list)
    exception_by_item: dict[int, OrderItemException] = {}
    if item_ids:
        for unit in session.scalars(
            select(OrderItemUnit)
            .where(OrderItemUnit.order_item_id.in_(bindparam("ids", expanding=True)))
            .order_by(OrderItemUnit.id),
            {"ids": item_ids},
        ):
            units_by_item[unit.order_item_id].append(unit)
        for exception in session.scalars(
            select(OrderItemException).where(
                OrderItemException.order_item_id.in_(bindparam("ids", expanding=True))
            ),
            {"ids": item_ids},
        ):
            exception_by_item[exception.order_item_id] = exception
    lines_by_order: dict[int, list[ItemView]] = defaultdict(list)
    for item in items:
        lines_by_order[item.order_id].append(
            ItemView(
                item=item, units=units_by_item[item.id], exception=exception_by_item.get(item.id)
            )
        )
    views = []
    for order in orders:
        lines = lines_by_order[order.id]
        blocking = sum(
            1
            for line in lines
            if line.exception is not None and line.exception.status in ExceptionStatus.blocking()
        )
        views.append(OrderView(order=order, items=lines, exception_count=blocking))
    return views
