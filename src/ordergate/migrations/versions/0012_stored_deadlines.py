"""stored deadlines: each exception's order start, awaiting and due_at on the context table;
the vendor on order lines

``order_item_exception_context`` (migrations 0003, 0005) gains, per exception row, its order's

- ``order_start``: the order date, or the order's arrival (``created_at``) without one;
- ``awaiting``: the order still awaits confirmation (status ``pending``);
- ``due_at``: ``order_start`` plus the vendor's ``confirmation_deadline_hours``, null when the
  vendor has none (``orders/deadlines.py``'s ``due_at``, the same arithmetic to the microsecond).

An exception row's ``confirm_by`` is then ``due_at`` when ``blocking AND awaiting`` (else null),
and an order's is the ``due_at`` of its rows when one of them blocks: the deadline filters are
ranges of ``(vendor_id,) blocking, awaiting, due_at`` and the stats' counts index range counts.

Kept in the transaction that changes their source, by triggers on both databases:

- exceptions: the insert and context-update triggers of 0003/0005 write the new columns
  (SQLite: re-created with the same names; PostgreSQL: the function is replaced);
- ``orders``: a change of ``status``, ``order_date`` or ``created_at`` rewrites the order's rows
  (through the new ``order_id`` index);
- ``vendors``: a change of ``confirmation_deadline_hours`` recomputes ``due_at`` of the vendor's
  rows (the setting changes rarely; one vendor's rows are one range of the vendor index).

``order_items.vendor_id``: a copy of its order's vendor, which the importer writes with each
line, and a trigger fills when an insert leaves it null (any other path: tests, raw loads);
with ``(vendor_id, created_at)`` the KPIs count a vendor's lines of a window as one index range
instead of looking up each line's order. It replaces 0009's ``(created_at, order_id)``.
A plain integer, not a foreign key: SQLite cannot add one without rebuilding the table (which
would drop 0008's triggers on it), and the order's own key already cascades.

Existing rows are backfilled. No table is rebuilt.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTEXT_TABLE = "order_item_exception_context"
SEARCH_TABLE = "order_item_exception_search"
DECLINED = "'confirmed_unavailable'"
CONTEXT_INDEXES = (
    ("ix_order_item_exception_context_order_id", ["order_id"]),
    (
        "ix_order_item_exception_context_deadline",
        ["blocking", "awaiting", "due_at", "order_id"],
    ),
    (
        "ix_order_item_exception_context_vendor_deadline",
        ["vendor_id", "blocking", "awaiting", "due_at", "order_id"],
    ),
)
LINE_VENDOR_INDEX = "ix_order_items_vendor_id_created_at"
OLD_LINE_INDEX = "ix_order_items_created_at_order_id"

# 0005's rule: whether exception `{e}` blocks.
_BLOCKING = (
    "({e}.status IN ('pending', 'ignored') AND EXISTS (SELECT 1 FROM order_item_units AS u "
    f"WHERE u.order_item_id = {{e}}.order_item_id AND u.state <> {DECLINED}))"
)
_START = "coalesce({o}.order_date, {o}.created_at)"
_HOURS = "(SELECT v.confirmation_deadline_hours FROM vendors AS v WHERE v.id = {vendor})"


def _add_hours(dialect: str, moment: str, hours: str) -> str:
    """`moment + hours` (whole hours), null when either is: `deadlines.add_hours`, frozen."""
    if dialect == "postgresql":
        return f"({moment} + make_interval(hours => {hours}))"
    # SQLite keeps the stored text's microseconds (its date functions round to milliseconds).
    return (
        f"(strftime('%Y-%m-%d %H:%M:%S', substr({moment}, 1, 19), '+' || ({hours}) || ' hours')"
        f" || substr({moment}, 20))"
    )


def _insert_context(dialect: str, e: str, *, with_deadline: bool = True) -> str:
    """The context row of exception `e` (0005's, plus this revision's columns)."""
    columns = "exception_id, vendor_id, order_id, order_number, blocking"
    values = f"{e}.id, {e}.vendor_id, oi.order_id, o.order_number, {_BLOCKING.format(e=e)}"
    if with_deadline:
        start = _START.format(o="o")
        columns += ", order_start, awaiting, due_at"
        hours = _HOURS.format(vendor=f"{e}.vendor_id")
        values += f", {start}, o.status = 'pending', {_add_hours(dialect, start, hours)}"
    return (
        f"INSERT INTO {CONTEXT_TABLE} ({columns}) SELECT {values} "
        "FROM order_items AS oi JOIN orders AS o ON o.id = oi.order_id "
        f"WHERE oi.id = {e}.order_item_id"
    )


def _order_rows(dialect: str, o: str) -> str:
    """Rewrite the deadline columns of order `o`'s rows (`o`: NEW in a trigger)."""
    start = _START.format(o=o)
    hours = _HOURS.format(vendor=f"{CONTEXT_TABLE}.vendor_id")
    return (
        f"UPDATE {CONTEXT_TABLE} SET order_start = {start}, awaiting = {o}.status = 'pending', "
        f"due_at = {_add_hours(dialect, start, hours)} WHERE order_id = {o}.id"
    )


def _vendor_rows(dialect: str, v: str) -> str:
    """Recompute `due_at` of vendor `v`'s rows."""
    due = _add_hours(dialect, "order_start", f"{v}.confirmation_deadline_hours")
    return f"UPDATE {CONTEXT_TABLE} SET due_at = {due} WHERE vendor_id = {v}.id"


def _backfill_context(dialect: str) -> str:
    start = _START.format(o="o")
    hours = _HOURS.format(vendor="c.vendor_id")
    return (
        f"UPDATE {CONTEXT_TABLE} AS c SET order_start = {start}, "
        f"awaiting = o.status = 'pending', due_at = {_add_hours(dialect, start, hours)} "
        "FROM orders AS o WHERE o.id = c.order_id"
    )


_BACKFILL_LINE_VENDORS = (
    "UPDATE order_items SET vendor_id = o.vendor_id FROM orders AS o "
    "WHERE o.id = order_items.order_id"
)

# --- SQLite ---------------------------------------------------------------------------------------

_INSERT_SEARCH = (
    f"INSERT INTO {SEARCH_TABLE} (rowid, gtin, product_name, sku, order_number) "
    "SELECT new.id, lower(new.original_gtin), lower(new.original_product_name), "
    "lower(new.original_sku), (SELECT lower(o.order_number) FROM order_items AS oi "
    "JOIN orders AS o ON o.id = oi.order_id WHERE oi.id = new.order_item_id)"
)
_DELETE_CONTEXT = f"DELETE FROM {CONTEXT_TABLE} WHERE exception_id = old.id;"


def _sqlite_exception_triggers(*, with_deadline: bool) -> tuple[str, ...]:
    insert = _insert_context("sqlite", "new", with_deadline=with_deadline)
    return (
        "DROP TRIGGER IF EXISTS order_item_exception_derived_insert",
        "CREATE TRIGGER order_item_exception_derived_insert AFTER INSERT ON "
        f"order_item_exceptions BEGIN {insert}; {_INSERT_SEARCH}; END",
        "DROP TRIGGER IF EXISTS order_item_exception_context_update",
        "CREATE TRIGGER order_item_exception_context_update AFTER UPDATE OF id, order_item_id, "
        f"vendor_id, status ON order_item_exceptions BEGIN {_DELETE_CONTEXT} {insert}; END",
    )


SQLITE_TRIGGERS = {
    "order_exception_context_order_update": (
        "AFTER UPDATE OF status, order_date, created_at ON orders "
        "WHEN old.status IS NOT new.status OR old.order_date IS NOT new.order_date "
        "OR old.created_at IS NOT new.created_at",
        _order_rows("sqlite", "new"),
    ),
    "order_exception_context_vendor_update": (
        "AFTER UPDATE OF confirmation_deadline_hours ON vendors "
        "WHEN old.confirmation_deadline_hours IS NOT new.confirmation_deadline_hours",
        _vendor_rows("sqlite", "new"),
    ),
    "order_item_vendor_fill": (
        "AFTER INSERT ON order_items WHEN new.vendor_id IS NULL",
        "UPDATE order_items SET vendor_id = (SELECT vendor_id FROM orders "
        "WHERE orders.id = new.order_id) WHERE id = new.id",
    ),
}


def _upgrade_sqlite() -> None:
    for statement in _sqlite_exception_triggers(with_deadline=True):
        op.execute(statement)
    for name, (when, body) in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body}; END")


def _downgrade_sqlite() -> None:
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in _sqlite_exception_triggers(with_deadline=False):
        op.execute(statement)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _postgresql_exception_function(*, with_deadline: bool) -> str:
    return f"""
CREATE OR REPLACE FUNCTION order_item_exception_context_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM {CONTEXT_TABLE} WHERE exception_id = OLD.id;
    END IF;
    {_insert_context("postgresql", "NEW", with_deadline=with_deadline)};
    RETURN NULL;
END
$$
"""


POSTGRESQL_FUNCTIONS = {
    "order_exception_context_order_sync": f"""
CREATE FUNCTION order_exception_context_order_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_order_rows("postgresql", "NEW")};
    RETURN NULL;
END
$$
""",
    "order_exception_context_vendor_sync": f"""
CREATE FUNCTION order_exception_context_vendor_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {_vendor_rows("postgresql", "NEW")};
    RETURN NULL;
END
$$
""",
    "order_item_vendor_fill": """
CREATE FUNCTION order_item_vendor_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT vendor_id INTO NEW.vendor_id FROM orders WHERE id = NEW.order_id;
    RETURN NEW;
END
$$
""",
}
POSTGRESQL_TRIGGERS = {
    "order_exception_context_order_update": (
        "orders",
        "AFTER UPDATE OF status, order_date, created_at ON orders FOR EACH ROW "
        "WHEN (OLD.status IS DISTINCT FROM NEW.status "
        "OR OLD.order_date IS DISTINCT FROM NEW.order_date "
        "OR OLD.created_at IS DISTINCT FROM NEW.created_at)",
        "order_exception_context_order_sync",
    ),
    "order_exception_context_vendor_update": (
        "vendors",
        "AFTER UPDATE OF confirmation_deadline_hours ON vendors FOR EACH ROW "
        "WHEN (OLD.confirmation_deadline_hours IS DISTINCT FROM "
        "NEW.confirmation_deadline_hours)",
        "order_exception_context_vendor_sync",
    ),
    "order_item_vendor_fill": (
        "order_items",
        "BEFORE INSERT ON order_items FOR EACH ROW WHEN (NEW.vendor_id IS NULL)",
        "order_item_vendor_fill",
    ),
}


def _upgrade_postgresql() -> None:
    op.execute(_postgresql_exception_function(with_deadline=True))
    for function in POSTGRESQL_FUNCTIONS.values():
        op.execute(function)
    for name, (_, when, function_name) in POSTGRESQL_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION {function_name}()")


def _downgrade_postgresql() -> None:
    for name, (table, _, _) in POSTGRESQL_TRIGGERS.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
    for name in POSTGRESQL_FUNCTIONS:
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute(_postgresql_exception_function(with_deadline=False))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.add_column(CONTEXT_TABLE, sa.Column("order_start", sa.DateTime(timezone=True)))
    op.add_column(CONTEXT_TABLE, sa.Column("awaiting", sa.Boolean()))
    op.add_column(CONTEXT_TABLE, sa.Column("due_at", sa.DateTime(timezone=True)))
    op.add_column("order_items", sa.Column("vendor_id", sa.Integer(), nullable=True))
    op.execute(_backfill_context(dialect))
    op.execute(_BACKFILL_LINE_VENDORS)
    if dialect == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()
    for name, columns in CONTEXT_INDEXES:
        op.create_index(name, CONTEXT_TABLE, columns)
    op.drop_index(OLD_LINE_INDEX, table_name="order_items")
    op.create_index(LINE_VENDOR_INDEX, "order_items", ["vendor_id", "created_at"])


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.drop_index(LINE_VENDOR_INDEX, table_name="order_items")
    op.create_index(OLD_LINE_INDEX, "order_items", ["created_at", "order_id"])
    for name, _ in CONTEXT_INDEXES:
        op.drop_index(name, table_name=CONTEXT_TABLE)
    if dialect == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
    op.drop_column("order_items", "vendor_id")
    op.drop_column(CONTEXT_TABLE, "due_at")
    op.drop_column(CONTEXT_TABLE, "awaiting")
    op.drop_column(CONTEXT_TABLE, "order_start")
