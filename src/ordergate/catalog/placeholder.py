"""The per-vendor placeholder product that unmatched order lines point at."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.catalog import repository
from ordergate.db import utcnow


def placeholder_product_id(session: Session, *, vendor_id: int) -> int:
    """The vendor's placeholder id, created on first need; safe when two imports race
    (the partial unique index decides, the loser reads the winner's row)."""
    existing = repository.find_placeholder_id(session, vendor_id=vendor_id)
    if existing is not None:
        return existing
    repository.insert_placeholder(session, vendor_id=vendor_id, now=utcnow())
    placeholder_id = repository.find_placeholder_id(session, vendor_id=vendor_id)
    assert placeholder_id is not None
    return placeholder_id
