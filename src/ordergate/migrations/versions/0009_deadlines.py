"""deadlines: a vendor's confirmation window

- ``vendors.confirmation_deadline_hours``: how many hours after the order date a blocked order
  must be confirmed at the marketplace (Letzshop declines orders left unconfirmed too long; the
  window is in its seller terms, so it is a per-vendor setting). Null: no deadline.

- indexes for the KPIs' windows: ``order_items (created_at, order_id)`` (lines imported, with
  their order's vendor), ``events (at)`` and ``events (vendor_id, at)``.

Not in batch mode: rebuilding ``vendors`` on SQLite would cascade-delete its children.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("vendors", sa.Column("confirmation_deadline_hours", sa.Integer(), nullable=True))
    op.create_index("ix_order_items_created_at_order_id", "order_items", ["created_at", "order_id"])
    op.create_index("ix_events_at", "events", ["at"])
    op.create_index("ix_events_vendor_id_at", "events", ["vendor_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_events_vendor_id_at", table_name="events")
    op.drop_index("ix_events_at", table_name="events")
    op.drop_index("ix_order_items_created_at_order_id", table_name="order_items")
    op.drop_column("vendors", "confirmation_deadline_hours")
