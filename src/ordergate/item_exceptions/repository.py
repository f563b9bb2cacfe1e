"""All SQL of the exception workflow. Every query takes ``vendor_id``; ``None`` means the
platform admin's view over all vendors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    SQLColumnExpression,
    bindparam,
    delete,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    union,
    update,
)
from sqlalchemy.orm import Session, aliased

from ordergate.catalog.models import GtinMapping, Product
from ordergate.db import upsert_insert, utcnow
from ordergate.gtin import normalize_gtin
from ordergate.item_exceptions.side_tables import (
    MIN_INDEXED_TERM_LENGTH,
    SEARCH_TABLE,
    exception_context,
)
from ordergate.orders.models import (
    ExceptionStatus,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
)

# Chunk size for IN lists, well below SQLite's bound-parameter limit.
IN_CHUNK = 900

ExceptionRow = Row[OrderItemException, int, str, datetime | None]


def _chunks(values: Sequence[int], size: int = IN_CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _scope(vendor_id: int | None) -> list[ColumnElement[bool]]:
    return [] if vendor_id is None else [OrderItemException.vendor_id == vendor_id]


def _with_order_context() -> Select[OrderItemException, int, str, datetime | None]:
    return (
        select(OrderItemException, OrderItem.order_id, Order.order_number, Order.order_date)
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
    )


def _search_condition(search: str, *, vendor_id: int | None, dialect: str) -> ColumnElement[bool]:
    """A full valid GTIN (any of its forms) searches by GTIN, through indexes; anything else is
    a case-insensitive substring of GTIN, product name, SKU or order number. Terms of three
    characters or more go through the trigram index; shorter ones scan."""
    term = search.strip()
    canonical = normalize_gtin(term).canonical
    if canonical is not None:
        # 04006381333931 finds the line that arrived as 4006381333931. A union of ids, each
        # arm through its index: with an OR, PostgreSQL walks the whole created_at index.
        by_line = aliased(OrderItemException)
        return OrderItemException.id.in_(
            union(
                select(OrderItemException.id)
                .select_from(OrderItemException)
                .where(OrderItemException.original_gtin == term)
                .correlate(None),
                select(by_line.id)
                .join(OrderItem, OrderItem.id == by_line.order_item_id)
                .where(OrderItem.gtin_normalized == canonical),
            )
        )
    if len(term) < MIN_INDEXED_TERM_LENGTH:
        return _substring_scan(term, vendor_id=vendor_id)
    if dialect == "sqlite":
        return _substring_fts(term)
    return _substring_trigram(term)


def _contains(column: SQLColumnExpression[str | None], term: str) -> ColumnElement[bool]:
    """The one substring predicate every path uses, case-insensitive, with ``%``, ``_`` and
    ``/`` in the term escaped: ``lower(x) LIKE lower(...)`` on SQLite (ASCII case folding),
    ``x ILIKE ...`` on PostgreSQL."""
    return column.icontains(term, autoescape=True)


def _substring_scan(term: str, *, vendor_id: int | None) -> ColumnElement[bool]:
    """The plain predicate, without an index; the order number is tried last, so the count
    joins no row to its order that already matched."""
    order_number_matches = _contains(Order.order_number, term)
    if vendor_id is not None:
        # A vendor's few thousand rows: look up each row's own order.
        in_matching_order: ColumnElement[bool] = exists(
            select(Order.id)
            .join(OrderItem, OrderItem.order_id == Order.id)
            .where(OrderItem.id == OrderItemException.order_item_id, order_number_matches)
        )
    else:
        # Every vendor: one pass over the order-number index beats a lookup per exception.
        in_matching_order = OrderItemException.order_item_id.in_(
            select(OrderItem.id)
            .join(Order, Order.id == OrderItem.order_id)
            .where(order_number_matches)
        )
    return or_(
        _contains(OrderItemException.original_gtin, term),
        _contains(OrderItemException.original_product_name, term),
        _contains(OrderItemException.original_sku, term),
        in_matching_order,
    )


def _substring_fts(term: str) -> ColumnElement[bool]:
    """SQLite: the FTS5 table holds ``lower()`` of the four texts under a case-sensitive
    trigram index, so the phrase ``lower(term)`` matches exactly the rows of the plain
    predicate (a substring of the ``lower()``-ed text), with no recheck."""
    phrase = literal('"') + func.replace(func.lower(term), '"', '""') + literal('"')
    return OrderItemException.id.in_(
        select(literal_column("rowid"))
        .select_from(text(SEARCH_TABLE))
        .where(literal_column(SEARCH_TABLE).op("MATCH")(phrase))
    )


def _substring_trigram(term: str) -> ColumnElement[bool]:
    """PostgreSQL: the plain predicate, on columns with pg_trgm GIN indexes; the order number
    comes from the exception's context row, so a term matching thousands of orders is not
    joined through all their lines. The union lets each arm use its own index."""
    exception = aliased(OrderItemException)
    return OrderItemException.id.in_(
        union(
            select(exception.id).where(
                or_(
                    _contains(exception.original_gtin, term),
                    _contains(exception.original_product_name, term),
                    _contains(exception.original_sku, term),
                )
            ),
            select(exception_context.c.exception_id).where(
                _contains(exception_context.c.order_number, term)
            ),
        )
    )


def list_exceptions(
    session: Session,
    *,
    vendor_id: int | None,
    status: str | None,
    exception_type: str | None,
    search: str | None,
    skip: int,
    limit: int,
) -> tuple[list[ExceptionRow], int]:
    """One query for the page (with its order context) and, except for a search, one for
    the total."""
    conditions = _scope(vendor_id)
    if status is not None:
        conditions.append(OrderItemException.status == status)
    if exception_type is not None:
        conditions.append(OrderItemException.exception_type == exception_type)
    term = search.strip() if search else ""
    searching = bool(term)
    if searching:
        dialect = session.get_bind().dialect.name
        conditions.append(_search_condition(term, vendor_id=vendor_id, dialect=dialect))
    newest_first = (OrderItemException.created_at.desc(), OrderItemException.id.desc())
    # The page's ids first, its order context after: a search can match thousands of rows,
    # and only the page's rows need their line and order. A search's matches are all read
    # anyway, so they are counted in the same pass (a window count) rather than searched twice;
    # a plain list walks an index and stops at the page, so it counts apart.
    page_columns: list[SQLColumnExpression[int]] = [OrderItemException.id]
    if searching:
        page_columns.append(func.count().over().label("total"))
    page = (
        select(*page_columns)
        .where(*conditions)
        .order_by(*newest_first)
        .offset(skip)
        .limit(limit)
        .subquery()
    )
    statement = _with_order_context().join(page, page.c.id == OrderItemException.id)
    if searching:
        statement = statement.add_columns(page.c.total)
    result = session.execute(statement.order_by(*newest_first)).all()
    if not searching:
        total = session.scalar(
            select(func.count()).select_from(OrderItemException).where(*conditions)
        )
        return list(result), total or 0
    if not result and skip > 0:
        # Past the last page: no row carries the count.
        total = session.scalar(
            select(func.count()).select_from(OrderItemException).where(*conditions)
        )
        return [], total or 0
    total = result[0].total if result else 0
    return [row[:4] for row in result], total  # type: ignore[misc]


def count_by_status(session: Session, *, vendor_id: int | None) -> dict[str, int]:
    rows = session.execute(
        select(OrderItemException.status, func.count())
        .where(*_scope(vendor_id))
        .group_by(OrderItemException.status)
    ).all()
    return {status: count for status, count in rows}


def count_blocked_orders(session: Session, *, vendor_id: int | None) -> int:
    """Distinct orders with at least one pending or ignored exception, read in order from the
    context table's (vendor_id,) blocking, order_id index: no lookup per exception."""
    context = exception_context.c
    scope = [] if vendor_id is None else [context.vendor_id == vendor_id]
    blocked_orders = select(context.order_id).where(*scope, context.blocking).distinct().subquery()
    return session.scalar(select(func.count()).select_from(blocked_orders)) or 0


def get_exception_row(
    session: Session, *, exception_id: int, vendor_id: int | None
) -> ExceptionRow | None:
    return session.execute(
        _with_order_context()
        .where(OrderItemException.id == exception_id, *_scope(vendor_id))
        .execution_options(populate_existing=True)
    ).first()


def get_exception(
    session: Session, *, exception_id: int, vendor_id: int | None
) -> OrderItemException | None:
    return session.scalar(
        select(OrderItemException)
        .where(OrderItemException.id == exception_id, *_scope(vendor_id))
        .execution_options(populate_existing=True)
    )


def get_order(session: Session, *, order_id: int) -> Order | None:
    return session.get(Order, order_id)


def get_item(session: Session, *, item_id: int) -> OrderItem | None:
    return session.get(OrderItem, item_id)


def item_units(session: Session, *, item_id: int) -> list[OrderItemUnit]:
    return list(
        session.scalars(
            select(OrderItemUnit)
            .where(OrderItemUnit.order_item_id == item_id)
            .order_by(OrderItemUnit.id)
        )
    )


def candidate_products(session: Session, *, vendor_id: int, canonical_gtin: str) -> list[Product]:
    return list(
        session.scalars(
            select(Product)
            .where(
                Product.vendor_id == vendor_id,
                Product.gtin_normalized == canonical_gtin,
                Product.is_active.is_(True),
                Product.is_placeholder.is_(False),
            )
            .order_by(Product.id)
        )
    )


def get_product(session: Session, *, product_id: int) -> Product | None:
    return session.get(Product, product_id)


def mark_resolved(
    session: Session,
    *,
    exception_id: int,
    product_id: int,
    actor_user_id: int,
    notes: str | None,
    at: datetime,
) -> bool:
    """Resolve one exception if it is still pending or ignored. The condition sits in the
    UPDATE itself, so of two concurrent resolves exactly one changes the row."""
    result = session.execute(
        update(OrderItemException)
        .where(
            OrderItemException.id == exception_id,
            OrderItemException.status.in_(ExceptionStatus.blocking()),
        )
        .values(
            status="resolved",
            resolved_product_id=product_id,
            resolved_by=actor_user_id,
            resolved_at=at,
            resolution_notes=notes,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_ignored(session: Session, *, exception_id: int, notes: str, at: datetime) -> bool:
    result = session.execute(
        update(OrderItemException)
        .where(OrderItemException.id == exception_id, OrderItemException.status == "pending")
        .values(status="ignored", resolution_notes=notes, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def resolve_pending_by_gtin(
    session: Session,
    *,
    vendor_id: int,
    canonical_gtin: str | None,
    raw_gtin: str,
    product_id: int,
    actor_user_id: int,
    notes: str | None,
    at: datetime,
) -> list[tuple[int, int]]:
    """Resolve the vendor's pending exceptions for one GTIN; returns
    ``(exception_id, order_item_id)`` of the rows it changed.

    The rows are locked first in id order, the order every writer of exceptions uses
    (auto-match too), so two bulk resolves or a bulk resolve and an auto-match queue behind each
    other instead of deadlocking on rows an UPDATE would lock in scan order."""
    matches_gtin: ColumnElement[bool]
    if canonical_gtin is not None:
        matches_gtin = OrderItemException.order_item_id.in_(
            select(OrderItem.id).where(OrderItem.gtin_normalized == canonical_gtin)
        )
    else:
        matches_gtin = func.trim(OrderItemException.original_gtin) == raw_gtin
    pending = (
        select(OrderItemException.id)
        .where(
            OrderItemException.vendor_id == vendor_id,
            OrderItemException.status == "pending",
            matches_gtin,
        )
        .order_by(OrderItemException.id)
        .with_for_update()
        .scalar_subquery()
    )
    result = session.execute(
        update(OrderItemException)
        .where(OrderItemException.id.in_(pending), OrderItemException.status == "pending")
        .values(
            status="resolved",
            resolved_product_id=product_id,
            resolved_by=actor_user_id,
            resolved_at=at,
            resolution_notes=notes,
            updated_at=at,
        )
        .returning(OrderItemException.id, OrderItemException.order_item_id)
        .execution_options(synchronize_session=False)
    )
    return sorted((row[0], row[1]) for row in result.all())


def item_product_ids(session: Session, *, item_ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    statement = select(OrderItem.id, OrderItem.product_id).where(
        OrderItem.id.in_(bindparam("ids", expanding=True))
    )
    for chunk in _chunks(item_ids):
        found.update(
            {row[0]: row[1] for row in session.execute(statement, {"ids": list(chunk)}).all()}
        )
    return found


def repoint_items(
    session: Session, *, item_ids: Sequence[int], product_id: int, at: datetime
) -> None:
    """Point the lines at the product; marketplace ids and units stay as they are."""
    statement = (
        update(OrderItem)
        .where(OrderItem.id.in_(bindparam("ids", expanding=True)))
        .values(product_id=product_id, needs_product_match=False, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    for chunk in _chunks(item_ids):
        session.execute(statement, {"ids": list(chunk)})


def upsert_mapping(
    session: Session, *, vendor_id: int, gtin_key: str, product_id: int, actor_user_id: int
) -> None:
    insert = upsert_insert(session)
    now = utcnow()
    statement = insert(GtinMapping).values(
        vendor_id=vendor_id,
        gtin_key=gtin_key,
        product_id=product_id,
        created_by=actor_user_id,
        created_at=now,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["vendor_id", "gtin_key"],
            set_={"product_id": product_id, "created_by": actor_user_id, "created_at": now},
        )
    )


def list_mappings(
    session: Session, *, vendor_id: int | None, skip: int, limit: int
) -> tuple[list[Row[GtinMapping, str, str | None]], int]:
    scope = [] if vendor_id is None else [GtinMapping.vendor_id == vendor_id]
    rows = session.execute(
        select(GtinMapping, Product.title, Product.sku)
        .join(Product, Product.id == GtinMapping.product_id)
        .where(*scope)
        .order_by(GtinMapping.created_at.desc(), GtinMapping.id.desc())
        .offset(skip)
        .limit(limit)
    ).all()
    total = session.scalar(select(func.count()).select_from(GtinMapping).where(*scope)) or 0
    return list(rows), total


def delete_mapping(session: Session, *, mapping_id: int, vendor_id: int | None) -> bool:
    scope = [] if vendor_id is None else [GtinMapping.vendor_id == vendor_id]
    result = session.execute(
        delete(GtinMapping)
        .where(GtinMapping.id == mapping_id, *scope)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
