"""The catalog's SQL: marketplace products and their import runs, vendor products and the
placeholder. Vendor products are read through the scope (`scoped`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    Text,
    and_,
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

from ordergate.catalog.models import (
    PLACEHOLDER_GTIN,
    PLACEHOLDER_GTIN_TYPE,
    CatalogImportRun,
    ImportRunStatus,
    MarketplaceProduct,
    Product,
)
from ordergate.db import (
    PageRequest,
    in_list,
    in_list_batches,
    json_dumps,
    lease_expired,
    paginate,
    upsert_insert,
)
from ordergate.gtin import canonical_gtin
from ordergate.scope import VendorScope, scoped

# Ids per lookup and rows per copy statement on SQLite (bound parameters stay well below its
# limit); PostgreSQL binds one array per statement instead (db.in_list).


def matchable(vendor_id: int) -> ColumnElement[bool]:
    """A product an order line may point at: the vendor's own, active, not its placeholder.

    The one definition, used by the importer, auto-match, the QC candidates and product checks.
    Callers compare ``gtin_normalized`` by equality, which excludes NULL; an extra
    ``IS NOT NULL`` would lead SQLite's planner to a range scan of the (vendor_id,
    gtin_normalized) index instead of an equality lookup."""
    return and_(
        Product.vendor_id == vendor_id,
        Product.is_active.is_(True),
        Product.is_placeholder == false(),
    )


# --- marketplace products (the feed import) -------------------------------------------------

# The same value for every row of a batch: bound once, not sent per row.
_SAME_FOR_BATCH = ("marketplace", "created_at", "updated_at")


def stored_marketplace_rows(
    session: Session, *, marketplace: str, keys: list[str], columns: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The stored ``columns`` of the marketplace's products with these ids, by id; on
    PostgreSQL locked to the transaction's end, so a concurrent import cannot update between
    this read and the batch's write."""
    selected = [getattr(MarketplaceProduct, c) for c in columns]
    query = select(MarketplaceProduct.marketplace_product_id, *selected).where(
        MarketplaceProduct.marketplace == marketplace,
        MarketplaceProduct.marketplace_product_id.in_(keys),
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {row[0]: dict(zip(columns, row[1:], strict=True)) for row in session.execute(query)}


def upsert_marketplace_products(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert or update the rows on (marketplace, marketplace_product_id) in one statement."""
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


def missing_marketplace_ids(session: Session, ids: Sequence[int]) -> list[int]:
    """The ids (in their order) no marketplace product has."""
    missing: list[int] = []
    for chunk in in_list_batches(session, ids):
        found = set(
            session.scalars(
                select(MarketplaceProduct.id).where(in_list(session, MarketplaceProduct.id, chunk))
            )
        )
        missing.extend(i for i in chunk if i not in found)
    return missing


def marketplace_statement(*, search: str | None, marketplace: str | None) -> Select[Any]:
    """Marketplace products by id; ``search`` matches the marketplace id, the GTIN (raw or
    canonical) or part of the title."""
    conditions: list[ColumnElement[bool]] = []
    if marketplace:
        conditions.append(MarketplaceProduct.marketplace == marketplace)
    if search:
        matches = [
            MarketplaceProduct.marketplace_product_id == search,
            MarketplaceProduct.gtin == search,
            MarketplaceProduct.title.icontains(search, autoescape=True),
        ]
        canonical = canonical_gtin(search)
        if canonical is not None:
            matches.append(MarketplaceProduct.gtin_normalized == canonical)
        conditions.append(or_(*matches))
    return select(MarketplaceProduct).where(*conditions).order_by(MarketplaceProduct.id)


def marketplace_products_page(
    session: Session, *, search: str | None, marketplace: str | None, page: PageRequest
) -> tuple[list[MarketplaceProduct], int]:
    """A page of ``marketplace_statement`` and its total."""
    statement = marketplace_statement(search=search, marketplace=marketplace)
    return paginate(session, statement, page)


def marketplace_ids(session: Session, statement: Select[Any], *, limit: int) -> list[int]:
    """The ids of (at most ``limit``) marketplace products ``statement`` selects, in order."""
    ids = statement.with_only_columns(MarketplaceProduct.id).limit(limit)
    return list(session.scalars(ids))


def marketplace_ids_in_catalog(
    session: Session, *, vendor_id: int, products: Sequence[MarketplaceProduct]
) -> set[int]:
    """Which of ``products`` the vendor's catalog already holds: copied from them, or an active
    product with their canonical GTIN (copying it would make that GTIN a duplicate)."""
    if not products:
        return set()
    ids = [p.id for p in products]
    gtins = sorted({p.gtin_normalized for p in products if p.gtin_normalized})
    copied = set(
        session.scalars(
            select(Product.marketplace_product_id).where(
                Product.vendor_id == vendor_id,
                in_list(session, Product.marketplace_product_id, ids),
            )
        )
    )
    held = set(
        session.scalars(
            select(Product.gtin_normalized).where(
                Product.vendor_id == vendor_id,
                Product.is_placeholder == false(),
                Product.is_active.is_(True),
                in_list(session, Product.gtin_normalized, gtins),
            )
        )
        if gtins
        else []
    )
    return {p.id for p in products if p.id in copied or (p.gtin_normalized in held)}


# --- import runs ------------------------------------------------------------------------------


def abandon_expired_runs(session: Session, *, lease_seconds: int, now: datetime) -> None:
    """Mark running runs whose process died (no heartbeat within the lease) abandoned."""
    session.execute(
        update(CatalogImportRun)
        .where(
            *lease_expired(
                CatalogImportRun, running=ImportRunStatus.RUNNING, lease_seconds=lease_seconds
            )
        )
        .values(status=ImportRunStatus.ABANDONED, finished_at=now)
    )


def update_import_run(session: Session, *, run_id: int, values: dict[str, Any]) -> None:
    session.execute(update(CatalogImportRun).where(CatalogImportRun.id == run_id).values(**values))


def find_import_run(session: Session, *, run_id: int) -> CatalogImportRun | None:
    return session.get(CatalogImportRun, run_id)


def import_runs_page(session: Session, *, page: PageRequest) -> tuple[list[CatalogImportRun], int]:
    statement = select(CatalogImportRun).order_by(CatalogImportRun.id.desc())
    return paginate(session, statement, page)


# --- vendor products ----------------------------------------------------------------------


def copied_columns(*, vendor_id: int, now: datetime) -> dict[str, Any]:
    """Each catalog column and the value a copy of a marketplace product gives it (an
    ``INSERT … SELECT`` from ``MarketplaceProduct``)."""
    return {
        "vendor_id": literal(vendor_id),
        "marketplace_product_id": MarketplaceProduct.id,
        "sku": MarketplaceProduct.sku,
        "gtin": MarketplaceProduct.gtin,
        "gtin_normalized": MarketplaceProduct.gtin_normalized,
        "gtin_type": MarketplaceProduct.gtin_type,
        "title": MarketplaceProduct.title,
        "brand": MarketplaceProduct.brand,
        "price_cents": MarketplaceProduct.price_cents,
        "currency": func.coalesce(MarketplaceProduct.currency, "EUR"),
        "is_active": literal(True),
        "is_placeholder": literal(False),
        "created_at": literal(now, Product.created_at.type),
        "updated_at": literal(now, Product.updated_at.type),
    }


def copy_marketplace_products(
    session: Session, *, vendor_id: int, ids: Sequence[int], now: datetime
) -> tuple[int, set[str]]:
    """Insert the marketplace products ``ids`` into the vendor's catalog, skipping those it
    already holds, set-based. Returns how many were inserted and the canonical GTINs of the
    active catalog products copied from ``ids``, new or not."""
    insert = upsert_insert(session)
    created = 0
    gtins: set[str] = set()
    copied = copied_columns(vendor_id=vendor_id, now=now)
    for chunk in in_list_batches(session, ids):
        source = select(*copied.values()).where(in_list(session, MarketplaceProduct.id, chunk))
        statement = (
            insert(Product)
            .from_select(list(copied), source)
            .on_conflict_do_nothing(index_elements=["vendor_id", "marketplace_product_id"])
            .returning(Product.id)
        )
        created += len(session.scalars(statement).all())
        # NULLs are dropped here, not in SQL: with "gtin_normalized IS NOT NULL" SQLite's planner
        # range-scans the vendor's whole (vendor_id, gtin_normalized) index for every chunk,
        # which made copying quadratic in the catalog's size.
        in_catalog = session.scalars(
            select(Product.gtin_normalized).where(
                Product.vendor_id == vendor_id,
                in_list(session, Product.marketplace_product_id, chunk),
                Product.is_active.is_(True),
            )
        )
        gtins.update(gtin for gtin in in_catalog if gtin is not None)
    return created, gtins


def products_page(
    session: Session,
    *,
    scope: VendorScope,
    search: str | None,
    is_active: bool | None,
    page: PageRequest,
) -> tuple[list[Product], int]:
    """The scope's catalog by id, never its placeholder; ``search`` matches a GTIN (raw or
    canonical), part of the SKU or part of the title."""
    conditions: list[ColumnElement[bool]] = [Product.is_placeholder == false()]
    if is_active is not None:
        conditions.append(Product.is_active.is_(is_active))
    if search:
        matches = [
            Product.gtin == search,
            Product.sku.icontains(search, autoescape=True),
            Product.title.icontains(search, autoescape=True),
        ]
        canonical = canonical_gtin(search)
        if canonical is not None:
            matches.append(Product.gtin_normalized == canonical)
        conditions.append(or_(*matches))
    statement = scoped(select(Product), scope, Product.vendor_id)
    return paginate(session, statement.where(*conditions).order_by(Product.id), page)


def vendor_has_products(session: Session, *, vendor_id: int) -> bool:
    """Whether the vendor's catalog holds any product (its placeholder included)."""
    found = session.scalar(select(Product.id).where(Product.vendor_id == vendor_id).limit(1))
    return found is not None


def insert_products(session: Session, products: Iterable[Product]) -> list[Product]:
    """Add the products and flush, so they have their ids."""
    added = list(products)
    session.add_all(added)
    session.flush()
    return added


# --- the placeholder ----------------------------------------------------------------------


def find_placeholder_id(session: Session, *, vendor_id: int) -> int | None:
    return session.scalar(
        select(Product.id).where(Product.vendor_id == vendor_id, Product.is_placeholder.is_(True))
    )


def insert_placeholder(session: Session, *, vendor_id: int, now: datetime) -> None:
    """Insert the vendor's placeholder unless it has one (the partial unique index decides
    between two concurrent inserts)."""
    insert = upsert_insert(session)
    statement = (
        insert(Product)
        .values(
            vendor_id=vendor_id,
            title="Unmatched product (placeholder)",
            gtin=PLACEHOLDER_GTIN,
            gtin_normalized=None,
            gtin_type=PLACEHOLDER_GTIN_TYPE,
            currency="EUR",
            is_active=False,
            is_placeholder=True,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["vendor_id"], index_where=Product.is_placeholder)
    )
    session.execute(statement)
