"""The QC dashboard: server-rendered pages over the same services as the API (docs/dashboard.md).

`install_web(app)` mounts the static files, the pages and the HTML error page. Each page module
declares a `router`; every state-changing form is checked for the session's form token.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ordergate.web import (
    assets,
    auth_pages,
    catalog_pages,
    exception_pages,
    kpi_pages,
    order_pages,
    queue_pages,
    sync_pages,
)
from ordergate.web.templating import error_page

PAGE_MODULES = (
    auth_pages,
    queue_pages,
    catalog_pages,
    kpi_pages,
    order_pages,
    sync_pages,
    exception_pages,
)


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=assets.STATIC_DIR), name="static")
    app.state.error_page = error_page
    for module in PAGE_MODULES:
        app.include_router(module.router)
