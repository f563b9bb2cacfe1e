"""The QC dashboard: server-rendered pages over the same services as the API (docs/dashboard.md).

`install_web(app)` mounts the static files, the pages and the HTML error page. Each page module
declares a `router`; every state-changing form is checked for the session's form token.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from ordergate.web import assets, auth_pages, queue_pages

# -- merge point: page imports --
from ordergate.web import exception_pages  # isort: skip (merge point)
from ordergate.web.templating import error_page

PAGE_MODULES = (
    auth_pages,
    queue_pages,
    # -- merge point: page modules --
    exception_pages,
)


def install_web(app: FastAPI) -> None:
    app.mount("/static", StaticFiles(directory=assets.STATIC_DIR), name="static")
    app.state.error_page = error_page
    for module in PAGE_MODULES:
        app.include_router(module.router)
