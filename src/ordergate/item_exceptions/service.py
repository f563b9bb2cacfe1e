"""Exception workflow: list, stats, detail, resolve, ignore, bulk resolve, remembered GTINs.

Every read and write is limited to the caller's `Scope`; another vendor's exception is reported
exactly like a missing one. The acting user is `scope.actor_user_id`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from ordergate.catalog.models import MAX_COPY_IDS, MarketplaceProduct, Product
from ordergate.catalog.repository import marketplace_ids
from ordergate.db import PageRequest, paginate, utcnow
from ordergate.errors import AppError, ValidationFailedError
from ordergate.events.repository import record_events
from ordergate.gtin import normalize_gtin
from ordergate.item_exceptions import events, repository
from ordergate.item_exceptions.errors import (
    BulkGtinInvalidError,
    ExceptionAlreadyResolvedError,
    ExceptionChangedError,
    ExceptionNotPendingError,
    GtinMappingNotFoundError,
    GtinRequiredToRememberError,
    InvalidProductForExceptionError,
    OrderItemExceptionNotFoundError,
)
from ordergate.item_exceptions.repository import ExceptionRow
from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.models import ExceptionStatus, ExceptionType, Order, OrderItem
from ordergate.orders.repository import point_lines_at
from ordergate.scope import Scope, VendorScope
from ordergate.vendors.service import get_vendor_by_code


@dataclass(frozen=True, slots=True)
class ExceptionDetailView:
    """An exception's flat row with its order, its line (with units) and, for a duplicate
    GTIN, the candidate products."""

    exception: ExceptionRow
    order: Order
    item: OrderItem
    candidates: list[Product]

    def attributes(self) -> dict[str, Any]:
        """`schemas.ExceptionDetail`'s attributes: the row's columns and the context."""
        return {
            **self.exception._mapping,
            "order": self.order,
            "item": self.item,
            "candidates": self.candidates,
        }


class ExceptionSort(StrEnum):
    NEWEST = "newest"  # raised most recently first (the default)
    CONFIRM_BY = "confirm_by"  # soonest confirmation deadline first, rows without one last


@dataclass(frozen=True, slots=True)
class ExceptionCounts:
    pending: int
    resolved: int
    ignored: int
    total: int
    orders_with_exceptions: int
    by_type: dict[str, dict[str, int]]
    at_risk: int = 0
    overdue: int = 0


def list_exceptions(
    session: Session,
    *,
    scope: Scope,
    status: ExceptionStatus | None = None,
    exception_type: ExceptionType | None = None,
    search: str | None = None,
    page: PageRequest,
    deadline_state: DeadlineState | None = None,
    sort: ExceptionSort = ExceptionSort.NEWEST,
    now: datetime | None = None,
) -> tuple[Sequence[ExceptionRow], int]:
    """Newest first; ``search`` matches GTIN (raw or canonical), product name, SKU and order
    number, case-insensitively. Each row has its order's ``confirm_by`` and ``deadline_state``
    at ``now`` while it blocks, and its ``age_seconds``; ``deadline_state`` keeps the rows in
    that state, ``sort=confirm_by`` puts the soonest deadline first (rows without one last)."""
    filters = repository.ListFilters(
        status=status, exception_type=exception_type, search=search, deadline_state=deadline_state
    )
    return repository.list_exceptions(
        session,
        scope=scope,
        filters=filters,
        page=page,
        by_confirm_by=sort is ExceptionSort.CONFIRM_BY,
        now=now or utcnow(),
    )


def exception_stats(
    session: Session, *, scope: Scope, now: datetime | None = None
) -> ExceptionCounts:
    """The queue's counts. Those per status add up the per-(type, status) roll-up that
    `by_type` reads (the groups' lines: every exception is in exactly one group), so the two can
    never disagree and the exceptions are not scanned a second time."""
    by_type = stats_by_type(session, scope=scope)
    by_status = {
        status: sum(counts[status] for counts in by_type.values()) for status in ExceptionStatus
    }
    by_deadline = repository.count_orders_by_deadline(session, scope=scope, now=now or utcnow())
    return ExceptionCounts(
        pending=by_status[ExceptionStatus.PENDING],
        resolved=by_status[ExceptionStatus.RESOLVED],
        ignored=by_status[ExceptionStatus.IGNORED],
        total=sum(by_status.values()),
        orders_with_exceptions=repository.count_blocked_orders(session, scope=scope),
        by_type=by_type,
        at_risk=by_deadline.get(DeadlineState.AT_RISK, 0),
        overdue=by_deadline.get(DeadlineState.OVERDUE, 0),
    )


def count_resolved_since(session: Session, *, scope: Scope, since: datetime) -> int:
    """How many exceptions were resolved at or after `since` and are still resolved (a reopened
    one no longer counts): the queue's "resolved today" card."""
    return repository.count_resolved_since(session, scope=scope, since=since)


def get_exception(
    session: Session, *, scope: Scope, exception_id: int, now: datetime | None = None
) -> ExceptionRow:
    row = repository.get_exception_row(session, scope=scope, exception_id=exception_id, now=now)
    if row is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    return row


def get_exception_detail(
    session: Session, *, scope: Scope, exception_id: int
) -> ExceptionDetailView:
    row = get_exception(session, scope=scope, exception_id=exception_id)
    order, item = repository.get_order_and_item(session, item_id=row.order_item_id)
    candidates: list[Product] = []
    if row.exception_type == ExceptionType.DUPLICATE_GTIN:
        canonical = item.gtin_normalized or normalize_gtin(row.original_gtin).canonical
        if canonical is not None:
            candidates = repository.candidate_products(
                session, vendor_id=row.vendor_id, canonical_gtin=canonical
            )
    return ExceptionDetailView(exception=row, order=order, item=item, candidates=candidates)


def check_matchable_product(session: Session, *, product_id: int, vendor_id: int) -> None:
    """The product is matchable for the vendor (`catalog.repository.matchable`), or the
    error says why not."""
    check = repository.check_product(session, product_id=product_id, vendor_id=vendor_id)
    if check is not None and check.matchable:
        return
    if check is None or check.product.vendor_id != vendor_id:
        # Same words as a missing product: a vendor learns nothing about other catalogs.
        raise InvalidProductForExceptionError(product_id, "it does not exist")
    if check.product.is_placeholder:
        raise InvalidProductForExceptionError(product_id, "it is the placeholder product")
    raise InvalidProductForExceptionError(product_id, "it is inactive")


def resolve_exception(
    session: Session,
    *,
    scope: Scope,
    exception_id: int,
    product_id: int,
    notes: str | None = None,
    remember: bool = False,
) -> ExceptionRow:
    """Assign the product to the exception's line. Pending and ignored exceptions can be
    resolved; of two concurrent resolves exactly one wins, the other gets
    ``ExceptionAlreadyResolvedError``."""
    exception = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if exception is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    if exception.status == ExceptionStatus.RESOLVED:
        raise ExceptionAlreadyResolvedError(exception_id)
    check_matchable_product(session, product_id=product_id, vendor_id=exception.vendor_id)
    gtin_key = normalize_gtin(exception.original_gtin).key
    if remember and gtin_key is None:
        raise GtinRequiredToRememberError(exception_id)
    status_before = exception.status
    product_before = repository.item_product_ids(session, item_ids=[exception.order_item_id])

    now = utcnow()
    resolved = repository.write_resolution(
        session,
        repository.unresolved(
            exception_id=exception_id, product_id=product_id, status=status_before
        ),
        actor_user_id=scope.actor_user_id,
        notes=notes,
        at=now,
    )
    if not resolved:
        # Another request resolved (or reopened, or ignored) it between our read and our write.
        raise lost_race(session, scope=scope, exception_id=exception_id)
    after_resolved(
        session,
        resolved,
        vendor_id=exception.vendor_id,
        actor_user_id=scope.actor_user_id,
        product_id=product_id,
        product_before=product_before,
        status_before={exception_id: status_before},
        notes=notes,
        at=now,
        via=events.ResolvedVia.ONE,
    )
    if remember:
        assert gtin_key is not None
        repository.upsert_mapping(
            session,
            vendor_id=exception.vendor_id,
            gtin_key=gtin_key,
            product_id=product_id,
            actor_user_id=scope.actor_user_id,
        )
    return get_exception(session, scope=scope, exception_id=exception_id)


def lost_race(session: Session, *, scope: Scope, exception_id: int) -> AppError:
    """The error for a write that found the exception changed since it was read: resolved
    (``ExceptionAlreadyResolvedError``, as before reopen existed), else
    ``ExceptionChangedError`` with its status now."""
    current = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if current is None:
        return OrderItemExceptionNotFoundError(exception_id)
    if current.status == ExceptionStatus.RESOLVED:
        return ExceptionAlreadyResolvedError(exception_id)
    return ExceptionChangedError(exception_id, current.status)


def after_resolved(
    session: Session,
    resolved: list[repository.Resolution],
    *,
    vendor_id: int,
    actor_user_id: int | None,
    product_id: int,
    product_before: Mapping[int, int],
    status_before: Mapping[int, str],
    notes: str | None,
    at: datetime,
    via: events.ResolvedVia,
    bulk_gtin: str | None = None,
) -> None:
    """A person's resolution, after `write_resolution`: the lines point at the product and
    each exception gets its event (`product_before` by line, `status_before` by exception)."""
    point_lines_at(
        session, item_ids=[row.order_item_id for row in resolved], product_id=product_id, at=at
    )
    record_events(
        session,
        [
            events.exception_resolved(
                exception_id=row.exception_id,
                vendor_id=vendor_id,
                actor_user_id=actor_user_id,
                status_before=status_before[row.exception_id],
                product_before=product_before[row.order_item_id],
                product_id=product_id,
                notes=notes,
                via=via,
                bulk_gtin=bulk_gtin,
            )
            for row in resolved
        ],
    )


def ignore_exception(
    session: Session, *, scope: Scope, exception_id: int, notes: str
) -> ExceptionRow:
    """Set a pending exception aside with a reason; it keeps blocking confirmation."""
    exception = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if exception is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    if exception.status != ExceptionStatus.PENDING:
        raise ExceptionNotPendingError(exception_id, exception.status)
    product_id = repository.item_product_ids(session, item_ids=[exception.order_item_id])[
        exception.order_item_id
    ]
    if not repository.mark_ignored(session, exception_id=exception_id, notes=notes, at=utcnow()):
        current = repository.get_exception(session, scope=scope, exception_id=exception_id)
        raise ExceptionNotPendingError(exception_id, current.status if current else "gone")
    record_events(
        session,
        [
            events.exception_ignored(
                exception_id=exception_id,
                vendor_id=exception.vendor_id,
                actor_user_id=scope.actor_user_id,
                product_id=product_id,
                notes=notes,
            )
        ],
    )
    return get_exception(session, scope=scope, exception_id=exception_id)


def bulk_resolve_by_gtin(
    session: Session,
    *,
    scope: VendorScope,
    gtin: str,
    product_id: int,
    notes: str | None = None,
    remember: bool = False,
) -> int:
    """Resolve every pending exception of the vendor whose line carries this GTIN (compared in
    canonical form when valid, else as the trimmed raw string); returns how many. An invalid
    GTIN that no pending exception carries is refused (``BulkGtinInvalidError``)."""
    vendor_id = scope.vendor_id
    check_matchable_product(session, product_id=product_id, vendor_id=vendor_id)
    parsed = normalize_gtin(gtin)
    gtin_key = parsed.key
    if gtin_key is None:
        raise ValidationFailedError("gtin must not be blank", details={"field": "gtin"})
    now = utcnow()
    resolved = repository.write_resolution(
        session,
        repository.pending_with_gtin(
            scope=scope,
            canonical_gtin=parsed.canonical,
            raw_gtin=gtin_key,
            product_id=product_id,
        ),
        actor_user_id=scope.actor_user_id,
        notes=notes,
        at=now,
    )
    if not resolved and parsed.canonical is None:
        # An invalid GTIN can still name lines by their raw text (gtin_mismatch); naming none,
        # it is a typo, not "0 resolved". Nothing was written.
        raise BulkGtinInvalidError(gtin)
    product_before = repository.item_product_ids(
        session, item_ids=[row.order_item_id for row in resolved]
    )
    after_resolved(
        session,
        resolved,
        vendor_id=vendor_id,
        actor_user_id=scope.actor_user_id,
        product_id=product_id,
        product_before=product_before,
        status_before=dict.fromkeys(
            (row.exception_id for row in resolved), ExceptionStatus.PENDING
        ),
        notes=notes,
        at=now,
        via=events.ResolvedVia.GTIN,
        bulk_gtin=gtin,
    )
    if remember:
        repository.upsert_mapping(
            session,
            vendor_id=vendor_id,
            gtin_key=gtin_key,
            product_id=product_id,
            actor_user_id=scope.actor_user_id,
        )
    return len(resolved)


def list_gtin_mappings(
    session: Session, *, scope: Scope, page: PageRequest
) -> tuple[list[Any], int]:
    """Rows with `schemas.GtinMappingOut`'s attributes, newest first, and the total."""
    return repository.list_mappings(session, scope=scope, page=page)


def delete_gtin_mapping(session: Session, *, scope: Scope, mapping_id: int) -> None:
    """Forget a remembered GTIN; future imports raise exceptions for it again."""
    if not repository.delete_mapping(session, scope=scope, mapping_id=mapping_id):
        raise GtinMappingNotFoundError(mapping_id)


def sweep_targets(session: Session, *, vendor_code: str | None) -> list[tuple[int, str]]:
    """(id, code) of the vendors a sweep covers: the named one (404 if unknown), or every
    vendor with pending exceptions, by code (``sweep.sweep_vendors`` runs it)."""
    if vendor_code is not None:
        vendors = [get_vendor_by_code(session, code=vendor_code)]
    else:
        vendors = repository.vendors_with_pending(session)
    return [(vendor.id, vendor.code) for vendor in vendors]


def stats_by_type(session: Session, *, scope: Scope) -> dict[str, dict[str, int]]:
    """Exceptions per type and status: every type with every status, zeros included."""
    counts = repository.count_by_type_and_status(session, scope=scope)
    return {
        kind.value: {status.value: counts.get((kind, status), 0) for status in ExceptionStatus}
        for kind in ExceptionType
    }


# --- what the marketplace offers the queue ----------------------------------------------------


def list_awaited_marketplace_products(
    session: Session,
    *,
    scope: VendorScope,
    search: str | None = None,
    marketplace: str | None = None,
    page: PageRequest,
) -> tuple[list[MarketplaceProduct], int]:
    """Marketplace products (searched as the catalog's list searches them) whose canonical GTIN
    a pending exception of the vendor waits for: what copy-to-catalog would auto-match."""
    statement = repository.awaited_marketplace_statement(
        vendor_id=scope.vendor_id, search=_term(search), marketplace=marketplace
    )
    return paginate(session, statement, page)


def awaited_marketplace_product_ids(
    session: Session,
    *,
    scope: VendorScope,
    search: str | None = None,
    marketplace: str | None = None,
) -> list[int]:
    """The ids of all of them (at most the copy limit plus one: a copy of more is refused)."""
    statement = repository.awaited_marketplace_statement(
        vendor_id=scope.vendor_id, search=_term(search), marketplace=marketplace
    )
    return marketplace_ids(session, statement, limit=MAX_COPY_IDS + 1)


def _term(search: str | None) -> str | None:
    return search.strip() if search and search.strip() else None
