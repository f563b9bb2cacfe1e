from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, UploadFile

from ordergate.catalog import service
from ordergate.catalog.models import Product
from ordergate.catalog.schemas import (
    MARKETPLACE_PATTERN,
    CopyToCatalogRequest,
    CopyToCatalogResult,
    ImportResult,
    ImportRowError,
    MarketplaceProductList,
    MarketplaceProductOut,
    ProductCreate,
    ProductCreated,
    ProductList,
    ProductOut,
)
from ordergate.deps import AdminDep, SessionDep, VendorDep
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES, IdParam, Limit, QueryFlag, Skip, Text

admin_router = APIRouter(tags=["admin"], route_class=CommittingRoute, responses=ERROR_RESPONSES)
vendor_router = APIRouter(tags=["vendor"], route_class=CommittingRoute, responses=ERROR_RESPONSES)

Search = Annotated[
    Text | None, Query(max_length=500, description="GTIN (any valid form), SKU or title text")
]
MarketplaceForm = Annotated[
    str | None,
    Form(pattern=MARKETPLACE_PATTERN, max_length=50, description="Marketplace (default letzshop)"),
]
MarketplaceQuery = Annotated[
    str | None,
    Query(pattern=MARKETPLACE_PATTERN, max_length=50, description="Only this marketplace"),
]


def _copy_result(summary: service.CopySummary) -> CopyToCatalogResult:
    return CopyToCatalogResult(
        created=summary.created, skipped=summary.skipped, auto_matched=summary.auto_matched
    )


def _created(created: service.CreatedProduct) -> ProductCreated:
    return ProductCreated(
        product=ProductOut.model_validate(created.product), auto_matched=created.auto_matched
    )


def _product_list(products: list[Product], total: int, skip: int, limit: int) -> ProductList:
    return ProductList(
        products=[ProductOut.model_validate(p) for p in products],
        total=total,
        skip=skip,
        limit=limit,
    )


# --- Admin ------------------------------------------------------------------------------------


@admin_router.post("/api/v1/admin/marketplace-products/import", response_model=ImportResult)
def import_marketplace_products(
    session: SessionDep,
    _: AdminDep,
    file: Annotated[UploadFile, File(description="Tab-separated Letzshop/Google-Shopping feed")],
    marketplace: MarketplaceForm = None,
    marketplace_query: Annotated[
        str | None,
        Query(
            alias="marketplace",
            pattern=MARKETPLACE_PATTERN,
            max_length=50,
            description="Or as a query",
        ),
    ] = None,
) -> ImportResult:
    """Import a marketplace product feed; re-importing updates rows instead of duplicating.
    Bad rows are listed with their row number (header = row 1) and the good rows are kept."""
    summary = service.import_marketplace_csv(
        session,
        stream=file.file,
        marketplace=marketplace or marketplace_query or service.DEFAULT_MARKETPLACE,
    )
    return ImportResult(
        created=summary.created,
        updated=summary.updated,
        failed=[ImportRowError(row=f.row, error=f.error) for f in summary.failed],
        total_rows=summary.total_rows,
    )


@admin_router.get("/api/v1/admin/marketplace-products", response_model=MarketplaceProductList)
def list_marketplace_products(
    session: SessionDep,
    _: AdminDep,
    search: Search = None,
    marketplace: MarketplaceQuery = None,
    skip: Skip = 0,
    limit: Limit = 50,
) -> MarketplaceProductList:
    """Marketplace products, searchable by GTIN (any valid form), marketplace id or title."""
    rows, total = service.list_marketplace_products(
        session, search=search, marketplace=marketplace, skip=skip, limit=limit
    )
    return MarketplaceProductList(
        marketplace_products=[MarketplaceProductOut.model_validate(r) for r in rows],
        total=total,
        skip=skip,
        limit=limit,
    )


@admin_router.post(
    "/api/v1/admin/vendors/{vendor_id}/marketplace-products/copy-to-catalog",
    response_model=CopyToCatalogResult,
)
def admin_copy_to_catalog(
    vendor_id: IdParam, body: CopyToCatalogRequest, session: SessionDep, _: AdminDep
) -> CopyToCatalogResult:
    """Copy marketplace products into a vendor's catalog and auto-match its pending exceptions."""
    return _copy_result(
        service.copy_to_catalog(
            session, vendor_id=vendor_id, marketplace_product_ids=body.marketplace_product_ids
        )
    )


@admin_router.post(
    "/api/v1/admin/vendors/{vendor_id}/products", response_model=ProductCreated, status_code=201
)
def admin_create_product(
    vendor_id: IdParam, body: ProductCreate, session: SessionDep, _: AdminDep
) -> ProductCreated:
    """Add a product to a vendor's catalog; pending exceptions with its GTIN auto-match."""
    return _created(service.create_product(session, vendor_id=vendor_id, **body.model_dump()))


@admin_router.get("/api/v1/admin/vendors/{vendor_id}/products", response_model=ProductList)
def admin_list_products(
    vendor_id: IdParam,
    session: SessionDep,
    _: AdminDep,
    search: Search = None,
    is_active: QueryFlag | None = None,
    skip: Skip = 0,
    limit: Limit = 50,
) -> ProductList:
    """A vendor's catalog (never the placeholder), searchable by GTIN, SKU or title."""
    products, total = service.list_products(
        session, vendor_id=vendor_id, search=search, is_active=is_active, skip=skip, limit=limit
    )
    return _product_list(products, total, skip, limit)


# --- Vendor -----------------------------------------------------------------------------------


@vendor_router.post(
    "/api/v1/vendor/marketplace-products/copy-to-catalog", response_model=CopyToCatalogResult
)
def vendor_copy_to_catalog(
    body: CopyToCatalogRequest, session: SessionDep, principal: VendorDep
) -> CopyToCatalogResult:
    """Copy marketplace products into your catalog and auto-match your pending exceptions."""
    assert principal.vendor is not None
    return _copy_result(
        service.copy_to_catalog(
            session,
            vendor_id=principal.vendor.id,
            marketplace_product_ids=body.marketplace_product_ids,
        )
    )


@vendor_router.post("/api/v1/vendor/products", response_model=ProductCreated, status_code=201)
def vendor_create_product(
    body: ProductCreate, session: SessionDep, principal: VendorDep
) -> ProductCreated:
    """Add a product to your catalog; pending exceptions with its GTIN auto-match."""
    assert principal.vendor is not None
    return _created(
        service.create_product(session, vendor_id=principal.vendor.id, **body.model_dump())
    )


@vendor_router.get("/api/v1/vendor/products", response_model=ProductList)
def vendor_list_products(
    session: SessionDep,
    principal: VendorDep,
    search: Search = None,
    is_active: QueryFlag | None = None,
    skip: Skip = 0,
    limit: Limit = 50,
) -> ProductList:
    """Your catalog (never the placeholder), searchable by GTIN, SKU or title."""
    assert principal.vendor is not None
    products, total = service.list_products(
        session,
        vendor_id=principal.vendor.id,
        search=search,
        is_active=is_active,
        skip=skip,
        limit=limit,
    )
    return _product_list(products, total, skip, limit)
