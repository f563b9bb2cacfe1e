"""blocking excludes declined lines: the context table's ``blocking`` means what the gate means

``order_item_exception_context.blocking`` (migration 0003) said "pending or ignored". It now
says what ``ordergate.orders.guard.is_blocking`` says: pending or ignored *and* the exception's
line is not declined, i.e. at least one of its units is not ``confirmed_unavailable``. The
exceptions stats' ``orders_with_exceptions`` reads it, so it counts the orders the gate refuses.

Both databases:

- the exception triggers of 0003 compute the new rule (SQLite: the insert and context-update
  triggers are re-created with the same names; PostgreSQL: the trigger function is replaced);
- new triggers on ``order_item_units`` recompute it for the line's exception when a unit that is
  not declined is inserted or deleted, or when a unit's state crosses ``confirmed_unavailable``
  (the WHEN clauses skip every other row, e.g. the declined units of a fresh import), and write
  the row only when its value changes;
- existing rows are backfilled.

The import inserts a batch's units before its exceptions, so a new unit's trigger finds no
exception and costs one index probe (SQLite: in the WHEN clause; PostgreSQL allows no subquery
there, so its function probes first and returns). No table is rebuilt (0003's
triggers name ``orders`` and ``order_item_exceptions``, and a SQLite batch rebuild would drop
them). The downgrade restores 0003's triggers and its meaning of ``blocking``.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTEXT_TABLE = "order_item_exception_context"
SEARCH_TABLE = "order_item_exception_search"
DECLINED = "'confirmed_unavailable'"

# Whether exception `{e}` blocks: 0003's rule, and this revision's.
_BLOCKING_0003 = "{e}.status IN ('pending', 'ignored')"
_BLOCKING = (
    "({e}.status IN ('pending', 'ignored') AND EXISTS (SELECT 1 FROM order_item_units AS u "
    f"WHERE u.order_item_id = {{e}}.order_item_id AND u.state <> {DECLINED}))"
)


def _insert_context(blocking: str, e: str) -> str:
    """0003's context row of exception `e`, with `blocking` as its blocking column."""
    return (
        f"INSERT INTO {CONTEXT_TABLE} (exception_id, vendor_id, order_id, order_number, blocking) "
        f"SELECT {e}.id, {e}.vendor_id, oi.order_id, o.order_number, {blocking.format(e=e)} "
        "FROM order_items AS oi JOIN orders AS o ON o.id = oi.order_id "
        f"WHERE oi.id = {e}.order_item_id"
    )


def _backfill(blocking: str) -> str:
    return (
        f"UPDATE {CONTEXT_TABLE} SET blocking = (SELECT {blocking.format(e='e')} "
        f"FROM order_item_exceptions AS e WHERE e.id = {CONTEXT_TABLE}.exception_id)"
    )


# --- SQLite ---------------------------------------------------------------------------------------

# 0003's search row, unchanged (the insert trigger writes both rows).
_INSERT_SEARCH = (
    f"INSERT INTO {SEARCH_TABLE} (rowid, gtin, product_name, sku, order_number) "
    "SELECT new.id, lower(new.original_gtin), lower(new.original_product_name), "
    "lower(new.original_sku), (SELECT lower(o.order_number) FROM order_items AS oi "
    "JOIN orders AS o ON o.id = oi.order_id WHERE oi.id = new.order_item_id)"
)
_DELETE_CONTEXT = f"DELETE FROM {CONTEXT_TABLE} WHERE exception_id = old.id;"


def _sqlite_exception_triggers(blocking: str) -> tuple[str, ...]:
    """0003's two triggers that write the context row, with `blocking` as the rule."""
    return (
        "DROP TRIGGER IF EXISTS order_item_exception_derived_insert",
        "CREATE TRIGGER order_item_exception_derived_insert AFTER INSERT ON "
        f"order_item_exceptions BEGIN {_insert_context(blocking, 'new')}; {_INSERT_SEARCH}; END",
        "DROP TRIGGER IF EXISTS order_item_exception_context_update",
        "CREATE TRIGGER order_item_exception_context_update AFTER UPDATE OF id, order_item_id, "
        f"vendor_id, status ON order_item_exceptions BEGIN {_DELETE_CONTEXT} "
        f"{_insert_context(blocking, 'new')}; END",
    )


def _sqlite_recompute(unit: str) -> str:
    """Flip the context row of the exception on `unit`'s line (old or new) where the rule now
    says otherwise; an unchanged row is not written (nor are its two indexes)."""
    return (
        f"UPDATE {CONTEXT_TABLE} SET blocking = NOT blocking "
        "WHERE exception_id = (SELECT id FROM order_item_exceptions "
        f"WHERE order_item_id = {unit}.order_item_id) "
        f"AND blocking IS NOT (SELECT {_BLOCKING.format(e='e')} "
        f"FROM order_item_exceptions AS e WHERE e.id = {CONTEXT_TABLE}.exception_id);"
    )


# A line's exception: the import inserts units before exceptions, so for a fresh line this
# probe fails and the trigger does nothing more.
_HAS_EXCEPTION = (
    "EXISTS (SELECT 1 FROM order_item_exceptions WHERE order_item_id = {u}.order_item_id)"
)
SQLITE_UNIT_TRIGGERS = {
    "order_item_unit_blocking_insert": (
        f"AFTER INSERT ON order_item_units WHEN new.state <> {DECLINED} "
        f"AND {_HAS_EXCEPTION.format(u='new')}",
        _sqlite_recompute("new"),
    ),
    "order_item_unit_blocking_update": (
        "AFTER UPDATE OF state ON order_item_units "
        f"WHEN (old.state = {DECLINED}) <> (new.state = {DECLINED})",
        _sqlite_recompute("new"),
    ),
    "order_item_unit_blocking_delete": (
        f"AFTER DELETE ON order_item_units WHEN old.state <> {DECLINED}",
        _sqlite_recompute("old"),
    ),
}


def _upgrade_sqlite() -> None:
    for statement in _sqlite_exception_triggers(_BLOCKING):
        op.execute(statement)
    for name, (when, body) in SQLITE_UNIT_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")


def _downgrade_sqlite() -> None:
    for name in SQLITE_UNIT_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    for statement in _sqlite_exception_triggers(_BLOCKING_0003):
        op.execute(statement)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _postgresql_exception_function(blocking: str) -> str:
    """0003's trigger function, with `blocking` as the rule."""
    return f"""
CREATE OR REPLACE FUNCTION order_item_exception_context_sync() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM {CONTEXT_TABLE} WHERE exception_id = OLD.id;
    END IF;
    {_insert_context(blocking, "NEW")};
    RETURN NULL;
END
$$
"""


# The early exit keeps a fresh import's units (no exception on their line yet) to one probe.
POSTGRESQL_UNIT_FUNCTION = f"""
CREATE FUNCTION order_item_unit_blocking_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    item_id integer;
    line_exception_id integer;
BEGIN
    IF TG_OP = 'DELETE' THEN
        item_id := OLD.order_item_id;
    ELSE
        item_id := NEW.order_item_id;
    END IF;
    SELECT id INTO line_exception_id FROM order_item_exceptions WHERE order_item_id = item_id;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE {CONTEXT_TABLE} AS c SET blocking = NOT c.blocking
    FROM order_item_exceptions AS e
    WHERE c.exception_id = line_exception_id AND e.id = line_exception_id
        AND c.blocking IS DISTINCT FROM {_BLOCKING.format(e="e")};
    RETURN NULL;
END
$$
"""
POSTGRESQL_UNIT_TRIGGERS = {
    "order_item_unit_blocking_insert": f"AFTER INSERT ON order_item_units "
    f"FOR EACH ROW WHEN (NEW.state <> {DECLINED})",
    "order_item_unit_blocking_update": "AFTER UPDATE OF state ON order_item_units FOR EACH ROW "
    f"WHEN ((OLD.state = {DECLINED}) IS DISTINCT FROM (NEW.state = {DECLINED}))",
    "order_item_unit_blocking_delete": f"AFTER DELETE ON order_item_units "
    f"FOR EACH ROW WHEN (OLD.state <> {DECLINED})",
}


def _upgrade_postgresql() -> None:
    op.execute(_postgresql_exception_function(_BLOCKING))
    op.execute(POSTGRESQL_UNIT_FUNCTION)
    for name, when in POSTGRESQL_UNIT_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} EXECUTE FUNCTION order_item_unit_blocking_sync()")


def _downgrade_postgresql() -> None:
    for name in POSTGRESQL_UNIT_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON order_item_units")
    op.execute("DROP FUNCTION IF EXISTS order_item_unit_blocking_sync()")
    op.execute(_postgresql_exception_function(_BLOCKING_0003))


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()
    op.execute(_backfill(_BLOCKING))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
    op.execute(_backfill(_BLOCKING_0003))
