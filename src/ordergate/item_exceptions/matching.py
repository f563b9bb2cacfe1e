"""Auto-matching: pending exceptions resolve when the vendor's catalog gains their product.

Never guess: a canonical GTIN resolves only when exactly one active, non-placeholder product of
the vendor carries it. With several candidates the exceptions stay pending, typed
``duplicate_gtin``, and their event lists the candidates.

All work is set-based: the affected GTINs are cut into chunks and each chunk costs a handful of
statements, whatever the number of exceptions in it. The resolving UPDATE re-checks "exactly one
candidate" itself, so a product added between the read and the write cannot make it guess.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from ordergate.db import in_list_batches, utcnow
from ordergate.events.repository import record_events
from ordergate.item_exceptions import events, repository
from ordergate.item_exceptions.events import MatchCause
from ordergate.orders.models import ExceptionType
from ordergate.orders.repository import point_lines_at

AUTO_MATCH_NOTE = "auto-matched"
# Bound parameters per statement: far below SQLite's limit, large enough to keep round trips few.
CHUNK_SIZE = 500


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
    new_gtins = repository.matchable_gtins_of(
        session, vendor_id=vendor_id, product_ids=sorted(set(product_ids)), size=CHUNK_SIZE
    )
    if not new_gtins:
        return 0
    return match_gtins(session, vendor_id=vendor_id, gtins=new_gtins).resolved


def sweep_vendor(session: Session, *, vendor_id: int) -> int:
    """Match every pending exception of the vendor against its whole active catalog, for
    anything an import missed. Returns the number of exceptions resolved."""
    return match_gtins(session, vendor_id=vendor_id, gtins=None, cause=MatchCause.SWEEP).resolved


def match_gtins(
    session: Session,
    *,
    vendor_id: int,
    gtins: Iterable[str] | None,
    cause: MatchCause = MatchCause.CATALOG,
) -> MatchOutcome:
    """Resolve or flag the vendor's pending exceptions whose canonical GTIN is in ``gtins``
    (all of them when ``gtins`` is None); ``cause`` goes into the events."""
    wanted = None if gtins is None else set(gtins)
    if wanted is not None and not wanted:
        return MatchOutcome()
    pending = _pending(session, vendor_id=vendor_id, gtins=wanted)
    if not pending:
        return MatchOutcome()
    candidates = repository.matchable_products_by_gtin(
        session,
        vendor_id=vendor_id,
        gtins=sorted({p.gtin_normalized for p in pending}),
        size=CHUNK_SIZE,
    )
    to_resolve = [p for p in pending if len(candidates.get(p.gtin_normalized, ())) == 1]
    to_flag = [
        p
        for p in pending
        if len(candidates.get(p.gtin_normalized, ())) > 1
        and p.exception_type != ExceptionType.DUPLICATE_GTIN
    ]
    return MatchOutcome(
        resolved=_resolve(session, vendor_id=vendor_id, rows=to_resolve, cause=cause),
        marked_duplicate=_flag_duplicates(
            session, vendor_id=vendor_id, rows=to_flag, candidates=candidates, cause=cause
        ),
    )


def pending_gtins(session: Session, *, vendor_id: int) -> set[str]:
    """The canonical GTINs the vendor's pending exceptions wait for (read, nothing locked): a
    job matching in batches asks only for these, each batch an indexed look-up."""
    return repository.pending_gtins(session, vendor_id=vendor_id)


def _pending(session: Session, *, vendor_id: int, gtins: set[str] | None) -> list[Any]:
    """The vendor's pending exceptions with a canonical GTIN in ``gtins`` (None: any), locked.

    One statement either way. Few GTINs go into an IN list; many are filtered here from the
    vendor's pending exceptions, which is what the database would scan for them anyway."""
    listed = sorted(gtins) if gtins is not None and len(gtins) <= CHUNK_SIZE else None
    rows = repository.lock_pending_with_gtins(session, vendor_id=vendor_id, gtins=listed)
    if gtins is None:
        return rows
    return [row for row in rows if row.gtin_normalized in gtins]


def _resolve(session: Session, *, vendor_id: int, rows: Sequence[Any], cause: MatchCause) -> int:
    if not rows:
        return 0
    now = utcnow()
    before = {r.id: r for r in rows}
    total = 0
    # Chunk by chunk where ids are bound one by one (SQLite); one statement on PostgreSQL.
    for chunk in in_list_batches(session, list(before), CHUNK_SIZE):
        target = repository.pending_with_one_candidate(
            session,
            vendor_id=vendor_id,
            exception_ids=chunk,
            gtins=sorted({before[i].gtin_normalized for i in chunk}),
        )
        resolved = repository.write_resolution(
            session, target, actor_user_id=None, notes=AUTO_MATCH_NOTE, at=now
        )
        if not resolved:
            continue
        # Each line to the product its own exception resolved to, in one statement.
        point_lines_at(
            session,
            item_ids=[row.order_item_id for row in resolved],
            product_id=repository.resolved_product_of_line(),
            at=now,
        )
        record_events(
            session,
            [
                events.exception_auto_matched(
                    exception_id=row.exception_id,
                    vendor_id=vendor_id,
                    exception_type=before[row.exception_id].exception_type,
                    order_item_id=row.order_item_id,
                    product_before=before[row.exception_id].product_id,
                    product_id=row.product_id,
                    cause=cause,
                )
                for row in resolved
            ],
        )
        total += len(resolved)
    return total


def _flag_duplicates(
    session: Session,
    *,
    vendor_id: int,
    rows: Sequence[Any],
    candidates: dict[str, list[int]],
    cause: MatchCause,
) -> int:
    if not rows:
        return 0
    now = utcnow()
    flagged: set[int] = set()
    for chunk in in_list_batches(session, [r.id for r in rows], CHUNK_SIZE):
        flagged |= repository.mark_duplicate(session, exception_ids=chunk, at=now)
    record_events(
        session,
        [
            events.exception_marked_duplicate(
                exception_id=row.id,
                vendor_id=vendor_id,
                type_before=row.exception_type,
                gtin_normalized=row.gtin_normalized,
                candidate_product_ids=candidates[row.gtin_normalized],
                cause=cause,
            )
            for row in rows
            if row.id in flagged
        ],
    )
    return len(flagged)
