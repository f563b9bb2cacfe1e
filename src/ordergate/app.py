"""create_app(): settings, database, routers and the one error handler."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from sqlalchemy import text

from ordergate import __version__
from ordergate.auth.endpoints import router as auth_router
from ordergate.catalog import endpoints as catalog_endpoints
from ordergate.config import Settings, get_settings
from ordergate.db import make_engine, make_session_factory
from ordergate.errors import install_error_handlers
from ordergate.http_contract import install_http_contract
from ordergate.item_exceptions import endpoints as exception_endpoints
from ordergate.letzshop import endpoints as letzshop_endpoints
from ordergate.orders import endpoints as order_endpoints
from ordergate.security import SecretBox
from ordergate.vendors.endpoints import router as vendors_router

DOMAIN_ENDPOINTS = (exception_endpoints, order_endpoints, letzshop_endpoints, catalog_endpoints)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    app = FastAPI(
        title="ordergate",
        version=__version__,
        description="Order intake and product-match QC for Letzshop sellers.",
    )
    engine = make_engine(settings.database_url)
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = make_session_factory(engine)
    app.state.secret_key = settings.resolved_secret_key()
    app.state.secret_box = SecretBox(app.state.secret_key)
    install_error_handlers(app)
    app.include_router(auth_router)
    app.include_router(vendors_router)
    for module in DOMAIN_ENDPOINTS:
        app.include_router(module.admin_router)
        app.include_router(module.vendor_router)

    @app.get("/health", tags=["health"])
    def health() -> JSONResponse:
        """Reports whether the database answers."""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:
            return JSONResponse({"status": "error", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    install_http_contract(
        app,
        json_limit=settings.request_body_limit_bytes,
        upload_limit=settings.upload_body_limit_bytes,
    )
    return app
