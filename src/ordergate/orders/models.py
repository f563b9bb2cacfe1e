from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship

from ordergate.db import Base, JSONType, UTCDateTime, check_in, utcnow


class OrderStatus(StrEnum):
    PENDING = "pending"  # at least one unit still awaits the vendor's confirm/decline
    PROCESSING = "processing"  # every unit decided, at least one confirmed available
    CANCELLED = "cancelled"  # every unit declined (Letzshop's "declined", derived client-side)
    SHIPPED = "shipped"  # handed to the carrier (tracking set)
    DELIVERED = "delivered"  # received by the customer


class UnitState(StrEnum):
    """Letzshop inventory-unit states, kept verbatim."""

    UNCONFIRMED = "unconfirmed"
    CONFIRMED_AVAILABLE = "confirmed_available"
    CONFIRMED_UNAVAILABLE = "confirmed_unavailable"  # declined by the vendor
    RETURNED = "returned"


class ExceptionType(StrEnum):
    PRODUCT_NOT_FOUND = "product_not_found"
    GTIN_MISMATCH = "gtin_mismatch"
    DUPLICATE_GTIN = "duplicate_gtin"


class ExceptionStatus(StrEnum):
    PENDING = "pending"  # awaiting resolution (blocks)
    RESOLVED = "resolved"  # product assigned
    IGNORED = "ignored"  # set aside with a reason (still blocks)

    @classmethod
    def blocking(cls) -> tuple[ExceptionStatus, ...]:
        """Statuses that block confirmation (on a line that is not declined: orders/guard.py)."""
        return (cls.PENDING, cls.IGNORED)


class Verdict(StrEnum):
    """A confirm/decline's choice (orders/fulfilment.py)."""

    CONFIRM = "confirm"  # the vendor ships the units (Letzshop: available)
    DECLINE = "decline"  # the vendor cannot (Letzshop: unavailable); never blocked by the gate


class Order(Base):
    """One marketplace shipment, unified for all channels."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("vendor_id", "channel", "external_shipment_id"),
        check_in("status", OrderStatus),
        Index("ix_orders_vendor_id_order_date", "vendor_id", "order_date"),
        # The list's newest-first order has two more, dialect-specific: migration 0020.
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(30))
    external_order_id: Mapped[str | None] = mapped_column(String(100))
    external_shipment_id: Mapped[str] = mapped_column(String(100))
    external_order_number: Mapped[str | None] = mapped_column(String(100))
    order_number: Mapped[str] = mapped_column(String(150), unique=True)
    status: Mapped[str] = mapped_column(String(20), default=OrderStatus.PENDING, index=True)
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
    # The adapter's digest of the shipment as last imported whole (intake.IncomingOrder's
    # content_hash); a re-import with the same digest skips the order. Cleared by any local
    # writer of its units or status, so the next import compares it in full (migration 0016).
    content_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by="OrderItem.id"
    )
    # Exceptions blocking the order (orders/guard.py), loaded only where a query asks for it
    # (`with_expression`, orders/repository.py); None otherwise.
    exception_count: Mapped[int | None] = query_expression()
    # Its confirmation deadline, that deadline's state and its age at the query's `now`
    # (orders/deadlines.py), loaded the same way; None otherwise.
    confirm_by: Mapped[datetime | None] = query_expression()
    deadline_state: Mapped[str | None] = query_expression()
    age_seconds: Mapped[int | None] = query_expression()
    # A confirm/decline of it is queued for a retry (an open FulfilmentRequest), loaded the
    # same way; None otherwise.
    confirmation_pending: Mapped[bool | None] = query_expression()


class OrderItem(Base):
    """One order line: all units of one marketplace variant in a shipment."""

    __tablename__ = "order_items"
    __table_args__ = (
        UniqueConstraint("order_id", "external_item_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_order_items_gtin_normalized", "gtin_normalized"),
        # Covering: line -> order without reading the wide row (blocked-order counts, 0002).
        Index("ix_order_items_id_order_id", "id", "order_id"),
        # KPIs: a vendor's lines imported in a window, one index range (migration 0012).
        Index("ix_order_items_vendor_id_created_at", "vendor_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    # A copy of the order's vendor, for the KPIs' per-vendor line counts: the importer writes
    # it, and a trigger fills it when an insert leaves it out (migration 0012).
    vendor_id: Mapped[int | None] = mapped_column(Integer)
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
    # Read-only: the importer and the QC workflow write exceptions with bulk statements.
    exception: Mapped[OrderItemException | None] = relationship(viewonly=True)


class OrderItemUnit(Base):
    """One marketplace inventory unit (one piece) of an order item."""

    __tablename__ = "order_item_units"
    __table_args__ = (UniqueConstraint("order_item_id", "external_unit_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_item_id: Mapped[int] = mapped_column(
        ForeignKey("order_items.id", ondelete="CASCADE"), index=True
    )
    external_unit_id: Mapped[str] = mapped_column(String(100), index=True)
    state: Mapped[str] = mapped_column(String(30))  # a UnitState
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    item: Mapped[OrderItem] = relationship(back_populates="units")


class OrderItemException(Base):
    """An order line not matched to the vendor's catalog; exactly the spec's columns.

    Here, beside the lines, because the importer writes it and the gate reads it; the QC
    workflow over it is `item_exceptions/`."""

    __tablename__ = "order_item_exceptions"
    __table_args__ = (
        check_in("exception_type", ExceptionType),
        check_in("status", ExceptionStatus),
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
        # Stats by type and status, per vendor (migration 0008).
        Index(
            "ix_order_item_exceptions_vendor_id_status_exception_type",
            "vendor_id",
            "status",
            "exception_type",
        ),
        # "Resolved today": only the resolved rows (migration 0017).
        Index(
            "ix_order_item_exceptions_resolved_at",
            "resolved_at",
            sqlite_where=text("status = 'resolved'"),
            postgresql_where=text("status = 'resolved'"),
        ),
        Index(
            "ix_order_item_exceptions_vendor_id_resolved_at",
            "vendor_id",
            "resolved_at",
            sqlite_where=text("status = 'resolved'"),
            postgresql_where=text("status = 'resolved'"),
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
    status: Mapped[str] = mapped_column(String(50), default=ExceptionStatus.PENDING, index=True)
    resolved_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("products.id", ondelete="SET NULL")
    )
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    resolution_notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class FulfilmentRequestStatus(StrEnum):
    """A confirm/decline the marketplace could not be asked about, queued for retries."""

    REQUESTED = "requested"  # recorded; waits for its (next) attempt
    SENT = "sent"  # an attempt is on its way to the marketplace (the order's lease is held)
    SUCCEEDED = "succeeded"  # the marketplace answered; its answer is recorded on the units
    STOPPED = "stopped"  # not sent: the gate closed (or nothing was left to decide) meanwhile
    FAILED = "failed"  # attempts ran out, or the marketplace refused (the reason in last_error)

    @classmethod
    def open(cls) -> tuple[FulfilmentRequestStatus, ...]:
        """Statuses of a request still under way: at most one per order."""
        return (cls.REQUESTED, cls.SENT)


class FulfilmentRequest(Base):
    """A queued confirm/decline (docs/jobs.md, "Queued fulfilment"): recorded when the
    marketplace was unreachable, retried by a job until it lands, stops or fails."""

    __tablename__ = "fulfilment_requests"
    __table_args__ = (
        check_in("status", FulfilmentRequestStatus),
        check_in("verdict", Verdict),
        # One request under way per order: a second confirm/decline answers 409.
        Index(
            "uq_fulfilment_requests_one_open_per_order",
            "order_id",
            unique=True,
            sqlite_where=text("status IN ('requested', 'sent')"),
            postgresql_where=text("status IN ('requested', 'sent')"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), index=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"), index=True)
    verdict: Mapped[str] = mapped_column(String(20))  # a Verdict
    item_id: Mapped[int | None] = mapped_column(Integer)  # None: the whole order
    status: Mapped[str] = mapped_column(String(20), default=FulfilmentRequestStatus.REQUESTED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
