"""Orders: the list (status, blocking-exception and deadline badges, filters in the URL) and an
order's page (lines, units and their Letzshop states, why confirmation is blocked, inline
resolve/ignore of the failing lines, confirm/decline/reject, history). See docs/dashboard.md.

Reads call the orders service the API's `GET …/orders` calls; confirm and decline run the same
fulfilment job as `POST …/letzshop/orders/{id}/confirm` (a `JobContext`, handed off first);
resolve and ignore call the QC service of `POST …/order-exceptions/{id}/resolve|ignore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from ordergate.db import PageRequest
from ordergate.deps import USER_EMAILS, JobDep, SessionDep
from ordergate.errors import AppError
from ordergate.item_exceptions import service as qc
from ordergate.item_exceptions.errors import OrderItemExceptionNotFoundError
from ordergate.item_exceptions.suggestions import suggest_products
from ordergate.letzshop.errors import LetzshopRefusedUnitsError
from ordergate.letzshop.fulfilment import QueuedFulfilment, run_fulfilment
from ordergate.orders import service
from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.errors import OrderItemNotFoundError
from ordergate.orders.fulfilment import UnitDecision, Verdict
from ordergate.orders.fulfilment_requests import latest_request
from ordergate.orders.models import ExceptionStatus, Order, OrderStatus, UnitState
from ordergate.routing import CommittingRoute
from ordergate.schemas import NOTES_MAX_LENGTH, IdParam, trim
from ordergate.scope import Scope, VendorScope
from ordergate.vendors.errors import VendorNotFoundError
from ordergate.web.deps import FormDep, WebContext, WebDep
from ordergate.web.templating import redirect, render

router = APIRouter(route_class=CommittingRoute, include_in_schema=False)
PER_PAGE = 50
# The list counts its orders up to here, then says "more than" (db.PageRequest.count_up_to).
COUNTED_UP_TO = 10_000
TIMELINE_LIMIT = 200


class OrderFilterError(AppError):
    """A filter of the orders page that is not one of its values (the API answers 422 too)."""

    status_code = 422
    code = "VALIDATION_ERROR"

    def __init__(self, field: str, value: str, allowed: list[str]) -> None:
        super().__init__(
            f"{field}: '{value}' is not one of {', '.join(allowed)}",
            details=[{"field": field, "message": "not an allowed value", "type": "enum"}],
        )


class ReasonRequiredError(AppError):
    """Ignore without a reason: the API's IgnoreRequest refuses it as well (422)."""

    status_code = 422
    code = "VALIDATION_ERROR"

    def __init__(self, exception_id: int) -> None:
        super().__init__(
            f"notes: a reason is required to ignore exception {exception_id} "
            f"(not only whitespace, at most {NOTES_MAX_LENGTH} characters)",
            details=[{"field": "notes", "message": "required", "type": "string_too_short"}],
        )


def _choice(field: str, value: str | None, allowed: type[Any]) -> Any:
    if not value:
        return None
    try:
        return allowed(value)
    except ValueError:
        raise OrderFilterError(field, value, [str(v) for v in allowed]) from None


def _flag(field: str, value: str | None) -> bool | None:
    if not value:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise OrderFilterError(field, value, ["true", "false"])


def _list_scope(web: WebContext, vendor_id: int | None) -> Scope:
    """The API's `tree.filtered`: an admin on "all vendors" may narrow to one vendor."""
    if vendor_id is None or web.vendor is not None:
        return web.scope
    if vendor_id not in {v.id for v in web.vendors}:
        raise VendorNotFoundError.for_id(vendor_id)
    return Scope(actor_user_id=web.user.id, vendor_id=vendor_id, is_admin=True)


@router.get("/orders")
def orders_page(
    request: Request,
    session: SessionDep,
    web: WebDep,
    status: Annotated[str | None, Query(max_length=30)] = None,
    has_exceptions: Annotated[str | None, Query(max_length=10)] = None,
    deadline_state: Annotated[str | None, Query(max_length=20)] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    sort: Annotated[str | None, Query(max_length=20)] = None,
    vendor_id: Annotated[IdParam | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    filters = {
        "status": _choice("status", status, OrderStatus),
        "has_exceptions": _flag("has_exceptions", has_exceptions),
        "deadline_state": _choice("deadline_state", deadline_state, DeadlineState),
        "search": trim(search or "").replace("\x00", "") or None,
        "sort": _choice("sort", sort, service.OrderSort) or service.OrderSort.NEWEST,
    }
    scope = _list_scope(web, vendor_id)
    orders, total = service.list_orders(
        session,
        scope=scope,
        page=PageRequest(skip=(page - 1) * PER_PAGE, limit=PER_PAGE, count_up_to=COUNTED_UP_TO),
        **filters,
    )
    query = {
        "status": status or "",
        "has_exceptions": has_exceptions or "",
        "deadline_state": deadline_state or "",
        "search": filters["search"] or "",
        "sort": sort or "",
        "vendor_id": vendor_id if vendor_id and web.vendor is None else "",
    }
    kept = {k: v for k, v in query.items() if v}
    more = total > COUNTED_UP_TO
    pages = max(1, -(-min(total, COUNTED_UP_TO) // PER_PAGE))
    context = {
        "web": web,
        "section": "orders",
        "orders": orders,
        "total": total,
        "more": more,
        "counted_up_to": f"{COUNTED_UP_TO:,}",
        "page": page,
        "pages": pages,
        "per_page": PER_PAGE,
        "query": query,
        "filtered": bool(kept),
        "page_url": lambda n: "/orders?" + urlencode({**kept, "page": n}),
        "vendor_names": {v.id: v.name for v in web.vendors},
        "statuses": list(OrderStatus),
        "deadline_states": list(DeadlineState),
    }
    return render(request, "orders.html", context, block="results")


@dataclass(frozen=True, slots=True)
class LineView:
    """An order line as its page shows it: product, units by state, and what blocks it."""

    item: Any
    product: service.LineProduct | None
    unit_states: dict[str, int]
    unconfirmed: int
    blocking: bool
    suggestion: Any | None


def _line_views(session: Any, web: WebContext, order: Order, blocking: set[int]) -> list[LineView]:
    products = service.line_products(session, order=order)
    views = []
    for item in order.items:
        states: dict[str, int] = {}
        for unit in item.units:
            states[unit.state] = states.get(unit.state, 0) + 1
        exception = item.exception
        is_blocking = exception is not None and exception.id in blocking
        suggestion = None
        if exception is not None and is_blocking:
            found = suggest_products(session, scope=web.scope, exception_id=exception.id, limit=1)
            suggestion = found.suggestions[0] if found.suggestions else None
        views.append(
            LineView(
                item=item,
                product=products.get(item.id),
                unit_states=states,
                unconfirmed=states.get(UnitState.UNCONFIRMED, 0),
                blocking=is_blocking,
                suggestion=suggestion,
            )
        )
    return views


def _order_page(
    request: Request,
    session: Any,
    web: WebContext,
    order_id: int,
    *,
    error: AppError | None = None,
    error_exception_id: int | None = None,
    notes: str = "",
) -> Response:
    order = service.get_order(session, scope=web.scope, order_id=order_id)
    blocker = service.confirmation_blocker(session, order_id=order.id)
    blocking = set(blocker.details["exception_ids"]) if blocker else set()
    lines = _line_views(session, web, order, blocking)
    events, events_total = service.order_events(
        session,
        scope=web.scope,
        order_id=order.id,
        page=PageRequest(skip=0, limit=TIMELINE_LIMIT),
        emails=USER_EMAILS,
    )
    unconfirmed = sum(line.unconfirmed for line in lines)
    context = {
        "web": web,
        "section": "orders",
        "order": order,
        "lines": lines,
        "blocker": blocker if unconfirmed else None,
        "unconfirmed": unconfirmed,
        "events": events,
        "events_total": events_total,
        "vendor_names": {v.id: v.name for v in web.vendors},
        "error": error,
        "error_exception_id": error_exception_id,
        "notes": notes,
        "statuses": ExceptionStatus,
        "queued": latest_request(session, order_id=order.id),
    }
    status_code = error.status_code if error else 200
    return render(request, "order.html", context, status_code=status_code)


@router.get("/orders/{order_id}")
def order_page(request: Request, order_id: IdParam, session: SessionDep, web: WebDep) -> Response:
    return _order_page(request, session, web, order_id)


def _order_url(order_id: int) -> str:
    return f"/orders/{order_id}"


def _acting_scope(session: Any, web: WebContext, order_id: int) -> VendorScope:
    """The vendor scope the fulfilment job needs: the order's vendor, as the API's trees build
    it; another vendor's (or a missing) order is 404 here, before anything is sent."""
    order = service.get_order(session, scope=web.scope, order_id=order_id)
    return VendorScope(
        actor_user_id=web.user.id,
        vendor_id=order.vendor_id,
        is_admin=web.is_admin,
        role=web.role,
    )


def _fulfil(
    request: Request,
    session: Any,
    job: Any,
    web: WebContext,
    order_id: int,
    decision: UnitDecision,
) -> Response:
    scope = _acting_scope(session, web, order_id)
    if decision.item_id is not None:
        order = service.get_order(session, scope=scope, order_id=order_id)
        if decision.item_id not in {item.id for item in order.items}:
            raise OrderItemNotFoundError(order_id=order_id, item_id=decision.item_id)
    job.hand_off()
    try:
        result = run_fulfilment(
            job.session_factory,
            settings=job.settings,
            box=job.box,
            scope=scope,
            order_id=order_id,
            decision=decision,
            queue=job.fulfilment_queue,
        )
    except LetzshopRefusedUnitsError as refused:
        reasons = "; ".join(
            f"unit {r['unit_id']}: {r['message']}" for r in refused.details["refused"]
        )
        return redirect(
            request, _order_url(order_id), flash=f"{refused.message} ({reasons})", level="error"
        )
    except AppError as failed:
        # The request's transaction has ended (hand_off); the job changed nothing it did not
        # record, so the order page shows the outcome with the API's own message.
        return redirect(request, _order_url(order_id), flash=failed.message, level="error")
    if isinstance(result, QueuedFulfilment):
        return redirect(
            request,
            _order_url(order_id),
            flash=f"Letzshop could not be reached: the {decision.verdict} is queued as request "
            f"{result.request.id} and retried in the background",
            level="info",
        )
    verb = "confirmed" if decision.available else "declined"
    count = len(result.accepted)
    return redirect(
        request,
        _order_url(order_id),
        flash=f"Letzshop {verb} {count} unit(s); the order is now {result.status}",
    )


@router.post("/orders/{order_id}/confirm")
def confirm_order(
    request: Request, order_id: IdParam, session: SessionDep, job: JobDep, web: FormDep
) -> Response:
    return _fulfil(request, session, job, web, order_id, UnitDecision(Verdict.CONFIRM))


@router.post("/orders/{order_id}/reject")
def reject_order(
    request: Request, order_id: IdParam, session: SessionDep, job: JobDep, web: FormDep
) -> Response:
    return _fulfil(request, session, job, web, order_id, UnitDecision(Verdict.DECLINE))


@router.post("/orders/{order_id}/items/{item_id}/confirm")
def confirm_item(
    request: Request,
    order_id: IdParam,
    item_id: IdParam,
    session: SessionDep,
    job: JobDep,
    web: FormDep,
) -> Response:
    decision = UnitDecision(Verdict.CONFIRM, item_id=item_id)
    return _fulfil(request, session, job, web, order_id, decision)


@router.post("/orders/{order_id}/items/{item_id}/decline")
def decline_item(
    request: Request,
    order_id: IdParam,
    item_id: IdParam,
    session: SessionDep,
    job: JobDep,
    web: FormDep,
) -> Response:
    decision = UnitDecision(Verdict.DECLINE, item_id=item_id)
    return _fulfil(request, session, job, web, order_id, decision)


def _exception_of_order(session: Any, web: WebContext, order_id: int, exception_id: int) -> None:
    """404 unless the exception is on a line of this order (and the order is in scope)."""
    order = service.get_order(session, scope=web.scope, order_id=order_id)
    if not any(item.exception and item.exception.id == exception_id for item in order.items):
        raise OrderItemExceptionNotFoundError(exception_id)


@router.post("/orders/{order_id}/exceptions/{exception_id}/ignore")
def ignore_exception(
    request: Request,
    order_id: IdParam,
    exception_id: IdParam,
    session: SessionDep,
    web: FormDep,
    notes: Annotated[str, Form(max_length=NOTES_MAX_LENGTH + 100)] = "",
) -> Response:
    _exception_of_order(session, web, order_id, exception_id)
    reason = trim(notes)
    try:
        if not reason or "\x00" in reason or len(reason) > NOTES_MAX_LENGTH:
            raise ReasonRequiredError(exception_id)
        qc.ignore_exception(session, scope=web.scope, exception_id=exception_id, notes=reason)
    except AppError as error:
        return _order_page(
            request,
            session,
            web,
            order_id,
            error=error,
            error_exception_id=exception_id,
            notes=notes,
        )
    return redirect(
        request,
        _order_url(order_id),
        flash=f"Exception {exception_id} ignored; it still blocks confirmation until it is "
        "resolved or its line declined",
    )


@router.post("/orders/{order_id}/exceptions/{exception_id}/resolve")
def resolve_exception(
    request: Request,
    order_id: IdParam,
    exception_id: IdParam,
    session: SessionDep,
    web: FormDep,
    product_id: Annotated[IdParam, Form()],
) -> Response:
    _exception_of_order(session, web, order_id, exception_id)
    try:
        qc.resolve_exception(
            session, scope=web.scope, exception_id=exception_id, product_id=product_id
        )
    except AppError as error:
        return _order_page(
            request, session, web, order_id, error=error, error_exception_id=exception_id
        )
    return redirect(request, _order_url(order_id), flash=f"Exception {exception_id} resolved")
