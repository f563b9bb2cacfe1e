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

from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.events.models import EventAction
from ordergate.events.repository import record_events
from ordergate.orders import events, repository
from ordergate.orders.errors import (
    FulfilmentInProgressError,
    FulfilmentPendingError,
    NoUnconfirmedUnitsError,
    OrderItemNotFoundError,
    OrderNotFoundError,
)
from ordergate.orders.guard import ensure_confirmable
from ordergate.orders.models import Order, OrderItemUnit, UnitState, Verdict
from ordergate.orders.status import next_order_status
from ordergate.scope import VendorScope

# A queued request with no job this long after it was recorded lost its defer.
UNQUEUED_AFTER = timedelta(seconds=60)
UNQUEUED = "its retry job was never queued (the process stopped); decide again"


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
    order = repository.find_order(session, scope=scope, order_id=order_id)
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
    queued_request: int | None = None,
) -> PlannedDecision:
    """Check the gate (when confirming), pick the unconfirmed units the decision covers and
    take the order's fulfilment lease. Every confirming path goes through here, so nothing is
    sent while the gate blocks. Refused (409 ``FULFILMENT_PENDING``) while a queued request
    of the order is under way, unless it is ``queued_request``, the one a job is retrying."""
    order = get_order(session, scope=scope, order_id=order_id)
    ensure_none_queued(session, order_id=order_id, own=queued_request)
    item_ids = decision.item_ids
    if item_ids is not None:
        _ensure_items_of_order(session, order_id, item_ids)
    if decision.available:
        ensure_confirmable(session, order_id=order_id, item_ids=item_ids)
    units = repository.unconfirmed_units(session, order_id=order_id, item_ids=item_ids)
    if not units:
        raise NoUnconfirmedUnitsError(
            order_id=order_id, verdict=decision.verdict, item_id=decision.item_id
        )
    lease_until = _take_lease(session, order_id, lease_seconds)
    # Again with the lease: a sender that queued its request as it released the lease has
    # committed by now.
    ensure_none_queued(session, order_id=order_id, own=queued_request)
    if decision.available:
        # Again, now that the order row is ours: a reopen that locked the order before our
        # lease (PostgreSQL, READ COMMITTED) committed meanwhile, and the first check may have
        # read the exception as resolved.
        ensure_confirmable(session, order_id=order_id, item_ids=item_ids)
    return PlannedDecision(
        scope=scope,
        order_id=order_id,
        external_shipment_id=order.external_shipment_id,
        decisions=[(unit.external_unit_id, decision.available) for unit in units],
        action=decision.event_action,
        lease_until=lease_until,
    )


def ensure_none_queued(session: Session, *, order_id: int, own: int | None = None) -> None:
    """409 ``FULFILMENT_PENDING`` while a queued request of the order (other than ``own``) is
    under way. A request whose job was never recorded (its process stopped between the two
    steps of queueing it) is failed here rather than blocking the order for ever."""
    request = repository.open_fulfilment_request(session, order_id=order_id)
    if request is None or request.id == own:
        return
    now = utcnow()
    unqueued = request.job_id is None and request.created_at < now - UNQUEUED_AFTER
    if not unqueued:
        raise FulfilmentPendingError(order_id=order_id, request_id=request.id)
    repository.fail_unqueued_request(session, request_id=request.id, error=UNQUEUED, at=now)
    session.expire(request)


def _take_lease(session: Session, order_id: int, lease_seconds: int) -> datetime:
    """One conditional UPDATE, so of two senders exactly one gets the order (the other 409);
    an expired lease (its sender died) is taken over."""
    now = utcnow()
    until = now + timedelta(seconds=lease_seconds)
    if not repository.take_fulfilment_lease(session, order_id=order_id, now=now, until=until):
        raise FulfilmentInProgressError(order_id)
    return until


def release_lease(session: Session, plan: PlannedDecision) -> None:
    """Give the order back, unless the lease expired and another sender holds it now."""
    repository.release_fulfilment_lease(
        session, order_id=plan.order_id, lease_until=plan.lease_until
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
    units = repository.units_of_order(session, order_id=order.id, external_unit_ids=sent)
    _apply(session, order, units, answer, plan.scope.actor_user_id, plan.action)
    release_lease(session, plan)
    return FulfilmentResult(order.id, order.status, answer.accepted, answer.refused)


def _ensure_items_of_order(session: Session, order_id: int, item_ids: Sequence[int]) -> None:
    found = repository.item_ids_of_order(session, order_id=order_id, item_ids=item_ids)
    missing = [i for i in item_ids if i not in found]
    if missing:
        raise OrderItemNotFoundError(order_id=order_id, item_id=missing[0])


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
    states = repository.unit_states_of_order(session, order_id=order.id)
    before = order.status
    order.status = next_order_status(before, states)
    if UnitState.CONFIRMED_AVAILABLE in states and order.confirmed_at is None:
        order.confirmed_at = now
    order.updated_at = now
    # Written here, not by an import: the next import compares the order in full.
    order.content_hash = None
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
