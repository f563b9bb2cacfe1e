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

from ordergate.errors import AppError, ConflictError, NotFoundError, ValidationFailedError


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


class ExceptionGtinInvalidError(AppError):
    """create-product would give the new product a GTIN that is not valid: the line's own
    (a ``gtin_mismatch``), or a corrected ``gtin`` that is not valid either."""

    status_code = 400
    code = "INVALID_GTIN"

    def __init__(self, *, exception_id: int, gtin: str, corrected: bool) -> None:
        if corrected:
            message = (
                f"gtin {gtin!r} is not a valid GTIN-8/12/13/14 (length or check digit); "
                f"no product was created for order item exception {exception_id}"
            )
        else:
            message = (
                f"Order item exception {exception_id} carries the GTIN {gtin!r}, which is not "
                "a valid GTIN (length or check digit); pass a corrected `gtin` to create the "
                "product"
            )
        super().__init__(
            message, details={"field": "gtin", "gtin": gtin, "exception_id": exception_id}
        )


class GtinAlreadyInCatalogError(ConflictError):
    """create-product for a GTIN the vendor's catalog already holds as a matchable product:
    a second product would make the GTIN ambiguous (``duplicate_gtin``) for every import."""

    code = "GTIN_ALREADY_IN_CATALOG"

    def __init__(self, *, exception_id: int, gtin: str, product_ids: list[int]) -> None:
        shown = ", ".join(str(i) for i in product_ids[:20])
        super().__init__(
            f"The vendor's catalog already holds active product(s) {shown} with GTIN {gtin}; "
            f"resolve order item exception {exception_id} to one of them instead of creating "
            "another",
            details={"exception_id": exception_id, "gtin": gtin, "product_ids": product_ids},
        )


class ProductTitleRequiredError(ValidationFailedError):
    """create-product without a title where neither the line nor a marketplace product has a
    name to default it from."""

    def __init__(self, exception_id: int) -> None:
        super().__init__(
            f"Order item exception {exception_id} has no product name and no marketplace "
            "product carries its GTIN; pass a `title`",
            details={"field": "title", "exception_id": exception_id},
        )


class ExceptionAlreadyPendingError(AppError):
    status_code = 400
    code = "EXCEPTION_ALREADY_PENDING"

    def __init__(self, exception_id: int) -> None:
        super().__init__(
            f"Order item exception {exception_id} is pending; only resolved or ignored "
            "exceptions can be reopened",
            details={"exception_id": exception_id, "status": "pending"},
        )


class ExceptionChangedError(ConflictError):
    """Another request changed the exception between this request's read and its write."""

    code = "EXCEPTION_CHANGED"

    def __init__(self, exception_id: int, status: str) -> None:
        super().__init__(
            f"Order item exception {exception_id} was changed by another request meanwhile "
            f"(it is {status} now); reload it and try again",
            details={"exception_id": exception_id, "status": status},
        )


class ExceptionUnitsConfirmedError(ConflictError):
    """Reopen refused: the marketplace was told the line's product ships."""

    code = "EXCEPTION_UNITS_CONFIRMED"

    def __init__(
        self, *, exception_id: int, order_id: int, item_id: int, unit_ids: list[str]
    ) -> None:
        super().__init__(
            f"Order item exception {exception_id} cannot be reopened: {len(unit_ids)} unit(s) "
            f"of its line {item_id} (order {order_id}) are already confirmed at the "
            f"marketplace ({', '.join(unit_ids[:20])}); nothing was changed",
            details={
                "exception_id": exception_id,
                "order_id": order_id,
                "item_id": item_id,
                "unit_ids": unit_ids,
            },
        )


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


class KpiRangeInvalidError(AppError):
    """The KPIs' window is empty or reversed (`from` must be before `to`)."""

    status_code = 400
    code = "KPI_RANGE_INVALID"

    def __init__(self, *, start: str, end: str) -> None:
        super().__init__(
            f"from ({start}) must be before to ({end})",
            details={"field": "from", "from": start, "to": end},
        )
