from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from ordergate.schemas import Page, Schema

OrderStatus = Literal["pending", "processing", "cancelled", "shipped", "delivered"]


class OrderItemUnitOut(Schema):
    id: int
    external_unit_id: str
    state: str


class ExceptionBrief(Schema):
    id: int
    exception_type: str
    status: str
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
    exception_count: int = Field(description="Pending or ignored exceptions blocking the order")
    items: list[OrderItemOut]


class OrderList(Page):
    orders: list[OrderOut]
