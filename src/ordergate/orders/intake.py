"""What a marketplace adapter hands to the order import: marketplace-neutral incoming orders.

A second marketplace is a new adapter producing these, not edits to the import.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


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

    def add(self, other: ImportResult) -> None:
        self.shipments_seen += other.shipments_seen
        self.orders_created += other.orders_created
        self.orders_updated += other.orders_updated
        self.exceptions_created += other.exceptions_created
        self.failed.extend(other.failed)
