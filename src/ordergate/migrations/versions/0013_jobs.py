"""jobs: procrastinate's queue (PostgreSQL), queued sync runs, sync intervals

- On PostgreSQL only: procrastinate's schema (its tables, types, functions and triggers), read
  from the installed, pinned procrastinate package (``SchemaManager.get_schema()``), so
  ``ordergate db upgrade`` stays the one migration command. SQLite has no queue: jobs run
  inline there (docs/jobs.md).
- ``sync_runs.status`` gains ``queued`` (a run waiting for a worker); ``sync_runs.queued_at``
  and ``sync_runs.job_id`` (the procrastinate job that runs it) are set for queued runs.
- ``letzshop_credentials.sync_interval_minutes`` replaces ``auto_sync``: null = no scheduled
  syncs; ``auto_sync = true`` becomes 10 minutes (the default interval), false becomes null.
  The downgrade maps any interval back to ``auto_sync = true``.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import ordergate.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUN_STATUSES_BEFORE = "status IN ('running', 'succeeded', 'partial', 'failed', 'abandoned')"
RUN_STATUSES = "status IN ('queued', 'running', 'succeeded', 'partial', 'failed', 'abandoned')"
DEFAULT_INTERVAL_MINUTES = 10

# Everything procrastinate's schema creates is named procrastinate_* (or idx_procrastinate_*,
# dropped with its table): dropped by name pattern, so the downgrade fits the pinned version.
_DROP_PROCRASTINATE = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
            WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
            JOIN pg_namespace n ON n.oid = p.pronamespace
            WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
            JOIN pg_namespace n ON n.oid = t.typnamespace
            WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
              AND t.typtype IN ('e', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def upgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("queued_at", ordergate.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("job_id", sa.BigInteger(), nullable=True))
        batch_op.drop_constraint(op.f("ck_sync_runs_status"), type_="check")
        batch_op.create_check_constraint("status", RUN_STATUSES)

    with op.batch_alter_table("letzshop_credentials", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sync_interval_minutes", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE letzshop_credentials SET sync_interval_minutes = "
        f"{DEFAULT_INTERVAL_MINUTES} WHERE auto_sync"
    )
    with op.batch_alter_table("letzshop_credentials", schema=None) as batch_op:
        batch_op.drop_column("auto_sync")
        batch_op.create_check_constraint(
            "sync_interval_minutes", "sync_interval_minutes BETWEEN 1 AND 10080"
        )

    if _is_postgres():
        from procrastinate.schema import SchemaManager

        # exec_driver_sql: the schema text goes to psycopg as it is (no bind parameters).
        op.get_bind().exec_driver_sql(SchemaManager.get_schema().replace("%", "%%"))


def downgrade() -> None:
    if _is_postgres():
        op.execute(_DROP_PROCRASTINATE)

    with op.batch_alter_table("letzshop_credentials", schema=None) as batch_op:
        batch_op.drop_constraint(
            op.f("ck_letzshop_credentials_sync_interval_minutes"), type_="check"
        )
        batch_op.add_column(
            sa.Column("auto_sync", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    op.execute("UPDATE letzshop_credentials SET auto_sync = (sync_interval_minutes IS NOT NULL)")
    with op.batch_alter_table("letzshop_credentials", schema=None) as batch_op:
        batch_op.drop_column("sync_interval_minutes")
        batch_op.alter_column("auto_sync", server_default=None)

    # A queued run never started: it reads as failed on the older schema.
    op.execute(
        "UPDATE sync_runs SET status = 'failed', error = 'queued when the schema was downgraded' "
        "WHERE status = 'queued'"
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_sync_runs_status"), type_="check")
        batch_op.create_check_constraint("status", RUN_STATUSES_BEFORE)
        batch_op.drop_column("job_id")
        batch_op.drop_column("queued_at")
