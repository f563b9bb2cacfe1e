"""The one error base class and the one handler that renders every error.

Domain errors carry their HTTP status and a stable machine code; the API body is always
``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class AppError(Exception):
    status_code: int = 400
    code: str = "BAD_REQUEST"
    headers: dict[str, str] | None = None  # e.g. Retry-After

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


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
    async def _app_error(_: Request, exc: AppError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else exc.headers
        return _json(exc.status_code, exc.code, exc.message, exc.details, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        fields = ", ".join(d["field"] for d in details) or "request"
        return _json(422, "VALIDATION_ERROR", f"Invalid request: check {fields}", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "HTTP_ERROR")
        return _json(exc.status_code, code, str(exc.detail), headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity(_: Request, exc: IntegrityError) -> JSONResponse:
        # Raw database text never reaches the client: it can leak schema and data.
        logger.warning("integrity error: %s", exc.orig)
        return _json(409, "CONFLICT", "The change conflicts with existing data")

    @app.exception_handler(DataError)
    async def _data(_: Request, exc: DataError) -> JSONResponse:
        # e.g. an id beyond the database's integer range in a path, query or body
        logger.info("value refused by the database: %s", exc.orig)
        return _json(422, "VALUE_OUT_OF_RANGE", _OUT_OF_RANGE)

    @app.exception_handler(OverflowError)
    async def _overflow(_: Request, exc: OverflowError) -> JSONResponse:
        # SQLite's driver refuses integers beyond 64 bits before the database sees them.
        return _json(422, "VALUE_OUT_OF_RANGE", _OUT_OF_RANGE)

    @app.exception_handler(OperationalError)
    async def _operational(_: Request, exc: OperationalError) -> JSONResponse:
        logger.error("database unavailable: %s", exc.orig)
        return _json(503, "DATABASE_UNAVAILABLE", "The database is busy or unavailable; retry")

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error", exc_info=exc)
        return _json(500, "INTERNAL_ERROR", "An unexpected error occurred")
