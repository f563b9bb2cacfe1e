"""create_app(): settings, database, routers and the one error handler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from anyio import to_thread
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from sqlalchemy import text

from ordergate import __version__
from ordergate.auth.endpoints import router as auth_router
from ordergate.auth.throttle import LoginThrottle
from ordergate.catalog import endpoints as catalog_endpoints
from ordergate.config import Settings, get_settings
from ordergate.db import PoolLimits, make_engine, make_session_factory
from ordergate.deps import TREES
from ordergate.errors import install_error_handlers
from ordergate.heap import startup_objects_frozen
from ordergate.http_contract import install_http_contract
from ordergate.item_exceptions import endpoints as exception_endpoints
from ordergate.letzshop import endpoints as letzshop_endpoints
from ordergate.letzshop.queueing import SyncQueue
from ordergate.orders import endpoints as order_endpoints
from ordergate.security import SecretBox
from ordergate.vendors import endpoints as vendor_endpoints
from ordergate.vendors.endpoints import router as vendors_router
from ordergate.web import install_web
from ordergate.webhooks import endpoints as webhook_endpoints
from ordergate.webhooks.background import delivery_thread_for

DOMAIN_ENDPOINTS = (
    exception_endpoints,
    order_endpoints,
    letzshop_endpoints,
    catalog_endpoints,
    vendor_endpoints,
    webhook_endpoints,
)


def pool_limits(settings: Settings) -> PoolLimits:
    return PoolLimits(
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout,
        lock_timeout=settings.db_lock_timeout,
        statement_timeout=settings.db_statement_timeout,
    )


def sync_queue_for(settings: Settings) -> SyncQueue | None:
    if not settings.jobs_queued:
        return None
    from ordergate.jobs.queue import ProcrastinateSyncQueue, build_app

    return ProcrastinateSyncQueue(build_app(settings))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Per event loop: as many worker threads as requests admitted at once, and never more than
    # the pool's connections, so no thread waits for a connection another request holds.
    threads = app.state.settings.request_threads
    to_thread.current_default_thread_limiter().total_tokens = threads
    app.state.request_slots = anyio.Semaphore(threads)
    # Jobs inline (SQLite): this process sends the webhooks itself (docs/webhooks.md).
    deliveries = delivery_thread_for(
        app.state.session_factory, settings=app.state.settings, box=app.state.secret_box
    )
    if deliveries is not None:
        deliveries.start()
    try:
        with startup_objects_frozen():
            yield
    finally:
        if deliveries is not None:
            deliveries.stop()
        if app.state.sync_queue is not None:
            app.state.sync_queue.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    # Swagger UI and ReDoc from the package's own files: /docs works without internet.
    app = FastAPIOffline(
        title="ordergate",
        version=__version__,
        description="Order intake and product-match QC for Letzshop sellers.",
        lifespan=_lifespan,
    )
    limits = pool_limits(settings)
    engine = make_engine(settings.database_url, limits=limits)
    # SQLite: reads get their own engine whose transactions start with a plain (deferred) BEGIN,
    # so they never queue behind a writer; PostgreSQL needs no second pool.
    read_engine = (
        make_engine(settings.database_url, sqlite_immediate=False, limits=limits)
        if engine.dialect.name == "sqlite"
        else engine
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_engine = read_engine
    app.state.session_factory = make_session_factory(engine)
    app.state.read_session_factory = make_session_factory(read_engine)
    app.state.secret_key = settings.resolved_secret_key()
    app.state.secret_box = SecretBox(app.state.secret_key)
    app.state.login_throttle = LoginThrottle.from_settings(settings)
    # Syncs go to procrastinate's queue on PostgreSQL (docs/jobs.md); None: they run inline.
    app.state.sync_queue = sync_queue_for(settings)
    install_error_handlers(app)
    app.include_router(auth_router)
    app.include_router(vendors_router)
    for module in DOMAIN_ENDPOINTS:  # each operation declared once, mounted in both trees
        for tree in TREES:
            app.include_router(module.mount(tree))

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        """Reports whether the database answers."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    install_web(app)
    install_http_contract(
        app,
        json_limit=settings.request_body_limit_bytes,
        upload_limit=settings.upload_body_limit_bytes,
    )
    return app
