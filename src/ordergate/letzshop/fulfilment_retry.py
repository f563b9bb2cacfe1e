"""One attempt at a queued confirm/decline (docs/jobs.md, "Queued fulfilment"), run by the
``ordergate.fulfil_order`` job; it owns its transactions as ``run_fulfilment`` does.

The attempt plans again from scratch: the request must still be under way, and the order goes
through ``start_decision`` again (the gate, the unconfirmed units, the lease), so an exception
reopened meanwhile stops the request (``stopped``, an event; nothing is sent). Before anything
is sent the units' state is read at Letzshop (``read_first``): an earlier attempt whose answer
was lost is recognised and its units recorded, never sent twice.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session, sessionmaker

from ordergate.config import Settings
from ordergate.errors import AppError
from ordergate.letzshop.check import ensure_confirmation_allowed
from ordergate.letzshop.connection import VendorConnection
from ordergate.letzshop.credentials import connection_for
from ordergate.letzshop.errors import LetzshopError, LetzshopUnavailableError
from ordergate.letzshop.fulfilment import ask_letzshop, record_answer, release_plan
from ordergate.orders import fulfilment
from ordergate.orders import fulfilment_requests as requests
from ordergate.orders.errors import FulfilmentInProgressError
from ordergate.orders.fulfilment import FulfilmentResult, PlannedDecision
from ordergate.orders.models import FulfilmentRequestStatus as Status
from ordergate.security import SecretBox

logger = logging.getLogger(__name__)

GAVE_UP = "gave up after the last attempt"


class RetryLaterError(Exception):
    """This attempt could not reach Letzshop, or another sender held the order: the job is
    retried (with backoff) unless it was the last attempt."""


def retry_fulfilment(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    box: SecretBox,
    request_id: int,
    last_attempt: bool,
) -> Status | None:
    """Attempt the queued request once; its status after the attempt (None: it had ended
    before). Raises ``RetryLaterError`` when another attempt should follow."""
    started = _start(session_factory, settings, box, request_id, last_attempt)
    if not isinstance(started, tuple):
        return started
    connection, plan = started
    try:
        answer, _ = ask_letzshop(connection, settings, plan, read_first=True)
    except LetzshopUnavailableError as unreachable:
        logger.warning("fulfilment request %s: %s", request_id, unreachable.detail)
        return _unreachable(session_factory, plan, request_id, unreachable.message, last_attempt)
    except LetzshopError as refused:
        logger.warning("fulfilment request %s failed: %s", request_id, refused.detail)
        return _end(session_factory, plan, request_id, refused.message)
    except BaseException:
        release_plan(session_factory, plan)
        raise

    def land(session: Session, result: FulfilmentResult) -> None:
        error = _refusals(result) if result.refused else None
        status = Status.FAILED if result.refused else Status.SUCCEEDED
        requests.finish(session, request_id=request_id, status=status, error=error)

    result = record_answer(session_factory, plan, answer, also=land)
    return Status.FAILED if result.refused else Status.SUCCEEDED


def _start(
    session_factory: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    request_id: int,
    last_attempt: bool,
) -> tuple[VendorConnection, PlannedDecision] | Status | None:
    """Plan the attempt (the request ``sent``, the lease taken; committed), or end the request
    when something refuses it now (``stopped``, nothing sent)."""
    with session_factory() as session:
        request = requests.open_request(session, request_id=request_id)
        if request is None:
            return None
        scope = requests.scope_of(request)
        try:
            connection = connection_for(session, scope=scope, box=box)
            ensure_confirmation_allowed(session, scope=scope)
            plan = fulfilment.start_decision(
                session,
                scope=scope,
                order_id=request.order_id,
                decision=requests.decision_of(request),
                lease_seconds=settings.fulfilment_lease_seconds,
                queued_request=request_id,
            )
        except FulfilmentInProgressError as busy:
            session.rollback()
            if not last_attempt:
                raise RetryLaterError(busy.message) from busy
            return _finish(session, request_id, Status.FAILED, f"{busy.message}; {GAVE_UP}")
        except AppError as refused:
            session.rollback()
            return _finish(session, request_id, Status.STOPPED, refused.message)
        requests.mark_sent(request)
        session.commit()
    return connection, plan


def _finish(session: Session, request_id: int, status: Status, error: str) -> Status:
    requests.finish(session, request_id=request_id, status=status, error=error)
    session.commit()
    return status


def _unreachable(
    session_factory: sessionmaker[Session],
    plan: PlannedDecision,
    request_id: int,
    error: str,
    last_attempt: bool,
) -> Status:
    """Letzshop could not be reached again: wait for the next attempt, or fail on the last."""
    if last_attempt:
        return _end(session_factory, plan, request_id, f"{error}; {GAVE_UP}")
    with session_factory() as session:
        fulfilment.release_lease(session, plan)
        requests.mark_waiting(session, request_id=request_id, error=error)
        session.commit()
    raise RetryLaterError(error)


def _end(
    session_factory: sessionmaker[Session], plan: PlannedDecision, request_id: int, error: str
) -> Status:
    """Fail the request and give the order back, in one transaction."""
    with session_factory() as session:
        fulfilment.release_lease(session, plan)
        return _finish(session, request_id, Status.FAILED, error)


def end_request(session_factory: sessionmaker[Session], *, request_id: int, error: str) -> None:
    """Fail a request still under way whose job met an internal error, so it does not read as
    pending for ever (its lease, if any, expires)."""
    with session_factory() as session:
        if requests.open_request(session, request_id=request_id) is not None:
            _finish(session, request_id, Status.FAILED, error)


def _refusals(result: FulfilmentResult) -> str:
    units = "; ".join(f"unit {r.external_unit_id}: {r.message}" for r in result.refused)
    return f"Letzshop refused {len(result.refused)} unit(s): {units}"
