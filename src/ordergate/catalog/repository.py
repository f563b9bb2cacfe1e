"""The catalog's SQL: products and marketplace products."""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, false

from ordergate.catalog.models import Product


def matchable(vendor_id: int) -> ColumnElement[bool]:
    """A product an order line may point at: the vendor's own, active, not its placeholder.

    The one definition, used by the importer, auto-match, the QC candidates and product checks.
    Callers compare ``gtin_normalized`` by equality, which excludes NULL; an extra
    ``IS NOT NULL`` would lead SQLite's planner to a range scan of the (vendor_id,
    gtin_normalized) index instead of an equality lookup."""
    return and_(
        Product.vendor_id == vendor_id,
        Product.is_active.is_(True),
        Product.is_placeholder == false(),
    )
