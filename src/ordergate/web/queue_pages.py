"""The QC queue: count cards and the exception list (docs/dashboard.md)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ordergate.deps import SessionDep
from ordergate.item_exceptions import service
from ordergate.routing import CommittingRoute
from ordergate.web.deps import WebDep
from ordergate.web.templating import render

router = APIRouter(route_class=CommittingRoute, include_in_schema=False)


@router.get("/queue")
def queue_page(request: Request, session: SessionDep, web: WebDep) -> Response:
    counts = service.exception_stats(session, scope=web.scope)
    return render(request, "queue.html", {"web": web, "section": "queue", "counts": counts})
