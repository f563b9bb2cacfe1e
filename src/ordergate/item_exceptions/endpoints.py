"""The exception workflow (the specification's twelve endpoints) and the remembered-GTIN
mappings, declared once and mounted in the admin tree (every vendor, or one by `?vendor_id`)
and the vendor tree (the token's vendor)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ordergate.deps import PageQuery, SessionDep, Tree
from ordergate.item_exceptions import service, suggestions
from ordergate.item_exceptions.schemas import (
    BulkResolveRequest,
    BulkResolveResponse,
    ExceptionDetail,
    ExceptionList,
    ExceptionOut,
    ExceptionStats,
    GtinMappingList,
    IgnoreRequest,
    ResolveRequest,
    SuggestionList,
)
from ordergate.item_exceptions.suggestions import DEFAULT_LIMIT as DEFAULT_SUGGESTIONS
from ordergate.item_exceptions.suggestions import MAX_LIMIT as MAX_SUGGESTIONS
from ordergate.orders.models import ExceptionStatus, ExceptionType
from ordergate.schemas import IdParam, Text
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


def mount(tree: Tree) -> APIRouter:
    router = tree.router(prefix=tree.prefix)

    @router.get("/order-exceptions", response_model=ExceptionList)
    def list_exceptions(
        session: SessionDep,
        page: PageQuery,
        status: StatusFilter = None,
        exception_type: TypeFilter = None,
        search: SearchFilter = None,
        scope: Scope = tree.filtered,
    ) -> ExceptionList:
        """Exceptions, newest first."""
        rows, total = service.list_exceptions(
            session,
            scope=scope,
            status=status,
            exception_type=exception_type,
            search=search,
            page=page,
        )
        return ExceptionList.of(rows, total, page)

    @router.get("/order-exceptions/stats", response_model=ExceptionStats)
    def exception_stats(session: SessionDep, scope: Scope = tree.filtered) -> ExceptionStats:
        """Counts by status; `orders_with_exceptions` counts the orders the confirmation gate
        blocks (a pending or ignored exception on a line that is not declined)."""
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

    # -- merge point: queue (collection routes) --

    # -- merge point: history (collection routes) --

    # -- merge point: deadlines (collection routes) --

    @router.get("/order-exceptions/{exception_id}", response_model=ExceptionDetail)
    def get_exception(
        exception_id: IdParam, session: SessionDep, scope: Scope = tree.all
    ) -> ExceptionDetail:
        """The exception with its order and line; candidates for duplicate GTINs."""
        detail = service.get_exception_detail(session, scope=scope, exception_id=exception_id)
        return ExceptionDetail.model_validate(detail.attributes())

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

    # -- merge point: suggestions (per-exception routes) --

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

    # -- merge point: actions (per-exception routes) --

    # -- merge point: history (per-exception routes) --

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
