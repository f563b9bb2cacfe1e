from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.models import ExceptionStatus, ExceptionType, OrderStatus, UnitState
from ordergate.schemas import Page, Schema


class OrderItemUnitOut(Schema):
    id: int
    external_unit_id: str
    # Letzshop's unit state, kept verbatim: a state it adds later passes through unchanged.
    state: UnitState | str


class ExceptionBrief(Schema):
    id: int
    exception_type: ExceptionType
    status: ExceptionStatus
    original_gtin: str | None
    original_product_name: str | None
    resolved_product_id: int | None


class OrderItemOut(Schema):
    id: int
    external_item_id: str
    product_id: int
    product_name: str | None
    product_sku: str | None
    gtin: str | None
    gtin_type: str | None
    quantity: int
    unit_price_cents: int | None
    needs_product_match: bool
    units: list[OrderItemUnitOut]
    exception: ExceptionBrief | None


class OrderOut(Schema):
    id: int
    vendor_id: int
    channel: str
    order_number: str
    external_order_id: str | None
    external_shipment_id: str
    external_order_number: str | None
    status: OrderStatus
    customer_email: str | None
    customer_name: str | None
    customer_locale: str | None
    shipping_address: dict[str, Any] | None
    billing_address: dict[str, Any] | None
    total_cents: int | None
    currency: str
    order_date: datetime | None
    confirmed_at: datetime | None
    tracking_code: str | None
    tracking_provider: str | None
    created_at: datetime
    updated_at: datetime
    exception_count: int = Field(
        description="Exceptions blocking the order: pending or ignored, on a line that is not "
        "declined (a declined line has every unit confirmed_unavailable). While it is above 0 "
        "the order cannot be confirmed."
    )
    confirm_by: datetime | None = Field(
        description="While the order awaits confirmation and an exception blocks it: its order "
        "date plus the vendor's confirmation_deadline_hours; else null"
    )
    deadline_state: DeadlineState | None = Field(
        description="overdue (confirm_by passed), at_risk (less than 24 h left), on_track; "
        "null without confirm_by"
    )
    age_seconds: int = Field(description="Whole seconds since the order date (or its arrival)")
    confirmation_pending: bool = Field(
        description="A confirm/decline of the order is queued for retries because Letzshop "
        "could not be reached (docs/jobs.md); another answers 409 FULFILMENT_PENDING meanwhile"
    )
    items: list[OrderItemOut]


class OrderList(Page):
    orders: list[OrderOut]
