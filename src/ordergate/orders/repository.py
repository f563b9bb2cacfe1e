"""The orders domain's SQL: orders, lines, units."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from ordergate.db import in_list, in_list_batches
from ordergate.orders.models import OrderItem

IN_CHUNK = 900  # bound parameters per statement on SQLite


def point_lines_at(
    session: Session, *, item_ids: Sequence[int], product_id: int, at: datetime
) -> None:
    """Point the lines at the product, matched; marketplace ids and units stay as they are.

    The one writer of a line's product after import: resolve, bulk resolve and auto-match."""
    for chunk in in_list_batches(session, item_ids, IN_CHUNK):
        session.execute(
            update(OrderItem)
            .where(in_list(session, OrderItem.id, chunk))
            .values(product_id=product_id, needs_product_match=False, updated_at=at)
            .execution_options(synchronize_session=False)
        )
