"""The catalog over HTTP. Copy-to-catalog, product creation and product lists are declared
once and mounted in both trees (admin: the vendor in the path; vendor: the token's); the
marketplace feed import, its runs and the marketplace list exist in the admin tree only.

This module is wiring: it hands the catalog's write use cases the exception workflow's
matching (``catalog/ports.py``)."""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from fastapi.utils import generate_unique_id

from ordergate.catalog import jobs, service
from ordergate.catalog.models import CatalogImportRun, ImportRunStatus
from ordergate.catalog.schemas import (
    MARKETPLACE_PATTERN,
    CopyToCatalogRequest,
    CopyToCatalogResult,
    ImportResult,
    ImportRunAccepted,
    ImportRunList,
    ImportRunOut,
    ImportRunSummary,
    MarketplaceProductList,
    ProductCreate,
    ProductCreated,
    ProductList,
)
from ordergate.deps import AUTO_MATCH, GTIN_MATCHING, AdminDep, JobDep, PageQuery, SessionDep, Tree
from ordergate.schemas import IdParam, QueryFlag, Text
from ordergate.scope import Scope, VendorScope

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


def mount(tree: Tree) -> APIRouter:
    router = tree.router(prefix=tree.prefix)
    if tree.is_admin:
        _marketplace_routes(router)
    vendor_path = tree.pick(admin="/vendors/{vendor_id}", vendor="")

    # The admin tree's id keeps FastAPI's default form (this route was admin-only).
    @router.get(
        "/marketplace-products",
        response_model=MarketplaceProductList,
        generate_unique_id_function=generate_unique_id if tree.is_admin else tree.operation_id,
    )
    def list_marketplace_products(
        session: SessionDep,
        page: PageQuery,
        search: Search = None,
        marketplace: MarketplaceQuery = None,
        _: Scope = tree.all,
    ) -> MarketplaceProductList:
        """Marketplace products, searchable by GTIN (any valid form), marketplace id or title.
        Vendor staff see them too: they are what copy-to-catalog copies from."""
        rows, total = service.list_marketplace_products(
            session, search=search, marketplace=marketplace, page=page
        )
        return MarketplaceProductList.of(rows, total, page)

    @router.post(
        f"{vendor_path}/marketplace-products/copy-to-catalog", response_model=CopyToCatalogResult
    )
    def copy_to_catalog(
        body: CopyToCatalogRequest,
        context: JobDep,
        scope: VendorScope = tree.vendor_in_path,
    ) -> CopyToCatalogResult:
        """Copy marketplace products into the vendor's catalog and auto-match its pending
        exceptions (committed in batches; a re-run skips what was copied)."""
        context.hand_off()
        summary = jobs.run_copy_to_catalog(
            context.session_factory,
            scope=scope,
            marketplace_product_ids=body.marketplace_product_ids,
            batch_rows=context.settings.catalog_copy_batch_rows,
            matching=GTIN_MATCHING,
        )
        return CopyToCatalogResult.model_validate(summary)

    @router.post(f"{vendor_path}/products", response_model=ProductCreated, status_code=201)
    def create_product(
        body: ProductCreate, session: SessionDep, scope: VendorScope = tree.vendor_in_path
    ) -> ProductCreated:
        """Add a product to the vendor's catalog; pending exceptions with its GTIN auto-match."""
        created = service.create_product(
            session,
            scope=scope,
            **body.model_dump(),
            after_products_added=AUTO_MATCH,
        )
        return ProductCreated.model_validate(created)

    @router.get(f"{vendor_path}/products", response_model=ProductList)
    def list_products(
        session: SessionDep,
        page: PageQuery,
        search: Search = None,
        is_active: QueryFlag | None = None,
        scope: VendorScope = tree.vendor_in_path,
    ) -> ProductList:
        """The vendor's catalog (never the placeholder), searchable by GTIN, SKU or title."""
        products, total = service.list_products(
            session, scope=scope, search=search, is_active=is_active, page=page
        )
        return ProductList.of(products, total, page)

    return router


def _marketplace_routes(router: APIRouter) -> None:
    """The admin tree's marketplace routes (their operation ids keep FastAPI's default form)."""
    route = partial(router.api_route, generate_unique_id_function=generate_unique_id)

    @route(
        "/marketplace-products/import",
        methods=["POST"],
        response_model=ImportResult,
        responses={202: {"model": ImportRunAccepted, "description": "Started in the background"}},
    )
    def import_marketplace_products(
        session: SessionDep,
        admin: AdminDep,
        context: JobDep,
        file: Annotated[
            UploadFile, File(description="Tab-separated Letzshop/Google-Shopping feed")
        ],
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
        Bad rows are listed with their row number (header = row 1) and the good rows are kept;
        an empty cell never clears a stored value. Every import is recorded as a run
        (import-runs)."""
        settings = context.settings
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
            context.hand_off()
            job = partial(
                jobs.run_feed_import,
                context.session_factory,
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
                accepted = ImportRunAccepted(run_id=run.id, status=ImportRunStatus.RUNNING)
                return JSONResponse(accepted.model_dump(), status_code=202)
            return ImportResult.model_validate(job())
        finally:
            if not handed_over:
                path.unlink(missing_ok=True)

    @route("/marketplace-products/import-runs", methods=["GET"], response_model=ImportRunList)
    def list_import_runs(
        session: SessionDep, _: AdminDep, context: JobDep, page: PageQuery
    ) -> ImportRunList:
        """Feed import runs, newest first, with their progress."""
        runs, total = service.list_import_runs(session, page=page)
        lease = context.settings.catalog_import_lease_seconds
        return ImportRunList.of([_run_out(ImportRunSummary, r, lease) for r in runs], total, page)

    @route(
        "/marketplace-products/import-runs/{run_id}", methods=["GET"], response_model=ImportRunOut
    )
    def get_import_run(
        run_id: IdParam, session: SessionDep, _: AdminDep, context: JobDep
    ) -> ImportRunOut:
        """One feed import run: progress, counts and its first row errors and warnings."""
        run = service.get_import_run(session, run_id=run_id)
        return _run_out(ImportRunOut, run, context.settings.catalog_import_lease_seconds)


RunOut = TypeVar("RunOut", ImportRunSummary, ImportRunOut)


def _run_out(schema: type[RunOut], run: CatalogImportRun, lease_seconds: int) -> RunOut:
    """The run as stored, with the status it is reported under (a dead job's run reads as
    abandoned, without writing that on a read)."""
    status = service.reported_status(run, lease_seconds=lease_seconds)
    return schema.model_validate(run).model_copy(update={"status": status})
