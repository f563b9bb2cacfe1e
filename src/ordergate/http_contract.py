"""HTTP-level limits and routing rules that every route shares: the request body limit (413),
integer path segments that only match digits, and 405 answers listing every allowed method."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Match, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ordergate.errors import error_body


class BodyLimitMiddleware:
    """Refuses request bodies beyond a limit with 413 ``PAYLOAD_TOO_LARGE``: at once when
    ``Content-Length`` says so, else while the body streams in (chunked bodies have no length)."""

    def __init__(self, app: ASGIApp, *, json_limit: int, upload_limit: int) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        limit = self.upload_limit if content_type.startswith("multipart/") else self.json_limit
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await too_large_response(limit)(scope, receive, send)
            return
        await self.app(scope, _counting(receive, limit), send)


def _counting(receive: Receive, limit: int) -> Receive:
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                # Raised inside the body read: FastAPI passes HTTPExceptions through to the
                # one handler, so the client gets the envelope, and nothing was parsed or written.
                raise PayloadTooLargeError(limit)
        return message

    return counted


class PayloadTooLargeError(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body is larger than the limit of {limit:,} bytes")
        self.limit = limit


def too_large_response(limit: int) -> JSONResponse:
    error = PayloadTooLargeError(limit)
    return JSONResponse(
        error_body("PAYLOAD_TOO_LARGE", error.detail, {"limit_bytes": limit}),
        status_code=413,
        # The rest of the body is never read.
        headers={"Connection": "close"},
    )


def digits_only_ids(app: FastAPI) -> None:
    """Integer path parameters match digits only, so ``/order-exceptions/bulk-resolve`` is the
    bulk route (405 for a wrong method), never exception ``bulk-resolve`` (422). The OpenAPI
    paths are unchanged."""
    for route in _api_routes(app.routes):
        path = route.path
        for param in route.dependant.path_params:
            if param.field_info.annotation is int:
                path = path.replace(f"{{{param.name}}}", f"{{{param.name}:int}}")
        if path != route.path:
            route.path = path
            route.path_regex, route.path_format, route.param_convertors = compile_path(path)


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        # FastAPI 0.16x keeps each included router as one route that builds its routes'
        # matchers from the original routes' paths on first use.
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _api_routes(included.routes)


PROBED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves on this path (FastAPI registers one route per method, so
    Starlette's own 405 names only the first route's)."""
    allowed = []
    for method in PROBED_METHODS:
        probe: Scope = {"type": "http", "method": method, "path": path, "root_path": ""}
        if any(route.matches(probe)[0] is Match.FULL for route in app.router.routes):
            allowed.append(method)
    return sorted(allowed)


def install_http_contract(app: FastAPI, *, json_limit: int, upload_limit: int) -> None:
    """After the routers are included: the body limit, digit-only ids and the 405/413 answers."""
    app.add_middleware(BodyLimitMiddleware, json_limit=json_limit, upload_limit=upload_limit)
    digits_only_ids(app)

    @app.exception_handler(413)
    async def _too_large(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, PayloadTooLargeError)
        return too_large_response(exc.limit)

    @app.exception_handler(405)
    async def _method_not_allowed(request: Request, _: Exception) -> JSONResponse:
        allowed = allowed_methods(app, request.url.path)
        message = f"{request.method} is not allowed here; allowed: {', '.join(allowed)}"
        return JSONResponse(
            error_body("METHOD_NOT_ALLOWED", message, {"allowed": allowed}),
            status_code=405,
            headers={"Allow": ", ".join(allowed)},
        )
