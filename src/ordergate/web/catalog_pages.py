"""The catalog pages (docs/dashboard.md, "Catalog"): upload a marketplace feed, browse and
search the marketplace products, copy them into the vendor's catalog, browse that catalog.

Every action calls what the API's endpoint calls: the upload the feed-import job
(`catalog.jobs.run_feed_import`, admins only, as `POST …/marketplace-products/import`), the
copy the copy-to-catalog job with the exception workflow's matching (`jobs.run_copy_to_catalog`
with `deps.GTIN_MATCHING`), the lists the catalog's list services."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import Response

from ordergate.catalog import jobs
from ordergate.catalog import service as catalog_service
from ordergate.catalog.errors import FeedFormatError
from ordergate.db import PageRequest
from ordergate.deps import GTIN_MATCHING, JobDep, SessionDep
from ordergate.errors import AppError, PermissionDeniedError, ValidationFailedError
from ordergate.item_exceptions import service as exception_service
from ordergate.routing import CommittingRoute
from ordergate.schemas import INT32_MAX, IdParam
from ordergate.scope import VendorScope
from ordergate.web.deps import FormDep, WebContext, WebDep, vendor_scope
from ordergate.web.templating import redirect, render

router = APIRouter(route_class=CommittingRoute, include_in_schema=False)
PAGE_SIZE = 50
RECENT_RUNS = 5

Search = Annotated[str | None, Query(max_length=500)]
Skip = Annotated[int, Query(ge=0, le=INT32_MAX)]


def _admin(web: WebContext) -> None:
    """The API's rule for the feed import and its runs (`deps.require_admin`)."""
    if not web.is_admin:
        raise PermissionDeniedError("Admin access required")


def _own_scope(web: WebContext) -> VendorScope | None:
    """The vendor worked in, or None on an admin's "all vendors"."""
    scope = web.scope
    return scope if isinstance(scope, VendorScope) else None


def _marketplace_context(
    session: SessionDep,
    web: WebContext,
    *,
    search: str | None,
    awaited: bool,
    skip: int,
) -> dict[str, Any]:
    scope = _own_scope(web)
    page = PageRequest(skip=skip, limit=PAGE_SIZE)
    awaited = awaited and scope is not None
    if awaited and scope is not None:
        rows, total = exception_service.list_awaited_marketplace_products(
            session, scope=scope, search=search, page=page
        )
    else:
        rows, total = catalog_service.list_marketplace_products(session, search=search, page=page)
    in_catalog = (
        catalog_service.marketplace_ids_in_catalog(session, scope=scope, products=rows)
        if scope is not None
        else set()
    )
    runs: list[Any] = []
    if web.is_admin:
        runs, _ = catalog_service.list_import_runs(
            session, page=PageRequest(skip=0, limit=RECENT_RUNS)
        )
    filters = {k: v for k, v in (("search", search), ("awaited", "1" if awaited else None)) if v}
    return {
        "web": web,
        "section": "catalog",
        "tab": "marketplace",
        "products": rows,
        "total": total,
        "skip": skip,
        "limit": PAGE_SIZE,
        "search": search or "",
        "awaited": awaited,
        "filters": filters,
        "query": urlencode(filters),
        "in_catalog": in_catalog,
        "runs": runs,
        "lease": None,
    }


@router.get("/catalog")
def marketplace_page(
    request: Request,
    session: SessionDep,
    web: WebDep,
    search: Search = None,
    awaited: bool = False,
    skip: Skip = 0,
) -> Response:
    context = _marketplace_context(session, web, search=search, awaited=awaited, skip=skip)
    return render(request, "catalog.html", context, block="results")


@router.post("/catalog/import")
def import_feed(
    request: Request,
    session: SessionDep,
    web: FormDep,
    context: JobDep,
    file: Annotated[UploadFile, File()],
    dry_run: Annotated[bool, Form()] = False,
) -> Response:
    """The API's upload, as a form: the same job in the foreground, then the run's page."""
    _admin(web)
    settings = context.settings
    path = jobs.spool_upload(file.file, directory=settings.catalog_import_dir)
    try:
        run = catalog_service.start_import_run(
            session,
            marketplace=catalog_service.DEFAULT_MARKETPLACE,
            filename=file.filename,
            dry_run=dry_run,
            triggered_by=web.user.id,
            lease_seconds=settings.catalog_import_lease_seconds,
        )
        run_id = run.id
        context.hand_off()
        try:
            summary = jobs.run_feed_import(
                context.session_factory,
                run_id=run_id,
                path=path,
                marketplace=catalog_service.DEFAULT_MARKETPLACE,
                dry_run=dry_run,
                batch_rows=settings.catalog_batch_rows,
                max_listed=settings.catalog_import_max_listed,
            )
        except FeedFormatError as error:
            # Recorded on the run as failed, as the API's upload records it.
            return redirect(
                request, f"/catalog/imports/{run_id}", flash=error.message, level="error"
            )
    finally:
        path.unlink(missing_ok=True)
    return redirect(request, f"/catalog/imports/{run_id}", flash=_import_message(summary))


def _import_message(summary: catalog_service.ImportSummary) -> str:
    verb = "would create" if summary.dry_run else "created"
    text = (
        f"{summary.total_rows} rows read: {verb} {summary.created}, updated {summary.updated}, "
        f"unchanged {summary.unchanged}"
    )
    if summary.failed_count:
        text += f"; {summary.failed_count} row(s) skipped with errors"
    if summary.warnings_count:
        text += f"; {summary.warnings_count} warning(s)"
    return text + "."


@router.get("/catalog/imports/{run_id}")
def import_run_page(
    request: Request,
    session: SessionDep,
    web: WebDep,
    context: JobDep,
    run_id: IdParam,
) -> Response:
    _admin(web)
    run = catalog_service.get_import_run(session, run_id=run_id)
    status = catalog_service.reported_status(
        run, lease_seconds=context.settings.catalog_import_lease_seconds
    )
    return render(
        request,
        "catalog_import.html",
        {"web": web, "section": "catalog", "tab": "marketplace", "run": run, "status": status},
    )


@router.post("/catalog/copy")
def copy_to_catalog(
    request: Request,
    session: SessionDep,
    web: FormDep,
    context: JobDep,
    ids: Annotated[list[int], Form(max_length=catalog_service.MAX_COPY_IDS)] = [],  # noqa: B006
    copy_all: Annotated[bool, Form()] = False,
    search: Annotated[str | None, Form(max_length=500)] = None,
    awaited: Annotated[bool, Form()] = False,
) -> Response:
    """Copy the selected marketplace products (or all the list shows) into the vendor's
    catalog; the message is the job's answer: copied, already there, auto-matched."""
    scope = vendor_scope(web)
    back = "/catalog?" + urlencode(
        {k: v for k, v in (("search", search), ("awaited", "1" if awaited else None)) if v}
    )
    try:
        if copy_all:
            chosen = (
                exception_service.awaited_marketplace_product_ids(
                    session, scope=scope, search=search
                )
                if awaited
                else catalog_service.marketplace_product_ids(session, search=search)
            )
        else:
            chosen = ids
        if not chosen:
            raise ValidationFailedError(
                "Select at least one marketplace product to copy",
                details={"field": "marketplace_product_ids"},
            )
        # The job checks again; checking here first lets a refusal re-render this page.
        catalog_service.checked_copy_ids(session, scope=scope, marketplace_product_ids=chosen)
    except AppError as error:
        page = _marketplace_context(session, web, search=search, awaited=awaited, skip=0)
        return render(
            request, "catalog.html", {**page, "error": error}, status_code=error.status_code
        )
    vendor_name = web.vendor.name if web.vendor else ""
    context.hand_off()
    summary = jobs.run_copy_to_catalog(
        context.session_factory,
        scope=scope,
        marketplace_product_ids=chosen,
        batch_rows=context.settings.catalog_copy_batch_rows,
        matching=GTIN_MATCHING,
    )
    message = (
        f"Copied {summary.created} product(s) into {vendor_name}'s catalog"
        f" ({summary.skipped} already there); "
        f"{summary.auto_matched} pending exception(s) auto-matched."
    )
    return redirect(request, back, flash=message)


@router.get("/catalog/products")
def vendor_catalog_page(
    request: Request,
    session: SessionDep,
    web: WebDep,
    search: Search = None,
    skip: Skip = 0,
) -> Response:
    scope = vendor_scope(web)
    products, total = catalog_service.list_products(
        session, scope=scope, search=search, page=PageRequest(skip=skip, limit=PAGE_SIZE)
    )
    filters = {"search": search} if search else {}
    return render(
        request,
        "catalog_products.html",
        {
            "web": web,
            "section": "catalog",
            "tab": "products",
            "products": products,
            "total": total,
            "skip": skip,
            "limit": PAGE_SIZE,
            "search": search or "",
            "query": urlencode(filters),
        },
        block="results",
    )
