"""The exception workflow (the specification's twelve endpoints) and the remembered-GTIN
mappings, declared once and mounted in the admin tree (every vendor, or one by `?vendor_id`)
and the vendor tree (the token's vendor)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import WithJsonSchema

from ordergate.deps import AUTO_MATCH, USER_EMAILS, PageQuery, SessionDep, Tree
from ordergate.events.schemas import EventList
from ordergate.item_exceptions import actions, export, history, kpis, queue, service, suggestions
from ordergate.item_exceptions.repository import GroupSort
from ordergate.item_exceptions.schemas import (
    BulkGtin,
    BulkPreviewResponse,
    BulkResolveRequest,
    BulkResolveResponse,
    BulkSelectionIgnoreRequest,
    BulkSelectionResolveRequest,
    BulkSelectionResponse,
    CreateProductRequest,
    CreateProductResponse,
    ExceptionDetail,
    ExceptionGroupList,
    ExceptionList,
    ExceptionOut,
    ExceptionStats,
    GtinMappingList,
    IgnoreRequest,
    KpiReportOut,
    ReopenRequest,
    ReopenResponse,
    ResolveRequest,
    SuggestionList,
)
from ordergate.item_exceptions.service import ExceptionSort
from ordergate.item_exceptions.suggestions import DEFAULT_LIMIT as DEFAULT_SUGGESTIONS
from ordergate.item_exceptions.suggestions import MAX_LIMIT as MAX_SUGGESTIONS
from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.models import ExceptionStatus, ExceptionType
from ordergate.routing import stream_batches
from ordergate.schemas import IdParam, QueryFlag, Text
from ordergate.scope import Scope, VendorScope

StatusFilter = Annotated[ExceptionStatus | None, Query(description="pending, resolved, ignored")]
TypeFilter = Annotated[
    ExceptionType | None,
    Query(description="product_not_found, gtin_mismatch, duplicate_gtin"),
]
SearchFilter = Annotated[
    Text | None,
    Query(max_length=200, description="GTIN (raw or canonical), product name, SKU, order number"),
]
BomFlag = Annotated[
    QueryFlag,
    Query(description="true: start with a UTF-8 byte-order mark (for Excel); default false"),
]

GroupStatusFilter = Annotated[
    ExceptionStatus, Query(description="pending (the default), ignored or resolved")
]
GroupSortQuery = Annotated[
    GroupSort,
    Query(
        description="orders (default), lines, units, value_cents: largest first; "
        "oldest_order_date: oldest first; confirm_by: soonest deadline first (none last), "
        "then as orders; ties by the oldest order"
    ),
]
PreviewGtin = Annotated[BulkGtin, Query(description="The GTIN bulk-resolve would be given")]


DeadlineFilter = Annotated[
    DeadlineState | None,
    Query(
        description="on_track, at_risk (< 24 h left), overdue: rows whose order's confirm_by "
        "is in that state (only blocking rows have one)"
    ),
]
ExceptionSortQuery = Annotated[
    ExceptionSort,
    Query(description="newest (default) or confirm_by (soonest first, rows without one last)"),
]


# An ISO 8601 date or datetime is far shorter; longer text is no datetime (422) either way.
DATETIME_MAX_LENGTH = 64
# A datetime query value; its schema states the length bound the parser implies.
QueryDatetime = Annotated[
    datetime,
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": DATETIME_MAX_LENGTH}),
]
KpiFrom = Annotated[
    QueryDatetime | None,
    Query(
        alias="from",
        description="Window start, included (default: to − 30 days); UTC if no offset",
    ),
]
KpiTo = Annotated[
    QueryDatetime | None,
    Query(
        alias="to",
        description="Window end, excluded (default: now); UTC if no offset",
    ),
]


def mount(tree: Tree) -> APIRouter:
    router = tree.router(prefix=tree.prefix)

    @router.get("/order-exceptions", response_model=ExceptionList)
    def list_exceptions(
        session: SessionDep,
        page: PageQuery,
        status: StatusFilter = None,
        exception_type: TypeFilter = None,
        search: SearchFilter = None,
        deadline_state: DeadlineFilter = None,
        sort: ExceptionSortQuery = ExceptionSort.NEWEST,
        scope: Scope = tree.filtered,
    ) -> ExceptionList:
        """Exceptions, newest first (or by confirm_by)."""
        rows, total = service.list_exceptions(
            session,
            scope=scope,
            status=status,
            exception_type=exception_type,
            search=search,
            page=page,
            deadline_state=deadline_state,
            sort=sort,
        )
        return ExceptionList.of(rows, total, page)

    @router.get("/order-exceptions/stats", response_model=ExceptionStats)
    def exception_stats(session: SessionDep, scope: Scope = tree.filtered) -> ExceptionStats:
        """Counts by status; `orders_with_exceptions` counts the orders the confirmation gate
        blocks (a pending or ignored exception on a line that is not declined); `at_risk` and
        `overdue` count those of them near or past their confirmation deadline."""
        return ExceptionStats.model_validate(service.exception_stats(session, scope=scope))

    @router.post("/order-exceptions/bulk-resolve", response_model=BulkResolveResponse)
    def bulk_resolve(
        body: BulkResolveRequest, session: SessionDep, scope: VendorScope = tree.vendor_in_query
    ) -> BulkResolveResponse:
        """Resolve the vendor's pending exceptions for one GTIN with one product."""
        count = service.bulk_resolve_by_gtin(
            session,
            scope=scope,
            gtin=body.gtin,
            product_id=body.product_id,
            notes=body.notes,
            remember=body.remember,
        )
        return BulkResolveResponse(resolved_count=count, gtin=body.gtin, product_id=body.product_id)

    @router.get("/order-exceptions/groups", response_model=ExceptionGroupList)
    def list_exception_groups(
        session: SessionDep,
        page: PageQuery,
        status: GroupStatusFilter = ExceptionStatus.PENDING,
        exception_type: TypeFilter = None,
        search: SearchFilter = None,
        deadline_state: DeadlineFilter = None,
        sort: GroupSortQuery = GroupSort.ORDERS,
        scope: Scope = tree.filtered,
    ) -> ExceptionGroupList:
        """Exceptions grouped by vendor, type and the lines' canonical GTIN (no GTIN: SKU, then
        name), largest impact first; the lines of all groups add up to the list's total for
        the same filters."""
        rows, total = queue.list_groups(
            session,
            scope=scope,
            status=status,
            exception_type=exception_type,
            search=search,
            deadline_state=deadline_state,
            sort=sort,
            page=page,
        )
        return ExceptionGroupList.of(rows, total, page)

    @router.get(
        "/order-exceptions/groups.csv",
        response_class=Response,
        responses={200: {"content": {"text/csv": {}}, "description": "The catalog gap list"}},
    )
    def export_exception_groups(
        session: SessionDep,
        status: GroupStatusFilter = ExceptionStatus.PENDING,
        exception_type: TypeFilter = None,
        search: SearchFilter = None,
        deadline_state: DeadlineFilter = None,
        sort: GroupSortQuery = GroupSort.ORDERS,
        scope: Scope = tree.filtered,
    ) -> Response:
        """Every group of the filters as CSV (the catalog gap list), UTF-8 with a header row;
        cells that a spreadsheet would run as a formula are quoted."""
        text = queue.groups_csv(
            session,
            scope=scope,
            status=status,
            exception_type=exception_type,
            search=search,
            deadline_state=deadline_state,
            sort=sort,
        )
        return Response(
            content=text.encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="catalog-gaps.csv"'},
        )

    @router.get("/order-exceptions/bulk-resolve/preview", response_model=BulkPreviewResponse)
    def preview_bulk_resolve(
        session: SessionDep, gtin: PreviewGtin, scope: VendorScope = tree.vendor_in_query
    ) -> BulkPreviewResponse:
        """How many exceptions and orders `POST …/bulk-resolve` with this GTIN would touch,
        and how many orders awaiting confirmation it would unblock."""
        return BulkPreviewResponse.model_validate(
            queue.preview_bulk_resolve(session, scope=scope, gtin=gtin)
        )

    @router.post("/order-exceptions/bulk/resolve", response_model=BulkSelectionResponse)
    def bulk_resolve_selection(
        body: BulkSelectionResolveRequest,
        session: SessionDep,
        scope: VendorScope = tree.vendor_in_query,
    ) -> BulkSelectionResponse:
        """Resolve up to 500 chosen exceptions with one product, in one transaction; an id
        that is missing or another vendor's refuses the whole request."""
        outcome = queue.bulk_resolve_selection(
            session,
            scope=scope,
            exception_ids=body.exception_ids,
            product_id=body.product_id,
            notes=body.notes,
        )
        return BulkSelectionResponse.model_validate(outcome, from_attributes=True)

    @router.post("/order-exceptions/bulk/ignore", response_model=BulkSelectionResponse)
    def bulk_ignore_selection(
        body: BulkSelectionIgnoreRequest,
        session: SessionDep,
        scope: VendorScope = tree.vendor_in_query,
    ) -> BulkSelectionResponse:
        """Set up to 500 chosen pending exceptions aside with one reason, in one transaction;
        an id that is missing or another vendor's refuses the whole request."""
        outcome = queue.bulk_ignore_selection(
            session, scope=scope, exception_ids=body.exception_ids, notes=body.notes
        )
        return BulkSelectionResponse.model_validate(outcome, from_attributes=True)

    @router.get(
        "/order-exceptions/export.csv",
        response_class=StreamingResponse,
        responses={
            200: {
                "content": {"text/csv": {"schema": {"type": "string"}}},
                "description": "The CSV, streamed",
            }
        },
    )
    def export_exceptions(
        request: Request,
        session: SessionDep,
        status: StatusFilter = None,
        exception_type: TypeFilter = None,
        search: SearchFilter = None,
        bom: BomFlag = False,
        deadline_state: DeadlineFilter = None,
        scope: Scope = tree.filtered,
    ) -> StreamingResponse:
        """The list's rows as CSV (UTF-8, header row), newest first, every row matching the
        filters; cells a spreadsheet would run as a formula start with an apostrophe."""
        filters = export.ExportFilters(
            status=status,
            exception_type=exception_type,
            search=search,
            deadline_state=deadline_state,
        )
        first, job, after = history.start_export(
            session, scope=scope, filters=filters, emails=USER_EMAILS, bom=bom
        )
        return StreamingResponse(
            stream_batches(request, first, after, job.batch),
            media_type=export.MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="order-exceptions.csv"'},
        )

    @router.get("/order-exceptions/kpis", response_model=KpiReportOut, response_model_by_alias=True)
    def exception_kpis(
        session: SessionDep,
        start: KpiFrom = None,
        end: KpiTo = None,
        scope: Scope = tree.filtered,
    ) -> KpiReportOut:
        """Matching and QC KPIs of the window [from, to): lines imported and matched at import,
        exceptions by type, resolutions by kind, ignored, reopened, median and p90 time to
        resolve; the open exceptions' aging now. Admins also get each vendor's."""
        return KpiReportOut.model_validate(
            kpis.report_attributes(kpis.exception_kpis(session, scope=scope, start=start, end=end))
        )

    @router.get("/order-exceptions/{exception_id}", response_model=ExceptionDetail)
    def get_exception(
        exception_id: IdParam, session: SessionDep, scope: Scope = tree.all
    ) -> ExceptionDetail:
        """The exception with its order and line, candidates for duplicate GTINs, and its
        timeline."""
        detail = history.exception_detail(
            session, scope=scope, exception_id=exception_id, emails=USER_EMAILS
        )
        return ExceptionDetail.model_validate(detail)

    @router.post("/order-exceptions/{exception_id}/resolve", response_model=ExceptionOut)
    def resolve_exception(
        exception_id: IdParam, body: ResolveRequest, session: SessionDep, scope: Scope = tree.all
    ) -> ExceptionOut:
        """Assign one of the vendor's products to the line (pending or ignored exceptions)."""
        row = service.resolve_exception(
            session,
            scope=scope,
            exception_id=exception_id,
            product_id=body.product_id,
            notes=body.notes,
            remember=body.remember,
        )
        return ExceptionOut.model_validate(row)

    @router.post("/order-exceptions/{exception_id}/ignore", response_model=ExceptionOut)
    def ignore_exception(
        exception_id: IdParam, body: IgnoreRequest, session: SessionDep, scope: Scope = tree.all
    ) -> ExceptionOut:
        """Set a pending exception aside with a reason; it still blocks confirmation."""
        row = service.ignore_exception(
            session, scope=scope, exception_id=exception_id, notes=body.notes
        )
        return ExceptionOut.model_validate(row)

    @router.get("/order-exceptions/{exception_id}/suggestions", response_model=SuggestionList)
    def suggest_products(
        exception_id: IdParam,
        session: SessionDep,
        limit: Annotated[int, Query(ge=1, le=MAX_SUGGESTIONS, description="Suggestions")] = (
            DEFAULT_SUGGESTIONS
        ),
        scope: Scope = tree.all,
    ) -> SuggestionList:
        """Ranked candidate products of the exception's vendor, with a score and the reasons;
        nothing is applied (resolve with one of them)."""
        view = suggestions.suggest_products(
            session, scope=scope, exception_id=exception_id, limit=limit
        )
        return SuggestionList.model_validate(view)

    @router.post(
        "/order-exceptions/{exception_id}/create-product",
        response_model=CreateProductResponse,
        status_code=201,
    )
    def create_product_from_exception(
        exception_id: IdParam,
        body: CreateProductRequest,
        session: SessionDep,
        scope: Scope = tree.all,
    ) -> CreateProductResponse:
        """Create the line's product in the vendor's catalog (defaults from the marketplace
        product with its GTIN and the line), resolve this exception to it and auto-match the
        vendor's other pending exceptions with the same GTIN."""
        created = actions.create_product_from_exception(
            session,
            scope=scope,
            exception_id=exception_id,
            **body.model_dump(),
            after_products_added=AUTO_MATCH,
        )
        return CreateProductResponse.model_validate(created.attributes())

    @router.post("/order-exceptions/{exception_id}/reopen", response_model=ReopenResponse)
    def reopen_exception(
        exception_id: IdParam, body: ReopenRequest, session: SessionDep, scope: Scope = tree.all
    ) -> ReopenResponse:
        """Send a resolved or ignored exception back to pending: the line waits on the
        placeholder again (and blocks confirmation), the remembered mapping of the undone
        resolution is removed. Refused once the line's units are confirmed at Letzshop."""
        reopened = actions.reopen_exception(
            session, scope=scope, exception_id=exception_id, notes=body.notes
        )
        return ReopenResponse.model_validate(reopened.attributes())

    @router.get("/order-exceptions/{exception_id}/events", response_model=EventList)
    def exception_events(
        exception_id: IdParam, session: SessionDep, page: PageQuery, scope: Scope = tree.all
    ) -> EventList:
        """The exception's timeline, oldest first: action, actor (a user's email, or the
        system with its cause), before/after, notes, time."""
        rows, total = history.exception_events(
            session, scope=scope, exception_id=exception_id, page=page, emails=USER_EMAILS
        )
        return EventList.of(rows, total, page)

    @router.get("/gtin-mappings", response_model=GtinMappingList)
    def list_gtin_mappings(
        session: SessionDep, page: PageQuery, scope: Scope = tree.filtered
    ) -> GtinMappingList:
        """Remembered resolutions: GTIN key -> product, per vendor."""
        rows, total = service.list_gtin_mappings(session, scope=scope, page=page)
        return GtinMappingList.of(rows, total, page)

    @router.delete("/gtin-mappings/{mapping_id}", status_code=204)
    def delete_gtin_mapping(
        mapping_id: IdParam, session: SessionDep, scope: Scope = tree.all
    ) -> Response:
        """Forget a remembered resolution."""
        service.delete_gtin_mapping(session, scope=scope, mapping_id=mapping_id)
        return Response(status_code=204)

    return router
