"""indexes for the exception lists, stats and blocked-order counts

Measured with bench/exceptions_api.py (1M order items, 100k exceptions): vendor + status lists
walk (vendor_id, status, created_at, id) instead of sorting; stats count from covering indexes;
the distinct blocked-order count reads order_items.order_id from a covering index.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    (
        "ix_order_item_exceptions_vendor_id_status_created_at",
        "order_item_exceptions",
        ["vendor_id", "status", "created_at", "id"],
    ),
    (
        "ix_order_item_exceptions_vendor_id_created_at",
        "order_item_exceptions",
        ["vendor_id", "created_at", "id"],
    ),
    ("ix_order_item_exceptions_created_at", "order_item_exceptions", ["created_at", "id"]),
    (
        "ix_order_item_exceptions_status_order_item_id",
        "order_item_exceptions",
        ["status", "order_item_id"],
    ),
    (
        "ix_order_item_exceptions_vendor_id_status_order_item_id",
        "order_item_exceptions",
        ["vendor_id", "status", "order_item_id"],
    ),
    ("ix_order_items_id_order_id", "order_items", ["id", "order_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
