"""Letzshop as the marketplace that decides order units: ``confirmInventoryUnits``.

``run_fulfilment`` is a job runner that owns its transactions: a short one to check the gate,
pick the units and take the order's lease; the Letzshop call with no transaction open (so on
SQLite no write lock waits on the network); a short one to record the answer and end the lease.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.errors import AppError, is_database_busy
from ordergate.letzshop.client import LetzshopClient
from ordergate.letzshop.errors import LetzshopError
from ordergate.letzshop.service import connection_for, open_client, upstream_error
from ordergate.orders import fulfilment
from ordergate.orders.fulfilment import (
    FulfilmentResult,
    PlannedDecision,
    RefusedUnit,
    UnitDecisions,
)
from ordergate.security import SecretBox
from ordergate.vendors.service import get_vendor

logger = logging.getLogger(__name__)

# Letzshop has decided by the time the answer is recorded, so a busy database is waited out
# (a few short tries) rather than answering 503 with the decision unrecorded.
RECORD_ATTEMPTS = 4
RECORD_BACKOFF_SECONDS = 0.25


class LetzshopRefusedUnitsError(AppError):
    status_code = 409
    code = "LETZSHOP_REFUSED_UNITS"


@dataclass(slots=True)
class LetzshopFulfilment:
    """What a confirm/decline did: the order's status after it, the units Letzshop accepted
    (unit id → state) and those whose decision was read back after a lost answer."""

    order_id: int
    status: str
    accepted: dict[str, str] = field(default_factory=dict)
    reconciled: list[str] = field(default_factory=list)


def decide_units(
    client: LetzshopClient, vendor_id: int, plan: PlannedDecision
) -> tuple[UnitDecisions, list[str]]:
    """Send the plan's decisions; the answer, and the units recovered after a lost answer."""
    try:
        result = client.confirm_units(plan.decisions, shipment_id=plan.external_shipment_id)
    except LetzshopError as exc:
        raise upstream_error(vendor_id, exc, order_id=plan.order_id) from exc
    answer = UnitDecisions(
        accepted={unit.id: unit.state for unit in result.units},
        refused=[RefusedUnit(e.id, e.code, e.message) for e in result.errors],
    )
    return answer, result.reconciled


# action → (whole order?, confirm?)
ACTIONS: dict[str, tuple[bool, bool]] = {
    "confirm_order": (True, True),
    "reject_order": (True, False),
    "confirm_item": (False, True),
    "decline_item": (False, False),
}


def run_fulfilment(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    action: str,
    vendor_id: int,
    order_id: int,
    item_id: int | None,
    actor_user_id: int | None,
) -> LetzshopFulfilment:
    """Run one confirm/decline action. What Letzshop accepted is recorded even when it refused
    some units (then 409 ``LETZSHOP_REFUSED_UNITS``)."""
    whole_order, available = ACTIONS[action]
    with session_factory() as session:
        get_vendor(session, vendor_id=vendor_id)
        # An unknown order answers 404 before any question of credentials.
        fulfilment.get_vendor_order(session, vendor_id=vendor_id, order_id=order_id)
        connection = connection_for(session, vendor_id=vendor_id, box=box)
        plan = fulfilment.start_decision(
            session,
            vendor_id=vendor_id,
            order_id=order_id,
            item_ids=None if whole_order or item_id is None else [item_id],
            available=available,
            lease_seconds=settings.fulfilment_lease_seconds,
        )
        session.commit()
    try:
        with open_client(connection, settings) as client:
            answer, reconciled = decide_units(client, vendor_id, plan)
    except BaseException:
        with session_factory() as session:
            fulfilment.release_lease(session, plan)
            session.commit()
        raise
    result = _record(session_factory, plan, answer, actor_user_id)
    if result.refused:
        raise LetzshopRefusedUnitsError(
            f"Letzshop refused {len(result.refused)} unit(s) of order {order_id}",
            details={
                "order_id": order_id,
                "status": result.status,
                "accepted": result.accepted,
                "reconciled": reconciled,
                "refused": [
                    {"unit_id": r.external_unit_id, "code": r.code, "message": r.message}
                    for r in result.refused
                ],
            },
        )
    return LetzshopFulfilment(result.order_id, result.status, result.accepted, reconciled)


def _record(
    session_factory: sessionmaker[Session],
    plan: PlannedDecision,
    answer: UnitDecisions,
    actor_user_id: int | None,
) -> FulfilmentResult:
    attempt = 1
    while True:
        try:
            with session_factory() as session:
                result = fulfilment.finish_decision(
                    session, plan, answer, actor_user_id=actor_user_id
                )
                session.commit()
            return result
        except (OperationalError, PoolTimeoutError) as exc:
            busy = isinstance(exc, PoolTimeoutError) or is_database_busy(exc)
            if not busy or attempt == RECORD_ATTEMPTS:
                raise
            logger.warning(
                "order %s: recording Letzshop's answer met a busy database (attempt %d of %d)",
                plan.order_id,
                attempt,
                RECORD_ATTEMPTS,
            )
            time.sleep(RECORD_BACKOFF_SECONDS * attempt)
            attempt += 1
