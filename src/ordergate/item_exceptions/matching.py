"""Auto-matching: pending exceptions resolve when the vendor's catalog gains their product.

Never guess: a canonical GTIN resolves only when exactly one active, non-placeholder product of
the vendor carries it. With several candidates the exceptions stay pending, typed
``duplicate_gtin``, and their event lists the candidates.

All work is set-based: the affected GTINs are cut into chunks and each chunk costs a handful of
statements, whatever the number of exceptions in it. The resolving UPDATE re-checks "exactly one
candidate" itself, so a product added between the read and the write cannot make it guess.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ordergate.catalog.models import Product
from ordergate.catalog.repository import matchable
from ordergate.db import in_list, in_list_batches, utcnow
from ordergate.events.service import record_events
from ordergate.item_exceptions import events
from ordergate.orders.models import OrderItem, OrderItemException

AUTO_MATCH_NOTE = "auto-matched"
# Bound parameters per statement: far below SQLite's limit, large enough to keep round trips few.
CHUNK_SIZE = 500
# Values per array parameter on PostgreSQL: few statements, and memory still bounded per batch.

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class MatchOutcome:
    resolved: int = 0
    marked_duplicate: int = 0

    def __add__(self, other: MatchOutcome) -> MatchOutcome:
        return MatchOutcome(
            self.resolved + other.resolved, self.marked_duplicate + other.marked_duplicate
        )


def auto_match_products(session: Session, *, vendor_id: int, product_ids: Sequence[int]) -> int:
    """Resolve the vendor's pending exceptions that the given (new) products match.

    Returns the number of exceptions resolved."""
    new_gtins: set[str] = set()
    for chunk in in_list_batches(session, sorted(set(product_ids)), CHUNK_SIZE):
        # Looked up by primary key only and filtered here: with the vendor in the WHERE clause
        # SQLite prefers scanning the vendor's whole catalog through its index.
        for row in session.execute(
            select(
                Product.vendor_id,
                Product.is_active,
                Product.is_placeholder,
                Product.gtin_normalized,
            ).where(in_list(session, Product.id, chunk))
        ):
            if (
                row.vendor_id == vendor_id
                and row.is_active
                and not row.is_placeholder
                and row.gtin_normalized is not None
            ):
                new_gtins.add(row.gtin_normalized)
    if not new_gtins:
        return 0
    return match_gtins(session, vendor_id=vendor_id, gtins=new_gtins).resolved


def sweep_vendor(session: Session, *, vendor_id: int) -> int:
    """Match every pending exception of the vendor against its whole active catalog, for
    anything an import missed. Returns the number of exceptions resolved."""
    return match_gtins(session, vendor_id=vendor_id, gtins=None).resolved


def match_gtins(session: Session, *, vendor_id: int, gtins: Iterable[str] | None) -> MatchOutcome:
    """Resolve or flag the vendor's pending exceptions whose canonical GTIN is in ``gtins``
    (all of them when ``gtins`` is None)."""
    wanted = None if gtins is None else set(gtins)
    if wanted is not None and not wanted:
        return MatchOutcome()
    pending = _pending(session, vendor_id=vendor_id, gtins=wanted)
    if not pending:
        return MatchOutcome()
    candidates = _candidates(
        session, vendor_id=vendor_id, gtins=sorted({p.gtin_normalized for p in pending})
    )
    to_resolve = [p for p in pending if len(candidates.get(p.gtin_normalized, ())) == 1]
    to_flag = [
        p
        for p in pending
        if len(candidates.get(p.gtin_normalized, ())) > 1 and p.exception_type != "duplicate_gtin"
    ]
    return MatchOutcome(
        resolved=_resolve(session, vendor_id=vendor_id, rows=to_resolve),
        marked_duplicate=_flag_duplicates(
            session, vendor_id=vendor_id, rows=to_flag, candidates=candidates
        ),
    )


def pending_gtins(session: Session, *, vendor_id: int) -> set[str]:
    """The canonical GTINs the vendor's pending exceptions wait for (read, nothing locked): a
    job matching in batches asks only for these, each batch an indexed look-up."""
    return set(
        session.scalars(
            select(OrderItem.gtin_normalized)
            .join(OrderItemException, OrderItemException.order_item_id == OrderItem.id)
            .where(
                OrderItemException.vendor_id == vendor_id,
                OrderItemException.status == "pending",
                OrderItem.gtin_normalized.is_not(None),
            )
            .distinct()
        )
    )


def _pending(session: Session, *, vendor_id: int, gtins: set[str] | None) -> list[Any]:
    """The vendor's pending exceptions with a canonical GTIN in ``gtins`` (None: any), locked.

    One statement either way. Few GTINs go into an IN list; many are filtered here from the
    vendor's pending exceptions, which is what the database would scan for them anyway."""
    statement = (
        select(
            OrderItemException.id,
            OrderItemException.order_item_id,
            OrderItemException.exception_type,
            OrderItem.gtin_normalized,
            OrderItem.product_id,
        )
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .where(
            OrderItemException.vendor_id == vendor_id,
            OrderItemException.status == "pending",
            OrderItem.gtin_normalized.is_not(None),
        )
        .order_by(OrderItemException.id)
        .with_for_update(of=OrderItemException)
    )
    if gtins is not None and len(gtins) <= CHUNK_SIZE:
        statement = statement.where(OrderItem.gtin_normalized.in_(sorted(gtins)))
    rows = session.execute(statement).all()
    if gtins is None:
        return list(rows)
    return [row for row in rows if row.gtin_normalized in gtins]


def _candidates(session: Session, *, vendor_id: int, gtins: list[str]) -> dict[str, list[int]]:
    """Every active, non-placeholder product of the vendor per canonical GTIN, by id."""
    candidates: dict[str, list[int]] = defaultdict(list)
    for chunk in in_list_batches(session, gtins, CHUNK_SIZE):
        for gtin, product_id in session.execute(
            select(Product.gtin_normalized, Product.id)
            .where(matchable(vendor_id), in_list(session, Product.gtin_normalized, chunk))
            .order_by(Product.id)
        ):
            if gtin is not None:
                candidates[gtin].append(product_id)
    return candidates


def _resolve(session: Session, *, vendor_id: int, rows: Sequence[Any]) -> int:
    if not rows:
        return 0
    now = utcnow()
    before = {r.id: r for r in rows}
    resolved_product = (
        select(OrderItemException.resolved_product_id)
        .where(OrderItemException.order_item_id == OrderItem.id)
        .scalar_subquery()
    )
    total = 0
    # Chunk by chunk where ids are bound one by one (SQLite); one statement on PostgreSQL.
    for chunk in in_list_batches(session, list(before), CHUNK_SIZE):
        # Each GTIN's only candidate, aggregated once per statement. A per-exception subquery
        # would be planned from catalog statistics that cannot count the products this very
        # transaction inserted; PostgreSQL then scanned the vendor's catalog once per exception.
        only_candidate = (
            select(Product.gtin_normalized, func.max(Product.id).label("product_id"))
            .where(
                matchable(vendor_id),
                in_list(
                    session,
                    Product.gtin_normalized,
                    sorted({before[i].gtin_normalized for i in chunk}),
                ),
            )
            .group_by(Product.gtin_normalized)
            .having(func.count() == 1)
            .subquery()
        )
        resolved = session.execute(
            update(OrderItemException)
            .where(
                in_list(session, OrderItemException.id, chunk),
                OrderItemException.status == "pending",
                OrderItem.id == OrderItemException.order_item_id,
                OrderItem.gtin_normalized == only_candidate.c.gtin_normalized,
            )
            .values(
                status="resolved",
                resolved_product_id=only_candidate.c.product_id,
                resolved_at=now,
                resolved_by=None,
                resolution_notes=AUTO_MATCH_NOTE,
                updated_at=now,
            )
            .returning(
                OrderItemException.id,
                OrderItemException.order_item_id,
                OrderItemException.resolved_product_id,
            )
            .execution_options(synchronize_session=False)
        ).all()
        if not resolved:
            continue
        session.execute(
            update(OrderItem)
            .where(in_list(session, OrderItem.id, [row.order_item_id for row in resolved]))
            .values(product_id=resolved_product, needs_product_match=False, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        record_events(
            session,
            [
                events.exception_auto_matched(
                    exception_id=row.id,
                    vendor_id=vendor_id,
                    exception_type=before[row.id].exception_type,
                    order_item_id=row.order_item_id,
                    product_before=before[row.id].product_id,
                    product_id=row.resolved_product_id,
                )
                for row in sorted(resolved, key=lambda r: r.id)
            ],
        )
        total += len(resolved)
    return total


def _flag_duplicates(
    session: Session, *, vendor_id: int, rows: Sequence[Any], candidates: dict[str, list[int]]
) -> int:
    if not rows:
        return 0
    now = utcnow()
    flagged: set[int] = set()
    for chunk in in_list_batches(session, [r.id for r in rows], CHUNK_SIZE):
        flagged.update(
            session.scalars(
                update(OrderItemException)
                .where(
                    in_list(session, OrderItemException.id, chunk),
                    OrderItemException.status == "pending",
                    OrderItemException.exception_type != "duplicate_gtin",
                )
                .values(exception_type="duplicate_gtin", updated_at=now)
                .returning(OrderItemException.id)
                .execution_options(synchronize_session=False)
            )
        )
    record_events(
        session,
        [
            events.exception_marked_duplicate(
                exception_id=row.id,
                vendor_id=vendor_id,
                type_before=row.exception_type,
                gtin_normalized=row.gtin_normalized,
                candidate_product_ids=candidates[row.gtin_normalized],
            )
            for row in rows
            if row.id in flagged
        ],
    )
    return len(flagged)
