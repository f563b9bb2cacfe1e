"""A vendor's webhook (where notifications go, signed with its secret) and the outbox of
deliveries (docs/webhooks.md)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.db import Base, JSONType, UTCDateTime, check_in, utcnow


class WebhookEvent(StrEnum):
    PING = "ping"  # sent by the test endpoint
    EXCEPTIONS_CREATED = "exceptions.created"  # a sync run created exceptions
    ORDER_CONFIRMABLE = "order.confirmable"  # an order's last blocking exception was resolved
    ORDER_DEADLINE_AT_RISK = "order.deadline_at_risk"  # under 24 h left to confirm


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # to be sent at next_attempt_at (again, after a failed attempt)
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # out of attempts, or the target is refused: never sent again


class VendorWebhook(Base):
    __tablename__ = "vendor_webhooks"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), unique=True
    )
    url: Mapped[str] = mapped_column(String(500))
    # Fernet token keyed from the secret key (security.SecretBox); the plain secret is never
    # stored or returned.
    secret_encrypted: Mapped[str] = mapped_column(Text)
    secret_last4: Mapped[str] = mapped_column(String(4))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class WebhookDelivery(Base):
    """One event for one vendor, written in the transaction of the change that caused it."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        check_in("status", DeliveryStatus),
        check_in("event", WebhookEvent),
        # An event that must reach the receiver once per subject (an order at risk) names it.
        UniqueConstraint("vendor_id", "event", "dedupe_key"),
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_vendor_id_id", "vendor_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(40))  # a WebhookEvent
    data: Mapped[dict[str, Any]] = mapped_column(JSONType)
    dedupe_key: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20), default=DeliveryStatus.PENDING)
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    # When it is due; a sender claims a row by moving this past its send (no lock held).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
