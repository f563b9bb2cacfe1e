"""The one error base class and the one handler that renders every error.

Domain errors carry their HTTP status and a stable machine code; the API body is always
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from psycopg import errors as pg_errors
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class AppError(Exception):
    status_code: int = 400
    code: str = "BAD_REQUEST"

    def __init__(
        self, message: str, *, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class NotFoundError(AppError):
    status_code = 404
    code = "NOT_FOUND"


class ConflictError(AppError):
    status_code = 409
    code = "CONFLICT"


class AuthenticationError(AppError):
    status_code = 401
    code = "NOT_AUTHENTICATED"


class PermissionDeniedError(AppError):
    status_code = 403
    code = "FORBIDDEN"


class ValidationFailedError(AppError):
    status_code = 422
    code = "VALIDATION_ERROR"


class DatabaseBusyError(AppError):
    """The database is saturated (no connection in time, a lock or statement timeout, a deadlock
    or serialization failure): nothing was written; the same request may simply be retried."""

    status_code = 503
    code = "DATABASE_BUSY"

    def __init__(self, *, retry_after: int) -> None:
        super().__init__(
            "The database is busy; retry shortly",
            details={"retry_after_seconds": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


# PostgreSQL's answers to contention, by SQLSTATE class (lock_timeout raises 55P03, an exceeded
# statement_timeout 57014, deadlock 40P01, serialization failure 40001).
_PG_BUSY = (
    pg_errors.LockNotAvailable,
    pg_errors.QueryCanceled,
    pg_errors.DeadlockDetected,
    pg_errors.SerializationFailure,
)
# SQLite's primary result codes SQLITE_BUSY and SQLITE_LOCKED ("database is locked").
_SQLITE_BUSY = (5, 6)
DEFAULT_RETRY_AFTER = 2


def is_database_busy(exc: OperationalError) -> bool:
    """Whether the database refused the work for contention rather than being unavailable."""
    if isinstance(exc.orig, _PG_BUSY):
        return True
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    return isinstance(sqlite_code, int) and (sqlite_code & 0xFF) in _SQLITE_BUSY


def busy_error(request: Request) -> DatabaseBusyError:
    settings = getattr(request.app.state, "settings", None)
    return DatabaseBusyError(
        retry_after=getattr(settings, "db_busy_retry_after", DEFAULT_RETRY_AFTER)
    )


# SQLite's extended result codes for a UNIQUE or PRIMARY KEY constraint that failed.
_SQLITE_UNIQUE = (2067, 1555)


def is_unique_violation(exc: IntegrityError) -> bool:
    if isinstance(exc.orig, pg_errors.UniqueViolation):
        return True
    return getattr(exc.orig, "sqlite_errorcode", None) in _SQLITE_UNIQUE


@contextmanager
def conflict_as(session: Session, error: AppError) -> Iterator[None]:
    """Run the block's writes in a savepoint and flush them; a unique violation raises `error`
    instead (the savepoint is rolled back, the transaction goes on). The unique constraint
    decides, so two concurrent writes of the same key cannot both pass a check-then-insert."""
    try:
        with session.begin_nested():
            yield
            session.flush()
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise error from exc


_HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "NOT_AUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
}


_OUT_OF_RANGE = "A number in the request is out of range (ids and amounts must fit 32 bits)"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


def _json(status: int, code: str, message: str, details: Any = None, **kw: Any) -> JSONResponse:
    return JSONResponse(error_body(code, message, details), status_code=status, **kw)


# Renders an error as a dashboard page: (request, status, code, message, details, headers).
ErrorPage = Callable[[Request, int, str, str, Any, dict[str, str] | None], Response]
API_PATHS = ("/api/", "/health", "/openapi.json")


def _respond(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """The error envelope as JSON; a dashboard page (`app.state.error_page`) outside the API."""
    error_page: ErrorPage | None = getattr(request.app.state, "error_page", None)
    if error_page is not None and not request.url.path.startswith(API_PATHS):
        return error_page(request, status, code, message, details, headers)
    return _json(status, code, message, details, headers=headers)


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        details.append(
            {"field": ".".join(loc), "message": err.get("msg", ""), "type": err.get("type")}
        )
    return details


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        headers.update(exc.headers or {})
        return _respond(
            request, exc.status_code, exc.code, exc.message, exc.details, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        details = _validation_details(exc)
        fields = ", ".join(d["field"] for d in details) or "request"
        return _respond(
            request, 422, "VALIDATION_ERROR", f"Invalid request: check {fields}", details
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        headers = dict(exc.headers) if exc.headers else None
        return _respond(request, exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> Response:
        # Raw database text never reaches the client: it can leak schema and data.
        logger.warning("integrity error: %s", exc.orig)
        return _respond(request, 409, "CONFLICT", "The change conflicts with existing data")

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> Response:
        # e.g. an id beyond the database's integer range in a path, query or body
        logger.info("value refused by the database: %s", exc.orig)
        return _respond(request, 422, "VALUE_OUT_OF_RANGE", _OUT_OF_RANGE)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        # SQLite's driver refuses integers beyond 64 bits before the database sees them.
        return _respond(request, 422, "VALUE_OUT_OF_RANGE", _OUT_OF_RANGE)

    @app.exception_handler(OperationalError)
    async def _operational(request: Request, exc: OperationalError) -> Response:
        if is_database_busy(exc):
            return await _busy(request, exc)
        logger.error("database unavailable: %s", exc.orig)
        return _respond(
            request, 503, "DATABASE_UNAVAILABLE", "The database is busy or unavailable; retry"
        )

    @app.exception_handler(PoolTimeoutError)
    async def _busy(request: Request, exc: Exception) -> Response:
        # The request's transaction was rolled back before this answer (CommittingRoute).
        logger.warning("database busy: %s", getattr(exc, "orig", None) or exc)
        return await _app_error(request, busy_error(request))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        logger.exception("unhandled error", exc_info=exc)
        return _respond(request, 500, "INTERNAL_ERROR", "An unexpected error occurred")
