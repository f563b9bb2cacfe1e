"""Errors of the orders domain, each built by a typed constructor (message and details here,
never at the raise site).

Specification name -> class -> code:

- ``OrderHasUnresolvedExceptionsException`` -> ``OrderHasUnresolvedExceptionsError`` ->
  400 ``ORDER_HAS_UNRESOLVED_EXCEPTIONS`` (the confirmation gate, ``guard.py``)

Not in the specification: ``OrderNotFoundError`` (404 ``ORDER_NOT_FOUND``, also for another
vendor's order).
"""

from __future__ import annotations

from collections.abc import Sequence

from ordergate.errors import AppError, NotFoundError


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
