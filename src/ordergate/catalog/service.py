"""Catalog use cases: marketplace feed import, copy to a vendor catalog, direct product creation,
listing. Every path that adds products to a vendor catalog auto-matches pending exceptions."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from sqlalchemy import ColumnElement, false, func, literal, or_, select
from sqlalchemy.orm import Session

from ordergate.catalog.feed import FeedProduct, FeedRowError, gtin_fields, read_feed
from ordergate.catalog.gtin import canonical_gtin, normalize_gtin
from ordergate.catalog.models import MarketplaceProduct, Product
from ordergate.db import upsert_insert, utcnow
from ordergate.errors import NotFoundError, ValidationFailedError
from ordergate.item_exceptions.matching import auto_match_products, batches, in_values
from ordergate.vendors.service import get_vendor

DEFAULT_MARKETPLACE = "letzshop"
IMPORT_BATCH_SIZE = 1000
# Rows per copy statement; ids per lookup statement (bound parameters stay well below limits).
COPY_BATCH_SIZE = 900
MAX_COPY_IDS = 100_000
# How many missing ids an error lists; the count is always exact.
MAX_IDS_REPORTED = 100


class MarketplaceProductsNotFoundError(NotFoundError):
    code = "MARKETPLACE_PRODUCTS_NOT_FOUND"


class InvalidGtinError(ValidationFailedError):
    code = "INVALID_GTIN"


@dataclass(slots=True)
class ImportSummary:
    created: int = 0
    updated: int = 0
    failed: list[FeedRowError] = field(default_factory=list)
    total_rows: int = 0


@dataclass(frozen=True, slots=True)
class CopySummary:
    created: int
    skipped: int
    auto_matched: int


@dataclass(frozen=True, slots=True)
class CreatedProduct:
    product: Product
    auto_matched: int


# --- Marketplace feed import ----------------------------------------------------------------


def import_marketplace_csv(
    session: Session,
    *,
    stream: IO[bytes],
    marketplace: str = DEFAULT_MARKETPLACE,
    batch_size: int = IMPORT_BATCH_SIZE,
    on_batch: Callable[[ImportSummary], None] | None = None,
) -> ImportSummary:
    """Upsert every good row of a tab-separated feed on (marketplace, id); bad rows are reported
    with their row number and skipped. A file that is not a readable feed raises before the
    caller commits, so it writes nothing."""
    summary = ImportSummary()
    first_row_of: dict[str, int] = {}
    batch: list[FeedProduct] = []
    for result in read_feed(stream):
        summary.total_rows += 1
        if isinstance(result, FeedRowError):
            summary.failed.append(result)
            continue
        first = first_row_of.setdefault(result.key, result.row)
        if first != result.row:
            summary.failed.append(
                FeedRowError(result.row, f"id '{result.key}' repeats row {first}; row skipped")
            )
            continue
        batch.append(result)
        if len(batch) >= batch_size:
            _upsert_batch(session, marketplace=marketplace, batch=batch, summary=summary)
            batch = []
            if on_batch is not None:
                on_batch(summary)
    if batch:
        _upsert_batch(session, marketplace=marketplace, batch=batch, summary=summary)
    if on_batch is not None:
        on_batch(summary)
    return summary


def _upsert_batch(
    session: Session, *, marketplace: str, batch: list[FeedProduct], summary: ImportSummary
) -> None:
    keys = [product.key for product in batch]
    existing = session.scalar(
        select(func.count())
        .select_from(MarketplaceProduct)
        .where(
            MarketplaceProduct.marketplace == marketplace,
            MarketplaceProduct.marketplace_product_id.in_(keys),
        )
    )
    now = utcnow()
    rows = [
        {**product.values, "marketplace": marketplace, "created_at": now, "updated_at": now}
        for product in batch
    ]
    insert = upsert_insert(session)(MarketplaceProduct).values(rows)
    updatable = [c for c in rows[0] if c not in ("marketplace", "marketplace_product_id")]
    updatable.remove("created_at")
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["marketplace", "marketplace_product_id"],
            set_={column: insert.excluded[column] for column in updatable},
        )
    )
    summary.updated += existing or 0
    summary.created += len(batch) - (existing or 0)


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


def copy_to_catalog(
    session: Session, *, vendor_id: int, marketplace_product_ids: Sequence[int]
) -> CopySummary:
    """Copy marketplace products into the vendor's catalog, skipping those already copied, then
    auto-match the vendor's pending exceptions against the new products. Any unknown id fails
    the whole request before anything is written."""
    get_vendor(session, vendor_id=vendor_id)
    ids = sorted(set(marketplace_product_ids))
    if len(ids) > MAX_COPY_IDS:
        raise ValidationFailedError(
            f"At most {MAX_COPY_IDS} marketplace products per request; got {len(ids)}",
            details={"field": "marketplace_product_ids", "max": MAX_COPY_IDS},
        )
    _ensure_marketplace_products_exist(session, ids=ids)
    now = utcnow()
    insert = upsert_insert(session)
    new_product_ids: list[int] = []
    for chunk in batches(session, ids, COPY_BATCH_SIZE):
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
        ).where(in_values(session, MarketplaceProduct.id, chunk))
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
        new_product_ids.extend(session.scalars(statement))
    auto_matched = auto_match_products(session, vendor_id=vendor_id, product_ids=new_product_ids)
    return CopySummary(
        created=len(new_product_ids),
        skipped=len(ids) - len(new_product_ids),
        auto_matched=auto_matched,
    )


def _ensure_marketplace_products_exist(session: Session, *, ids: list[int]) -> None:
    missing: list[int] = []
    for chunk in batches(session, ids, COPY_BATCH_SIZE):
        found = set(
            session.scalars(
                select(MarketplaceProduct.id).where(
                    in_values(session, MarketplaceProduct.id, chunk)
                )
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


def _chunks(items: Sequence[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])
