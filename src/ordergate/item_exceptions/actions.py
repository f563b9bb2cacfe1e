"""Two corrections of the QC queue: create the missing product from an exception, and reopen a
resolution or an ignore that was wrong (docs/exception-actions.md).

**create-product** adds one active product to the exception's vendor catalog (each field: the
request's, else the marketplace product with that GTIN, else the line's snapshot), resolves this
exception to it (`via=new_product`), then hands the product to the catalog's auto-match (the
composition root passes ``deps.AUTO_MATCH``), which resolves the vendor's other pending
exceptions with the same canonical GTIN in one set-based pass. A line whose GTIN is not valid
(`gtin_mismatch`) needs a corrected ``gtin``; the other pending exceptions carrying the same raw
GTIN then resolve with it, as the person's decision (`via=new_product`).

**reopen** sends a resolved or ignored exception back to pending: the line on the placeholder
with ``needs_product_match``, the resolution cleared, the remembered mapping that would re-apply
the resolution removed, an event ``reopened``. Refused (409) once any unit of the line is
confirmed at the marketplace, or while a confirm/decline of its order is being sent.

Locks follow the project's order: the exception (a conditional UPDATE), its line, then the
order row (FOR UPDATE, where the fulfilment lease is read), the mapping last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ordergate.catalog.models import Product
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.catalog.ports import ProductsAdded
from ordergate.catalog.service import NewProduct, add_products
from ordergate.db import utcnow
from ordergate.errors import AppError
from ordergate.events.repository import record_events
from ordergate.gtin import normalize_gtin
from ordergate.item_exceptions import events, repository
from ordergate.item_exceptions.errors import (
    ExceptionAlreadyPendingError,
    ExceptionAlreadyResolvedError,
    ExceptionChangedError,
    ExceptionGtinInvalidError,
    ExceptionUnitsConfirmedError,
    GtinAlreadyInCatalogError,
    OrderItemExceptionNotFoundError,
    ProductTitleRequiredError,
)
from ordergate.item_exceptions.repository import ExceptionRow, RemovedMapping
from ordergate.item_exceptions.service import after_resolved, get_exception, lost_race
from ordergate.orders import repository as orders_repository
from ordergate.orders.errors import FulfilmentInProgressError
from ordergate.orders.models import (
    ExceptionStatus,
    Order,
    OrderItem,
    OrderItemException,
    UnitState,
)
from ordergate.scope import Scope, VendorScope

# Unit states that mean the vendor told the marketplace it ships the line's product.
CONFIRMED_STATES = (UnitState.CONFIRMED_AVAILABLE, UnitState.RETURNED)


@dataclass(frozen=True, slots=True)
class CreatedFromException:
    product: Product
    exception: ExceptionRow
    resolved_count: int  # this exception and every sibling the request resolved
    auto_matched: int  # of them, resolved by the catalog's auto-match (same canonical GTIN)

    def attributes(self) -> dict[str, Any]:
        return {
            "product": self.product,
            "exception": self.exception,
            "resolved_count": self.resolved_count,
            "auto_matched": self.auto_matched,
        }


@dataclass(frozen=True, slots=True)
class ReopenedException:
    exception: ExceptionRow
    mapping_removed: RemovedMapping | None

    def attributes(self) -> dict[str, Any]:
        removed = self.mapping_removed
        return {
            **self.exception._mapping,
            "mapping_removed": None if removed is None else removed._asdict(),
        }


def _found(session: Session, *, scope: Scope, exception_id: int) -> OrderItemException:
    exception = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if exception is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    return exception


@dataclass(frozen=True, slots=True)
class _ProductGtin:
    raw: str | None  # as stored on the product
    canonical: str | None
    gtin_type: str | None  # None: by its length
    corrected: bool


def _product_gtin(exception: OrderItemException, item: OrderItem, gtin: str | None) -> _ProductGtin:
    """The new product's GTIN: the corrected one when given (it must be valid), else the line's
    (which must be valid when present)."""
    corrected = gtin.strip() if gtin and gtin.strip() else None
    if corrected is not None:
        parsed = normalize_gtin(corrected)
        if parsed.canonical is None:
            raise ExceptionGtinInvalidError(
                exception_id=exception.id, gtin=corrected, corrected=True
            )
        return _ProductGtin(corrected, parsed.canonical, None, corrected=True)
    line = normalize_gtin(exception.original_gtin)
    if line.status == "invalid":
        assert exception.original_gtin is not None
        raise ExceptionGtinInvalidError(
            exception_id=exception.id, gtin=exception.original_gtin, corrected=False
        )
    if line.canonical is None:
        return _ProductGtin(None, None, None, corrected=False)
    assert exception.original_gtin is not None
    return _ProductGtin(exception.original_gtin.strip(), line.canonical, item.gtin_type, False)


def create_product_from_exception(
    session: Session,
    *,
    scope: Scope,
    exception_id: int,
    title: str | None = None,
    sku: str | None = None,
    brand: str | None = None,
    price_cents: int | None = None,
    gtin: str | None = None,
    notes: str | None = None,
    after_products_added: ProductsAdded,
) -> CreatedFromException:
    """Create the exception's product in its vendor's catalog, resolve the exception to it and
    auto-match the vendor's other pending exceptions with its GTIN.

    Refused before anything is written: a resolved exception (``EXCEPTION_ALREADY_RESOLVED``:
    reopen it first), an invalid GTIN (``INVALID_GTIN``), a GTIN the catalog already holds as a
    matchable product (``GTIN_ALREADY_IN_CATALOG``: resolve to it; this is always the case for
    a ``duplicate_gtin`` exception unless a different, free ``gtin`` is given), no title to be
    had (``VALIDATION_ERROR``)."""
    exception = _found(session, scope=scope, exception_id=exception_id)
    if exception.status == ExceptionStatus.RESOLVED:
        raise ExceptionAlreadyResolvedError(exception_id)
    status_before = exception.status
    vendor_id = exception.vendor_id
    order, item = repository.get_order_and_item(session, item_id=exception.order_item_id)
    target = _product_gtin(exception, item, gtin)
    if target.canonical is not None:
        existing = repository.candidate_products(
            session, vendor_id=vendor_id, canonical_gtin=target.canonical
        )
        if existing:
            raise GtinAlreadyInCatalogError(
                exception_id=exception_id,
                gtin=target.raw or target.canonical,
                product_ids=[p.id for p in existing],
            )
    new = _new_product(
        session,
        exception=exception,
        order=order,
        item=item,
        target=target,
        title=title,
        sku=sku,
        brand=brand,
        price_cents=price_cents,
    )
    vendor_scope = VendorScope(
        actor_user_id=scope.actor_user_id,
        vendor_id=vendor_id,
        is_admin=scope.is_admin,
        role=scope.role,
    )
    by_hand: list[int] = []

    def resolve_then_match(session: Session, *, vendor_id: int, product_ids: Sequence[int]) -> int:
        """The catalog's hook for the new product: the exception that asked for it resolves
        first, by the person; then the auto-match resolves everything else waiting for it."""
        (product_id,) = product_ids
        by_hand.append(
            _resolve_by_hand(
                session,
                scope=vendor_scope,
                exception=exception,
                status_before=status_before,
                product_id=product_id,
                corrected=target.corrected,
                notes=notes,
            )
        )
        return after_products_added(session, vendor_id=vendor_id, product_ids=product_ids)

    (product,), auto_matched = add_products(
        session, scope=vendor_scope, products=[new], after_products_added=resolve_then_match
    )
    return CreatedFromException(
        product=product,
        exception=get_exception(session, scope=scope, exception_id=exception_id),
        resolved_count=sum(by_hand) + auto_matched,
        auto_matched=auto_matched,
    )


def create_product_defaults(session: Session, *, scope: Scope, exception_id: int) -> NewProduct:
    """What create-product would create with no fields given (the marketplace product with the
    line's GTIN, else the line's snapshot), for a form to show and edit. A line without a valid
    GTIN gets no GTIN (a corrected one must be given) and a line without a name an empty title;
    nothing is written."""
    exception = _found(session, scope=scope, exception_id=exception_id)
    order, item = repository.get_order_and_item(session, item_id=exception.order_item_id)
    if normalize_gtin(exception.original_gtin).status == "invalid":
        target = _ProductGtin(None, None, None, corrected=False)
    else:
        target = _product_gtin(exception, item, None)
    common: dict[str, Any] = {
        "session": session,
        "exception": exception,
        "order": order,
        "item": item,
        "target": target,
        "sku": None,
        "brand": None,
        "price_cents": None,
    }
    try:
        return _new_product(title=None, **common)
    except ProductTitleRequiredError:
        return _new_product(title=" ", **common)


def _resolve_by_hand(
    session: Session,
    *,
    scope: VendorScope,
    exception: OrderItemException,
    status_before: str,
    product_id: int,
    corrected: bool,
    notes: str | None,
) -> int:
    """Resolve the exception to its new product (`via=new_product`) and, for a corrected GTIN
    of a line whose own GTIN is invalid, the vendor's other pending exceptions with that same
    raw GTIN; returns how many."""
    now = utcnow()
    resolved = repository.write_resolution(
        session,
        repository.unresolved(
            exception_id=exception.id, product_id=product_id, status=status_before
        ),
        actor_user_id=scope.actor_user_id,
        notes=notes,
        at=now,
    )
    if not resolved:
        # Another request resolved (or reopened, or ignored) it meanwhile; the product goes
        # with this request's rollback.
        raise lost_race(session, scope=scope, exception_id=exception.id)
    batches = [(resolved, status_before)]
    line = normalize_gtin(exception.original_gtin)
    if corrected and line.canonical is None and line.key is not None:
        # The same wrong GTIN on other lines names the same marketplace listing: the person's
        # correction applies to them too (as bulk-resolve by a raw GTIN does).
        siblings = repository.write_resolution(
            session,
            repository.pending_with_gtin(
                scope=scope, canonical_gtin=None, raw_gtin=line.key, product_id=product_id
            ),
            actor_user_id=scope.actor_user_id,
            notes=notes,
            at=now,
        )
        batches.append((siblings, ExceptionStatus.PENDING))
    for rows, before in batches:
        if not rows:
            continue
        after_resolved(
            session,
            rows,
            vendor_id=scope.vendor_id,
            actor_user_id=scope.actor_user_id,
            product_id=product_id,
            product_before=repository.item_product_ids(
                session, item_ids=[row.order_item_id for row in rows]
            ),
            status_before=dict.fromkeys((row.exception_id for row in rows), before),
            notes=notes,
            at=now,
            via=events.ResolvedVia.NEW_PRODUCT,
        )
    return sum(len(rows) for rows, _ in batches)


def _new_product(
    session: Session,
    *,
    exception: OrderItemException,
    order: Order,
    item: OrderItem,
    target: _ProductGtin,
    title: str | None,
    sku: str | None,
    brand: str | None,
    price_cents: int | None,
) -> NewProduct:
    """Each field: the request's, else the marketplace product's, else the line's snapshot."""
    listing = (
        None
        if target.canonical is None
        else repository.marketplace_product_with_gtin(
            session, canonical_gtin=target.canonical, marketplace=order.channel
        )
    )
    linked = listing is not None and not repository.vendor_holds_marketplace_product(
        session, vendor_id=exception.vendor_id, marketplace_product_id=listing.id
    )
    chosen_title = title or (listing.title if listing else None) or exception.original_product_name
    if not chosen_title or not chosen_title.strip():
        raise ProductTitleRequiredError(exception.id)
    if price_cents is None:
        price_cents = listing.price_cents if listing and listing.price_cents is not None else None
    if price_cents is None:
        price_cents = item.unit_price_cents
    return NewProduct(
        title=chosen_title[:500],
        gtin=target.raw,
        gtin_type=target.gtin_type,
        sku=sku or (listing.sku if listing else None) or exception.original_sku,
        brand=brand or (listing.brand if listing else None),
        price_cents=price_cents,
        currency=(listing.currency if listing and listing.currency else None) or order.currency,
        is_active=True,
        marketplace_product_id=listing.id if listing is not None and linked else None,
    )


# --- reopen -------------------------------------------------------------------------------


def _ensure_reopenable(
    session: Session, *, exception: OrderItemException, order_id: int, lease_until: Any
) -> None:
    """Refuse while the order's fulfilment lease is live, or once a unit is confirmed."""
    if lease_until is not None and lease_until > utcnow():
        raise FulfilmentInProgressError(order_id)
    confirmed = orders_repository.units_in_states(
        session, item_id=exception.order_item_id, states=CONFIRMED_STATES
    )
    if confirmed:
        raise ExceptionUnitsConfirmedError(
            exception_id=exception.id,
            order_id=order_id,
            item_id=exception.order_item_id,
            unit_ids=confirmed,
        )


def reopen_exception(
    session: Session, *, scope: Scope, exception_id: int, notes: str
) -> ReopenedException:
    """Send a resolved or ignored exception back to pending (see the module docstring). Of two
    concurrent reopens, or a reopen and a resolve, exactly one wins."""
    exception = _found(session, scope=scope, exception_id=exception_id)
    if exception.status == ExceptionStatus.PENDING:
        raise ExceptionAlreadyPendingError(exception_id)
    order, item = repository.get_order_and_item(session, item_id=exception.order_item_id)
    # A first check without locks, so a refusal writes nothing at all.
    _ensure_reopenable(
        session, exception=exception, order_id=order.id, lease_until=order.fulfilment_lease_until
    )
    vendor_id = exception.vendor_id
    before: dict[str, Any] = {
        "status_before": exception.status,
        "product_before": item.product_id,
        "resolved_product_before": exception.resolved_product_id,
        "resolved_by_before": exception.resolved_by,
        "notes_before": exception.resolution_notes,
    }
    placeholder = placeholder_product_id(session, vendor_id=vendor_id)
    now = utcnow()
    if not repository.write_reopening(
        session,
        exception_id=exception_id,
        status=exception.status,
        updated_at=exception.updated_at,
        at=now,
    ):
        raise _reopen_lost(session, scope=scope, exception_id=exception_id)
    orders_repository.unmatch_lines(
        session, item_ids=[exception.order_item_id], placeholder_id=placeholder, at=now
    )
    # Again with the order row locked: a confirm that took the lease meanwhile is seen now,
    # and one that has not yet will wait for this commit and then find the gate closed.
    lease = orders_repository.lock_order_lease(session, order_id=order.id)
    _ensure_reopenable(session, exception=exception, order_id=order.id, lease_until=lease)

    removed = None
    resolved_to = before["resolved_product_before"]
    gtin_key = normalize_gtin(exception.original_gtin).key
    if resolved_to is not None and gtin_key is not None:
        # Mappings name no resolution; the one for this GTIN pointing at the product this
        # exception was resolved to is the one that would re-apply it on the next import.
        removed = repository.delete_mapping_to(
            session, vendor_id=vendor_id, gtin_key=gtin_key, product_id=resolved_to
        )
    record_events(
        session,
        [
            events.exception_reopened(
                exception_id=exception_id,
                vendor_id=vendor_id,
                actor_user_id=scope.actor_user_id,
                placeholder_id=placeholder,
                notes=notes,
                mapping_removed=None if removed is None else removed._asdict(),
                **before,
            )
        ],
    )
    return ReopenedException(
        exception=get_exception(session, scope=scope, exception_id=exception_id),
        mapping_removed=removed,
    )


def _reopen_lost(session: Session, *, scope: Scope, exception_id: int) -> AppError:
    current = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if current is None:
        return OrderItemExceptionNotFoundError(exception_id)
    if current.status == ExceptionStatus.PENDING:
        return ExceptionAlreadyPendingError(exception_id)
    return ExceptionChangedError(exception_id, current.status)
