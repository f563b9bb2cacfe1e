"""Keyword-only factories for catalog and auto-match tests; each flushes, the caller commits."""

from __future__ import annotations

from itertools import count
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum import ean

from ordergate.catalog.models import MarketplaceProduct
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.gtin import canonical_gtin
from ordergate.orders.models import Order, OrderItem, OrderItemException
from tests.factories import make_product  # noqa: F401 - the shared factory, re-exported

_sequence = count(1)
M = TypeVar("M")


def gtin13(body: str) -> str:
    """A valid GTIN-13 from 12 digits of body."""
    return body + ean.calc_check_digit(body)


def tsv(header: list[str], *rows: list[str], newline: str = "\n", bom: bool = False) -> bytes:
    lines = ["\t".join(header), *("\t".join(row) for row in rows)]
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def make_marketplace_product(
    db: Session,
    *,
    marketplace_product_id: str | None = None,
    title: str = "Coffee mug",
    gtin: str | None = None,
    sku: str | None = None,
    price_cents: int | None = 1999,
    marketplace: str = "letzshop",
) -> MarketplaceProduct:
    row = MarketplaceProduct(
        marketplace=marketplace,
        marketplace_product_id=marketplace_product_id or f"mp-{next(_sequence)}",
        title=title,
        gtin=gtin,
        gtin_normalized=canonical_gtin(gtin),
        gtin_type="gtin13" if canonical_gtin(gtin) else None,
        sku=sku,
        price_cents=price_cents,
        currency="EUR",
        attributes={},
    )
    db.add(row)
    db.flush()
    return row


def make_pending_exception(
    db: Session,
    *,
    vendor_id: int,
    gtin: str | None,
    exception_type: str = "product_not_found",
    status: str = "pending",
) -> OrderItemException:
    """An order with one unmatched line on the placeholder, and its exception."""
    n = next(_sequence)
    placeholder = placeholder_product_id(db, vendor_id=vendor_id)
    order = Order(
        vendor_id=vendor_id,
        channel="letzshop",
        external_shipment_id=f"shp-{n}",
        order_number=f"LS-{vendor_id}-{n}",
        status="pending",
        currency="EUR",
    )
    db.add(order)
    db.flush()
    item = OrderItem(
        order_id=order.id,
        product_id=placeholder,
        external_item_id=f"var-{n}",
        product_name=f"Item {n}",
        gtin=gtin,
        gtin_normalized=canonical_gtin(gtin),
        quantity=1,
        needs_product_match=True,
    )
    db.add(item)
    db.flush()
    exception = OrderItemException(
        order_item_id=item.id,
        vendor_id=vendor_id,
        original_gtin=gtin,
        original_product_name=item.product_name,
        exception_type=exception_type,
        status=status,
    )
    db.add(exception)
    db.flush()
    return exception


def row_count(db: Session, model: type, *where: Any) -> int:
    """Rows in the database now. Ends the read transaction: on SQLite every transaction takes
    the write lock, and an open one would make the app's next request wait."""
    count = db.scalar(select(func.count()).select_from(model).where(*where)) or 0
    db.commit()
    return count


def reload(db: Session, model: type[M], row_id: int) -> M:
    """The row as the database holds it now (not the session's cached copy)."""
    db.expire_all()
    row = db.get(model, row_id)
    assert row is not None
    db.commit()
    return row
