"""the orders list, newest first, walks an index instead of sorting every order

``list_orders`` sorts by ``order_date DESC NULLS LAST, id DESC``. 0001's
``ix_orders_vendor_id_order_date`` (ascending, no id) cannot give that order, so a page of 50
read and sorted all of the vendor's orders: 72 ms on PostgreSQL for the benchmark's biggest
vendor (59,790 orders), every vendor's 388,853 orders for an admin. Two indexes in exactly the
list's order, one per vendor and one for every vendor, make a page a walk of 50 index entries
(0.35 ms). SQLite has no ``NULLS LAST`` in an index, and needs none: it sorts NULL lowest, so
``DESC`` puts it last already (its planner uses the index for the same ORDER BY).

Dialect-specific, so created here and left out of the models' schema comparison
(``migrate.MIGRATION_ONLY_INDEXES``).

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VENDOR_NEWEST = "ix_orders_vendor_id_newest"
NEWEST = "ix_orders_newest"


def upgrade() -> None:
    nulls_last = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    newest = f"order_date DESC{nulls_last}, id DESC"
    op.execute(f"CREATE INDEX {VENDOR_NEWEST} ON orders (vendor_id, {newest})")
    op.execute(f"CREATE INDEX {NEWEST} ON orders ({newest})")


def downgrade() -> None:
    op.drop_index(NEWEST, table_name="orders")
    op.drop_index(VENDOR_NEWEST, table_name="orders")
