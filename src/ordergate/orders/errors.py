"""Errors of the orders domain: the confirmation gate's refusal."""

from __future__ import annotations

from ordergate.errors import AppError


class OrderHasUnresolvedExceptionsError(AppError):
    """Raised by the confirmation gate while pending or ignored exceptions block an order.

    Raise as ``OrderHasUnresolvedExceptionsError(message, details={"count": n,
    "exception_ids": [...]})``.
    """

    status_code = 400
    code = "ORDER_HAS_UNRESOLVED_EXCEPTIONS"
