"""Errors of the Letzshop domain, in two families.

The client's errors (``LetzshopError`` and its subclasses) know nothing about HTTP frameworks or
the API: each carries a ``message`` that is safe to show (for an unreachable or misbehaving
endpoint it is one fixed text, so it never tells what answered) and a ``detail`` for the server
log; neither ever holds the API key.

The API's answers are ``AppError`` subclasses, each built from ids or objects by its constructor
(message and ``details``). A failed Letzshop request becomes a ``LetzshopUpstreamError``
(``connection.upstream_error``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from ordergate.errors import AppError, NotFoundError
from ordergate.outbound import OutboundRefusedError

if TYPE_CHECKING:
    from ordergate.letzshop.models import SyncRun
    from ordergate.orders.fulfilment import FulfilmentResult

# --- the client's errors -----------------------------------------------------------------------


class LetzshopError(Exception):
    """Base of every error the Letzshop client raises."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


class LetzshopUnavailableError(LetzshopError):
    """Letzshop kept failing transiently (429, 5xx, timeout, connection) until retries ran out."""

    def __init__(
        self, message: str, *, last_reason: str, attempts: int, detail: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.last_reason = last_reason
        self.attempts = attempts


class LetzshopAuthError(LetzshopError):
    """The API key was refused: HTTP 401/403, or GraphQL errors saying so. Never retried."""


class LetzshopGraphQLError(LetzshopError):
    """Letzshop answered with GraphQL ``errors`` and without the data that was asked for."""

    def __init__(self, message: str, *, messages: list[str]) -> None:
        super().__init__(message)
        self.messages = messages


class LetzshopProtocolError(LetzshopError):
    """The answer was not the expected shape: malformed JSON, missing keys, wrong types."""


# --- the API's answers -------------------------------------------------------------------------


class LetzshopNotConfiguredError(AppError):
    status_code = 400
    code = "LETZSHOP_NOT_CONFIGURED"

    def __init__(self, vendor_id: int) -> None:
        super().__init__(
            f"Vendor {vendor_id} has no Letzshop credentials; set them first",
            details={"vendor_id": vendor_id},
        )


class LetzshopKeyUnreadableError(AppError):
    status_code = 409
    code = "LETZSHOP_KEY_UNREADABLE"

    def __init__(self, vendor_id: int) -> None:
        super().__init__(
            f"The stored Letzshop API key of vendor {vendor_id} was encrypted with another "
            "secret key; set the credentials again",
            details={"vendor_id": vendor_id},
        )


class EndpointNotAllowedError(AppError):
    status_code = 400
    code = "ENDPOINT_NOT_ALLOWED"

    def __init__(self, refused: OutboundRefusedError) -> None:
        super().__init__(
            f"endpoint is not allowed: {refused.message}",
            details={"field": "endpoint", "reason": refused.reason.value},
        )


class LetzshopKeyRequiredError(AppError):
    status_code = 400
    code = "LETZSHOP_API_KEY_REQUIRED"

    def __init__(self, vendor_id: int) -> None:
        super().__init__(
            f"api_key is required: vendor {vendor_id} has no Letzshop credentials yet",
            details={"field": "api_key", "vendor_id": vendor_id},
        )


class LetzshopUpstreamError(AppError):
    """A Letzshop request failed (the client's ``LetzshopError``). The message is the client's
    fixed text, so it never tells what answered."""

    status_code = 502
    code = "LETZSHOP_UNAVAILABLE"

    def __init__(self, vendor_id: int, failure: LetzshopError, **details: object) -> None:
        super().__init__(
            f"Letzshop request for vendor {vendor_id} failed: {failure.message}",
            details={"vendor_id": vendor_id, **details},
        )

    @classmethod
    def of(cls, vendor_id: int, failure: LetzshopError, **details: object) -> LetzshopUpstreamError:
        """The error for this failure: a refused key has its own code."""
        error = LetzshopUpstreamAuthError if isinstance(failure, LetzshopAuthError) else cls
        return error(vendor_id, failure, **details)


class LetzshopUpstreamAuthError(LetzshopUpstreamError):
    """Letzshop refused the vendor's API key."""

    code = "LETZSHOP_AUTH_FAILED"


class LetzshopRefusedUnitsError(AppError):
    """Letzshop refused some units of a confirm/decline; what it accepted is recorded."""

    status_code = 409
    code = "LETZSHOP_REFUSED_UNITS"

    def __init__(self, result: FulfilmentResult, *, reconciled: list[str]) -> None:
        super().__init__(
            f"Letzshop refused {len(result.refused)} unit(s) of order {result.order_id}",
            details={
                "order_id": result.order_id,
                "status": result.status,
                "accepted": result.accepted,
                "reconciled": reconciled,
                "refused": [
                    {"unit_id": r.external_unit_id, "code": r.code, "message": r.message}
                    for r in result.refused
                ],
            },
        )


class SyncInProgressError(AppError):
    status_code = 409
    code = "SYNC_IN_PROGRESS"

    def __init__(self, live: SyncRun) -> None:
        beat = live.heartbeat_at.isoformat() if live.heartbeat_at else "never"
        super().__init__(
            f"Vendor {live.vendor_id} already has sync run {live.id} in progress (last heartbeat "
            f"{beat}); retry later",
            details={"vendor_id": live.vendor_id, "run_id": live.id},
        )


class SyncRunAbandonedError(AppError):
    """This run's lease was taken (it was marked abandoned while it still ran); it stops."""

    status_code = 409
    code = "SYNC_RUN_ABANDONED"

    def __init__(self, *, vendor_id: int, run_id: int) -> None:
        super().__init__(
            f"Sync run {run_id} of vendor {vendor_id} was marked abandoned while it ran (no "
            "heartbeat within the lease); it stopped",
            details={"vendor_id": vendor_id, "run_id": run_id},
        )


class SyncRunNotFoundError(NotFoundError):
    code = "SYNC_RUN_NOT_FOUND"

    def __init__(self, *, vendor_id: int | None, run_id: int) -> None:
        where = "" if vendor_id is None else f" for vendor {vendor_id}"
        super().__init__(
            f"Sync run {run_id} not found{where}",
            details={"vendor_id": vendor_id, "run_id": run_id},
        )


class LetzshopCheckMismatchError(AppError):
    """The vendor's last contract check found the confirmation mutation unfit for the service:
    nothing is sent until a check passes (``letzshop/check.py``)."""

    status_code = 409
    code = "LETZSHOP_CHECK_MISMATCH"

    def __init__(self, *, vendor_id: int, checked_at: datetime | None, problems: list[str]) -> None:
        stamp = checked_at.isoformat().replace("+00:00", "Z") if checked_at else None
        when = stamp or "at an unknown time"
        super().__init__(
            f"Vendor {vendor_id}'s last Letzshop check ({when}) found that the confirmation "
            f"mutation does not fit the service: {'; '.join(problems) or 'see the check'}. "
            "Nothing was sent. Correct the contract, then run the check again "
            "(`ordergate letzshop check --vendor CODE` or POST …/letzshop/check)",
            details={
                "vendor_id": vendor_id,
                "checked_at": stamp,
                "problems": problems,
            },
        )


class SyncAlreadyQueuedError(AppError):
    """A sync of the vendor already waits for a worker (its queueing lock holds)."""

    status_code = 409
    code = "SYNC_ALREADY_QUEUED"

    def __init__(self, *, vendor_id: int, run_id: int | None) -> None:
        waiting = f"sync run {run_id}" if run_id is not None else "a sync job"
        super().__init__(
            f"Vendor {vendor_id} already has {waiting} waiting for a worker; poll it instead "
            "of queueing another",
            details={"vendor_id": vendor_id, "run_id": run_id},
        )


class SyncQueueUnavailableError(AppError):
    """The job queue could not take the sync (its database connection failed)."""

    status_code = 503
    code = "SYNC_QUEUE_UNAVAILABLE"

    def __init__(self, *, vendor_id: int, run_id: int) -> None:
        super().__init__(
            f"The job queue did not take sync run {run_id} of vendor {vendor_id}; the run is "
            "marked failed, retry later",
            details={"vendor_id": vendor_id, "run_id": run_id},
        )


class FulfilmentQueueUnavailableError(AppError):
    """The job queue could not take a queued confirm/decline (its database connection
    failed)."""

    status_code = 503
    code = "FULFILMENT_QUEUE_UNAVAILABLE"

    def __init__(self, *, order_id: int, request_id: int) -> None:
        super().__init__(
            f"Letzshop could not be reached and the job queue did not take fulfilment request "
            f"{request_id} of order {order_id}; the request is marked failed, nothing was "
            "confirmed or declined: retry later",
            details={"order_id": order_id, "request_id": request_id},
        )
