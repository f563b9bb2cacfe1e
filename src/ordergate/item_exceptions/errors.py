"""Domain errors of the exception workflow (the gate's ``OrderHasUnresolvedExceptionsError``,
the specification's ``OrderHasUnresolvedExceptionsException``, is in ``orders/errors.py``).

Specification name -> class -> code:

- ``OrderItemExceptionNotFoundException`` -> ``OrderItemExceptionNotFoundError`` ->
  404 ``ORDER_ITEM_EXCEPTION_NOT_FOUND`` (also for another vendor's exception)
- ``ExceptionAlreadyResolvedException`` -> ``ExceptionAlreadyResolvedError`` ->
  400 ``EXCEPTION_ALREADY_RESOLVED``
- ``InvalidProductForExceptionException`` -> ``InvalidProductForExceptionError`` ->
  400 ``INVALID_PRODUCT_FOR_EXCEPTION``

Not in the specification: ``ExceptionNotPendingError`` (400 ``EXCEPTION_NOT_PENDING``, ignoring an
exception that is not pending), ``GtinRequiredToRememberError`` (400
``GTIN_REQUIRED_TO_REMEMBER``), ``GtinMappingNotFoundError`` (404 ``GTIN_MAPPING_NOT_FOUND``) and
``BulkGtinInvalidError`` (400 ``INVALID_GTIN``, bulk-resolve by a GTIN that is not valid and that
no pending exception carries).
"""

from __future__ import annotations

from ordergate.errors import AppError, NotFoundError


class OrderItemExceptionNotFoundError(NotFoundError):
    code = "ORDER_ITEM_EXCEPTION_NOT_FOUND"

    def __init__(self, exception_id: int) -> None:
        super().__init__(
            f"Order item exception {exception_id} not found",
            details={"exception_id": exception_id},
        )


class ExceptionAlreadyResolvedError(AppError):
    status_code = 400
    code = "EXCEPTION_ALREADY_RESOLVED"

    def __init__(self, exception_id: int) -> None:
        super().__init__(
            f"Order item exception {exception_id} is already resolved",
            details={"exception_id": exception_id},
        )


class ExceptionNotPendingError(AppError):
    status_code = 400
    code = "EXCEPTION_NOT_PENDING"

    def __init__(self, exception_id: int, status: str) -> None:
        super().__init__(
            f"Order item exception {exception_id} is {status}; only pending exceptions "
            "can be ignored",
            details={"exception_id": exception_id, "status": status},
        )


class InvalidProductForExceptionError(AppError):
    status_code = 400
    code = "INVALID_PRODUCT_FOR_EXCEPTION"

    def __init__(self, product_id: int, reason: str) -> None:
        super().__init__(
            f"Product {product_id} cannot resolve this exception: {reason}",
            details={"product_id": product_id, "reason": reason},
        )


class GtinRequiredToRememberError(AppError):
    status_code = 400
    code = "GTIN_REQUIRED_TO_REMEMBER"

    def __init__(self, exception_id: int) -> None:
        super().__init__(
            f"Order item exception {exception_id} has no GTIN, so its resolution cannot be "
            "remembered; resolve it without `remember`",
            details={"exception_id": exception_id},
        )


class GtinMappingNotFoundError(NotFoundError):
    code = "GTIN_MAPPING_NOT_FOUND"

    def __init__(self, mapping_id: int) -> None:
        super().__init__(f"GTIN mapping {mapping_id} not found", details={"mapping_id": mapping_id})


class BulkGtinInvalidError(AppError):
    status_code = 400
    code = "INVALID_GTIN"

    def __init__(self, gtin: str) -> None:
        super().__init__(
            f"{gtin!r} is not a valid GTIN (check digit or length), and no pending exception "
            "carries it as its raw GTIN",
            details={"field": "gtin", "gtin": gtin},
        )


# -- merge point: suggestions --

# -- merge point: actions --

# -- merge point: queue --


class OrderItemExceptionsNotFoundError(NotFoundError):
    """Bulk by selection: ids that are missing or another vendor's (the same answer for both);
    nothing was changed."""

    code = "ORDER_ITEM_EXCEPTIONS_NOT_FOUND"

    def __init__(self, exception_ids: list[int]) -> None:
        shown = ", ".join(map(str, exception_ids[:20])) + (
            f" and {len(exception_ids) - 20} more" if len(exception_ids) > 20 else ""
        )
        super().__init__(
            f"Order item exceptions not found: {shown}; nothing was changed",
            details={"exception_ids": exception_ids},
        )


# -- merge point: history --

# -- merge point: deadlines --


class KpiRangeInvalidError(AppError):
    """The KPIs' window is empty or reversed (`from` must be before `to`)."""

    status_code = 400
    code = "KPI_RANGE_INVALID"

    def __init__(self, *, start: str, end: str) -> None:
        super().__init__(
            f"from ({start}) must be before to ({end})",
            details={"field": "from", "from": start, "to": end},
        )
