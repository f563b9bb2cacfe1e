"""Catalog use cases: marketplace feed import, copy to a vendor catalog, direct product creation,
listing. Every path that adds products to a vendor catalog resolves the exceptions waiting for
them, through the interfaces in ``catalog/ports.py`` its caller passes in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from ordergate.catalog import repository
from ordergate.catalog.errors import (
    CatalogImportRunNotFoundError,
    InvalidGtinError,
    MarketplaceProductsNotFoundError,
    TooManyCopyIdsError,
)
from ordergate.catalog.feed import FeedProduct, FeedRowError, FeedRowWarning, gtin_fields
from ordergate.catalog.models import (
    MAX_COPY_IDS,
    CatalogImportRun,
    ImportRunStatus,
    MarketplaceProduct,
    Product,
)
from ordergate.catalog.ports import ProductsAdded
from ordergate.db import PageRequest, utcnow
from ordergate.gtin import normalize_gtin
from ordergate.scope import VendorScope
from ordergate.vendors.service import get_vendor

DEFAULT_MARKETPLACE = "letzshop"


@dataclass(frozen=True, slots=True)
class CopySummary:
    created: int
    skipped: int
    auto_matched: int


@dataclass(frozen=True, slots=True)
class CopiedBatch:
    created: int
    gtins: set[str]


@dataclass(frozen=True, slots=True)
class CreatedProduct:
    product: Product
    auto_matched: int


# --- Marketplace feed import ----------------------------------------------------------------
# The job that drives these, batch by batch with a commit each, is ``catalog/jobs.py``.

# Compared to tell an update from an unchanged row, and reported by a dry run.
_COMPARED = (
    "title",
    "description",
    "brand",
    "mpn",
    "sku",
    "gtin",
    "gtin_normalized",
    "gtin_type",
    "price_cents",
    "currency",
    "attributes",
)
_GTIN_FIELDS = ("gtin", "gtin_normalized", "gtin_type")


@dataclass(frozen=True, slots=True)
class FeedChange:
    row: int
    key: str
    action: Literal["create", "update"]
    fields: dict[str, tuple[Any, Any]]  # column -> (stored, new); empty for a create


@dataclass(slots=True)
class BatchOutcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    changes: list[FeedChange] = field(default_factory=list)


@dataclass(slots=True)
class ImportSummary:
    """A run's progress. The lists hold the first ``max_listed`` entries; the counts are exact."""

    run_id: int
    dry_run: bool = False
    max_listed: int = 1000
    status: ImportRunStatus = ImportRunStatus.RUNNING
    total_rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed_count: int = 0
    warnings_count: int = 0
    failed: list[FeedRowError] = field(default_factory=list)
    warnings: list[FeedRowWarning] = field(default_factory=list)
    changes: list[FeedChange] = field(default_factory=list)
    bytes_read: int = 0

    def add_error(self, error: FeedRowError) -> None:
        self.failed_count += 1
        if len(self.failed) < self.max_listed:
            self.failed.append(error)

    def add_warning(self, warning: FeedRowWarning) -> None:
        self.warnings_count += 1
        if len(self.warnings) < self.max_listed:
            self.warnings.append(warning)

    def add_batch(self, outcome: BatchOutcome, *, max_changes: int) -> None:
        self.created += outcome.created
        self.updated += outcome.updated
        self.unchanged += outcome.unchanged
        room = max(0, max_changes - len(self.changes))
        self.changes.extend(outcome.changes[:room])


def apply_feed_batch(
    session: Session, *, marketplace: str, products: Sequence[FeedProduct], dry_run: bool
) -> BatchOutcome:
    """Create or update one batch of feed rows (distinct ids) on (marketplace, id). A cell the
    feed leaves empty keeps the stored value; an invalid GTIN never replaces a valid stored one.
    Rows equal to what is stored are not written. ``dry_run`` only compares."""
    ordered = sorted(products, key=lambda p: p.key)  # one lock order for concurrent imports
    stored = repository.stored_marketplace_rows(
        session, marketplace=marketplace, keys=[p.key for p in ordered], columns=_COMPARED
    )
    outcome = BatchOutcome()
    rows: list[dict[str, Any]] = []
    now = utcnow()
    for product in ordered:
        old = stored.get(product.key)
        if old is None:
            outcome.created += 1
            outcome.changes.append(FeedChange(product.row, product.key, "create", {}))
            values = product.values
        else:
            values = _merged(old, product.values)
            changed = {c: (old[c], values[c]) for c in _COMPARED if values[c] != old[c]}
            if not changed:
                outcome.unchanged += 1
                continue
            outcome.updated += 1
            outcome.changes.append(FeedChange(product.row, product.key, "update", changed))
        rows.append({**values, "marketplace": marketplace, "created_at": now, "updated_at": now})
    if rows and not dry_run:
        repository.upsert_marketplace_products(session, rows)
    return outcome


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    values = {**new}
    for name in _COMPARED:
        if values[name] is None:
            values[name] = old[name]
    if new["gtin"] is not None and new["gtin_normalized"] is None and old["gtin_normalized"]:
        values.update({c: old[c] for c in _GTIN_FIELDS})
    values["attributes"] = {**(old["attributes"] or {}), **new["attributes"]}
    return values


def start_import_run(
    session: Session,
    *,
    marketplace: str,
    filename: str | None,
    dry_run: bool,
    triggered_by: int | None = None,
    lease_seconds: int = 120,
) -> CatalogImportRun:
    """Record a new run (and, first, earlier runs whose process died as abandoned)."""
    now = utcnow()
    repository.abandon_expired_runs(session, lease_seconds=lease_seconds, now=now)
    run = CatalogImportRun(
        marketplace=marketplace,
        filename=(filename or None) and filename[:255],
        dry_run=dry_run,
        status=ImportRunStatus.RUNNING,
        triggered_by=triggered_by,
        errors=[],
        warnings=[],
        started_at=now,
        heartbeat_at=now,
    )
    session.add(run)
    session.flush()
    return run


def save_import_run(
    session: Session, summary: ImportSummary, *, lists_changed: bool, error: str | None = None
) -> None:
    """Write the run's counts and heartbeat; the lists only when they grew (they can be long)."""
    now = utcnow()
    values: dict[str, Any] = {
        "status": summary.status,
        "rows_seen": summary.total_rows,
        "rows_created": summary.created,
        "rows_updated": summary.updated,
        "rows_unchanged": summary.unchanged,
        "rows_failed": summary.failed_count,
        "warnings_count": summary.warnings_count,
        "heartbeat_at": now,
    }
    if lists_changed:
        values["errors"] = [{"row": e.row, "error": e.error} for e in summary.failed]
        values["warnings"] = [{"row": w.row, "warning": w.warning} for w in summary.warnings]
    if error is not None:
        values["error"] = error
    if summary.status in ImportRunStatus.finished():
        values["finished_at"] = now
    repository.update_import_run(session, run_id=summary.run_id, values=values)


def reported_status(run: CatalogImportRun, *, lease_seconds: int) -> str:
    """``abandoned`` for a running run whose heartbeat is older than the lease: its process
    died (a live job beats once per batch)."""
    beat = run.heartbeat_at or run.started_at
    if run.status == ImportRunStatus.RUNNING and beat < utcnow() - timedelta(seconds=lease_seconds):
        return ImportRunStatus.ABANDONED
    return ImportRunStatus(run.status)


def get_import_run(session: Session, *, run_id: int) -> CatalogImportRun:
    run = repository.find_import_run(session, run_id=run_id)
    if run is None:
        raise CatalogImportRunNotFoundError(run_id)
    return run


def list_import_runs(session: Session, *, page: PageRequest) -> tuple[list[CatalogImportRun], int]:
    """Feed import runs, newest first, and their total."""
    return repository.import_runs_page(session, page=page)


def list_marketplace_products(
    session: Session,
    *,
    search: str | None = None,
    marketplace: str | None = None,
    page: PageRequest,
) -> tuple[list[MarketplaceProduct], int]:
    return repository.marketplace_products_page(
        session, search=_term(search), marketplace=marketplace, page=page
    )


def marketplace_product_ids(
    session: Session, *, search: str | None = None, marketplace: str | None = None
) -> list[int]:
    """The ids of every marketplace product ``list_marketplace_products`` finds (at most the
    copy limit plus one, so a copy of too many is refused with the copy's own error)."""
    statement = repository.marketplace_statement(search=_term(search), marketplace=marketplace)
    return repository.marketplace_ids(session, statement, limit=MAX_COPY_IDS + 1)


def marketplace_ids_in_catalog(
    session: Session, *, scope: VendorScope, products: Sequence[MarketplaceProduct]
) -> set[int]:
    """Which of ``products`` (a page) the vendor's catalog already holds, by copy or GTIN."""
    return repository.marketplace_ids_in_catalog(
        session, vendor_id=scope.vendor_id, products=products
    )


def _term(search: str | None) -> str | None:
    return search.strip() if search and search.strip() else None


# --- Vendor catalog ---------------------------------------------------------------------------


def checked_copy_ids(
    session: Session, *, scope: VendorScope, marketplace_product_ids: Sequence[int]
) -> list[int]:
    """The distinct ids to copy into the vendor's catalog, in order; any unknown id fails the
    whole copy before anything is written."""
    get_vendor(session, vendor_id=scope.vendor_id)
    ids = sorted(set(marketplace_product_ids))
    if len(ids) > MAX_COPY_IDS:
        raise TooManyCopyIdsError(given=len(ids), limit=MAX_COPY_IDS)
    missing = repository.missing_marketplace_ids(session, ids)
    if missing:
        raise MarketplaceProductsNotFoundError(missing)
    return ids


def copy_products(
    session: Session, *, scope: VendorScope, marketplace_product_ids: Sequence[int]
) -> CopiedBatch:
    """Copy one batch of (existing) marketplace products into the vendor's catalog, skipping
    those already copied. Returns how many were new and the canonical GTINs of the batch's
    active products in the catalog, new or not, for the matching step: matching after every
    batch is copied sees all candidates of a GTIN, and a re-run finishes an interrupted match."""
    created, gtins = repository.copy_marketplace_products(
        session, vendor_id=scope.vendor_id, ids=marketplace_product_ids, now=utcnow()
    )
    return CopiedBatch(created=created, gtins=gtins)


@dataclass(frozen=True, slots=True)
class NewProduct:
    title: str
    gtin: str | None = None
    # The type the GTIN's source labels it with (e.g. Letzshop's "isbn13"); by default the
    # type its length gives.
    gtin_type: str | None = None
    sku: str | None = None
    brand: str | None = None
    price_cents: int | None = None
    currency: str = "EUR"
    is_active: bool = True
    # The marketplace product it stands for (a copy-to-catalog of it then skips it).
    marketplace_product_id: int | None = None


def create_product(
    session: Session,
    *,
    scope: VendorScope,
    title: str,
    gtin: str | None = None,
    sku: str | None = None,
    brand: str | None = None,
    price_cents: int | None = None,
    currency: str = "EUR",
    is_active: bool = True,
    after_products_added: ProductsAdded,
) -> CreatedProduct:
    """Add one product to the vendor's catalog and auto-match pending exceptions to it."""
    new = NewProduct(
        title=title,
        gtin=gtin,
        sku=sku,
        brand=brand,
        price_cents=price_cents,
        currency=currency,
        is_active=is_active,
    )
    (product,), auto_matched = add_products(
        session, scope=scope, products=[new], after_products_added=after_products_added
    )
    return CreatedProduct(product=product, auto_matched=auto_matched)


def add_products(
    session: Session,
    *,
    scope: VendorScope,
    products: Sequence[NewProduct],
    after_products_added: ProductsAdded,
) -> tuple[list[Product], int]:
    """Add products to the vendor's catalog (every GTIN checked first, so one invalid GTIN
    adds none) and auto-match pending exceptions to them. Returns the products and how many
    exceptions they resolved."""
    get_vendor(session, vendor_id=scope.vendor_id)
    rows = [_product(scope.vendor_id, new) for new in products]
    added = repository.insert_products(session, rows)
    auto_matched = after_products_added(
        session, vendor_id=scope.vendor_id, product_ids=[p.id for p in added]
    )
    return added, auto_matched


def _product(vendor_id: int, new: NewProduct) -> Product:
    gtin = new.gtin.strip() if new.gtin and new.gtin.strip() else None
    if gtin is not None and normalize_gtin(gtin).canonical is None:
        raise InvalidGtinError(gtin)
    gtin_columns = gtin_fields(gtin)
    if gtin is not None and new.gtin_type is not None:
        gtin_columns["gtin_type"] = new.gtin_type
    return Product(
        vendor_id=vendor_id,
        title=new.title,
        sku=new.sku,
        brand=new.brand,
        price_cents=new.price_cents,
        currency=new.currency,
        is_active=new.is_active,
        is_placeholder=False,
        marketplace_product_id=new.marketplace_product_id,
        **gtin_columns,
    )


def has_products(session: Session, *, scope: VendorScope) -> bool:
    return repository.vendor_has_products(session, vendor_id=scope.vendor_id)


def list_products(
    session: Session,
    *,
    scope: VendorScope,
    search: str | None = None,
    is_active: bool | None = None,
    page: PageRequest,
) -> tuple[list[Product], int]:
    """The vendor's catalog; the placeholder never appears. ``search`` matches a GTIN (raw or
    canonical, so 04006381333931 finds 4006381333931), part of the SKU or part of the title."""
    return repository.products_page(
        session, scope=scope, search=_term(search), is_active=is_active, page=page
    )
