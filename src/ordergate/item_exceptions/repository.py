"""All SQL of the exception workflow. Every query takes ``vendor_id``; ``None`` means the
platform admin's view over all vendors."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    delete,
    distinct,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from ordergate.catalog.gtin import normalize_gtin
from ordergate.catalog.models import GtinMapping, Product
from ordergate.db import upsert_insert, utcnow
from ordergate.item_exceptions.models import BLOCKING_STATUSES, OrderItemException
from ordergate.orders.models import Order, OrderItem, OrderItemUnit

# Chunk size for IN lists, well below SQLite's bound-parameter limit.
IN_CHUNK = 900

ExceptionRow = Row[tuple[OrderItemException, int, str, datetime | None]]


def _chunks(values: Sequence[int], size: int = IN_CHUNK) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _scope(vendor_id: int | None) -> list[ColumnElement[bool]]:
    return [] if vendor_id is None else [OrderItemException.vendor_id == vendor_id]


def _with_order_context() -> Select[tuple[OrderItemException, int, str, datetime | None]]:
    return (
        select(OrderItemException, OrderItem.order_id, Order.order_number, Order.order_date)
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
    )


def _search_condition(search: str, *, vendor_id: int | None) -> ColumnElement[bool]:
    """A full valid GTIN (any of its forms) searches by GTIN, through indexes; anything else is
    a case-insensitive substring of GTIN, product name, SKU or order number; the order number is
    tried last, so the count joins no row to its order that already matched."""
    term = search.strip()
    canonical = normalize_gtin(term).canonical
    if canonical is not None:
        # 04006381333931 finds the line that arrived as 4006381333931.
        return or_(
            OrderItemException.original_gtin == term,
            OrderItemException.order_item_id.in_(
                select(OrderItem.id).where(OrderItem.gtin_normalized == canonical)
            ),
        )
    order_number_matches = Order.order_number.icontains(term, autoescape=True)
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
        OrderItemException.original_gtin.icontains(term, autoescape=True),
        OrderItemException.original_product_name.icontains(term, autoescape=True),
        OrderItemException.original_sku.icontains(term, autoescape=True),
        in_matching_order,
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
    """One query for the page (with its order context), one for the total."""
    conditions = _scope(vendor_id)
    if status is not None:
        conditions.append(OrderItemException.status == status)
    if exception_type is not None:
        conditions.append(OrderItemException.exception_type == exception_type)
    if search and search.strip():
        conditions.append(_search_condition(search, vendor_id=vendor_id))
    rows = session.execute(
        _with_order_context()
        .where(*conditions)
        .order_by(OrderItemException.created_at.desc(), OrderItemException.id.desc())
        .offset(skip)
        .limit(limit)
    ).all()
    total = (
        session.scalar(select(func.count()).select_from(OrderItemException).where(*conditions)) or 0
    )
    return list(rows), total


def count_by_status(session: Session, *, vendor_id: int | None) -> dict[str, int]:
    rows = session.execute(
        select(OrderItemException.status, func.count())
        .where(*_scope(vendor_id))
        .group_by(OrderItemException.status)
    ).all()
    return {status: count for status, count in rows}


def count_blocked_orders(session: Session, *, vendor_id: int | None) -> int:
    """Distinct orders with at least one pending or ignored exception."""
    return (
        session.scalar(
            select(func.count(distinct(OrderItem.order_id)))
            .select_from(OrderItemException)
            .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
            .where(*_scope(vendor_id), OrderItemException.status.in_(BLOCKING_STATUSES))
        )
        or 0
    )


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
            OrderItemException.status.in_(BLOCKING_STATUSES),
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
    """Resolve the vendor's pending exceptions for one GTIN in one UPDATE; returns
    ``(exception_id, order_item_id)`` of the rows it changed."""
    if canonical_gtin is not None:
        matches_gtin = OrderItemException.order_item_id.in_(
            select(OrderItem.id).where(OrderItem.gtin_normalized == canonical_gtin)
        )
    else:
        matches_gtin = func.trim(OrderItemException.original_gtin) == raw_gtin
    result = session.execute(
        update(OrderItemException)
        .where(
            OrderItemException.vendor_id == vendor_id,
            OrderItemException.status == "pending",
            matches_gtin,
        )
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
) -> tuple[list[Row[tuple[GtinMapping, str, str | None]]], int]:
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
