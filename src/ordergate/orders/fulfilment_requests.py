"""Queued confirms/declines, marketplace-neutral: a decision the marketplace could not be asked
about is recorded as a ``FulfilmentRequest`` and retried by a job (docs/jobs.md).

Its life: ``requested`` (recorded, waits for an attempt) → ``sent`` (an attempt holds the
order's lease) → back to ``requested`` after an unreachable marketplace, or ``succeeded``
(the answer is recorded on the units), ``stopped`` (the gate closed, or nothing was left to
decide: nothing sent) or ``failed`` (attempts ran out, or the marketplace refused). At most one
request per order is under way (a partial unique index); a confirm/decline meanwhile answers
409 ``FULFILMENT_PENDING``. The stops and failures write an event on the order's timeline.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.events.models import EventAction
from ordergate.events.repository import record_events
from ordergate.orders import events, repository
from ordergate.orders.errors import FulfilmentRequestNotFoundError
from ordergate.orders.fulfilment import UnitDecision
from ordergate.orders.models import FulfilmentRequest, Verdict
from ordergate.orders.models import FulfilmentRequestStatus as Status
from ordergate.scope import Scope, VendorScope


def record_request(
    session: Session, *, scope: VendorScope, order_id: int, decision: UnitDecision, error: str
) -> FulfilmentRequest:
    """Record the decision, whose first attempt (``error``) could not reach the marketplace."""
    request = FulfilmentRequest(
        order_id=order_id,
        vendor_id=scope.vendor_id,
        verdict=decision.verdict,
        item_id=decision.item_id,
        status=Status.REQUESTED,
        attempts=1,
        last_error=error,
        requested_by=scope.actor_user_id,
    )
    session.add(request)
    session.flush()
    _record_event(session, request, EventAction.FULFILMENT_QUEUED, scope.actor_user_id)
    return request


def set_job(session: Session, *, request_id: int, job_id: int) -> None:
    request = session.get(FulfilmentRequest, request_id)
    if request is not None:
        request.job_id = job_id


def get_request(session: Session, *, scope: Scope, request_id: int) -> FulfilmentRequest:
    """The scope's request; 404 ``FULFILMENT_REQUEST_NOT_FOUND`` (also another vendor's)."""
    request = repository.find_fulfilment_request(session, scope=scope, request_id=request_id)
    if request is None:
        raise FulfilmentRequestNotFoundError(request_id)
    return request


def latest_request(session: Session, *, order_id: int) -> FulfilmentRequest | None:
    """The order's newest queued request, if any (the dashboard shows how it stands)."""
    return repository.latest_fulfilment_request(session, order_id=order_id)


def open_request(session: Session, *, request_id: int) -> FulfilmentRequest | None:
    """The request if it is still under way; None once it ended (or is gone)."""
    request = session.get(FulfilmentRequest, request_id, populate_existing=True)
    if request is None or request.status not in Status.open():
        return None
    return request


def decision_of(request: FulfilmentRequest) -> UnitDecision:
    return UnitDecision(Verdict(request.verdict), item_id=request.item_id)


def scope_of(request: FulfilmentRequest) -> VendorScope:
    """The system acting for the person who asked (their id goes into the events)."""
    return VendorScope(
        actor_user_id=request.requested_by, vendor_id=request.vendor_id, is_admin=True
    )


def mark_sent(request: FulfilmentRequest) -> None:
    """An attempt starts (the caller holds the order's lease)."""
    request.status = Status.SENT
    request.attempts += 1


def mark_waiting(session: Session, *, request_id: int, error: str) -> None:
    """The attempt could not reach the marketplace: the request waits for the next one."""
    request = _get(session, request_id)
    request.status = Status.REQUESTED
    request.last_error = error


def finish(
    session: Session, *, request_id: int, status: Status, error: str | None = None
) -> FulfilmentRequest:
    """End the request; a stop or a failure writes an event (by the system) on the order."""
    request = _get(session, request_id)
    request.status = status
    request.finished_at = utcnow()
    if error is not None:
        request.last_error = error
    if status is Status.STOPPED:
        _record_event(session, request, EventAction.FULFILMENT_STOPPED, None)
    elif status is Status.FAILED:
        _record_event(session, request, EventAction.FULFILMENT_FAILED, None)
    return request


def _get(session: Session, request_id: int) -> FulfilmentRequest:
    request = session.get(FulfilmentRequest, request_id, populate_existing=True)
    if request is None:
        raise FulfilmentRequestNotFoundError(request_id)
    return request


def _record_event(
    session: Session, request: FulfilmentRequest, action: EventAction, actor: int | None
) -> None:
    session.flush()
    summary: dict[str, object] = {
        "request_id": request.id,
        "verdict": request.verdict,
        "item_id": request.item_id,
        "status": request.status,
        "attempts": request.attempts,
        "reason": request.last_error,
    }
    event = events.fulfilment_request_event(
        order_id=request.order_id,
        vendor_id=request.vendor_id,
        actor_user_id=actor,
        action=action,
        request=summary,
    )
    record_events(session, [event])
