from __future__ import annotations

from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from ordergate.catalog import jobs, service
from ordergate.catalog.models import CatalogImportRun, Product
from ordergate.catalog.schemas import (
    MARKETPLACE_PATTERN,
    CopyToCatalogRequest,
    CopyToCatalogResult,
    FieldChange,
    ImportChange,
    ImportResult,
    ImportRowError,
    ImportRowWarning,
    ImportRunAccepted,
    ImportRunList,
    ImportRunOut,
    ImportRunSummary,
    MarketplaceProductList,
    MarketplaceProductOut,
    ProductCreate,
    ProductCreated,
    ProductList,
    ProductOut,
)
from ordergate.deps import AdminDep, SessionDep, VendorDep
from ordergate.routing import CommittingRoute, end_request_transaction
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


def _import_result(summary: service.ImportSummary) -> ImportResult:
    return ImportResult(
        run_id=summary.run_id,
        dry_run=summary.dry_run,
        created=summary.created,
        updated=summary.updated,
        unchanged=summary.unchanged,
        failed=[ImportRowError(row=f.row, error=f.error) for f in summary.failed],
        failed_count=summary.failed_count,
        warnings=[ImportRowWarning(row=w.row, warning=w.warning) for w in summary.warnings],
        warnings_count=summary.warnings_count,
        changes=[
            ImportChange(
                row=c.row,
                id=c.key,
                action=c.action,
                fields={k: FieldChange(from_=old, to=new) for k, (old, new) in c.fields.items()},
            )
            for c in summary.changes
        ],
        total_rows=summary.total_rows,
    )


RunOut = TypeVar("RunOut", ImportRunSummary, ImportRunOut)


def _run_out(schema: type[RunOut], run: CatalogImportRun, lease_seconds: int) -> RunOut:
    status = service.reported_status(run, lease_seconds=lease_seconds)
    return schema.model_validate(run).model_copy(update={"status": status})


def _copy(request: Request, vendor_id: int, body: CopyToCatalogRequest) -> CopyToCatalogResult:
    end_request_transaction(request)
    summary = jobs.run_copy_to_catalog(
        request.app.state.session_factory,
        vendor_id=vendor_id,
        marketplace_product_ids=body.marketplace_product_ids,
        batch_rows=request.app.state.settings.catalog_copy_batch_rows,
    )
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


@admin_router.post(
    "/api/v1/admin/marketplace-products/import",
    response_model=ImportResult,
    responses={202: {"model": ImportRunAccepted, "description": "Started in the background"}},
)
def import_marketplace_products(
    request: Request,
    session: SessionDep,
    admin: AdminDep,
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
    dry_run: Annotated[
        QueryFlag, Query(description="Report what would change and write nothing")
    ] = False,
    background: Annotated[
        QueryFlag,
        Query(description="Answer 202 with the run id at once and import in the background"),
    ] = False,
) -> Any:
    """Import a marketplace product feed; re-importing updates rows instead of duplicating.
    Bad rows are listed with their row number (header = row 1) and the good rows are kept; an
    empty cell never clears a stored value. Every import is recorded as a run (import-runs)."""
    settings = request.app.state.settings
    path = jobs.spool_upload(file.file, directory=settings.catalog_import_dir)
    handed_over = False  # to the background thread, which then removes the file
    try:
        run = service.start_import_run(
            session,
            marketplace=marketplace or marketplace_query or service.DEFAULT_MARKETPLACE,
            filename=file.filename,
            dry_run=dry_run,
            triggered_by=admin.id,
            lease_seconds=settings.catalog_import_lease_seconds,
        )
        end_request_transaction(request)
        job = partial(
            jobs.run_feed_import,
            request.app.state.session_factory,
            run_id=run.id,
            path=path,
            marketplace=run.marketplace,
            dry_run=dry_run,
            batch_rows=settings.catalog_batch_rows,
            max_listed=settings.catalog_import_max_listed,
        )
        if background:
            jobs.run_in_background(job, remove_after=path)
            handed_over = True
            accepted = ImportRunAccepted(run_id=run.id, status="running")
            return JSONResponse(accepted.model_dump(), status_code=202)
        return _import_result(job())
    finally:
        if not handed_over:
            path.unlink(missing_ok=True)


@admin_router.get("/api/v1/admin/marketplace-products/import-runs", response_model=ImportRunList)
def list_import_runs(
    request: Request, session: SessionDep, _: AdminDep, skip: Skip = 0, limit: Limit = 50
) -> ImportRunList:
    """Feed import runs, newest first, with their progress."""
    runs, total = service.list_import_runs(session, skip=skip, limit=limit)
    lease = request.app.state.settings.catalog_import_lease_seconds
    return ImportRunList(
        runs=[_run_out(ImportRunSummary, run, lease) for run in runs],
        total=total,
        skip=skip,
        limit=limit,
    )


@admin_router.get(
    "/api/v1/admin/marketplace-products/import-runs/{run_id}", response_model=ImportRunOut
)
def get_import_run(
    run_id: IdParam,
    request: Request,
    session: SessionDep,
    _: AdminDep,
) -> ImportRunOut:
    """One feed import run: progress, counts and its first row errors and warnings."""
    run = service.get_import_run(session, run_id=run_id)
    return _run_out(ImportRunOut, run, request.app.state.settings.catalog_import_lease_seconds)


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
    vendor_id: IdParam, body: CopyToCatalogRequest, request: Request, _: AdminDep
) -> CopyToCatalogResult:
    """Copy marketplace products into a vendor's catalog and auto-match its pending exceptions
    (committed in batches; a re-run skips what was copied)."""
    return _copy(request, vendor_id, body)


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
    body: CopyToCatalogRequest, request: Request, principal: VendorDep
) -> CopyToCatalogResult:
    """Copy marketplace products into your catalog and auto-match your pending exceptions
    (committed in batches; a re-run skips what was copied)."""
    assert principal.vendor is not None
    return _copy(request, principal.vendor.id, body)


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
