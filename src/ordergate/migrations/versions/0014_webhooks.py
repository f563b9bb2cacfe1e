"""webhooks: a vendor's webhook (URL, encrypted secret) and the outbox of deliveries

- ``vendor_webhooks``: one per vendor; the secret is a Fernet token (``security.SecretBox``),
  with its last 4 characters as the hint the API shows.
- ``webhook_deliveries``: the transactional outbox. A row is written in the transaction of the
  change that causes the event, and sent later by ``webhooks.delivery.deliver_due``.
  ``dedupe_key`` (unique with vendor and event) makes "once per order" events idempotent.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ordergate.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = "status IN ('pending', 'delivered', 'failed')"
EVENTS = "event IN ('ping', 'exceptions.created', 'order.confirmable', 'order.deadline_at_risk')"


def upgrade() -> None:
    op.create_table(
        "vendor_webhooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("secret_last4", sa.String(length=4), nullable=False),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_vendor_webhooks_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_webhooks")),
        sa.UniqueConstraint("vendor_id", name=op.f("uq_vendor_webhooks_vendor_id")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dedupe_key", sa.String(length=100), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("next_attempt_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("occurred_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("last_attempt_at", ordergate.db.UTCDateTime(), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("delivered_at", ordergate.db.UTCDateTime(), nullable=True),
        sa.CheckConstraint(STATUSES, name=op.f("ck_webhook_deliveries_status")),
        sa.CheckConstraint(EVENTS, name=op.f("ck_webhook_deliveries_event")),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_webhook_deliveries_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "vendor_id",
            "event",
            "dedupe_key",
            name=op.f("uq_webhook_deliveries_vendor_id_event_dedupe_key"),
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )
    op.create_index("ix_webhook_deliveries_vendor_id_id", "webhook_deliveries", ["vendor_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_vendor_id_id", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_due", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("vendor_webhooks")
