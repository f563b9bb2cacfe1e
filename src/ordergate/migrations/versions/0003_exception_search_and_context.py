"""exception queue: substring search index and the per-exception order context for stats

Measured with bench/exceptions_api.py (1M order lines, 100k exceptions); see
``ordergate.item_exceptions.side_tables`` for how the queries use these objects.

``order_item_exception_context`` (both databases): one row per exception with its vendor, its
order, that order's number and whether the exception blocks (status pending or ignored),
written by triggers on ``order_item_exceptions`` in the same transaction as the exception, so it
is never stale. The blocked-order count reads one index instead of looking up 70k order lines,
and PostgreSQL searches order numbers without joining through every matching order's lines.
The exception table keeps exactly the specification's columns.

SQLite: an FTS5 table with the case-sensitive trigram tokenizer, one row per exception (rowid =
exception id) holding ``lower()`` of GTIN, product name, SKU and order number, kept in sync by
triggers. The search predicate is ``lower(x) LIKE lower('%term%')``, a substring of the
``lower()``-ed text; a trigram phrase over that same ``lower()``-ed text is exactly that test,
with no recheck (the tokenizer's own case folding reaches beyond ASCII, which SQLite's
``lower()`` and ``LIKE`` do not, so it is off). Requires SQLite >= 3.34 with FTS5.

PostgreSQL: ``pg_trgm`` GIN indexes on the searched columns, which serve the search predicate
as PostgreSQL spells it (``x ILIKE '%term%'``) for terms of three characters or more. Without
the privilege to create the extension they are skipped with a warning; search still works, by
scanning.

Order numbers never change after insert, so ``orders`` needs no trigger. A later migration that
rebuilds ``order_item_exceptions`` with ``batch_alter_table`` (SQLite) drops these triggers with
the old table and must create them again.

Revision ID: 0003
Revises: 0002
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import DBAPIError

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

CONTEXT_TABLE = "order_item_exception_context"
SEARCH_TABLE = "order_item_exception_search"
CONTEXT_INDEXES = (
    ("ix_order_item_exception_context_blocking_order_id", ["blocking", "order_id"]),
    (
        "ix_order_item_exception_context_vendor_id_blocking_order_id",
        ["vendor_id", "blocking", "order_id"],
    ),
)
TRIGRAM_INDEXES = (
    ("ix_order_item_exceptions_original_gtin_trgm", "order_item_exceptions", "original_gtin"),
    (
        "ix_order_item_exceptions_original_product_name_trgm",
        "order_item_exceptions",
        "original_product_name",
    ),
    ("ix_order_item_exceptions_original_sku_trgm", "order_item_exceptions", "original_sku"),
    ("ix_order_item_exception_context_order_number_trgm", CONTEXT_TABLE, "order_number"),
)
SQLITE_TRIGGERS = (
    "order_item_exception_derived_insert",
    "order_item_exception_context_update",
    "order_item_exception_search_update",
    "order_item_exception_derived_delete",
)

# Rows derived from exception `{e}` (NEW in triggers); kept in step with BLOCKING_STATUSES.
_INSERT_CONTEXT = (
    f"INSERT INTO {CONTEXT_TABLE} (exception_id, vendor_id, order_id, order_number, blocking) "
    "SELECT {e}.id, {e}.vendor_id, oi.order_id, o.order_number, "
    "{e}.status IN ('pending', 'ignored') "
    "FROM order_items AS oi JOIN orders AS o ON o.id = oi.order_id WHERE oi.id = {e}.order_item_id"
)
_BACKFILL_CONTEXT = (
    f"INSERT INTO {CONTEXT_TABLE} (exception_id, vendor_id, order_id, order_number, blocking) "
    "SELECT e.id, e.vendor_id, oi.order_id, o.order_number, "
    "e.status IN ('pending', 'ignored') FROM order_item_exceptions AS e "
    "JOIN order_items AS oi ON oi.id = e.order_item_id JOIN orders AS o ON o.id = oi.order_id"
)
_INSERT_SEARCH = (
    f"INSERT INTO {SEARCH_TABLE} (rowid, gtin, product_name, sku, order_number) "
    "SELECT {e}.id, lower({e}.original_gtin), lower({e}.original_product_name), "
    "lower({e}.original_sku), (SELECT lower(o.order_number) FROM order_items AS oi "
    "JOIN orders AS o ON o.id = oi.order_id WHERE oi.id = {e}.order_item_id)"
)
_DELETE_CONTEXT = f"DELETE FROM {CONTEXT_TABLE} WHERE exception_id = old.id;"
_DELETE_SEARCH = f"DELETE FROM {SEARCH_TABLE} WHERE rowid = old.id;"

SQLITE_UPGRADE = (
    f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5("
    "gtin, product_name, sku, order_number, tokenize = 'trigram case_sensitive 1')",
    "CREATE TRIGGER order_item_exception_derived_insert AFTER INSERT ON order_item_exceptions "
    f"BEGIN {_INSERT_CONTEXT.format(e='new')}; {_INSERT_SEARCH.format(e='new')}; END",
    "CREATE TRIGGER order_item_exception_context_update AFTER UPDATE OF id, order_item_id, "
    f"vendor_id, status ON order_item_exceptions BEGIN {_DELETE_CONTEXT} "
    f"{_INSERT_CONTEXT.format(e='new')}; END",
    "CREATE TRIGGER order_item_exception_search_update AFTER UPDATE OF id, order_item_id, "
    "original_gtin, original_product_name, original_sku ON order_item_exceptions BEGIN "
    f"{_DELETE_SEARCH} {_INSERT_SEARCH.format(e='new')}; END",
    # Also without foreign-key enforcement (a raw connection), a deleted exception leaves nothing.
    "CREATE TRIGGER order_item_exception_derived_delete AFTER DELETE ON order_item_exceptions "
    f"BEGIN {_DELETE_CONTEXT} {_DELETE_SEARCH} END",
    # Backfill.
    _BACKFILL_CONTEXT,
    _INSERT_SEARCH.format(e="e") + " FROM order_item_exceptions AS e",
)

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION order_item_exception_context_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM {CONTEXT_TABLE} WHERE exception_id = OLD.id;
    END IF;
    {_INSERT_CONTEXT.format(e="NEW")};
    RETURN NULL;
END
$$
"""


def _create_context_table() -> None:
    op.create_table(
        CONTEXT_TABLE,
        sa.Column("exception_id", sa.Integer(), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("order_number", sa.String(length=150), nullable=False),
        sa.Column("blocking", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["exception_id"],
            ["order_item_exceptions.id"],
            name="fk_order_item_exception_context_exception_id",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("exception_id", name="pk_order_item_exception_context"),
    )
    for name, columns in CONTEXT_INDEXES:
        op.create_index(name, CONTEXT_TABLE, columns)


def _upgrade_postgresql() -> None:
    op.execute(POSTGRESQL_FUNCTION)
    # Deletes follow the foreign key's cascade (TRUNCATE ... CASCADE too).
    op.execute(
        "CREATE TRIGGER order_item_exception_context_sync AFTER INSERT OR UPDATE OF id, "
        "order_item_id, vendor_id, status ON order_item_exceptions "
        "FOR EACH ROW EXECUTE FUNCTION order_item_exception_context_sync()"
    )
    op.execute(_BACKFILL_CONTEXT)
    bind = op.get_bind()
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as error:
        log.warning(
            "pg_trgm could not be created (%s); exception search works without trigram "
            "indexes, by scanning. Have a superuser run CREATE EXTENSION pg_trgm, then "
            "downgrade to 0002 and upgrade again to build them.",
            str(getattr(error, "orig", error)).strip().splitlines()[0],
        )
        return
    for name, table, column in TRIGRAM_INDEXES:
        op.execute(f"CREATE INDEX {name} ON {table} USING gin ({column} gin_trgm_ops)")


def upgrade() -> None:
    _create_context_table()
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
        return
    for statement in SQLITE_UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm stays: other objects may use it, and dropping it needs its owner.
        for name, table, _ in TRIGRAM_INDEXES:
            if table != CONTEXT_TABLE:
                op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(
            "DROP TRIGGER IF EXISTS order_item_exception_context_sync ON order_item_exceptions"
        )
        op.execute("DROP FUNCTION IF EXISTS order_item_exception_context_sync()")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
    op.drop_table(CONTEXT_TABLE)
