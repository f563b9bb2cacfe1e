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
from ordergate.errors import is_database_busy
from ordergate.letzshop.check import ensure_confirmation_allowed
from ordergate.letzshop.client import LetzshopClient
from ordergate.letzshop.connection import open_client, upstream_error
from ordergate.letzshop.credentials import connection_for
from ordergate.letzshop.errors import LetzshopError, LetzshopRefusedUnitsError
from ordergate.orders import fulfilment
from ordergate.orders.fulfilment import (
    FulfilmentResult,
    PlannedDecision,
    RefusedUnit,
    UnitDecision,
    UnitDecisions,
)
from ordergate.scope import VendorScope
from ordergate.security import SecretBox

logger = logging.getLogger(__name__)

# Letzshop has decided by the time the answer is recorded, so a busy database is waited out
# (a few short tries) rather than answering 503 with the decision unrecorded.
RECORD_ATTEMPTS = 4
RECORD_BACKOFF_SECONDS = 0.25


@dataclass(slots=True)
class LetzshopFulfilment:
    """What a confirm/decline did: the order's status after it, the units Letzshop accepted
    (unit id → state) and those whose decision was read back after a lost answer."""

    order_id: int
    status: str
    accepted: dict[str, str] = field(default_factory=dict)
    reconciled: list[str] = field(default_factory=list)


def decide_units(client: LetzshopClient, plan: PlannedDecision) -> tuple[UnitDecisions, list[str]]:
    """Send the plan's decisions; the answer, and the units recovered after a lost answer."""
    try:
        result = client.confirm_units(plan.decisions, shipment_id=plan.external_shipment_id)
    except LetzshopError as exc:
        raise upstream_error(plan.scope.vendor_id, exc, order_id=plan.order_id) from exc
    answer = UnitDecisions(
        accepted={unit.id: unit.state for unit in result.units},
        refused=[RefusedUnit(e.id, e.code, e.message) for e in result.errors],
    )
    return answer, result.reconciled


def run_fulfilment(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    scope: VendorScope,
    order_id: int,
    decision: UnitDecision,
) -> LetzshopFulfilment:
    """Send one decision to Letzshop for the scope's vendor (recorded as the scope's actor's).
    Refused with 409 ``LETZSHOP_CHECK_MISMATCH`` while the last contract check found the
    confirmation mutation unfit (nothing is sent). What Letzshop accepted is recorded even when
    it refused some units (then 409 ``LETZSHOP_REFUSED_UNITS``)."""
    with session_factory() as session:
        # An unknown order answers 404 before any question of credentials.
        fulfilment.get_order(session, scope=scope, order_id=order_id)
        connection = connection_for(session, scope=scope, box=box)
        # Before any lease: a contract check that found confirmInventoryUnits unfit stops it.
        ensure_confirmation_allowed(session, scope=scope)
        plan = fulfilment.start_decision(
            session,
            scope=scope,
            order_id=order_id,
            decision=decision,
            lease_seconds=settings.fulfilment_lease_seconds,
        )
        session.commit()
    try:
        with open_client(connection, settings) as client:
            answer, reconciled = decide_units(client, plan)
    except BaseException:
        with session_factory() as session:
            fulfilment.release_lease(session, plan)
            session.commit()
        raise
    result = _record(session_factory, plan, answer)
    if result.refused:
        raise LetzshopRefusedUnitsError(result, reconciled=reconciled)
    return LetzshopFulfilment(result.order_id, result.status, result.accepted, reconciled)


def _record(
    session_factory: sessionmaker[Session],
    plan: PlannedDecision,
    answer: UnitDecisions,
) -> FulfilmentResult:
    attempt = 1
    while True:
        try:
            with session_factory() as session:
                result = fulfilment.finish_decision(session, plan, answer)
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
