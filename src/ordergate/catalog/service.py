"""Catalog use cases: marketplace feed import, copy to a vendor catalog, direct product creation,
listing. Every path that adds products to a vendor catalog auto-matches pending exceptions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    bindparam,
    cast,
    column,
    false,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from ordergate.catalog.feed import FeedProduct, FeedRowError, FeedRowWarning, gtin_fields
from ordergate.catalog.models import CatalogImportRun, MarketplaceProduct, Product
from ordergate.db import in_list, in_list_batches, json_dumps, lease_expired, upsert_insert, utcnow
from ordergate.errors import NotFoundError, ValidationFailedError
from ordergate.gtin import canonical_gtin, normalize_gtin
from ordergate.item_exceptions.matching import auto_match_products
from ordergate.vendors.service import get_vendor

DEFAULT_MARKETPLACE = "letzshop"
# Rows per copy statement; ids per lookup statement (bound parameters stay well below limits).
COPY_BATCH_SIZE = 900
MAX_COPY_IDS = 100_000
# How many missing ids an error lists; the count is always exact.
MAX_IDS_REPORTED = 100


class MarketplaceProductsNotFoundError(NotFoundError):
    code = "MARKETPLACE_PRODUCTS_NOT_FOUND"


class InvalidGtinError(ValidationFailedError):
    code = "INVALID_GTIN"


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
# One value for every row of a batch: bound once, not sent per row.
_SAME_FOR_BATCH = ("marketplace", "created_at", "updated_at")
RUN_STATUSES_DONE = ("succeeded", "partial", "failed", "abandoned")


class CatalogImportRunNotFoundError(NotFoundError):
    code = "CATALOG_IMPORT_RUN_NOT_FOUND"


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
    status: str = "running"
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
    stored = _stored_rows(session, marketplace=marketplace, keys=[p.key for p in ordered])
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
        _upsert(session, rows)
    return outcome


def _stored_rows(
    session: Session, *, marketplace: str, keys: list[str]
) -> dict[str, dict[str, Any]]:
    columns = [MarketplaceProduct.marketplace_product_id] + [
        getattr(MarketplaceProduct, c) for c in _COMPARED
    ]
    query = select(*columns).where(
        MarketplaceProduct.marketplace == marketplace,
        MarketplaceProduct.marketplace_product_id.in_(keys),
    )
    if session.get_bind().dialect.name == "postgresql":
        # Held to the batch's commit, so a concurrent import cannot update between read and write.
        query = query.with_for_update()
    return {row[0]: dict(zip(_COMPARED, row[1:], strict=True)) for row in session.execute(query)}


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    values = {**new}
    for name in _COMPARED:
        if values[name] is None:
            values[name] = old[name]
    if new["gtin"] is not None and new["gtin_normalized"] is None and old["gtin_normalized"]:
        values.update({c: old[c] for c in _GTIN_FIELDS})
    values["attributes"] = {**(old["attributes"] or {}), **new["attributes"]}
    return values


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
    table = MarketplaceProduct.__table__
    # A Core insert of the table: the ORM's bulk path cost as much again per row.
    insert = upsert_insert(session)(table)
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        insert = insert.from_select(list(rows[0]), _unnested(rows))
    # coalesce: a row inserted by a concurrent import between our read and write keeps its values.
    statement = insert.on_conflict_do_update(
        index_elements=["marketplace", "marketplace_product_id"],
        set_={
            c: insert.excluded[c]
            if c in ("attributes", "updated_at")
            else func.coalesce(insert.excluded[c], table.c[c])
            for c in rows[0]
            if c not in ("marketplace", "marketplace_product_id", "created_at")
        },
    )
    session.execute(statement) if postgres else session.execute(statement, rows)


def _unnested(rows: list[dict[str, Any]]) -> Select[Any]:
    """The rows as one SELECT over ``jsonb_to_recordset`` of one JSON parameter: PostgreSQL
    plans one statement per batch, where executemany had it parse and plan one per row
    (nothing is prepared, see db.py), and orjson encodes the batch at once, where arrays per
    column went through psycopg's element-by-element adaptation."""
    table = MarketplaceProduct.__table__
    per_row = [c for c in rows[0] if c not in _SAME_FOR_BATCH]
    payload = json_dumps([{c: row[c] for c in per_row} for row in rows])
    records = (
        func.jsonb_to_recordset(cast(bindparam("rows", payload, type_=Text), JSONB))
        .table_valued(*(column(c, table.c[c].type) for c in per_row))
        .render_derived(with_types=True)
    )
    first = rows[0]
    return select(
        *(
            literal(first[c], table.c[c].type).label(c) if c in _SAME_FOR_BATCH else records.c[c]
            for c in first
        )
    )


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
    session.execute(
        update(CatalogImportRun)
        .where(*lease_expired(CatalogImportRun, lease_seconds=lease_seconds))
        .values(status="abandoned", finished_at=now)
    )
    run = CatalogImportRun(
        marketplace=marketplace,
        filename=(filename or None) and filename[:255],
        dry_run=dry_run,
        status="running",
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
    if summary.status in RUN_STATUSES_DONE:
        values["finished_at"] = now
    session.execute(
        update(CatalogImportRun).where(CatalogImportRun.id == summary.run_id).values(**values)
    )


def reported_status(run: CatalogImportRun, *, lease_seconds: int) -> str:
    """``abandoned`` for a running run whose heartbeat is older than the lease: its process
    died (a live job beats once per batch)."""
    beat = run.heartbeat_at or run.started_at
    if run.status == "running" and beat < utcnow() - timedelta(seconds=lease_seconds):
        return "abandoned"
    return run.status


def get_import_run(session: Session, *, run_id: int) -> CatalogImportRun:
    run = session.get(CatalogImportRun, run_id)
    if run is None:
        raise CatalogImportRunNotFoundError(f"Catalog import run {run_id} not found")
    return run


def list_import_runs(
    session: Session, *, skip: int = 0, limit: int = 50
) -> tuple[list[CatalogImportRun], int]:
    total = session.scalar(select(func.count()).select_from(CatalogImportRun))
    runs = session.scalars(
        select(CatalogImportRun).order_by(CatalogImportRun.id.desc()).offset(skip).limit(limit)
    ).all()
    return list(runs), total or 0


def list_marketplace_products(
    session: Session,
    *,
    search: str | None = None,
    marketplace: str | None = None,
    skip: int = 0,
    limit: int = 50,
) -> tuple[list[MarketplaceProduct], int]:
    conditions: list[ColumnElement[bool]] = []
    if marketplace:
        conditions.append(MarketplaceProduct.marketplace == marketplace)
    if search and search.strip():
        term = search.strip()
        matches = [
            MarketplaceProduct.marketplace_product_id == term,
            MarketplaceProduct.gtin == term,
            MarketplaceProduct.title.icontains(term, autoescape=True),
        ]
        canonical = canonical_gtin(term)
        if canonical is not None:
            matches.append(MarketplaceProduct.gtin_normalized == canonical)
        conditions.append(or_(*matches))
    total = session.scalar(select(func.count()).select_from(MarketplaceProduct).where(*conditions))
    rows = session.scalars(
        select(MarketplaceProduct)
        .where(*conditions)
        .order_by(MarketplaceProduct.id)
        .offset(skip)
        .limit(limit)
    ).all()
    return list(rows), total or 0


# --- Vendor catalog ---------------------------------------------------------------------------


def checked_copy_ids(
    session: Session, *, vendor_id: int, marketplace_product_ids: Sequence[int]
) -> list[int]:
    """The distinct ids to copy into the vendor's catalog, in order; any unknown id fails the
    whole copy before anything is written."""
    get_vendor(session, vendor_id=vendor_id)
    ids = sorted(set(marketplace_product_ids))
    if len(ids) > MAX_COPY_IDS:
        raise ValidationFailedError(
            f"At most {MAX_COPY_IDS} marketplace products per request; got {len(ids)}",
            details={"field": "marketplace_product_ids", "max": MAX_COPY_IDS},
        )
    _ensure_marketplace_products_exist(session, ids=ids)
    return ids


def copy_products(
    session: Session, *, vendor_id: int, marketplace_product_ids: Sequence[int]
) -> CopiedBatch:
    """Copy one batch of (existing) marketplace products into the vendor's catalog, skipping
    those already copied. Returns how many were new and the canonical GTINs of the batch's
    active products in the catalog, new or not, for ``match_gtins``: matching after every batch
    is copied sees all candidates of a GTIN, and a re-run finishes an interrupted match."""
    now = utcnow()
    insert = upsert_insert(session)
    created = 0
    gtins: set[str] = set()
    for chunk in in_list_batches(session, marketplace_product_ids, COPY_BATCH_SIZE):
        source = select(
            literal(vendor_id),
            MarketplaceProduct.id,
            MarketplaceProduct.sku,
            MarketplaceProduct.gtin,
            MarketplaceProduct.gtin_normalized,
            MarketplaceProduct.gtin_type,
            MarketplaceProduct.title,
            MarketplaceProduct.brand,
            MarketplaceProduct.price_cents,
            func.coalesce(MarketplaceProduct.currency, "EUR"),
            literal(True),
            literal(False),
            literal(now, Product.created_at.type),
            literal(now, Product.updated_at.type),
        ).where(in_list(session, MarketplaceProduct.id, chunk))
        statement = (
            insert(Product)
            .from_select(
                [
                    "vendor_id",
                    "marketplace_product_id",
                    "sku",
                    "gtin",
                    "gtin_normalized",
                    "gtin_type",
                    "title",
                    "brand",
                    "price_cents",
                    "currency",
                    "is_active",
                    "is_placeholder",
                    "created_at",
                    "updated_at",
                ],
                source,
            )
            .on_conflict_do_nothing(index_elements=["vendor_id", "marketplace_product_id"])
            .returning(Product.id)
        )
        created += len(session.scalars(statement).all())
        gtins.update(
            session.scalars(
                select(Product.gtin_normalized).where(
                    Product.vendor_id == vendor_id,
                    in_list(session, Product.marketplace_product_id, chunk),
                    Product.is_active.is_(True),
                    Product.gtin_normalized.is_not(None),
                )
            )
        )
    return CopiedBatch(created=created, gtins=gtins)


def _ensure_marketplace_products_exist(session: Session, *, ids: list[int]) -> None:
    missing: list[int] = []
    for chunk in in_list_batches(session, ids, COPY_BATCH_SIZE):
        found = set(
            session.scalars(
                select(MarketplaceProduct.id).where(in_list(session, MarketplaceProduct.id, chunk))
            )
        )
        missing.extend(i for i in chunk if i not in found)
    if missing:
        shown = ", ".join(str(i) for i in missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise MarketplaceProductsNotFoundError(
            f"{len(missing)} marketplace product(s) not found: {shown}",
            details={"missing_ids": missing[:MAX_IDS_REPORTED], "missing_count": len(missing)},
        )


def create_product(
    session: Session,
    *,
    vendor_id: int,
    title: str,
    gtin: str | None = None,
    sku: str | None = None,
    brand: str | None = None,
    price_cents: int | None = None,
    currency: str = "EUR",
    is_active: bool = True,
) -> CreatedProduct:
    """Add one product to the vendor's catalog and auto-match pending exceptions to it."""
    get_vendor(session, vendor_id=vendor_id)
    gtin = gtin.strip() if gtin and gtin.strip() else None
    if gtin is not None and normalize_gtin(gtin).canonical is None:
        raise InvalidGtinError(
            f"gtin '{gtin}' is not a valid GTIN-8/12/13/14 (length or check digit)",
            details={"field": "gtin", "value": gtin},
        )
    product = Product(
        vendor_id=vendor_id,
        title=title,
        sku=sku,
        brand=brand,
        price_cents=price_cents,
        currency=currency,
        is_active=is_active,
        is_placeholder=False,
        **gtin_fields(gtin),
    )
    session.add(product)
    session.flush()
    auto_matched = auto_match_products(session, vendor_id=vendor_id, product_ids=[product.id])
    return CreatedProduct(product=product, auto_matched=auto_matched)


def list_products(
    session: Session,
    *,
    vendor_id: int,
    search: str | None = None,
    is_active: bool | None = None,
    skip: int = 0,
    limit: int = 50,
) -> tuple[list[Product], int]:
    """The vendor's catalog; the placeholder never appears. ``search`` matches a GTIN (raw or
    canonical, so 04006381333931 finds 4006381333931), part of the SKU or part of the title."""
    get_vendor(session, vendor_id=vendor_id)
    conditions: list[ColumnElement[bool]] = [
        Product.vendor_id == vendor_id,
        Product.is_placeholder == false(),
    ]
    if is_active is not None:
        conditions.append(Product.is_active.is_(is_active))
    if search and search.strip():
        term = search.strip()
        matches = [
            Product.gtin == term,
            Product.sku.icontains(term, autoescape=True),
            Product.title.icontains(term, autoescape=True),
        ]
        canonical = canonical_gtin(term)
        if canonical is not None:
            matches.append(Product.gtin_normalized == canonical)
        conditions.append(or_(*matches))
    total = session.scalar(select(func.count()).select_from(Product).where(*conditions))
    rows = session.scalars(
        select(Product).where(*conditions).order_by(Product.id).offset(skip).limit(limit)
    ).all()
    return list(rows), total or 0
