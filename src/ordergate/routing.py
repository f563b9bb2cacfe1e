"""One database session per request, committed once before the response is sent.

A request's database work never waits for a worker thread while it holds locks: the commit (or
the rollback) runs in the same worker-thread call as the endpoint, and a request is admitted
only when a worker thread and a pooled connection are sure to be free for it (``request_slots``,
as many as the worker threads, which are never more than the pool's connections). A request
that cannot be admitted in ``db_pool_timeout`` seconds answers 503 ``DATABASE_BUSY``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

import anyio
from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from ordergate.errors import busy_error

# GET and HEAD only read: on SQLite they get a deferred transaction, so they never take (or
# wait for) the write lock.
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})

_request: ContextVar[Request | None] = ContextVar("ordergate_request", default=None)
_COMMITS = "_ordergate_commits"


def request_session(request: Request) -> Session:
    """The request's session, opened on first use."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None:
        state = request.app.state
        read_only = request.method in READ_ONLY_METHODS
        factory = state.read_session_factory if read_only else state.session_factory
        session = factory()
        request.state.db_session = session
    return session


def _finish_transaction(succeeded: bool) -> None:
    """Commit (or roll back) the current request's session, in the caller's thread."""
    request = _request.get()
    session: Session | None = getattr(request.state, "db_session", None) if request else None
    if session is None:
        return
    if not succeeded:
        session.rollback()
        return
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise


def _succeeded(result: Any) -> bool:
    return not (isinstance(result, Response) and result.status_code >= 400)


def _committing(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    """The endpoint, ending the request's transaction in the same worker-thread call."""
    if getattr(endpoint, _COMMITS, False):
        return endpoint
    wrapped: Callable[..., Any]
    if inspect.iscoroutinefunction(endpoint):

        @functools.wraps(endpoint)
        async def run_async(*args: Any, **kwargs: Any) -> Any:
            try:
                result = await endpoint(*args, **kwargs)
            except BaseException:
                await run_in_threadpool(_finish_transaction, False)
                raise
            await run_in_threadpool(_finish_transaction, _succeeded(result))
            return result

        wrapped = run_async
    else:

        @functools.wraps(endpoint)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                result = endpoint(*args, **kwargs)
            except BaseException:
                _finish_transaction(False)
                raise
            _finish_transaction(_succeeded(result))
            return result

        wrapped = run
    setattr(wrapped, _COMMITS, True)
    return wrapped


@asynccontextmanager
async def _request_slot(request: Request) -> AsyncIterator[None]:
    slots: anyio.Semaphore | None = getattr(request.app.state, "request_slots", None)
    if slots is None:  # no lifespan ran (a bare app): nothing to queue on
        yield
        return
    try:
        with anyio.fail_after(request.app.state.settings.db_pool_timeout):
            await slots.acquire()
    except TimeoutError:
        raise busy_error(request) from None
    try:
        yield
    finally:
        slots.release()


async def _close_session(request: Request) -> None:
    session: Session | None = getattr(request.state, "db_session", None)
    if session is None:
        return
    request.state.db_session = None
    if session.in_transaction():  # e.g. a dependency failed after reading: roll back
        await run_in_threadpool(session.close)
    else:
        session.close()  # nothing to send to the database


class CommittingRoute(APIRoute):
    """Commits the request's session when the endpoint returns and before the response leaves,
    so a failed commit becomes an error response instead of a lost write; any error rolls the
    whole request back."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, _committing(endpoint), **kwargs)

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            token = _request.set(request)
            try:
                async with _request_slot(request):
                    try:
                        return await handler(request)
                    finally:
                        await _close_session(request)
            finally:
                _request.reset(token)

        return handle


def end_request_transaction(request: Request) -> None:
    """Commit and close the request's session before handing work to a job runner that owns its
    own transactions (on SQLite an open request transaction would hold the write lock)."""
    session: Session | None = getattr(request.state, "db_session", None)
    if session is not None:
        request.state.db_session = None
        session.commit()
        session.close()


# --- responses streamed in batches -------------------------------------------------------------

Cursor = TypeVar("Cursor")
_log = logging.getLogger(__name__)


async def stream_batches(
    request: Request,
    first: bytes,
    after: Cursor | None,
    batch: Callable[[Session, Cursor], tuple[bytes, Cursor | None]],
) -> AsyncIterator[bytes]:
    """A response body read batch by batch: `first` (computed by the endpoint, inside the
    request), then `batch(session, after)` until it returns no next cursor.

    The body is sent after the request's session is closed and its slot released (the route
    ends them when the endpoint returns), so each batch takes a request slot, a worker thread
    and a fresh read session of its own, for one short read: a slow client holds no
    transaction, connection or thread between batches, and a batch waits for its slot like any
    request. An error after the first bytes cannot become an error response any more: it is
    logged and ends the body short, so the client sees an incomplete transfer, never a
    complete-looking file."""
    yield first
    factory = request.app.state.read_session_factory
    while after is not None:
        async with _request_slot(request):
            data, after = await run_in_threadpool(_read_batch, factory, batch, after)
        yield data


def _read_batch(
    factory: Callable[[], Session],
    batch: Callable[[Session, Cursor], tuple[bytes, Cursor | None]],
    after: Cursor,
) -> tuple[bytes, Cursor | None]:
    try:
        with factory() as session:
            return batch(session, after)
    except Exception:
        _log.exception("a streamed response failed after its first batch")
        raise
