"""hardening: revocable tokens, run leases and resume cursors, fulfilment leases, feed import runs

- ``users.token_version``: a token carries the version it was issued under; a password change,
  deactivation, membership change or "log out everywhere" raises it, refusing older tokens.
- ``sync_runs``: status ``abandoned`` (the run's process died: its heartbeat is older than the
  lease), ``heartbeat_at``, ``pages_done`` and ``last_cursor`` (resume from the last committed
  page).
- ``orders.fulfilment_lease_until``: held while a confirm/decline is sent to the marketplace
  outside any transaction, so two senders never overlap and a crashed one expires.
- ``letzshop_credentials.api_key_last4`` is null for keys shorter than 12 characters.
- ``catalog_import_runs``: a feed upload processed as a job in committed batches.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import ordergate.db

RUN_STATUSES_BEFORE = "status IN ('running', 'succeeded', 'partial', 'failed')"
RUN_STATUSES = "status IN ('running', 'succeeded', 'partial', 'failed', 'abandoned')"

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_import_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("marketplace", sa.String(length=50), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("rows_seen", sa.Integer(), nullable=False),
        sa.Column("rows_created", sa.Integer(), nullable=False),
        sa.Column("rows_updated", sa.Integer(), nullable=False),
        sa.Column("rows_unchanged", sa.Integer(), nullable=False),
        sa.Column("rows_failed", sa.Integer(), nullable=False),
        sa.Column("warnings_count", sa.Integer(), nullable=False),
        sa.Column(
            "errors",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column(
            "warnings",
            sa.JSON(none_as_null=True).with_variant(
                postgresql.JSONB(none_as_null=True, astext_type=sa.Text()), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("triggered_by", sa.Integer(), nullable=True),
        sa.Column("started_at", ordergate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", ordergate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", ordergate.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'succeeded', 'partial', 'failed', 'abandoned')",
            name=op.f("ck_catalog_import_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["triggered_by"],
            ["users.id"],
            name=op.f("fk_catalog_import_runs_triggered_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalog_import_runs")),
    )
    with op.batch_alter_table("letzshop_credentials", schema=None) as batch_op:
        batch_op.alter_column("api_key_last4", existing_type=sa.VARCHAR(length=4), nullable=True)

    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "fulfilment_lease_until", ordergate.db.UTCDateTime(timezone=True), nullable=True
            )
        )

    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("heartbeat_at", ordergate.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(
            sa.Column("pages_done", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(sa.Column("last_cursor", sa.String(length=500), nullable=True))
        batch_op.drop_constraint(op.f("ck_sync_runs_status"), type_="check")
        batch_op.create_check_constraint("status", RUN_STATUSES)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_version")

    op.execute("UPDATE sync_runs SET status = 'failed' WHERE status = 'abandoned'")
    op.execute("UPDATE letzshop_credentials SET api_key_last4 = '' WHERE api_key_last4 IS NULL")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sync_runs_status"), type_="check")
        batch_op.create_check_constraint("status", RUN_STATUSES_BEFORE)
        batch_op.drop_column("last_cursor")
        batch_op.drop_column("pages_done")
        batch_op.drop_column("heartbeat_at")

    # Not in batch mode: rebuilding `orders` on SQLite would break 0003's triggers, which name it.
    op.drop_column("orders", "fulfilment_lease_until")

    with op.batch_alter_table("letzshop_credentials", schema=None) as batch_op:
        batch_op.alter_column("api_key_last4", existing_type=sa.VARCHAR(length=4), nullable=False)

    op.drop_table("catalog_import_runs")
