"""The KPI page (docs/dashboard.md, "KPIs"): `item_exceptions.kpis.exception_kpis`, the
function behind `GET …/order-exceptions/kpis`, over a window from the URL (`from`/`to` as the
API takes them, or a preset `days`), drawn as plain HTML bars; admins also see each vendor."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from ordergate.db import utcnow
from ordergate.deps import SessionDep
from ordergate.errors import AppError, ValidationFailedError
from ordergate.item_exceptions import kpis
from ordergate.orders.models import ExceptionType
from ordergate.routing import CommittingRoute
from ordergate.web.deps import WebDep
from ordergate.web.templating import render

router = APIRouter(route_class=CommittingRoute, include_in_schema=False)
PRESETS = (7, 30, 90)
_MOMENT = TypeAdapter(datetime)
Moment = Annotated[str | None, Query(max_length=40)]

TYPE_LABELS = {
    ExceptionType.PRODUCT_NOT_FOUND: "Product not found",
    ExceptionType.GTIN_MISMATCH: "Invalid GTIN (check digit)",
    ExceptionType.DUPLICATE_GTIN: "Duplicate GTIN",
}


def _moment(field: str, value: str | None) -> datetime | None:
    """A `from`/`to` as the API parses it (ISO 8601 date or datetime; UTC without offset)."""
    if not value:
        return None
    try:
        return _MOMENT.validate_python(value)
    except ValidationError:
        raise ValidationFailedError(
            f"{field} must be an ISO 8601 date or datetime (e.g. 2026-11-01); got '{value}'",
            details={"field": field},
        ) from None


@router.get("/kpis")
def kpi_page(
    request: Request,
    session: SessionDep,
    web: WebDep,
    start: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    end: Annotated[str | None, Query(alias="to", max_length=40)] = None,
    days: Annotated[int | None, Query(ge=1, le=3660)] = None,
) -> Response:
    context: dict[str, Any] = {
        "web": web,
        "section": "kpis",
        "presets": PRESETS,
        "type_labels": TYPE_LABELS,
        "start_text": start or "",
        "end_text": end or "",
        "days": days if not (start or end) else None,
    }
    try:
        start_at, end_at = _moment("from", start), _moment("to", end)
        now = utcnow()
        if start_at is None and end_at is None:
            # A preset (or the API's default, 30 days) ends now.
            start_at = now - timedelta(days=days or kpis.DEFAULT_WINDOW.days)
            context["days"] = days or kpis.DEFAULT_WINDOW.days
        report = kpis.exception_kpis(session, scope=web.scope, start=start_at, end=end_at, now=now)
    except AppError as error:
        return render(
            request, "kpis.html", {**context, "error": error}, status_code=error.status_code
        )
    attributes = kpis.report_attributes(report)
    names = {v.code: v.name for v in web.vendors}
    context.update(
        report=report,
        totals=attributes["totals"],
        vendors=attributes["vendors"],
        vendor_names=names,
        api_query=urlencode(
            {"from": report.start.isoformat(), "to": report.end.isoformat()}
            | ({"vendor_id": str(web.vendor.id)} if web.is_admin and web.vendor else {})
        ),
    )
    return render(request, "kpis.html", context)
