"""Errors of the orders domain, each built by a typed constructor (message and details here,
never at the raise site).

Specification name -> class -> code:

- ``OrderHasUnresolvedExceptionsException`` -> ``OrderHasUnresolvedExceptionsError`` ->
  400 ``ORDER_HAS_UNRESOLVED_EXCEPTIONS`` (the confirmation gate, ``guard.py``)

Not in the specification: ``OrderNotFoundError`` (404 ``ORDER_NOT_FOUND``, also for another
vendor's order), and fulfilment's ``OrderItemNotFoundError`` (404 ``ORDER_ITEM_NOT_FOUND``),
``NoUnconfirmedUnitsError`` (400 ``NO_UNCONFIRMED_UNITS``), ``FulfilmentInProgressError``
(409 ``FULFILMENT_IN_PROGRESS``), ``FulfilmentPendingError`` (409 ``FULFILMENT_PENDING``: a
queued confirm/decline is under way) and ``FulfilmentRequestNotFoundError`` (404
``FULFILMENT_REQUEST_NOT_FOUND``).
"""

from __future__ import annotations

from collections.abc import Sequence

from ordergate.errors import AppError, ConflictError, NotFoundError


class OrderNotFoundError(NotFoundError):
    code = "ORDER_NOT_FOUND"

    def __init__(self, order_id: int) -> None:
        super().__init__(f"Order {order_id} not found", details={"order_id": order_id})


class OrderHasUnresolvedExceptionsError(AppError):
    """The confirmation gate's refusal: exceptions block the order (or the chosen items)."""

    status_code = 400
    code = "ORDER_HAS_UNRESOLVED_EXCEPTIONS"

    def __init__(self, *, order_id: int, exception_ids: Sequence[int], items: bool) -> None:
        scope = "Order item" if items else "Order"
        count = len(exception_ids)
        super().__init__(
            f"{scope} cannot be confirmed: {count} unresolved product exception(s) "
            f"on order {order_id} (resolve them, or decline the lines)",
            details={"order_id": order_id, "count": count, "exception_ids": list(exception_ids)},
        )


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

    def __init__(self, *, order_id: int, verdict: str, item_id: int | None) -> None:
        where = "" if item_id is None else f" in item {item_id}"
        super().__init__(
            f"Order {order_id} has no unconfirmed units to {verdict}{where}",
            details={"order_id": order_id, "item_ids": [] if item_id is None else [item_id]},
        )


class FulfilmentInProgressError(ConflictError):
    code = "FULFILMENT_IN_PROGRESS"

    def __init__(self, order_id: int) -> None:
        super().__init__(
            f"Order {order_id} is being confirmed or declined by another request; "
            "retry when it has finished",
            details={"order_id": order_id},
        )


class FulfilmentPendingError(ConflictError):
    """A queued confirm/decline of the order is still under way (docs/jobs.md)."""

    code = "FULFILMENT_PENDING"

    def __init__(self, *, order_id: int, request_id: int) -> None:
        super().__init__(
            f"Order {order_id} has queued confirm/decline request {request_id} under way "
            "(Letzshop was unreachable); wait for it to land, stop or fail",
            details={"order_id": order_id, "request_id": request_id},
        )


class FulfilmentRequestNotFoundError(NotFoundError):
    code = "FULFILMENT_REQUEST_NOT_FOUND"

    def __init__(self, request_id: int) -> None:
        super().__init__(
            f"Fulfilment request {request_id} not found", details={"request_id": request_id}
        )
