"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 05:58:02.190991
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ordergate.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "marketplace_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marketplace", sa.String(length=50), nullable=False),
        sa.Column("marketplace_product_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("brand", sa.String(length=255), nullable=True),
        sa.Column("gtin", sa.String(length=50), nullable=True),
        sa.Column("gtin_normalized", sa.String(length=14), nullable=True),
        sa.Column("gtin_type", sa.String(length=20), nullable=True),
        sa.Column("mpn", sa.String(length=100), nullable=True),
        sa.Column("sku", sa.String(length=100), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marketplace_products")),
        sa.UniqueConstraint(
            "marketplace",
            "marketplace_product_id",
            name=op.f("uq_marketplace_products_marketplace_marketplace_product_id"),
        ),
    )
    with op.batch_alter_table("marketplace_products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_marketplace_products_gtin_normalized"), ["gtin_normalized"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_admin", sa.Boolean(), nullable=False),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("email = lower(email)", name=op.f("ck_users_email_lowercase")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    op.create_table(
        "vendors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendors")),
        sa.UniqueConstraint("code", name=op.f("uq_vendors_code")),
    )
    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=True),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("subject_type", sa.String(length=50), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=50), nullable=False),
        sa.Column(
            "before",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "after",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("at", ordergate.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_user_id"],
            ["users.id"],
            name=op.f("fk_events_actor_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_events_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_subject", ["subject_type", "subject_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_events_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "letzshop_credentials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("endpoint_url", sa.String(length=500), nullable=False),
        sa.Column("api_key_encrypted", sa.Text(), nullable=False),
        sa.Column("api_key_last4", sa.String(length=4), nullable=False),
        sa.Column("auto_sync", sa.Boolean(), nullable=False),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_letzshop_credentials_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_letzshop_credentials")),
        sa.UniqueConstraint("vendor_id", name=op.f("uq_letzshop_credentials_vendor_id")),
    )
    op.create_table(
        "orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("external_order_id", sa.String(length=100), nullable=True),
        sa.Column("external_shipment_id", sa.String(length=100), nullable=False),
        sa.Column("external_order_number", sa.String(length=100), nullable=True),
        sa.Column("order_number", sa.String(length=150), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("customer_email", sa.String(length=320), nullable=True),
        sa.Column("customer_name", sa.String(length=255), nullable=True),
        sa.Column("customer_locale", sa.String(length=10), nullable=True),
        sa.Column(
            "shipping_address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column(
            "billing_address",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("total_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("order_date", ordergate.db.UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", ordergate.db.UTCDateTime(), nullable=True),
        sa.Column("tracking_code", sa.String(length=100), nullable=True),
        sa.Column("tracking_provider", sa.String(length=100), nullable=True),
        sa.Column(
            "raw_payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "status IN ('pending', 'processing', 'cancelled', 'shipped', 'delivered')",
            name=op.f("ck_orders_status"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_orders_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("order_number", name=op.f("uq_orders_order_number")),
        sa.UniqueConstraint(
            "vendor_id",
            "channel",
            "external_shipment_id",
            name=op.f("uq_orders_vendor_id_channel_external_shipment_id"),
        ),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_orders_status"), ["status"], unique=False)
        batch_op.create_index(
            "ix_orders_vendor_id_order_date", ["vendor_id", "order_date"], unique=False
        )

    op.create_table(
        "products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("marketplace_product_id", sa.Integer(), nullable=True),
        sa.Column("sku", sa.String(length=100), nullable=True),
        sa.Column("gtin", sa.String(length=50), nullable=True),
        sa.Column("gtin_normalized", sa.String(length=14), nullable=True),
        sa.Column("gtin_type", sa.String(length=20), nullable=True),
        sa.Column("title", sa.String(length=500), nullable=False),
        sa.Column("brand", sa.String(length=255), nullable=True),
        sa.Column("price_cents", sa.Integer(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("is_placeholder", sa.Boolean(), nullable=False),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["marketplace_product_id"],
            ["marketplace_products.id"],
            name=op.f("fk_products_marketplace_product_id_marketplace_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_products_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_products")),
        sa.UniqueConstraint(
            "vendor_id",
            "marketplace_product_id",
            name=op.f("uq_products_vendor_id_marketplace_product_id"),
        ),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(
            "ix_products_vendor_id_gtin_normalized", ["vendor_id", "gtin_normalized"], unique=False
        )
        batch_op.create_index(
            "uq_products_one_placeholder_per_vendor",
            ["vendor_id"],
            unique=True,
            sqlite_where=sa.text("is_placeholder"),
            postgresql_where=sa.text("is_placeholder"),
        )

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=30), nullable=False),
        sa.Column("trigger", sa.String(length=20), nullable=False),
        sa.Column("state_filter", sa.String(length=20), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("started_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", ordergate.db.UTCDateTime(), nullable=True),
        sa.Column("shipments_seen", sa.Integer(), nullable=False),
        sa.Column("orders_created", sa.Integer(), nullable=False),
        sa.Column("orders_updated", sa.Integer(), nullable=False),
        sa.Column("exceptions_created", sa.Integer(), nullable=False),
        sa.Column(
            "failures",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("triggered_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'partial', 'failed')",
            name=op.f("ck_sync_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["triggered_by"],
            ["users.id"],
            name=op.f("fk_sync_runs_triggered_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_sync_runs_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_vendor_id"), ["vendor_id"], unique=False)

    op.create_table(
        "vendor_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("role IN ('owner', 'staff')", name=op.f("ck_vendor_memberships_role")),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_vendor_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_vendor_memberships_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_memberships")),
        sa.UniqueConstraint(
            "user_id", "vendor_id", name=op.f("uq_vendor_memberships_user_id_vendor_id")
        ),
    )
    with op.batch_alter_table("vendor_memberships", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vendor_memberships_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vendor_memberships_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "gtin_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("gtin_key", sa.String(length=50), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_gtin_mappings_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_gtin_mappings_product_id_products"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_gtin_mappings_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gtin_mappings")),
        sa.UniqueConstraint(
            "vendor_id", "gtin_key", name=op.f("uq_gtin_mappings_vendor_id_gtin_key")
        ),
    )
    op.create_table(
        "order_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("external_item_id", sa.String(length=100), nullable=False),
        sa.Column("product_name", sa.String(length=500), nullable=True),
        sa.Column("product_sku", sa.String(length=100), nullable=True),
        sa.Column("gtin", sa.String(length=50), nullable=True),
        sa.Column("gtin_type", sa.String(length=20), nullable=True),
        sa.Column("gtin_normalized", sa.String(length=14), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=True),
        sa.Column("needs_product_match", sa.Boolean(), nullable=False),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_items_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["orders.id"],
            name=op.f("fk_order_items_order_id_orders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"], ["products.id"], name=op.f("fk_order_items_product_id_products")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_items")),
        sa.UniqueConstraint(
            "order_id", "external_item_id", name=op.f("uq_order_items_order_id_external_item_id")
        ),
    )
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.create_index("ix_order_items_gtin_normalized", ["gtin_normalized"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_order_items_needs_product_match"), ["needs_product_match"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_order_items_order_id"), ["order_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_order_items_product_id"), ["product_id"], unique=False)

    op.create_table(
        "order_item_exceptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_item_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("original_gtin", sa.String(length=50), nullable=True),
        sa.Column("original_product_name", sa.String(length=500), nullable=True),
        sa.Column("original_sku", sa.String(length=100), nullable=True),
        sa.Column("exception_type", sa.String(length=50), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("resolved_product_id", sa.Integer(), nullable=True),
        sa.Column("resolved_at", ordergate.db.UTCDateTime(), nullable=True),
        sa.Column("resolved_by", sa.Integer(), nullable=True),
        sa.Column("resolution_notes", sa.Text(), nullable=True),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.CheckConstraint(
            "exception_type IN ('product_not_found', 'gtin_mismatch', 'duplicate_gtin')",
            name=op.f("ck_order_item_exceptions_exception_type"),
        ),
        sa.CheckConstraint(
            "status IN ('pending', 'resolved', 'ignored')",
            name=op.f("ck_order_item_exceptions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["order_item_id"],
            ["order_items.id"],
            name=op.f("fk_order_item_exceptions_order_item_id_order_items"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by"],
            ["users.id"],
            name=op.f("fk_order_item_exceptions_resolved_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_product_id"],
            ["products.id"],
            name=op.f("fk_order_item_exceptions_resolved_product_id_products"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["vendors.id"],
            name=op.f("fk_order_item_exceptions_vendor_id_vendors"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_item_exceptions")),
        sa.UniqueConstraint("order_item_id", name=op.f("uq_order_item_exceptions_order_item_id")),
    )
    with op.batch_alter_table("order_item_exceptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_item_exceptions_original_gtin"), ["original_gtin"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_order_item_exceptions_status"), ["status"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_order_item_exceptions_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "order_item_units",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_item_id", sa.Integer(), nullable=False),
        sa.Column("external_unit_id", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=30), nullable=False),
        sa.Column("created_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", ordergate.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["order_item_id"],
            ["order_items.id"],
            name=op.f("fk_order_item_units_order_item_id_order_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_order_item_units")),
        sa.UniqueConstraint(
            "order_item_id",
            "external_unit_id",
            name=op.f("uq_order_item_units_order_item_id_external_unit_id"),
        ),
    )
    with op.batch_alter_table("order_item_units", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_order_item_units_external_unit_id"), ["external_unit_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_order_item_units_order_item_id"), ["order_item_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("order_item_units", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_item_units_order_item_id"))
        batch_op.drop_index(batch_op.f("ix_order_item_units_external_unit_id"))

    op.drop_table("order_item_units")
    with op.batch_alter_table("order_item_exceptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_item_exceptions_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_order_item_exceptions_status"))
        batch_op.drop_index(batch_op.f("ix_order_item_exceptions_original_gtin"))

    op.drop_table("order_item_exceptions")
    with op.batch_alter_table("order_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_items_product_id"))
        batch_op.drop_index(batch_op.f("ix_order_items_order_id"))
        batch_op.drop_index(batch_op.f("ix_order_items_needs_product_match"))
        batch_op.drop_index("ix_order_items_gtin_normalized")

    op.drop_table("order_items")
    op.drop_table("gtin_mappings")
    with op.batch_alter_table("vendor_memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vendor_memberships_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_vendor_memberships_user_id"))

    op.drop_table("vendor_memberships")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_vendor_id"))

    op.drop_table("sync_runs")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_products_one_placeholder_per_vendor",
            sqlite_where=sa.text("is_placeholder"),
            postgresql_where=sa.text("is_placeholder"),
        )
        batch_op.drop_index("ix_products_vendor_id_gtin_normalized")

    op.drop_table("products")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_vendor_id_order_date")
        batch_op.drop_index(batch_op.f("ix_orders_status"))

    op.drop_table("orders")
    op.drop_table("letzshop_credentials")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_vendor_id"))
        batch_op.drop_index("ix_events_subject")

    op.drop_table("events")
    op.drop_table("vendors")
    op.drop_table("users")
    with op.batch_alter_table("marketplace_products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_marketplace_products_gtin_normalized"))

    op.drop_table("marketplace_products")
