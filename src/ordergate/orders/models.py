from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ordergate.db import Base, JSONType, UTCDateTime, utcnow

# Order status, each with its one-line meaning:
#   pending    - at least one unit still awaits the vendor's confirm/decline
#   processing - every unit decided, at least one confirmed available
#   cancelled  - every unit declined (Letzshop's "declined" shipment, derived client-side)
#   shipped    - handed to the carrier (tracking set)
#   delivered  - received by the customer
ORDER_STATUSES = ("pending", "processing", "cancelled", "shipped", "delivered")

# Letzshop inventory-unit states, kept verbatim.
UNIT_STATES = ("unconfirmed", "confirmed_available", "confirmed_unavailable", "returned")


class Order(Base):
    """One marketplace shipment, unified for all channels."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("vendor_id", "channel", "external_shipment_id"),
        CheckConstraint(
            "status IN ('pending', 'processing', 'cancelled', 'shipped', 'delivered')",
            name="status",
        ),
        Index("ix_orders_vendor_id_order_date", "vendor_id", "order_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(30))
    external_order_id: Mapped[str | None] = mapped_column(String(100))
    external_shipment_id: Mapped[str] = mapped_column(String(100))
    external_order_number: Mapped[str | None] = mapped_column(String(100))
    order_number: Mapped[str] = mapped_column(String(150), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", index=True)
    customer_email: Mapped[str | None] = mapped_column(String(320))
    customer_name: Mapped[str | None] = mapped_column(String(255))
    customer_locale: Mapped[str | None] = mapped_column(String(10))
    shipping_address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    billing_address: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    total_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    order_date: Mapped[datetime | None] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while a confirm/decline is being sent to the marketplace (outside any transaction),
    # so a second one is refused (409); a lease, so a crashed sender does not block it for good.
    fulfilment_lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    tracking_code: Mapped[str | None] = mapped_column(String(100))
    tracking_provider: Mapped[str | None] = mapped_column(String(100))
    raw_payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )


class OrderItem(Base):
    """One order line: all units of one marketplace variant in a shipment."""

    __tablename__ = "order_items"
    __table_args__ = (
        UniqueConstraint("order_id", "external_item_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_order_items_gtin_normalized", "gtin_normalized"),
        # Covering: line -> order without reading the wide row (blocked-order counts, 0002).
        Index("ix_order_items_id_order_id", "id", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # Always set: the vendor's placeholder product when the line is not matched yet.
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    # The marketplace's key for the line (Letzshop: the variant id).
    external_item_id: Mapped[str] = mapped_column(String(100))
    product_name: Mapped[str | None] = mapped_column(String(500))
    product_sku: Mapped[str | None] = mapped_column(String(100))
    gtin: Mapped[str | None] = mapped_column(String(50))
    gtin_type: Mapped[str | None] = mapped_column(String(20))
    gtin_normalized: Mapped[str | None] = mapped_column(String(14))
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_cents: Mapped[int | None] = mapped_column(Integer)
    needs_product_match: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    order: Mapped[Order] = relationship(back_populates="items")
    units: Mapped[list[OrderItemUnit]] = relationship(
        back_populates="item", cascade="all, delete-orphan", order_by="OrderItemUnit.id"
    )


class OrderItemUnit(Base):
    """One marketplace inventory unit (one piece) of an order item."""

    __tablename__ = "order_item_units"
    __table_args__ = (UniqueConstraint("order_item_id", "external_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_item_id: Mapped[int] = mapped_column(
        ForeignKey("order_items.id", ondelete="CASCADE"), index=True
    )
    external_unit_id: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    item: Mapped[OrderItem] = relationship(back_populates="units")
