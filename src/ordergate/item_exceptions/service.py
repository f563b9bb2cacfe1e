"""Exception workflow: list, stats, detail, resolve, ignore, bulk resolve, remembered GTINs.

``vendor_id=None`` is the platform admin's view over every vendor; a vendor's id scopes every
read and write, and another vendor's exception is reported exactly like a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ordergate.catalog.models import GtinMapping, Product
from ordergate.db import utcnow
from ordergate.errors import ValidationFailedError
from ordergate.events.service import record_events
from ordergate.gtin import normalize_gtin
from ordergate.item_exceptions import events, repository
from ordergate.item_exceptions.errors import (
    BulkGtinInvalidError,
    ExceptionAlreadyResolvedError,
    ExceptionNotPendingError,
    GtinMappingNotFoundError,
    GtinRequiredToRememberError,
    InvalidProductForExceptionError,
    OrderItemExceptionNotFoundError,
)
from ordergate.orders.models import (
    ExceptionStatus,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
)


@dataclass(frozen=True, slots=True)
class ExceptionView:
    """An exception with the order it belongs to."""

    exception: OrderItemException
    order_id: int
    order_number: str
    order_date: datetime | None


@dataclass(frozen=True, slots=True)
class ExceptionDetailView:
    view: ExceptionView
    order: Order
    item: OrderItem
    units: list[OrderItemUnit]
    candidates: list[Product]


@dataclass(frozen=True, slots=True)
class ExceptionCounts:
    pending: int
    resolved: int
    ignored: int
    total: int
    orders_with_exceptions: int


@dataclass(frozen=True, slots=True)
class MappingView:
    mapping: GtinMapping
    product_title: str
    product_sku: str | None


def list_exceptions(
    session: Session,
    *,
    vendor_id: int | None,
    status: str | None = None,
    exception_type: str | None = None,
    search: str | None = None,
    skip: int = 0,
    limit: int = 50,
) -> tuple[list[ExceptionView], int]:
    """Newest first; ``search`` matches GTIN (raw or canonical), product name, SKU and order
    number, case-insensitively."""
    rows, total = repository.list_exceptions(
        session,
        vendor_id=vendor_id,
        status=status,
        exception_type=exception_type,
        search=search,
        skip=skip,
        limit=limit,
    )
    return [ExceptionView(*row) for row in rows], total


def exception_stats(session: Session, *, vendor_id: int | None) -> ExceptionCounts:
    by_status = repository.count_by_status(session, vendor_id=vendor_id)
    return ExceptionCounts(
        pending=by_status.get("pending", 0),
        resolved=by_status.get("resolved", 0),
        ignored=by_status.get("ignored", 0),
        total=sum(by_status.values()),
        orders_with_exceptions=repository.count_blocked_orders(session, vendor_id=vendor_id),
    )


def get_exception(session: Session, *, exception_id: int, vendor_id: int | None) -> ExceptionView:
    row = repository.get_exception_row(session, exception_id=exception_id, vendor_id=vendor_id)
    if row is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    return ExceptionView(*row)


def get_exception_detail(
    session: Session, *, exception_id: int, vendor_id: int | None
) -> ExceptionDetailView:
    view = get_exception(session, exception_id=exception_id, vendor_id=vendor_id)
    exception = view.exception
    order = repository.get_order(session, order_id=view.order_id)
    item = repository.get_item(session, item_id=exception.order_item_id)
    # Foreign keys guarantee both.
    assert order is not None
    assert item is not None
    candidates: list[Product] = []
    if exception.exception_type == "duplicate_gtin":
        canonical = item.gtin_normalized or normalize_gtin(exception.original_gtin).canonical
        if canonical is not None:
            candidates = repository.candidate_products(
                session, vendor_id=exception.vendor_id, canonical_gtin=canonical
            )
    return ExceptionDetailView(
        view=view,
        order=order,
        item=item,
        units=repository.item_units(session, item_id=item.id),
        candidates=candidates,
    )


def _valid_product(session: Session, *, product_id: int, vendor_id: int) -> Product:
    product = repository.get_product(session, product_id=product_id)
    if product is None:
        raise InvalidProductForExceptionError(product_id, "it does not exist")
    if product.vendor_id != vendor_id:
        # Same words as a missing product: a vendor learns nothing about other catalogs.
        raise InvalidProductForExceptionError(product_id, "it does not exist")
    if product.is_placeholder:
        raise InvalidProductForExceptionError(product_id, "it is the placeholder product")
    if not product.is_active:
        raise InvalidProductForExceptionError(product_id, "it is inactive")
    return product


def resolve_exception(
    session: Session,
    *,
    exception_id: int,
    vendor_id: int | None,
    product_id: int,
    actor_user_id: int,
    notes: str | None = None,
    remember: bool = False,
) -> ExceptionView:
    """Assign the product to the exception's line. Pending and ignored exceptions can be
    resolved; of two concurrent resolves exactly one wins, the other gets
    ``ExceptionAlreadyResolvedError``."""
    exception = repository.get_exception(session, exception_id=exception_id, vendor_id=vendor_id)
    if exception is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    if exception.status == "resolved":
        raise ExceptionAlreadyResolvedError(exception_id)
    _valid_product(session, product_id=product_id, vendor_id=exception.vendor_id)
    gtin_key = normalize_gtin(exception.original_gtin).key
    if remember and gtin_key is None:
        raise GtinRequiredToRememberError(exception_id)
    before_status = exception.status
    previous_product_id = repository.item_product_ids(session, item_ids=[exception.order_item_id])[
        exception.order_item_id
    ]

    now = utcnow()
    changed = repository.mark_resolved(
        session,
        exception_id=exception_id,
        product_id=product_id,
        actor_user_id=actor_user_id,
        notes=notes,
        at=now,
    )
    if not changed:
        # Another request resolved it between our read and our write.
        raise ExceptionAlreadyResolvedError(exception_id)
    repository.repoint_items(
        session, item_ids=[exception.order_item_id], product_id=product_id, at=now
    )
    record_events(
        session,
        [
            events.exception_resolved(
                exception_id=exception_id,
                vendor_id=exception.vendor_id,
                actor_user_id=actor_user_id,
                status_before=before_status,
                product_before=previous_product_id,
                product_id=product_id,
                notes=notes,
            )
        ],
    )
    if remember:
        assert gtin_key is not None
        repository.upsert_mapping(
            session,
            vendor_id=exception.vendor_id,
            gtin_key=gtin_key,
            product_id=product_id,
            actor_user_id=actor_user_id,
        )
    return get_exception(session, exception_id=exception_id, vendor_id=vendor_id)


def ignore_exception(
    session: Session,
    *,
    exception_id: int,
    vendor_id: int | None,
    actor_user_id: int,
    notes: str,
) -> ExceptionView:
    """Set a pending exception aside with a reason; it keeps blocking confirmation."""
    exception = repository.get_exception(session, exception_id=exception_id, vendor_id=vendor_id)
    if exception is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    if exception.status != "pending":
        raise ExceptionNotPendingError(exception_id, exception.status)
    product_id = repository.item_product_ids(session, item_ids=[exception.order_item_id])[
        exception.order_item_id
    ]
    if not repository.mark_ignored(session, exception_id=exception_id, notes=notes, at=utcnow()):
        current = repository.get_exception(session, exception_id=exception_id, vendor_id=vendor_id)
        raise ExceptionNotPendingError(exception_id, current.status if current else "gone")
    record_events(
        session,
        [
            events.exception_ignored(
                exception_id=exception_id,
                vendor_id=exception.vendor_id,
                actor_user_id=actor_user_id,
                product_id=product_id,
                notes=notes,
            )
        ],
    )
    return get_exception(session, exception_id=exception_id, vendor_id=vendor_id)


def bulk_resolve_by_gtin(
    session: Session,
    *,
    vendor_id: int,
    gtin: str,
    product_id: int,
    actor_user_id: int,
    notes: str | None = None,
    remember: bool = False,
) -> int:
    """Resolve every pending exception of the vendor whose line carries this GTIN (compared in
    canonical form when valid, else as the trimmed raw string); returns how many. An invalid
    GTIN that no pending exception carries is refused (``BulkGtinInvalidError``)."""
    _valid_product(session, product_id=product_id, vendor_id=vendor_id)
    parsed = normalize_gtin(gtin)
    gtin_key = parsed.key
    if gtin_key is None:
        raise ValidationFailedError("gtin must not be blank", details={"field": "gtin"})
    now = utcnow()
    resolved = repository.resolve_pending_by_gtin(
        session,
        vendor_id=vendor_id,
        canonical_gtin=parsed.canonical,
        raw_gtin=gtin_key,
        product_id=product_id,
        actor_user_id=actor_user_id,
        notes=notes,
        at=now,
    )
    if not resolved and parsed.canonical is None:
        # An invalid GTIN can still name lines by their raw text (gtin_mismatch); naming none,
        # it is a typo, not "0 resolved". Nothing was written.
        raise BulkGtinInvalidError(gtin)
    item_ids = [item_id for _, item_id in resolved]
    previous = repository.item_product_ids(session, item_ids=item_ids)
    repository.repoint_items(session, item_ids=item_ids, product_id=product_id, at=now)
    record_events(
        session,
        [
            events.exception_resolved(
                exception_id=exception_id,
                vendor_id=vendor_id,
                actor_user_id=actor_user_id,
                status_before=ExceptionStatus.PENDING,
                product_before=previous[item_id],
                product_id=product_id,
                notes=notes,
                bulk_gtin=gtin,
            )
            for exception_id, item_id in resolved
        ],
    )
    if remember:
        repository.upsert_mapping(
            session,
            vendor_id=vendor_id,
            gtin_key=gtin_key,
            product_id=product_id,
            actor_user_id=actor_user_id,
        )
    return len(resolved)


def list_gtin_mappings(
    session: Session, *, vendor_id: int | None, skip: int = 0, limit: int = 50
) -> tuple[list[MappingView], int]:
    rows, total = repository.list_mappings(session, vendor_id=vendor_id, skip=skip, limit=limit)
    return [MappingView(*row) for row in rows], total


def delete_gtin_mapping(session: Session, *, mapping_id: int, vendor_id: int | None) -> None:
    """Forget a remembered GTIN; future imports raise exceptions for it again."""
    if not repository.delete_mapping(session, mapping_id=mapping_id, vendor_id=vendor_id):
        raise GtinMappingNotFoundError(mapping_id)
