from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.db import Base, UTCDateTime, utcnow

EXCEPTION_TYPES = ("product_not_found", "gtin_mismatch", "duplicate_gtin")
# pending: awaiting resolution (blocks); resolved: product assigned; ignored: set aside (blocks).
EXCEPTION_STATUSES = ("pending", "resolved", "ignored")
BLOCKING_STATUSES = ("pending", "ignored")


class OrderItemException(Base):
    """An order line not matched to the vendor's catalog; exactly the spec's columns."""

    __tablename__ = "order_item_exceptions"
    __table_args__ = (
        CheckConstraint(
            "exception_type IN ('product_not_found', 'gtin_mismatch', 'duplicate_gtin')",
            name="exception_type",
        ),
        CheckConstraint("status IN ('pending', 'resolved', 'ignored')", name="status"),
        # Lists: newest first within vendor (+ status) or overall (migration 0002).
        Index(
            "ix_order_item_exceptions_vendor_id_status_created_at",
            "vendor_id",
            "status",
            "created_at",
            "id",
        ),
        Index("ix_order_item_exceptions_vendor_id_created_at", "vendor_id", "created_at", "id"),
        Index("ix_order_item_exceptions_created_at", "created_at", "id"),
        # Stats: counts and blocked orders from covering indexes.
        Index("ix_order_item_exceptions_status_order_item_id", "status", "order_item_id"),
        Index(
            "ix_order_item_exceptions_vendor_id_status_order_item_id",
            "vendor_id",
            "status",
            "order_item_id",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_item_id: Mapped[int] = mapped_column(
        ForeignKey("order_items.id", ondelete="CASCADE"), unique=True
    )
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"), index=True)
    original_gtin: Mapped[str | None] = mapped_column(String(50), index=True)
    original_product_name: Mapped[str | None] = mapped_column(String(500))
    original_sku: Mapped[str | None] = mapped_column(String(100))
    exception_type: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(50), default="pending", index=True)
    resolved_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution_notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
