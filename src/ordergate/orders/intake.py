"""What a marketplace adapter hands to the order import: marketplace-neutral incoming orders.

A second marketplace is a new adapter producing these, not edits to the import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Integer, SmallInteger, String
from sqlalchemy.orm import InstrumentedAttribute

from ordergate.orders.models import Order, OrderItem, OrderItemUnit


@dataclass(frozen=True, slots=True)
class IncomingUnit:
    external_id: str
    state: str


@dataclass(frozen=True, slots=True)
class IncomingLine:
    """All units of one marketplace variant in one shipment."""

    external_item_id: str
    product_name: str | None
    sku: str | None
    gtin: str | None
    gtin_type: str | None
    unit_price_cents: int | None
    units: list[IncomingUnit]


@dataclass(frozen=True, slots=True)
class IncomingOrder:
    external_shipment_id: str
    external_order_id: str | None
    external_order_number: str | None
    order_number: str
    customer_email: str | None
    customer_name: str | None
    customer_locale: str | None
    shipping_address: dict[str, Any] | None
    billing_address: dict[str, Any] | None
    total_cents: int | None
    currency: str
    order_date: datetime | None
    lines: list[IncomingLine]
    tracking_code: str | None = None
    tracking_provider: str | None = None
    raw_payload: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    # The adapter's digest of everything the order was built from (stored on the order): an
    # order stored with the same digest is skipped by a re-import. None: always compared in full.
    content_hash: str | None = field(default=None, repr=False, compare=False)

    def build(self) -> IncomingOrder:
        """Built already (see ``DeferredOrder``)."""
        return self


@dataclass(frozen=True, slots=True)
class DeferredOrder:
    """An order the adapter builds only when the import needs it: the import compares
    ``content_hash`` with the stored order's first and skips an unchanged order unbuilt."""

    external_shipment_id: str
    content_hash: str | None
    build: Callable[[], IncomingOrder] = field(repr=False, compare=False)


# What the import takes: built orders, or orders built once they are known to have changed.
OrderSource = IncomingOrder | DeferredOrder


@dataclass(frozen=True, slots=True)
class ImportFailure:
    external_id: str | None
    reason: str


@dataclass(slots=True)
class ImportResult:
    shipments_seen: int = 0
    orders_created: int = 0
    orders_updated: int = 0
    exceptions_created: int = 0
    failed: list[ImportFailure] = field(default_factory=list)
    exception_ids: list[int] = field(default_factory=list)  # of the exceptions created

    def add(self, other: ImportResult) -> None:
        self.shipments_seen += other.shipments_seen
        self.orders_created += other.orders_created
        self.orders_updated += other.orders_updated
        self.exceptions_created += other.exceptions_created
        self.failed.extend(other.failed)
        self.exception_ids.extend(other.exception_ids)


# The narrowest bound any supported database puts on each integer type: SQLite keeps 64 bits in
# every INTEGER column, PostgreSQL's integer is 32 bits. Subclasses before Integer.
_INTEGER_MAX = {SmallInteger: 2**15 - 1, BigInteger: 2**63 - 1, Integer: 2**31 - 1}


def max_length(column: InstrumentedAttribute[Any]) -> int:
    """The most characters a String column stores (PostgreSQL refuses more; SQLite would not)."""
    column_type = column.type
    if not isinstance(column_type, String) or column_type.length is None:
        raise TypeError(f"{column} is not a String column with a length")
    return column_type.length


def max_integer(column: InstrumentedAttribute[Any]) -> int:
    """The largest value an integer column stores on every supported database."""
    for integer_type, maximum in _INTEGER_MAX.items():
        if isinstance(column.type, integer_type):
            return maximum
    raise TypeError(f"{column} is not an integer column")


@dataclass(frozen=True, slots=True)
class IntakeLimits:
    """The most each incoming field may hold: what the column it is stored in takes.

    An adapter refuses a longer text or a larger amount itself, naming its own field, so SQLite
    and PostgreSQL import the same orders (one would store the value, the other refuse the row).
    """

    shipment_id: int
    order_id: int
    order_number: int
    customer_email: int
    customer_name: int
    customer_locale: int
    tracking_code: int
    tracking_provider: int
    item_id: int
    product_name: int
    sku: int
    gtin: int
    gtin_type: int
    unit_id: int
    unit_state: int
    cents: int


LIMITS = IntakeLimits(
    shipment_id=max_length(Order.external_shipment_id),
    order_id=max_length(Order.external_order_id),
    order_number=max_length(Order.external_order_number),
    customer_email=max_length(Order.customer_email),
    customer_name=max_length(Order.customer_name),
    customer_locale=max_length(Order.customer_locale),
    tracking_code=max_length(Order.tracking_code),
    tracking_provider=max_length(Order.tracking_provider),
    item_id=max_length(OrderItem.external_item_id),
    product_name=max_length(OrderItem.product_name),
    sku=max_length(OrderItem.product_sku),
    gtin=max_length(OrderItem.gtin),
    gtin_type=max_length(OrderItem.gtin_type),
    unit_id=max_length(OrderItemUnit.external_unit_id),
    unit_state=max_length(OrderItemUnit.state),
    cents=min(max_integer(Order.total_cents), max_integer(OrderItem.unit_price_cents)),
)
