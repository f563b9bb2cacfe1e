"""Admin and vendor endpoints of the exception workflow (the specification's twelve) and the
remembered-GTIN mappings."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ordergate.deps import AdminDep, SessionDep, VendorDep
from ordergate.item_exceptions import service
from ordergate.item_exceptions.schemas import (
    BulkResolveRequest,
    BulkResolveResponse,
    CandidateProduct,
    ExceptionDetail,
    ExceptionItemContext,
    ExceptionList,
    ExceptionOrderContext,
    ExceptionOut,
    ExceptionStats,
    ExceptionStatus,
    ExceptionType,
    GtinMappingList,
    GtinMappingOut,
    IgnoreRequest,
    ResolveRequest,
    UnitOut,
)
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES, IdParam, Limit, Skip, Text

admin_router = APIRouter(tags=["admin"], route_class=CommittingRoute, responses=ERROR_RESPONSES)
vendor_router = APIRouter(tags=["vendor"], route_class=CommittingRoute, responses=ERROR_RESPONSES)

ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"

StatusFilter = Annotated[ExceptionStatus | None, Query(description="pending, resolved, ignored")]
TypeFilter = Annotated[
    ExceptionType | None,
    Query(description="product_not_found, gtin_mismatch, duplicate_gtin"),
]
SearchFilter = Annotated[
    Text | None,
    Query(max_length=200, description="GTIN (raw or canonical), product name, SKU, order number"),
]
VendorFilter = Annotated[IdParam | None, Query(description="Only this vendor's exceptions")]
RequiredVendor = Annotated[IdParam, Query(description="The vendor whose exceptions to resolve")]


def exception_out(view: service.ExceptionView) -> ExceptionOut:
    exc = view.exception
    return ExceptionOut(
        id=exc.id,
        order_item_id=exc.order_item_id,
        vendor_id=exc.vendor_id,
        original_gtin=exc.original_gtin,
        original_product_name=exc.original_product_name,
        original_sku=exc.original_sku,
        exception_type=exc.exception_type,  # type: ignore[arg-type]
        status=exc.status,  # type: ignore[arg-type]
        resolved_product_id=exc.resolved_product_id,
        resolved_at=exc.resolved_at,
        resolved_by=exc.resolved_by,
        resolution_notes=exc.resolution_notes,
        created_at=exc.created_at,
        updated_at=exc.updated_at,
        order_id=view.order_id,
        order_number=view.order_number,
        order_date=view.order_date,
    )


def exception_list(
    views: list[service.ExceptionView], total: int, skip: int, limit: int
) -> ExceptionList:
    return ExceptionList(
        exceptions=[exception_out(v) for v in views], total=total, skip=skip, limit=limit
    )


def exception_detail(detail: service.ExceptionDetailView) -> ExceptionDetail:
    item = detail.item
    return ExceptionDetail(
        **exception_out(detail.view).model_dump(),
        order=ExceptionOrderContext.model_validate(detail.order),
        item=ExceptionItemContext(
            id=item.id,
            product_id=item.product_id,
            quantity=item.quantity,
            unit_price_cents=item.unit_price_cents,
            needs_product_match=item.needs_product_match,
            units=[UnitOut.model_validate(u) for u in detail.units],
        ),
        candidates=[CandidateProduct.model_validate(p) for p in detail.candidates],
    )


def stats_out(counts: service.ExceptionCounts) -> ExceptionStats:
    return ExceptionStats(
        pending=counts.pending,
        resolved=counts.resolved,
        ignored=counts.ignored,
        total=counts.total,
        orders_with_exceptions=counts.orders_with_exceptions,
    )


def mapping_list(
    views: list[service.MappingView], total: int, skip: int, limit: int
) -> GtinMappingList:
    return GtinMappingList(
        mappings=[
            GtinMappingOut(
                id=v.mapping.id,
                vendor_id=v.mapping.vendor_id,
                gtin_key=v.mapping.gtin_key,
                product_id=v.mapping.product_id,
                product_title=v.product_title,
                product_sku=v.product_sku,
                created_by=v.mapping.created_by,
                created_at=v.mapping.created_at,
            )
            for v in views
        ],
        total=total,
        skip=skip,
        limit=limit,
    )


# --- admin ---------------------------------------------------------------------------------


@admin_router.get(ADMIN, response_model=ExceptionList)
def admin_list_exceptions(
    session: SessionDep,
    _: AdminDep,
    status: StatusFilter = None,
    exception_type: TypeFilter = None,
    search: SearchFilter = None,
    vendor_id: VendorFilter = None,
    skip: Skip = 0,
    limit: Limit = 50,
) -> ExceptionList:
    """Every vendor's exceptions, newest first."""
    views, total = service.list_exceptions(
        session,
        vendor_id=vendor_id,
        status=status,
        exception_type=exception_type,
        search=search,
        skip=skip,
        limit=limit,
    )
    return exception_list(views, total, skip, limit)


@admin_router.get(f"{ADMIN}/stats", response_model=ExceptionStats)
def admin_exception_stats(
    session: SessionDep, _: AdminDep, vendor_id: VendorFilter = None
) -> ExceptionStats:
    """Counts by status; `orders_with_exceptions` counts orders a pending or ignored
    exception blocks."""
    return stats_out(service.exception_stats(session, vendor_id=vendor_id))


@admin_router.post(f"{ADMIN}/bulk-resolve", response_model=BulkResolveResponse)
def admin_bulk_resolve(
    body: BulkResolveRequest, session: SessionDep, user: AdminDep, vendor_id: RequiredVendor
) -> BulkResolveResponse:
    """Resolve the vendor's pending exceptions for one GTIN with one product."""
    count = service.bulk_resolve_by_gtin(
        session,
        vendor_id=vendor_id,
        gtin=body.gtin,
        product_id=body.product_id,
        actor_user_id=user.id,
        notes=body.notes,
        remember=body.remember,
    )
    return BulkResolveResponse(resolved_count=count, gtin=body.gtin, product_id=body.product_id)


@admin_router.get(f"{ADMIN}/{{exception_id}}", response_model=ExceptionDetail)
def admin_get_exception(exception_id: IdParam, session: SessionDep, _: AdminDep) -> ExceptionDetail:
    """The exception with its order and line; candidates for duplicate GTINs."""
    return exception_detail(
        service.get_exception_detail(session, exception_id=exception_id, vendor_id=None)
    )


@admin_router.post(f"{ADMIN}/{{exception_id}}/resolve", response_model=ExceptionOut)
def admin_resolve_exception(
    exception_id: IdParam, body: ResolveRequest, session: SessionDep, user: AdminDep
) -> ExceptionOut:
    """Assign the right product to the line (pending or ignored exceptions)."""
    return exception_out(
        service.resolve_exception(
            session,
            exception_id=exception_id,
            vendor_id=None,
            product_id=body.product_id,
            actor_user_id=user.id,
            notes=body.notes,
            remember=body.remember,
        )
    )


@admin_router.post(f"{ADMIN}/{{exception_id}}/ignore", response_model=ExceptionOut)
def admin_ignore_exception(
    exception_id: IdParam, body: IgnoreRequest, session: SessionDep, user: AdminDep
) -> ExceptionOut:
    """Set a pending exception aside with a reason; it still blocks confirmation."""
    return exception_out(
        service.ignore_exception(
            session,
            exception_id=exception_id,
            vendor_id=None,
            actor_user_id=user.id,
            notes=body.notes,
        )
    )


@admin_router.get("/api/v1/admin/gtin-mappings", response_model=GtinMappingList)
def admin_list_gtin_mappings(
    session: SessionDep,
    _: AdminDep,
    vendor_id: VendorFilter = None,
    skip: Skip = 0,
    limit: Limit = 50,
) -> GtinMappingList:
    """Remembered resolutions: GTIN key -> product, per vendor."""
    views, total = service.list_gtin_mappings(session, vendor_id=vendor_id, skip=skip, limit=limit)
    return mapping_list(views, total, skip, limit)


@admin_router.delete("/api/v1/admin/gtin-mappings/{mapping_id}", status_code=204)
def admin_delete_gtin_mapping(mapping_id: IdParam, session: SessionDep, _: AdminDep) -> Response:
    """Forget a remembered resolution."""
    service.delete_gtin_mapping(session, mapping_id=mapping_id, vendor_id=None)
    return Response(status_code=204)


# --- vendor --------------------------------------------------------------------------------


@vendor_router.get(VENDOR, response_model=ExceptionList)
def vendor_list_exceptions(
    session: SessionDep,
    principal: VendorDep,
    status: StatusFilter = None,
    exception_type: TypeFilter = None,
    search: SearchFilter = None,
    skip: Skip = 0,
    limit: Limit = 50,
) -> ExceptionList:
    """This vendor's exceptions, newest first."""
    assert principal.vendor is not None
    views, total = service.list_exceptions(
        session,
        vendor_id=principal.vendor.id,
        status=status,
        exception_type=exception_type,
        search=search,
        skip=skip,
        limit=limit,
    )
    return exception_list(views, total, skip, limit)


@vendor_router.get(f"{VENDOR}/stats", response_model=ExceptionStats)
def vendor_exception_stats(session: SessionDep, principal: VendorDep) -> ExceptionStats:
    """This vendor's counts by status and blocked orders."""
    assert principal.vendor is not None
    return stats_out(service.exception_stats(session, vendor_id=principal.vendor.id))


@vendor_router.post(f"{VENDOR}/bulk-resolve", response_model=BulkResolveResponse)
def vendor_bulk_resolve(
    body: BulkResolveRequest, session: SessionDep, principal: VendorDep
) -> BulkResolveResponse:
    """Resolve this vendor's pending exceptions for one GTIN with one product."""
    assert principal.vendor is not None
    count = service.bulk_resolve_by_gtin(
        session,
        vendor_id=principal.vendor.id,
        gtin=body.gtin,
        product_id=body.product_id,
        actor_user_id=principal.user.id,
        notes=body.notes,
        remember=body.remember,
    )
    return BulkResolveResponse(resolved_count=count, gtin=body.gtin, product_id=body.product_id)


@vendor_router.get(f"{VENDOR}/{{exception_id}}", response_model=ExceptionDetail)
def vendor_get_exception(
    exception_id: IdParam, session: SessionDep, principal: VendorDep
) -> ExceptionDetail:
    """One of this vendor's exceptions with its order and line."""
    assert principal.vendor is not None
    return exception_detail(
        service.get_exception_detail(
            session, exception_id=exception_id, vendor_id=principal.vendor.id
        )
    )


@vendor_router.post(f"{VENDOR}/{{exception_id}}/resolve", response_model=ExceptionOut)
def vendor_resolve_exception(
    exception_id: IdParam, body: ResolveRequest, session: SessionDep, principal: VendorDep
) -> ExceptionOut:
    """Assign one of this vendor's products to the line."""
    assert principal.vendor is not None
    return exception_out(
        service.resolve_exception(
            session,
            exception_id=exception_id,
            vendor_id=principal.vendor.id,
            product_id=body.product_id,
            actor_user_id=principal.user.id,
            notes=body.notes,
            remember=body.remember,
        )
    )


@vendor_router.post(f"{VENDOR}/{{exception_id}}/ignore", response_model=ExceptionOut)
def vendor_ignore_exception(
    exception_id: IdParam, body: IgnoreRequest, session: SessionDep, principal: VendorDep
) -> ExceptionOut:
    """Set a pending exception aside with a reason; it still blocks confirmation."""
    assert principal.vendor is not None
    return exception_out(
        service.ignore_exception(
            session,
            exception_id=exception_id,
            vendor_id=principal.vendor.id,
            actor_user_id=principal.user.id,
            notes=body.notes,
        )
    )


@vendor_router.get("/api/v1/vendor/gtin-mappings", response_model=GtinMappingList)
def vendor_list_gtin_mappings(
    session: SessionDep, principal: VendorDep, skip: Skip = 0, limit: Limit = 50
) -> GtinMappingList:
    """This vendor's remembered resolutions."""
    assert principal.vendor is not None
    views, total = service.list_gtin_mappings(
        session, vendor_id=principal.vendor.id, skip=skip, limit=limit
    )
    return mapping_list(views, total, skip, limit)


@vendor_router.delete("/api/v1/vendor/gtin-mappings/{mapping_id}", status_code=204)
def vendor_delete_gtin_mapping(
    mapping_id: IdParam, session: SessionDep, principal: VendorDep
) -> Response:
    """Forget one of this vendor's remembered resolutions."""
    assert principal.vendor is not None
    service.delete_gtin_mapping(session, mapping_id=mapping_id, vendor_id=principal.vendor.id)
    return Response(status_code=204)
