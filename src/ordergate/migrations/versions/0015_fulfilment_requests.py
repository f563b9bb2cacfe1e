"""fulfilment requests: confirms/declines queued while Letzshop was unreachable

One row per confirm/decline that could not reach the marketplace and was queued for retries
(docs/jobs.md, "Queued fulfilment"): the order, the verdict, the item (null: the whole order),
its status (requested, sent, succeeded, stopped, failed), the attempts made, the last error,
the procrastinate job retrying it, who asked, and when. A partial unique index keeps at most
one request under way (requested or sent) per order. Both databases.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "status IN ('requested', 'sent', 'succeeded', 'stopped', 'failed')"
VERDICTS = "verdict IN ('confirm', 'decline')"
OPEN = sa.text("status IN ('requested', 'sent')")


def upgrade() -> None:
    op.create_table(
        "fulfilment_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("job_id", sa.BigInteger(), nullable=True),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", ordergate.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint(STATUSES, name=op.f("ck_fulfilment_requests_status")),
        sa.CheckConstraint(VERDICTS, name=op.f("ck_fulfilment_requests_verdict")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_fulfilment_requests_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_fulfilment_requests_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"],
            ["users.id"],
            name=op.f("fk_fulfilment_requests_requested_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilment_requests")),
    )
    op.create_index(op.f("ix_fulfilment_requests_order_id"), "fulfilment_requests", ["order_id"])
    op.create_index(op.f("ix_fulfilment_requests_vendor_id"), "fulfilment_requests", ["vendor_id"])
    op.create_index(
        "uq_fulfilment_requests_one_open_per_order",
        "fulfilment_requests",
        ["order_id"],
        unique=True,
        sqlite_where=OPEN,
        postgresql_where=OPEN,
    )


def downgrade() -> None:
    op.drop_index("uq_fulfilment_requests_one_open_per_order", table_name="fulfilment_requests")
    op.drop_index(op.f("ix_fulfilment_requests_vendor_id"), table_name="fulfilment_requests")
    op.drop_index(op.f("ix_fulfilment_requests_order_id"), table_name="fulfilment_requests")
    op.drop_table("fulfilment_requests")
