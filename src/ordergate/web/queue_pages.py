"""The QC queue (docs/dashboard.md, "Queue"): count cards, the filtered exception list or its
groups by GTIN, CSV exports of the view, bulk resolve/ignore of the checked rows, and the small
fragments the keyboard triage and the product picker load.

Every number and row comes from the service the API calls for the same question: the cards from
`service.exception_stats` (and `count_resolved_since`), the list from `service.list_exceptions`,
the groups from `queue.list_groups`, the exports from `history.start_export` and
`queue.groups_csv`, bulk from `queue.bulk_resolve_selection` / `bulk_ignore_selection`, the
product picker from `detail.search_vendor_products` (the exception detail page's search).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel
from pydantic import ValidationError as SchemaValidationError

from ordergate.db import PageRequest, utcnow
from ordergate.deps import USER_EMAILS, SessionDep
from ordergate.errors import AppError, ValidationFailedError
from ordergate.item_exceptions import detail, export, history, queue, service, suggestions
from ordergate.item_exceptions.repository import GroupSort
from ordergate.item_exceptions.schemas import (
    BulkSelectionIgnoreRequest,
    BulkSelectionResolveRequest,
)
from ordergate.item_exceptions.service import ExceptionSort
from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.models import ExceptionStatus, ExceptionType
from ordergate.routing import CommittingRoute, stream_batches
from ordergate.schemas import IdParam
from ordergate.scope import Scope, VendorScope
from ordergate.vendors.errors import VendorNotFoundError
from ordergate.web.deps import FormDep, VendorChoiceNeededError, WebContext, WebDep
from ordergate.web.templating import render

router = APIRouter(route_class=CommittingRoute, include_in_schema=False)

ALL = "all"  # status=all: every status (the list without a status filter)
PAGE_SIZES = (25, 50, 100, 200)
DEFAULT_LIMIT = 50
MAX_SKIP = 2_147_483_647
SEARCH_MAX_LENGTH = 200  # as the API's `search`
PICKER_LIMIT = detail.PICKER_LIMIT
TRIAGE_SUGGESTIONS = 3

TYPE_LABELS = {
    ExceptionType.PRODUCT_NOT_FOUND: "Not in catalog",
    ExceptionType.GTIN_MISMATCH: "Invalid GTIN",
    ExceptionType.DUPLICATE_GTIN: "Duplicate GTIN",
}
DEADLINE_LABELS = {
    DeadlineState.OVERDUE: "Overdue",
    DeadlineState.AT_RISK: "At risk (< 24 h)",
    DeadlineState.ON_TRACK: "On track",
}
GROUP_SORT_LABELS = {
    GroupSort.ORDERS: "Orders affected",
    GroupSort.VALUE: "Value at risk",
    GroupSort.OLDEST: "Oldest order",
    GroupSort.LINES: "Lines",
    GroupSort.UNITS: "Units",
    GroupSort.CONFIRM_BY: "Soonest deadline",
}
SKIP_REASONS = {
    queue.ALREADY_RESOLVED: "already resolved",
    queue.ALREADY_IGNORED: "already ignored",
}


class Mode(StrEnum):
    LIST = "list"
    GROUPS = "groups"


E = TypeVar("E", bound=StrEnum)


def _choice(value: str, enum: type[E], field: str) -> E | None:
    """A GET form's select: empty means no filter; anything else must be one of the enum's."""
    if value == "":
        return None
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationFailedError(
            f"Invalid request: check {field} (one of {allowed})", details={"field": field}
        ) from None


def _number(value: str, field: str, *, low: int, high: int) -> int:
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValidationFailedError(
            f"Invalid request: check {field} (a whole number from {low} to {high})",
            details={"field": field},
        )
    return int(value)


@dataclass(frozen=True, slots=True)
class QueueView:
    """What the URL asks the queue for; the defaults are the plain `/queue` (pending, newest
    first). `vendor`: None when absent (the session's vendor switcher choice), "" for all
    vendors, else a vendor id (admins only; staff always see their own)."""

    vendor: str | None = None
    status: str = ExceptionStatus.PENDING.value
    type: str = ""
    deadline: str = ""
    search: str = ""
    sort: str = ExceptionSort.NEWEST.value
    mode: str = Mode.LIST.value
    group_sort: str = GroupSort.ORDERS.value
    skip: int = 0
    limit: int = DEFAULT_LIMIT

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> QueueView:
        """The view of query parameters, each checked (422 naming the parameter)."""
        view = cls(
            vendor=params.get("vendor"),
            status=params.get("status", ExceptionStatus.PENDING.value) or ALL,
            type=params.get("type", ""),
            deadline=params.get("deadline", ""),
            search=params.get("search", "").strip(),
            sort=params.get("sort", "") or ExceptionSort.NEWEST.value,
            mode=params.get("mode", "") or Mode.LIST.value,
            group_sort=params.get("group_sort", "") or GroupSort.ORDERS.value,
            skip=_number(params.get("skip", "0") or "0", "skip", low=0, high=MAX_SKIP),
            limit=_number(params.get("limit", "") or str(DEFAULT_LIMIT), "limit", low=1, high=200),
        )
        if view.status != ALL:
            _choice(view.status, ExceptionStatus, "status")
        _choice(view.type, ExceptionType, "type")
        _choice(view.deadline, DeadlineState, "deadline")
        _choice(view.sort, ExceptionSort, "sort")
        _choice(view.mode, Mode, "mode")
        _choice(view.group_sort, GroupSort, "group_sort")
        if len(view.search) > SEARCH_MAX_LENGTH or "\x00" in view.search:
            raise ValidationFailedError(
                f"Invalid request: check search (at most {SEARCH_MAX_LENGTH} characters)",
                details={"field": "search"},
            )
        if view.vendor is not None and view.vendor != "":
            _number(view.vendor, "vendor", low=1, high=MAX_SKIP)
        return view

    # --- typed values for the services ---

    @property
    def status_filter(self) -> ExceptionStatus | None:
        return None if self.status == ALL else ExceptionStatus(self.status)

    @property
    def type_filter(self) -> ExceptionType | None:
        return _choice(self.type, ExceptionType, "type")

    @property
    def deadline_filter(self) -> DeadlineState | None:
        return _choice(self.deadline, DeadlineState, "deadline")

    @property
    def is_groups(self) -> bool:
        return self.mode == Mode.GROUPS

    @property
    def group_status(self) -> ExceptionStatus:
        """The groups need one status (the API's default: pending)."""
        return self.status_filter or ExceptionStatus.PENDING

    @property
    def page(self) -> PageRequest:
        return PageRequest(skip=self.skip, limit=self.limit)

    @property
    def filtered(self) -> bool:
        """Whether the view narrows the default one (the empty state offers to clear)."""
        return bool(
            self.type or self.deadline or self.search or self.status != ExceptionStatus.PENDING
        )

    # --- links ---

    def params(self, **changes: Any) -> dict[str, str]:
        """The view's parameters that differ from the defaults, after `changes`; a change of
        anything but the page goes back to the first page."""
        if changes and not set(changes) <= {"skip", "limit"}:
            changes.setdefault("skip", 0)
        view = replace(self, **changes)
        default = QueueView()
        out: dict[str, str] = {}
        for f in fields(QueueView):
            value = getattr(view, f.name)
            if f.name == "vendor":
                if value is not None:
                    out["vendor"] = value
            elif value != getattr(default, f.name):
                out[f.name] = str(value)
        return out

    def url(self, path: str = "/queue", **changes: Any) -> str:
        query = urlencode(self.params(**changes))
        return f"{path}?{query}" if query else path

    def clear(self) -> QueueView:
        """The default view, on the same vendor and mode."""
        return QueueView(vendor=self.vendor, mode=self.mode, limit=self.limit)

    def named(self, name: str) -> QueueView:
        base = QueueView(vendor=self.vendor, limit=self.limit)
        return NAMED_VIEWS[name](base)

    @property
    def query(self) -> str:
        return urlencode(self.params())


NAMED_VIEWS = {
    "Pending": lambda v: v,
    "Overdue": lambda v: replace(
        v, status=ALL, deadline=DeadlineState.OVERDUE.value, sort=ExceptionSort.CONFIRM_BY.value
    ),
    "Duplicate GTIN": lambda v: replace(v, type=ExceptionType.DUPLICATE_GTIN.value),
    "Ignored": lambda v: replace(v, status=ExceptionStatus.IGNORED.value),
}


# --- who and which vendor ----------------------------------------------------------------------


def _vendor_id(web: WebContext, view: QueueView) -> int | None:
    """The vendor the view shows (None: all vendors, admins only). Staff: always their own."""
    if not web.is_admin:
        assert web.vendor is not None  # staff always work in a vendor (web_context)
        return web.vendor.id
    if view.vendor is None:
        return web.vendor.id if web.vendor else None
    if view.vendor == "":
        return None
    wanted = int(view.vendor)
    if all(v.id != wanted for v in web.vendors):
        raise VendorNotFoundError.for_id(wanted)
    return wanted


def _scope(web: WebContext, vendor_id: int | None) -> Scope:
    if not web.is_admin:
        return web.scope
    return Scope(actor_user_id=web.user.id, vendor_id=vendor_id, is_admin=True)


def _vendor_scope(web: WebContext, vendor_id: int | None) -> VendorScope:
    """The scope bulk work and the product picker need: one vendor."""
    scope = web.scope
    if not web.is_admin:
        assert isinstance(scope, VendorScope)
        return scope
    if vendor_id is None:
        raise VendorChoiceNeededError()
    return VendorScope(actor_user_id=web.user.id, vendor_id=vendor_id, is_admin=True)


def start_of_today(now: datetime) -> datetime:
    """Midnight UTC of `now`'s day: the dashboard shows times in UTC."""
    return datetime.combine(now.astimezone(UTC).date(), time(0), tzinfo=UTC)


# --- the page -----------------------------------------------------------------------------------


def _queue_context(
    session: SessionDep, web: WebContext, view: QueueView, **extra: Any
) -> dict[str, Any]:
    vendor_id = _vendor_id(web, view)
    scope = _scope(web, vendor_id)
    now = utcnow()
    counts = service.exception_stats(session, scope=scope, now=now)
    resolved_today = service.count_resolved_since(session, scope=scope, since=start_of_today(now))
    rows: Any = []
    groups: list[dict[str, Any]] = []
    if view.is_groups:
        groups, total = queue.list_groups(
            session,
            scope=scope,
            status=view.group_status,
            exception_type=view.type_filter,
            search=view.search or None,
            deadline_state=view.deadline_filter,
            sort=GroupSort(view.group_sort),
            page=view.page,
            now=now,
        )
    else:
        rows, total = service.list_exceptions(
            session,
            scope=scope,
            status=view.status_filter,
            exception_type=view.type_filter,
            search=view.search or None,
            page=view.page,
            deadline_state=view.deadline_filter,
            sort=ExceptionSort(view.sort),
            now=now,
        )
    vendor_names = {v.id: v.name for v in web.vendors}
    return {
        "web": web,
        "section": "queue",
        "view": view,
        "vendor_id": vendor_id,
        "vendor_name": vendor_names.get(vendor_id) if vendor_id else None,
        "vendor_names": vendor_names,
        "counts": counts,
        "resolved_today": resolved_today,
        "rows": rows,
        "groups": groups,
        "total": total,
        "now": now,
        "bulk_enabled": vendor_id is not None,
        "named_views": list(NAMED_VIEWS),
        "statuses": [s.value for s in ExceptionStatus],
        "type_labels": TYPE_LABELS,
        "deadline_labels": DEADLINE_LABELS,
        "group_sort_labels": GROUP_SORT_LABELS,
        "skip_reasons": SKIP_REASONS,
        "page_sizes": PAGE_SIZES,
        "outcome": None,
        "error": None,
        "form": {},
        **extra,
    }


@router.get("/queue")
def queue_page(request: Request, session: SessionDep, web: WebDep) -> Response:
    view = QueueView.parse(request.query_params)
    return render(request, "queue.html", _queue_context(session, web, view), block="queue")


@router.get("/queue/export.csv")
def export_view(request: Request, session: SessionDep, web: WebDep) -> StreamingResponse:
    """The current list view as the API's CSV (same service, same columns), newest first."""
    view = QueueView.parse(request.query_params)
    scope = _scope(web, _vendor_id(web, view))
    filters = export.ExportFilters(
        status=view.status_filter,
        exception_type=view.type_filter,
        search=view.search or None,
        deadline_state=view.deadline_filter,
    )
    first, job, after = history.start_export(
        session, scope=scope, filters=filters, emails=USER_EMAILS
    )
    return StreamingResponse(
        stream_batches(request, first, after, job.batch),
        media_type=export.MEDIA_TYPE,
        headers={"Content-Disposition": 'attachment; filename="order-exceptions.csv"'},
    )


@router.get("/queue/groups.csv")
def export_groups(request: Request, session: SessionDep, web: WebDep) -> Response:
    """The groups of the current view as the API's catalog gap list."""
    view = QueueView.parse(request.query_params)
    text = queue.groups_csv(
        session,
        scope=_scope(web, _vendor_id(web, view)),
        status=view.group_status,
        exception_type=view.type_filter,
        search=view.search or None,
        deadline_state=view.deadline_filter,
        sort=GroupSort(view.group_sort),
    )
    return Response(
        content=text.encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="catalog-gaps.csv"'},
    )


# --- fragments: the product picker and a row's suggestions ------------------------------------


@router.get("/queue/products")
def product_choices(
    request: Request,
    session: SessionDep,
    web: WebDep,
    q: Annotated[str, Query(max_length=SEARCH_MAX_LENGTH)] = "",
    vendor: Annotated[str, Query(max_length=12)] = "",
) -> Response:
    """Type-ahead over the vendor's matchable products (GTIN, SKU, title): the dashboard's one
    picker search, `detail.search_vendor_products`, as on the exception detail page."""
    view = QueueView.parse({"vendor": vendor} if vendor else {})
    scope = _vendor_scope(web, _vendor_id(web, view))
    term = q.strip()
    # One more than shown, to say that more match.
    picked = detail.search_vendor_products(
        session, vendor_id=scope.vendor_id, query=term, limit=PICKER_LIMIT + 1
    )
    context = {
        "web": web,
        "products": [p.product for p in picked[:PICKER_LIMIT]],
        "more": len(picked) > PICKER_LIMIT,
        "term": term,
        "too_short": 0 < len(term) < detail.PICKER_MIN_LENGTH,
    }
    return render(request, "queue_products.html", context)


@router.get("/queue/suggestions/{exception_id}")
def row_suggestions(
    request: Request, session: SessionDep, web: WebDep, exception_id: IdParam
) -> Response:
    """The exception's best few suggestions (as `GET …/{id}/suggestions`), to pick from when
    resolving from the queue."""
    view = suggestions.suggest_products(
        session,
        scope=_scope(web, None),
        exception_id=exception_id,
        limit=TRIAGE_SUGGESTIONS,
    )
    return render(request, "queue_suggestions.html", {"web": web, "view": view})


# --- bulk ---------------------------------------------------------------------------------------


class BulkAction(StrEnum):
    RESOLVE = "resolve"
    IGNORE = "ignore"


def _schema_message(error: SchemaValidationError) -> str:
    """The API's wording for a body it refuses: which fields, and why."""
    parts = []
    for problem in error.errors():
        field = ".".join(str(part) for part in problem.get("loc", ())) or "request"
        parts.append(f"{field}: {problem.get('msg', '')}")
    names = ", ".join(
        dict.fromkeys(".".join(str(p) for p in d.get("loc", ())) for d in error.errors())
    )
    return f"Invalid request: check {names or 'request'} ({'; '.join(parts)})"


def _bulk_request(
    action: BulkAction, exception_ids: list[str], product_id: str, notes: str
) -> BaseModel:
    """The API's request body for the form (the same limits: ≤ 500 ids, a reason to ignore)."""
    if not exception_ids:
        raise ValidationFailedError(
            "Select at least one exception first", details={"field": "exception_ids"}
        )
    bad = [value for value in exception_ids if not value.strip().isdigit()]
    if bad:
        raise ValidationFailedError(
            f"Invalid request: check exception_ids ({bad[0]!r} is not an exception id)",
            details={"field": "exception_ids"},
        )
    ids = [int(value) for value in exception_ids]
    product = product_id.strip()
    try:
        if action is BulkAction.RESOLVE:
            return BulkSelectionResolveRequest.model_validate(
                {
                    "exception_ids": ids,
                    "product_id": int(product) if product.isdigit() else (product or None),
                    "notes": notes.strip() or None,
                }
            )
        return BulkSelectionIgnoreRequest.model_validate({"exception_ids": ids, "notes": notes})
    except SchemaValidationError as error:
        raise ValidationFailedError(_schema_message(error), details={"form": True}) from None


@router.post("/queue/bulk")
def bulk_action(
    request: Request,
    session: SessionDep,
    web: FormDep,
    action: Annotated[str, Form(max_length=20)] = "",
    exception_id: Annotated[list[str], Form()] = [],  # noqa: B006 (a FastAPI form default)
    product_id: Annotated[str, Form(max_length=20)] = "",
    notes: Annotated[str, Form(max_length=5000)] = "",
    vendor: Annotated[str, Form(max_length=12)] = "",
    view: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """Resolve or ignore the checked rows (or the one row of the keyboard triage) with the
    API's bulk-by-selection services, then the queue again with each row's result. A refusal
    (another vendor's id, a product the vendor cannot use, a missing reason) changes nothing and
    shows the API's message above the kept form."""
    shown = QueueView.parse(dict(parse_qsl(view)))
    acted_on = vendor or (shown.vendor or "")
    form = {"action": action, "product_id": product_id, "notes": notes}
    try:
        kind = _choice(action, BulkAction, "action")
        if kind is None:
            raise ValidationFailedError(
                "Invalid request: check action (resolve or ignore)", details={"field": "action"}
            )
        vendor_view = QueueView.parse({"vendor": acted_on} if acted_on else {})
        scope = _vendor_scope(web, _vendor_id(web, vendor_view))
        body = _bulk_request(kind, exception_id, product_id, notes)
        if isinstance(body, BulkSelectionResolveRequest):
            outcome = queue.bulk_resolve_selection(
                session,
                scope=scope,
                exception_ids=body.exception_ids,
                product_id=body.product_id,
                notes=body.notes,
            )
        else:
            assert isinstance(body, BulkSelectionIgnoreRequest)
            outcome = queue.bulk_ignore_selection(
                session, scope=scope, exception_ids=body.exception_ids, notes=body.notes
            )
    except AppError as error:
        # The request rolls back (CommittingRoute, status >= 400): nothing changed.
        session.rollback()
        context = _queue_context(
            session,
            web,
            shown,
            error=error.message,
            form=form,
            checked={value for value in exception_id},
        )
        return render(request, "queue.html", context, block="queue", status_code=error.status_code)
    context = _queue_context(
        session, web, shown, outcome=outcome, outcome_action=kind.value, form={}
    )
    return render(request, "queue.html", context, block="queue")
