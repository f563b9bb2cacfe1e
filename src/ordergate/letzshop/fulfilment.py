"""Letzshop as the marketplace that decides order units: ``confirmInventoryUnits``.

``run_fulfilment`` is a job runner that owns its transactions: a short one to check the gate,
pick the units and take the order's lease; the Letzshop call with no transaction open (so on
SQLite no write lock waits on the network); a short one to record the answer and end the lease.
With jobs on the queue, a decision Letzshop could not be reached for is recorded as a queued
request instead of failing (``QueuedFulfilment``); ``fulfilment_retry`` retries it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.errors import is_database_busy
from ordergate.letzshop.check import ensure_confirmation_allowed
from ordergate.letzshop.connection import VendorConnection, open_client, upstream_error
from ordergate.letzshop.credentials import connection_for
from ordergate.letzshop.errors import (
    FulfilmentQueueUnavailableError,
    LetzshopError,
    LetzshopRefusedUnitsError,
    LetzshopUnavailableError,
)
from ordergate.letzshop.queueing import FulfilmentQueue
from ordergate.orders import fulfilment
from ordergate.orders import fulfilment_requests as requests
from ordergate.orders.fulfilment import (
    FulfilmentResult,
    PlannedDecision,
    RefusedUnit,
    UnitDecision,
    UnitDecisions,
)
from ordergate.orders.models import FulfilmentRequest
from ordergate.orders.models import FulfilmentRequestStatus as Status
from ordergate.scope import VendorScope
from ordergate.security import SecretBox

logger = logging.getLogger(__name__)

# Letzshop has decided by the time the answer is recorded, so a busy database is waited out
# (a few short tries) rather than answering 503 with the decision unrecorded.
RECORD_ATTEMPTS = 4
RECORD_BACKOFF_SECONDS = 0.25
QUEUE_REFUSED = "the job queue did not take it"


@dataclass(slots=True)
class LetzshopFulfilment:
    """What a confirm/decline did: the order's status after it, the units Letzshop accepted
    (unit id → state) and those whose decision was read back after a lost answer."""

    order_id: int
    status: str
    accepted: dict[str, str] = field(default_factory=dict)
    reconciled: list[str] = field(default_factory=list)


@dataclass(slots=True)
class QueuedFulfilment:
    """A confirm/decline Letzshop could not be reached for, recorded and queued for retries
    (docs/jobs.md): the request as it stands."""

    request: FulfilmentRequest


def ask_letzshop(
    connection: VendorConnection,
    settings: Settings,
    plan: PlannedDecision,
    *,
    read_first: bool = False,
) -> tuple[UnitDecisions, list[str]]:
    """Send the plan's decisions (``read_first``: read the units' state at Letzshop before
    anything is sent); the answer, and the units recovered after a lost answer."""
    with open_client(connection, settings) as client:
        result = client.confirm_units(
            plan.decisions, shipment_id=plan.external_shipment_id, read_first=read_first
        )
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
    queue: FulfilmentQueue | None = None,
) -> LetzshopFulfilment | QueuedFulfilment:
    """Send one decision to Letzshop for the scope's vendor (recorded as the scope's actor's).
    Refused with 409 ``LETZSHOP_CHECK_MISMATCH`` while the last contract check found the
    confirmation mutation unfit (nothing is sent), 409 ``FULFILMENT_PENDING`` while a queued
    request of the order is under way. What Letzshop accepted is recorded even when it refused
    some units (then 409 ``LETZSHOP_REFUSED_UNITS``). When Letzshop stays unreachable: with a
    ``queue``, the decision is recorded and queued for retries (``QueuedFulfilment``); without
    one, 502 and nothing is recorded."""
    connection, plan = _plan(
        session_factory,
        settings=settings,
        box=box,
        scope=scope,
        order_id=order_id,
        decision=decision,
    )
    try:
        answer, reconciled = ask_letzshop(connection, settings, plan)
    except LetzshopUnavailableError as unreachable:
        if queue is None:
            release_plan(session_factory, plan)
            raise upstream_error(scope.vendor_id, unreachable, order_id=order_id) from unreachable
        return _queue(session_factory, queue, plan, decision, unreachable)
    except LetzshopError as exc:
        release_plan(session_factory, plan)
        raise upstream_error(scope.vendor_id, exc, order_id=order_id) from exc
    except BaseException:
        release_plan(session_factory, plan)
        raise
    result = record_answer(session_factory, plan, answer)
    if result.refused:
        raise LetzshopRefusedUnitsError(result, reconciled=reconciled)
    return LetzshopFulfilment(result.order_id, result.status, result.accepted, reconciled)


def _plan(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    scope: VendorScope,
    order_id: int,
    decision: UnitDecision,
) -> tuple[VendorConnection, PlannedDecision]:
    """The first transaction: the order (404 first), the credentials, the contract check, the
    gate and the lease; committed."""
    with session_factory() as session:
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
    return connection, plan


def release_plan(session_factory: sessionmaker[Session], plan: PlannedDecision) -> None:
    with session_factory() as session:
        fulfilment.release_lease(session, plan)
        session.commit()


def _queue(
    session_factory: sessionmaker[Session],
    queue: FulfilmentQueue,
    plan: PlannedDecision,
    decision: UnitDecision,
    failure: LetzshopError,
) -> QueuedFulfilment:
    """Record the request as the lease ends (one commit, so no sender slips in between), then
    hand it to the queue; 503 ``FULFILMENT_QUEUE_UNAVAILABLE`` (the request failed) if the
    queue does not take it."""
    logger.warning(
        "order %s: Letzshop unreachable (%s); the decision is queued", plan.order_id, failure.detail
    )
    with session_factory() as session:
        fulfilment.release_lease(session, plan)
        request = requests.record_request(
            session,
            scope=plan.scope,
            order_id=plan.order_id,
            decision=decision,
            error=failure.message,
        )
        session.commit()
        request_id = request.id
    try:
        job_id = queue.defer_fulfilment(request_id=request_id, order_id=plan.order_id)
    except Exception as exc:
        logger.exception("the job queue did not take fulfilment request %s", request_id)
        with session_factory() as session:
            requests.finish(
                session, request_id=request_id, status=Status.FAILED, error=QUEUE_REFUSED
            )
            session.commit()
        raise FulfilmentQueueUnavailableError(
            order_id=plan.order_id, request_id=request_id
        ) from exc
    with session_factory() as session:
        requests.set_job(session, request_id=request_id, job_id=job_id)
        session.commit()
        stored = requests.get_request(session, scope=plan.scope, request_id=request_id)
        session.expunge(stored)
    return QueuedFulfilment(stored)


def record_answer(
    session_factory: sessionmaker[Session],
    plan: PlannedDecision,
    answer: UnitDecisions,
    *,
    also: Callable[[Session, FulfilmentResult], None] | None = None,
) -> FulfilmentResult:
    """The third transaction: Letzshop's answer on the units, and ``also`` in the same
    transaction. Letzshop has decided by now, so a busy database is waited out a few times."""
    attempt = 1
    while True:
        try:
            with session_factory() as session:
                result = fulfilment.finish_decision(session, plan, answer)
                if also is not None:
                    also(session, result)
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
