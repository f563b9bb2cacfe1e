"""the exception's status on its context row, inside the deadline indexes

A deadline filter with a status (the dashboard's default view is pending; "overdue" is one
click) counted its rows by probing every in-range context row's exception for its status: at
100,000 exceptions with 23,000 overdue, 38 ms on SQLite and 52 ms on PostgreSQL per page. With
the status on the context row, inside the deadline indexes after ``due_at``, that count is one
index range read alone (``item_exceptions/repository.py``'s ``_deadline_page``).

The context row is written where it always was: inserted with its exception and rewritten when
the exception's status changes (SQLite: 0012's row triggers; PostgreSQL: 0012's row function
for updates and 0016's statement function for inserts), now with ``status`` too. The SQL below
is 0012's and 0016's with that one column added (frozen here, as migrations are).

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTEXT_TABLE = "order_item_exception_context"
DECLINED = "'confirmed_unavailable'"
DEADLINE_INDEXES = (
    ("ix_order_item_exception_context_deadline", ["blocking", "awaiting", "due_at"]),
    (
        "ix_order_item_exception_context_vendor_deadline",
        ["vendor_id", "blocking", "awaiting", "due_at"],
    ),
)

_BLOCKING = (
    "({e}.status IN ('pending', 'ignored') AND EXISTS (SELECT 1 FROM order_item_units AS u "
    f"WHERE u.order_item_id = {{e}}.order_item_id AND u.state <> {DECLINED}))"
)
_START = "coalesce(o.order_date, o.created_at)"
_HOURS = "(SELECT v.confirmation_deadline_hours FROM vendors AS v WHERE v.id = {e}.vendor_id)"


def _due(dialect: str, e: str) -> str:
    hours = _HOURS.format(e=e)
    if dialect == "postgresql":
        return f"({_START} + make_interval(hours => {hours}))"
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', substr({_START}, 1, 19), '+' || ({hours}) || ' hours')"
        f" || substr({_START}, 20))"
    )


def _select_context(dialect: str, e: str, *, with_status: bool) -> tuple[str, str]:
    """The context row's columns and values of exception `e`, joined to its line `oi` and
    order `o`."""
    columns = (
        "exception_id, vendor_id, order_id, order_number, blocking, order_start, awaiting, due_at"
    )
    values = (
        f"{e}.id, {e}.vendor_id, oi.order_id, o.order_number, {_BLOCKING.format(e=e)}, "
        f"{_START}, o.status = 'pending', {_due(dialect, e)}"
    )
    if with_status:
        columns += ", status"
        values += f", {e}.status"
    return columns, values


def _insert_one(dialect: str, e: str, *, with_status: bool) -> str:
    columns, values = _select_context(dialect, e, with_status=with_status)
    return (
        f"INSERT INTO {CONTEXT_TABLE} ({columns}) SELECT {values} "
        "FROM order_items AS oi JOIN orders AS o ON o.id = oi.order_id "
        f"WHERE oi.id = {e}.order_item_id"
    )


# --- SQLite: 0012's two triggers that write the context row ---------------------------------

_INSERT_SEARCH = (
    "INSERT INTO order_item_exception_search (rowid, gtin, product_name, sku, order_number) "
    "SELECT new.id, lower(new.original_gtin), lower(new.original_product_name), "
    "lower(new.original_sku), (SELECT lower(o.order_number) FROM order_items AS oi "
    "JOIN orders AS o ON o.id = oi.order_id WHERE oi.id = new.order_item_id)"
)


def _sqlite_triggers(*, with_status: bool) -> tuple[str, ...]:
    insert = _insert_one("sqlite", "new", with_status=with_status)
    return (
        "DROP TRIGGER IF EXISTS order_item_exception_derived_insert",
        "CREATE TRIGGER order_item_exception_derived_insert AFTER INSERT ON "
        f"order_item_exceptions BEGIN {insert}; {_INSERT_SEARCH}; END",
        "DROP TRIGGER IF EXISTS order_item_exception_context_update",
        "CREATE TRIGGER order_item_exception_context_update AFTER UPDATE OF id, order_item_id, "
        f"vendor_id, status ON order_item_exceptions BEGIN DELETE FROM {CONTEXT_TABLE} "
        f"WHERE exception_id = old.id; {insert}; END",
    )


# --- PostgreSQL: 0012's row function (updates) and 0016's statement function (inserts) -------


def _postgresql_functions(*, with_status: bool) -> tuple[str, ...]:
    columns, values = _select_context("postgresql", "e", with_status=with_status)
    row = f"""
CREATE OR REPLACE FUNCTION order_item_exception_context_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM {CONTEXT_TABLE} WHERE exception_id = OLD.id;
    END IF;
    {_insert_one("postgresql", "NEW", with_status=with_status)};
    RETURN NULL;
END
$$
"""
    statement = f"""
CREATE OR REPLACE FUNCTION order_item_exception_context_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {CONTEXT_TABLE} ({columns})
    SELECT {values}
    FROM new_rows AS e JOIN order_items AS oi ON oi.id = e.order_item_id
    JOIN orders AS o ON o.id = oi.order_id;
    RETURN NULL;
END
$$
"""
    return row, statement


def _write_context(*, with_status: bool) -> None:
    if op.get_bind().dialect.name == "postgresql":
        statements = _postgresql_functions(with_status=with_status)
    else:
        statements = _sqlite_triggers(with_status=with_status)
    for statement in statements:
        op.execute(statement)


def _deadline_indexes(*, with_status: bool) -> None:
    for name, columns in DEADLINE_INDEXES:
        op.drop_index(name, table_name=CONTEXT_TABLE)
        op.create_index(
            name, CONTEXT_TABLE, [*columns, *(["status"] if with_status else []), "order_id"]
        )


def upgrade() -> None:
    op.add_column(CONTEXT_TABLE, sa.Column("status", sa.String(length=50), nullable=True))
    op.execute(
        f"UPDATE {CONTEXT_TABLE} SET status = (SELECT e.status FROM order_item_exceptions AS e "
        f"WHERE e.id = {CONTEXT_TABLE}.exception_id)"
    )
    _write_context(with_status=True)
    _deadline_indexes(with_status=True)


def downgrade() -> None:
    _deadline_indexes(with_status=False)
    _write_context(with_status=False)
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): no table rebuild, which would drop the
    # context table's triggers (0005's unit triggers).
    op.drop_column(CONTEXT_TABLE, "status")
