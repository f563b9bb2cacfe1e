from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.db import Base, JSONType, UTCDateTime, utcnow


class EventSubject(StrEnum):
    ORDER = "order"
    EXCEPTION = "order_item_exception"


class EventAction(StrEnum):
    CREATED = "created"  # an exception raised by the import
    RESOLVED = "resolved"  # a person assigned a product (one or by GTIN)
    IGNORED = "ignored"
    REOPENED = "reopened"  # a person sent a resolved or ignored exception back to pending
    AUTO_MATCHED = "auto_matched"  # a new catalog product matched it
    MARKED_DUPLICATE = "marked_duplicate"  # a second product took its GTIN
    STATUS_CHANGED = "status_changed"  # an order's status, from its units at import
    CONFIRMED = "confirmed"  # units confirmed at the marketplace
    DECLINED = "declined"
    # A confirm/decline queued while the marketplace was unreachable (docs/jobs.md), and how
    # a queued one ended without landing: stopped (the gate closed meanwhile) or failed.
    FULFILMENT_QUEUED = "fulfilment_queued"
    FULFILMENT_STOPPED = "fulfilment_stopped"
    FULFILMENT_FAILED = "fulfilment_failed"


class Event(Base):
    """Audit trail: one row per state change of an order, item or exception."""

    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_subject", "subject_type", "subject_id"),
        # KPIs: a window's events, of every vendor or of one (migration 0009).
        Index("ix_events_at", "at"),
        Index("ix_events_vendor_id_at", "vendor_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int | None] = mapped_column(
        ForeignKey("vendors.id", ondelete="CASCADE"), index=True
    )
    # Null actor: the system did it (import, auto-match).
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject_type: Mapped[str] = mapped_column(String(50))  # an EventSubject
    subject_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(50))  # an EventAction
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
