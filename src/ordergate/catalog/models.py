from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ordergate.db import Base, JSONType, UTCDateTime, check_in, utcnow

# Distinct marketplace product ids one copy-to-catalog takes (the request schema and the use case).
MAX_COPY_IDS = 100_000
PLACEHOLDER_GTIN = "0000000000000"
PLACEHOLDER_GTIN_TYPE = "placeholder"


class MarketplaceProduct(Base):
    """Canonical product data from a marketplace feed (e.g. Letzshop's CSV catalog)."""

    __tablename__ = "marketplace_products"
    __table_args__ = (UniqueConstraint("marketplace", "marketplace_product_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(50))
    marketplace_product_id: Mapped[str] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    brand: Mapped[str | None] = mapped_column(String(255))
    gtin: Mapped[str | None] = mapped_column(String(50))
    gtin_normalized: Mapped[str | None] = mapped_column(String(14), index=True)
    gtin_type: Mapped[str | None] = mapped_column(String(20))
    # Indexed for suggestions: a line's GTIN in the feed -> its MPN -> listings with that MPN.
    mpn: Mapped[str | None] = mapped_column(String(100), index=True)
    sku: Mapped[str | None] = mapped_column(String(100))
    price_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Product(Base):
    """A vendor's own catalog entry; ``gtin_normalized`` is the order-matching key."""

    __tablename__ = "products"
    __table_args__ = (
        UniqueConstraint("vendor_id", "marketplace_product_id"),
        Index("ix_products_vendor_id_gtin_normalized", "vendor_id", "gtin_normalized"),
        # At most one placeholder product per vendor, enforced by the database.
        Index(
            "uq_products_one_placeholder_per_vendor",
            "vendor_id",
            unique=True,
            sqlite_where=text("is_placeholder"),
            postgresql_where=text("is_placeholder"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"))
    marketplace_product_id: Mapped[int | None] = mapped_column(
        ForeignKey("marketplace_products.id", ondelete="SET NULL")
    )
    sku: Mapped[str | None] = mapped_column(String(100))
    gtin: Mapped[str | None] = mapped_column(String(50))
    gtin_normalized: Mapped[str | None] = mapped_column(String(14))
    gtin_type: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(String(500))
    brand: Mapped[str | None] = mapped_column(String(255))
    price_cents: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_placeholder: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GtinMapping(Base):
    """A remembered resolution: this marketplace GTIN of this vendor means this product."""

    __tablename__ = "gtin_mappings"
    __table_args__ = (UniqueConstraint("vendor_id", "gtin_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("vendors.id", ondelete="CASCADE"))
    # The canonical GTIN-14 when the marketplace GTIN is valid, else the raw value, trimmed.
    # Indexed alone too: suggestions look up other vendors' mappings of a GTIN.
    gtin_key: Mapped[str] = mapped_column(String(50), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ImportRunStatus(StrEnum):
    RUNNING = "running"  # a job is importing it (or died: read as abandoned after the lease)
    SUCCEEDED = "succeeded"  # every row imported
    PARTIAL = "partial"  # finished; some rows failed and are listed
    FAILED = "failed"  # stopped by a file-level or internal error (see `error`)
    ABANDONED = "abandoned"  # its process died (no heartbeat within the lease)

    @classmethod
    def finished(cls) -> tuple[ImportRunStatus, ...]:
        return (cls.SUCCEEDED, cls.PARTIAL, cls.FAILED, cls.ABANDONED)


class CatalogImportRun(Base):
    """One marketplace feed upload, processed as a job in committed batches: its progress,
    counts and the first row errors and warnings (the totals count them all)."""

    __tablename__ = "catalog_import_runs"
    __table_args__ = (check_in("status", ImportRunStatus),)

    id: Mapped[int] = mapped_column(primary_key=True)
    marketplace: Mapped[str] = mapped_column(String(50))
    filename: Mapped[str | None] = mapped_column(String(255))
    dry_run: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), default=ImportRunStatus.RUNNING)
    rows_seen: Mapped[int] = mapped_column(Integer, default=0)
    rows_created: Mapped[int] = mapped_column(Integer, default=0)
    rows_updated: Mapped[int] = mapped_column(Integer, default=0)
    rows_unchanged: Mapped[int] = mapped_column(Integer, default=0)
    rows_failed: Mapped[int] = mapped_column(Integer, default=0)
    warnings_count: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    warnings: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    triggered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
