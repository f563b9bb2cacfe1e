"""Confirming and declining order units at the marketplace, marketplace-neutral.

Every path that confirms goes through ``_decide``, which calls the confirmation gate first.
Local unit states, order status and ``confirmed_at`` follow exactly what the marketplace
accepted; refused units keep their state and are returned in ``refused``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.errors import AppError, NotFoundError
from ordergate.events.service import record_event
from ordergate.orders.guard import ensure_confirmable
from ordergate.orders.importer import next_order_status
from ordergate.orders.models import Order, OrderItem, OrderItemUnit
from ordergate.orders.service import OrderNotFoundError


class OrderItemNotFoundError(NotFoundError):
    code = "ORDER_ITEM_NOT_FOUND"


class NoUnconfirmedUnitsError(AppError):
    status_code = 400
    code = "NO_UNCONFIRMED_UNITS"


@dataclass(frozen=True, slots=True)
class RefusedUnit:
    external_unit_id: str | None
    code: str | None
    message: str


@dataclass(frozen=True, slots=True)
class UnitDecisions:
    """The marketplace's answer: the new state of each accepted unit, and the refusals."""

    accepted: dict[str, str]
    refused: list[RefusedUnit]


class UnitDecider(Protocol):
    def decide_units(self, decisions: list[tuple[str, bool]]) -> UnitDecisions: ...


@dataclass(slots=True)
class FulfilmentResult:
    order_id: int
    status: str
    accepted: dict[str, str] = field(default_factory=dict)
    refused: list[RefusedUnit] = field(default_factory=list)


def confirm_order(
    session: Session,
    *,
    vendor_id: int,
    order_id: int,
    decider: UnitDecider,
    actor_user_id: int | None,
) -> FulfilmentResult:
    return _decide(session, vendor_id, order_id, None, True, decider, actor_user_id)


def confirm_item(
    session: Session,
    *,
    vendor_id: int,
    order_id: int,
    item_id: int,
    decider: UnitDecider,
    actor_user_id: int | None,
) -> FulfilmentResult:
    return _decide(session, vendor_id, order_id, [item_id], True, decider, actor_user_id)


def decline_item(
    session: Session,
    *,
    vendor_id: int,
    order_id: int,
    item_id: int,
    decider: UnitDecider,
    actor_user_id: int | None,
) -> FulfilmentResult:
    return _decide(session, vendor_id, order_id, [item_id], False, decider, actor_user_id)


def reject_order(
    session: Session,
    *,
    vendor_id: int,
    order_id: int,
    decider: UnitDecider,
    actor_user_id: int | None,
) -> FulfilmentResult:
    return _decide(session, vendor_id, order_id, None, False, decider, actor_user_id)


def get_vendor_order(
    session: Session, *, vendor_id: int, order_id: int, lock: bool = False
) -> Order:
    query = select(Order).where(Order.id == order_id, Order.vendor_id == vendor_id)
    if lock:
        query = query.with_for_update()
    order = session.scalar(query)
    if order is None:
        raise OrderNotFoundError(order_id)
    return order


def _decide(
    session: Session,
    vendor_id: int,
    order_id: int,
    item_ids: Sequence[int] | None,
    available: bool,
    decider: UnitDecider,
    actor_user_id: int | None,
) -> FulfilmentResult:
    # The row lock serialises two confirmations of one order (PostgreSQL; SQLite locks anyway).
    order = get_vendor_order(session, vendor_id=vendor_id, order_id=order_id, lock=True)
    if item_ids is not None:
        _ensure_items_of_order(session, order_id, item_ids)
    if available:
        ensure_confirmable(session, order_id=order_id, item_ids=item_ids)
    units = _unconfirmed_units(session, order_id, item_ids)
    if not units:
        raise NoUnconfirmedUnitsError(
            f"Order {order_id} has no unconfirmed units to "
            f"{'confirm' if available else 'decline'}"
            + (f" in item {item_ids[0]}" if item_ids else ""),
            details={"order_id": order_id, "item_ids": list(item_ids or [])},
        )
    answer = decider.decide_units([(unit.external_unit_id, available) for unit in units])
    _apply(session, order, units, answer, actor_user_id, "confirmed" if available else "declined")
    return FulfilmentResult(order.id, order.status, answer.accepted, answer.refused)


def _ensure_items_of_order(session: Session, order_id: int, item_ids: Sequence[int]) -> None:
    found = set(
        session.scalars(
            select(OrderItem.id).where(OrderItem.order_id == order_id, OrderItem.id.in_(item_ids))
        )
    )
    missing = [i for i in item_ids if i not in found]
    if missing:
        raise OrderItemNotFoundError(
            f"Order item {missing[0]} not found in order {order_id}",
            details={"order_id": order_id, "item_id": missing[0]},
        )


def _unconfirmed_units(
    session: Session, order_id: int, item_ids: Sequence[int] | None
) -> list[OrderItemUnit]:
    query = (
        select(OrderItemUnit)
        .join(OrderItem, OrderItem.id == OrderItemUnit.order_item_id)
        .where(OrderItem.order_id == order_id, OrderItemUnit.state == "unconfirmed")
        .order_by(OrderItemUnit.id)
    )
    if item_ids is not None:
        query = query.where(OrderItem.id.in_(item_ids))
    return list(session.scalars(query))


def _apply(
    session: Session,
    order: Order,
    units: list[OrderItemUnit],
    answer: UnitDecisions,
    actor_user_id: int | None,
    action: str,
) -> None:
    now = utcnow()
    changed = [u for u in units if u.external_unit_id in answer.accepted]
    for unit in changed:
        unit.state = answer.accepted[unit.external_unit_id]
        unit.updated_at = now
    session.flush()
    states = session.scalars(
        select(OrderItemUnit.state)
        .join(OrderItem, OrderItem.id == OrderItemUnit.order_item_id)
        .where(OrderItem.order_id == order.id)
    ).all()
    before = order.status
    order.status = next_order_status(before, states)
    if "confirmed_available" in states and order.confirmed_at is None:
        order.confirmed_at = now
    order.updated_at = now
    if changed:
        record_event(
            session,
            vendor_id=order.vendor_id,
            actor_user_id=actor_user_id,
            subject_type="order",
            subject_id=order.id,
            action=action,
            before={"status": before},
            after={"status": order.status, "units": {u.external_unit_id: u.state for u in changed}},
        )
