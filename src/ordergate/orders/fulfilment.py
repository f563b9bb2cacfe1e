"""Confirming and declining order units at the marketplace, marketplace-neutral.

One command, ``UnitDecision``: confirm or decline the unconfirmed units of the whole order or of
one item. It runs in three steps so no transaction stays open while the marketplace is asked:
``start_decision`` (the caller commits it) checks the confirmation gate, picks the unconfirmed
units and takes the order's fulfilment lease; the caller then asks the marketplace with no
transaction open; ``finish_decision`` records exactly what the marketplace accepted and releases
the lease (``release_lease`` when the marketplace could not be asked). Refused units keep their
state and are returned in ``refused``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.errors import AppError, ConflictError, NotFoundError
from ordergate.events.models import EventAction
from ordergate.events.service import record_events
from ordergate.orders import events
from ordergate.orders.errors import OrderNotFoundError
from ordergate.orders.guard import ensure_confirmable
from ordergate.orders.models import Order, OrderItem, OrderItemUnit, UnitState
from ordergate.orders.status import next_order_status
from ordergate.scope import VendorScope, scoped


class Verdict(StrEnum):
    CONFIRM = "confirm"  # the vendor ships the units (Letzshop: available)
    DECLINE = "decline"  # the vendor cannot (Letzshop: unavailable); never blocked by the gate


@dataclass(frozen=True, slots=True)
class UnitDecision:
    """Confirm or decline the unconfirmed units of the whole order, or of one item."""

    verdict: Verdict
    item_id: int | None = None  # None: the whole order

    @property
    def available(self) -> bool:
        return self.verdict is Verdict.CONFIRM

    @property
    def item_ids(self) -> list[int] | None:
        return None if self.item_id is None else [self.item_id]

    @property
    def event_action(self) -> EventAction:
        return EventAction.CONFIRMED if self.available else EventAction.DECLINED


class OrderItemNotFoundError(NotFoundError):
    code = "ORDER_ITEM_NOT_FOUND"

    def __init__(self, *, order_id: int, item_id: int) -> None:
        super().__init__(
            f"Order item {item_id} not found in order {order_id}",
            details={"order_id": order_id, "item_id": item_id},
        )


class NoUnconfirmedUnitsError(AppError):
    status_code = 400
    code = "NO_UNCONFIRMED_UNITS"

    def __init__(self, *, order_id: int, decision: UnitDecision) -> None:
        where = "" if decision.item_id is None else f" in item {decision.item_id}"
        super().__init__(
            f"Order {order_id} has no unconfirmed units to {decision.verdict.value}{where}",
            details={"order_id": order_id, "item_ids": decision.item_ids or []},
        )


class FulfilmentInProgressError(ConflictError):
    code = "FULFILMENT_IN_PROGRESS"

    def __init__(self, order_id: int) -> None:
        super().__init__(
            f"Order {order_id} is being confirmed or declined by another request; "
            "retry when it has finished",
            details={"order_id": order_id},
        )


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


@dataclass(slots=True)
class FulfilmentResult:
    order_id: int
    status: str
    accepted: dict[str, str] = field(default_factory=dict)
    refused: list[RefusedUnit] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class PlannedDecision:
    """What ``start_decision`` chose: the units to send and the lease it holds on the order."""

    scope: VendorScope
    order_id: int
    external_shipment_id: str
    decisions: list[tuple[str, bool]]
    action: EventAction
    lease_until: datetime


def get_order(session: Session, *, scope: VendorScope, order_id: int) -> Order:
    """The scope's vendor's order; 404 ``ORDER_NOT_FOUND`` (also for another vendor's)."""
    order = session.scalar(
        scoped(select(Order), scope, Order.vendor_id).where(Order.id == order_id)
    )
    if order is None:
        raise OrderNotFoundError(order_id)
    return order


def start_decision(
    session: Session,
    *,
    scope: VendorScope,
    order_id: int,
    decision: UnitDecision,
    lease_seconds: int,
) -> PlannedDecision:
    """Check the gate (when confirming), pick the unconfirmed units the decision covers and
    take the order's fulfilment lease. Every confirming path goes through here, so nothing is
    sent while the gate blocks."""
    order = get_order(session, scope=scope, order_id=order_id)
    item_ids = decision.item_ids
    if item_ids is not None:
        _ensure_items_of_order(session, order_id, item_ids)
    if decision.available:
        ensure_confirmable(session, order_id=order_id, item_ids=item_ids)
    units = _unconfirmed_units(session, order_id, item_ids)
    if not units:
        raise NoUnconfirmedUnitsError(order_id=order_id, decision=decision)
    lease_until = _take_lease(session, order_id, lease_seconds)
    return PlannedDecision(
        scope=scope,
        order_id=order_id,
        external_shipment_id=order.external_shipment_id,
        decisions=[(unit.external_unit_id, decision.available) for unit in units],
        action=decision.event_action,
        lease_until=lease_until,
    )


def _take_lease(session: Session, order_id: int, lease_seconds: int) -> datetime:
    """One conditional UPDATE, so of two senders exactly one gets the order (the other 409);
    an expired lease (its sender died) is taken over."""
    now = utcnow()
    until = now + timedelta(seconds=lease_seconds)
    taken = session.execute(
        update(Order)
        .where(
            Order.id == order_id,
            or_(Order.fulfilment_lease_until.is_(None), Order.fulfilment_lease_until < now),
        )
        .values(fulfilment_lease_until=until)
        .execution_options(synchronize_session=False)
    )
    if not taken.rowcount:  # type: ignore[attr-defined]
        raise FulfilmentInProgressError(order_id)
    return until


def release_lease(session: Session, plan: PlannedDecision) -> None:
    """Give the order back, unless the lease expired and another sender holds it now."""
    session.execute(
        update(Order)
        .where(Order.id == plan.order_id, Order.fulfilment_lease_until == plan.lease_until)
        .values(fulfilment_lease_until=None)
        .execution_options(synchronize_session=False)
    )


def finish_decision(
    session: Session,
    plan: PlannedDecision,
    answer: UnitDecisions,
) -> FulfilmentResult:
    """Record the marketplace's answer: accepted units take the state it reports, the order
    status and ``confirmed_at`` follow, one event (by the plan's actor) names the changed
    units; the lease ends."""
    order = get_order(session, scope=plan.scope, order_id=plan.order_id)
    sent = [unit_id for unit_id, _ in plan.decisions]
    units = session.scalars(
        select(OrderItemUnit)
        .join(OrderItem, OrderItem.id == OrderItemUnit.order_item_id)
        .where(OrderItem.order_id == order.id, OrderItemUnit.external_unit_id.in_(sent))
        .order_by(OrderItemUnit.id)
    ).all()
    _apply(session, order, list(units), answer, plan.scope.actor_user_id, plan.action)
    release_lease(session, plan)
    return FulfilmentResult(order.id, order.status, answer.accepted, answer.refused)


def _ensure_items_of_order(session: Session, order_id: int, item_ids: Sequence[int]) -> None:
    found = set(
        session.scalars(
            select(OrderItem.id).where(OrderItem.order_id == order_id, OrderItem.id.in_(item_ids))
        )
    )
    missing = [i for i in item_ids if i not in found]
    if missing:
        raise OrderItemNotFoundError(order_id=order_id, item_id=missing[0])


def _unconfirmed_units(
    session: Session, order_id: int, item_ids: Sequence[int] | None
) -> list[OrderItemUnit]:
    query = (
        select(OrderItemUnit)
        .join(OrderItem, OrderItem.id == OrderItemUnit.order_item_id)
        .where(OrderItem.order_id == order_id, OrderItemUnit.state == UnitState.UNCONFIRMED)
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
    action: EventAction,
) -> None:
    now = utcnow()
    changed = [
        u
        for u in units
        if u.external_unit_id in answer.accepted and u.state != answer.accepted[u.external_unit_id]
    ]
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
    if UnitState.CONFIRMED_AVAILABLE in states and order.confirmed_at is None:
        order.confirmed_at = now
    order.updated_at = now
    if changed:
        event = events.units_decided(
            order_id=order.id,
            vendor_id=order.vendor_id,
            actor_user_id=actor_user_id,
            action=action,
            status_before=before,
            status_after=order.status,
            units={u.external_unit_id: u.state for u in changed},
        )
        record_events(session, [event])
