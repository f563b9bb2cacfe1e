"""What the dashboard's exception detail page reads beyond the API's detail: the product picker
over the exception's vendor catalog, whether an order is now confirmable, and the next pending
exception of the vendor's queue (docs/dashboard.md, "Exception detail").

The picker finds the vendor's matchable products (`catalog.repository.matchable`) by GTIN (a
whole GTIN in any form, or the first digits of one), SKU (the same or a longer one, ignoring
case) and title words, each through an index (`repository.picker_products`), never by reading
the catalog into Python.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session
from stdnum import ean

from ordergate.gtin import CANONICAL_LENGTH, normalize_gtin
from ordergate.item_exceptions import repository
from ordergate.item_exceptions.errors import OrderItemExceptionNotFoundError
from ordergate.item_exceptions.suggestions import title_words
from ordergate.orders import repository as orders_repository
from ordergate.orders.models import OrderStatus
from ordergate.scope import Scope

PICKER_LIMIT = 10
# Shorter queries find too much to be of help (and cannot use the title indexes).
PICKER_MIN_LENGTH = 2
PICKER_MAX_LENGTH = 100
# GTIN lengths a typed prefix may belong to (GTIN-8, UPC-A, EAN-13, GTIN-14).
_GTIN_LENGTHS = (8, 12, 13, 14)
_MIN_GTIN_PREFIX = 3


@dataclass(frozen=True, slots=True)
class PickedProduct:
    product: repository.ProductBrief
    matched_by: str  # gtin, sku or title: the best of the look-ups that found it


_ORDER = {"gtin": 0, "sku": 1, "title": 2}


def _after(prefix: str) -> str:
    """The smallest digit string above every string starting with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _gtin_ranges(query: str) -> list[tuple[str, str]]:
    """Ranges of canonical GTINs the query names: a whole valid GTIN exactly, else every GTIN
    whose digits begin with the query's (as typed, before zero-padding to 14)."""
    parsed = normalize_gtin(query)
    if parsed.canonical is not None:
        return [(parsed.canonical, _after(parsed.canonical))]
    digits = ean.compact(query)
    if not (digits.isascii() and digits.isdigit()) or len(digits) < _MIN_GTIN_PREFIX:
        return []
    ranges = []
    for length in _GTIN_LENGTHS:
        if len(digits) <= length:
            low = "0" * (CANONICAL_LENGTH - length) + digits
            ranges.append((low, _after(low)))
    return ranges


def search_products(
    session: Session, *, scope: Scope, exception_id: int, query: str, limit: int = PICKER_LIMIT
) -> list[PickedProduct]:
    """The exception's vendor's matchable products matching `query` (`search_vendor_products`).
    Another vendor's exception is reported as missing."""
    exception = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if exception is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    return search_vendor_products(session, vendor_id=exception.vendor_id, query=query, limit=limit)


def search_vendor_products(
    session: Session, *, vendor_id: int, query: str, limit: int = PICKER_LIMIT
) -> list[PickedProduct]:
    """The vendor's matchable products matching `query` (GTIN, SKU, title), GTIN matches
    first, then SKU, then title; at most `limit`. The one picker search of the dashboard: the
    exception detail page and the queue's bulk bar and triage dialog. The caller has checked
    that the user works in `vendor_id`."""
    term = query.strip()[:PICKER_MAX_LENGTH]
    if len(term) < PICKER_MIN_LENGTH:
        return []
    lookup = repository.PickerLookup(
        gtin_ranges=_gtin_ranges(term),
        sku=term.lower(),
        title_words=title_words(term),
    )
    found = repository.picker_products(session, vendor_id=vendor_id, lookup=lookup, limit=limit)
    best: dict[int, str] = {}
    for product_id, via in found:
        if product_id not in best or _ORDER[via] < _ORDER[best[product_id]]:
            best[product_id] = via
    products = {
        p.id: p for p in repository.products_by_ids(session, vendor_id=vendor_id, ids=sorted(best))
    }
    picked = [
        PickedProduct(product=products[product_id], matched_by=via)
        for product_id, via in best.items()
        if product_id in products
    ]
    picked.sort(key=lambda p: (_ORDER[p.matched_by], p.product.title.casefold(), p.product.id))
    return picked[:limit]


def order_confirmable(session: Session, *, scope: Scope, order_id: int) -> bool:
    """Whether the order awaits confirmation and no exception blocks it any more (the gate's
    rule, `orders.guard`)."""
    order = orders_repository.find_order(session, scope=scope, order_id=order_id)
    if order is None or order.status != OrderStatus.PENDING:
        return False
    return not orders_repository.blocking_exception_ids(session, order_id=order_id)


def next_pending_exception(session: Session, *, scope: Scope, exception_id: int) -> int | None:
    """The id of the pending exception after this one in its vendor's queue (newest first),
    wrapping round to the newest; None when no other is pending."""
    exception = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if exception is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    return repository.next_pending_id(
        session,
        vendor_id=exception.vendor_id,
        created_at=exception.created_at,
        exception_id=exception.id,
    )


def product_titles(session: Session, *, vendor_id: int, ids: set[int]) -> dict[int, str]:
    """The titles of the vendor's products a resolution or a timeline names."""
    return repository.product_titles(session, vendor_id=vendor_id, ids=sorted(ids))
