"""One database session per request, committed once before the response is sent."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool


def request_session(request: Request) -> Session:
    """The request's session, opened on first use."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None:
        session = request.app.state.session_factory()
        request.state.db_session = session
    return session


class CommittingRoute(APIRoute):
    """Commits the request's session after the endpoint returns and before the response
    leaves, so a failed commit becomes an error response instead of a lost write."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                response = await handler(request)
                session: Session | None = getattr(request.state, "db_session", None)
                if session is not None and response.status_code < 400:
                    await run_in_threadpool(session.commit)
                return response
            finally:
                session = getattr(request.state, "db_session", None)
                if session is not None:
                    request.state.db_session = None
                    await run_in_threadpool(session.close)

        return handle


def end_request_transaction(request: Request) -> None:
    """Commit and close the request's session before handing work to a job runner that owns its
    own transactions (on SQLite an open request transaction would hold the write lock)."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is not None:
        request.state.db_session = None
        session.commit()
        session.close()
