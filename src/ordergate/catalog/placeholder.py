"""The per-vendor placeholder product that unmatched order lines point at."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.catalog.models import PLACEHOLDER_GTIN, PLACEHOLDER_GTIN_TYPE, Product
from ordergate.db import upsert_insert, utcnow


def placeholder_product_id(session: Session, *, vendor_id: int) -> int:
    """The vendor's placeholder id, created on first need; safe when two imports race
    (the partial unique index decides, the loser reads the winner's row)."""
    existing = session.scalar(
        select(Product.id).where(Product.vendor_id == vendor_id, Product.is_placeholder.is_(True))
    )
    if existing is not None:
        return existing
    now = utcnow()
    insert = upsert_insert(session)
    statement = (
        insert(Product)
        .values(
            vendor_id=vendor_id,
            title="Unmatched product (placeholder)",
            gtin=PLACEHOLDER_GTIN,
            gtin_normalized=None,
            gtin_type=PLACEHOLDER_GTIN_TYPE,
            currency="EUR",
            is_active=False,
            is_placeholder=True,
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["vendor_id"], index_where=Product.is_placeholder)
    )
    session.execute(statement)
    placeholder_id = session.scalar(
        select(Product.id).where(Product.vendor_id == vendor_id, Product.is_placeholder.is_(True))
    )
    assert placeholder_id is not None
    return placeholder_id
