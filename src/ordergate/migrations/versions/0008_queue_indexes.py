"""grouped queue: the per-exception group member table, the per-group totals and their triggers

``GET …/order-exceptions/groups`` groups exceptions by vendor, status, type and the line's
product key (canonical GTIN; without one the trimmed SKU, then the trimmed name). At the
benchmark's 100,000 exceptions an aggregate over the pending ones took 80 ms on SQLite, so the
totals are kept by triggers, in the transaction that changes an exception (or its line's
quantity or price), and the page is one index walk (see ``item_exceptions/queue_tables.py``):

- ``order_item_exception_group_members``: one row per exception with its group key, order,
  order date, quantity and value (quantity × unit price, a missing price counts 0);
- ``order_item_exception_groups``: per group key its lines, distinct orders, units, value,
  oldest order date and lowest exception id (the sample shown), recomputed from the members of
  each key a change touches.

SQLite: row triggers. PostgreSQL: statement triggers with transition tables, which recompute
each touched key once per statement and lock the touched group rows in key order first (two
statements over the same groups queue instead of deadlocking, and a recomputation always sees
the other's committed members).

Also the index (vendor_id, status, exception_type) on ``order_item_exceptions`` for the stats'
``by_type``.

Revision ID: 0008
Revises: 0006
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MEMBERS = "order_item_exception_group_members"
GROUPS = "order_item_exception_groups"
KEY_TYPE = "order_item_exception_group_key"
TYPE_INDEX = "ix_order_item_exceptions_vendor_id_status_exception_type"
KEY = ("vendor_id", "status", "exception_type", "key_kind", "group_key")
KEY_LIST = ", ".join(KEY)

# The group key of exception `{e}` on line `{oi}`.
_KIND = (
    "CASE WHEN {oi}.gtin_normalized IS NOT NULL THEN 'gtin' "
    "WHEN NULLIF(TRIM({e}.original_sku), '') IS NOT NULL THEN 'sku' "
    "WHEN NULLIF(TRIM({e}.original_product_name), '') IS NOT NULL THEN 'name' ELSE 'none' END"
)
_GROUP_KEY = (
    "COALESCE({oi}.gtin_normalized, NULLIF(TRIM({e}.original_sku), ''), "
    "NULLIF(TRIM({e}.original_product_name), ''), '')"
)
_MEMBER_COLUMNS = (
    "exception_id, vendor_id, status, exception_type, key_kind, group_key, order_id, "
    "quantity, value_cents, order_date"
)


def _member_select(e: str) -> str:
    """The member rows of the exceptions `e` (a table or NEW), from their lines and orders."""
    return (
        f"SELECT {e}.id, {e}.vendor_id, {e}.status, {e}.exception_type, "
        f"{_KIND.format(e=e, oi='oi')}, {_GROUP_KEY.format(e=e, oi='oi')}, oi.order_id, "
        "oi.quantity, oi.quantity * COALESCE(oi.unit_price_cents, 0), o.order_date "
        "FROM order_items AS oi JOIN orders AS o ON o.id = oi.order_id "
    )


_TOTALS = (
    "count(*), count(DISTINCT m.order_id), sum(m.quantity), sum(m.value_cents), "
    "min(m.order_date), min(m.exception_id)"
)
_TOTAL_COLUMNS = "lines, orders, units, value_cents, oldest_order_date, sample_exception_id"
_TOTALS_AS = ", ".join(
    f"{total} AS {name}"
    for total, name in zip(_TOTALS.split(", "), _TOTAL_COLUMNS.split(", "), strict=True)
)


_K = ", ".join(f"k.{c}" for c in KEY)
_M = ", ".join(f"m.{c}" for c in KEY)
_G = ", ".join(f"g.{c}" for c in KEY)


def _key_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=50), nullable=False),
        sa.Column("exception_type", sa.String(length=50), nullable=False),
        sa.Column("key_kind", sa.String(length=10), nullable=False),
        sa.Column("group_key", sa.String(length=500), nullable=False),
    ]


def _create_tables() -> None:
    # Both tables hang on the vendor: PostgreSQL's TRUNCATE ... CASCADE (the tests' clean-up)
    # and a vendor's deletion empty them with the vendor's exceptions.
    op.create_table(
        MEMBERS,
        sa.Column("exception_id", sa.Integer(), nullable=False),
        *_key_columns(),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=False),
        sa.Column("order_date", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=f"fk_{MEMBERS}_vendor_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("exception_id", name=f"pk_{MEMBERS}"),
    )
    # Covering: a key's totals are read from the index alone.
    op.create_index(
        f"ix_{MEMBERS}_key",
        MEMBERS,
        [*KEY, "order_id", "quantity", "value_cents", "order_date", "exception_id"],
    )
    op.create_table(
        GROUPS,
        *_key_columns(),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("units", sa.BigInteger(), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=False),
        sa.Column("oldest_order_date", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sample_exception_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=f"fk_{GROUPS}_vendor_id", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint(*KEY, name=f"pk_{GROUPS}"),
    )
    # The default order (orders desc, oldest first, then the key): every vendor, or one.
    # The other totals follow, so a sort by another total reads the index alone.
    order = (
        "orders DESC, oldest_order_date, vendor_id, exception_type, key_kind, group_key, "
        "lines, units, value_cents, sample_exception_id"
    )
    op.execute(f"CREATE INDEX ix_{GROUPS}_status_impact ON {GROUPS} (status, {order})")
    op.execute(
        f"CREATE INDEX ix_{GROUPS}_vendor_id_status_impact ON {GROUPS} (vendor_id, status, {order})"
    )
    # The stats' `by_type` of every vendor: a third of the rows of the exceptions' index, read
    # in GROUP BY order (a vendor's come from the primary key).
    op.execute(
        f"CREATE INDEX ix_{GROUPS}_status_exception_type ON {GROUPS} "
        "(status, exception_type, lines)"
    )
    # Every vendor's groups by value or by age (a vendor's few thousand are sorted).
    key = "vendor_id, exception_type, key_kind, group_key"
    op.execute(
        f"CREATE INDEX ix_{GROUPS}_status_value ON {GROUPS} "
        f"(status, value_cents DESC, oldest_order_date, {key}, lines, orders, units, "
        "sample_exception_id)"
    )
    op.execute(
        f"CREATE INDEX ix_{GROUPS}_status_oldest ON {GROUPS} "
        f"(status, oldest_order_date, {key}, lines, orders, units, value_cents, "
        "sample_exception_id)"
    )


# --- SQLite: row triggers, incremental -----------------------------------------------------------
# A recomputation per changed row cost 0.3 ms (the import and auto-match change thousands of
# rows per statement); adding or removing one member is a few index probes.


def _field(exception_id: str, name: str) -> str:
    return f"(SELECT {name} FROM {MEMBERS} WHERE exception_id = {exception_id})"


def _same_key(alias: str, other: str) -> str:
    left = ", ".join(f"{alias}.{c}" for c in KEY)
    right = ", ".join(f"{other}.{c}" for c in KEY)
    return f"({left}) = ({right})"


def _sqlite_add(exception_id: str) -> str:
    """Add member `exception_id` (already in its group's key) to its group's totals."""
    other_line_of_order = (
        f"SELECT 1 FROM {MEMBERS} AS o WHERE {_same_key('o', 'excluded')} "
        f"AND o.order_id = {_field(exception_id, 'order_id')} "
        f"AND o.exception_id <> {exception_id}"
    )
    return (
        f"INSERT INTO {GROUPS} ({KEY_LIST}, {_TOTAL_COLUMNS}) "
        f"SELECT {_M}, 1, 1, m.quantity, m.value_cents, m.order_date, m.exception_id "
        f"FROM {MEMBERS} AS m WHERE m.exception_id = {exception_id} "
        f"ON CONFLICT ({KEY_LIST}) DO UPDATE SET lines = lines + 1, "
        f"orders = orders + NOT EXISTS ({other_line_of_order}), "
        "units = units + excluded.units, value_cents = value_cents + excluded.value_cents, "
        "oldest_order_date = CASE WHEN excluded.oldest_order_date IS NULL THEN oldest_order_date "
        "WHEN oldest_order_date IS NULL OR excluded.oldest_order_date < oldest_order_date "
        "THEN excluded.oldest_order_date ELSE oldest_order_date END, "
        "sample_exception_id = min(sample_exception_id, excluded.sample_exception_id);"
    )


def _sqlite_remove(exception_id: str) -> str:
    """Take member `exception_id` (still in its group's key) out of its group's totals."""
    key = f"(SELECT {KEY_LIST} FROM {MEMBERS} WHERE exception_id = {exception_id})"
    others = (
        f"FROM {MEMBERS} AS o WHERE {_same_key('o', GROUPS)} AND o.exception_id <> {exception_id}"
    )
    return (
        f"DELETE FROM {GROUPS} WHERE ({KEY_LIST}) = {key} AND lines = 1; "
        f"UPDATE {GROUPS} SET lines = lines - 1, "
        f"orders = orders - NOT EXISTS (SELECT 1 {others} "
        f"AND o.order_id = {_field(exception_id, 'order_id')}), "
        f"units = units - {_field(exception_id, 'quantity')}, "
        f"value_cents = value_cents - {_field(exception_id, 'value_cents')}, "
        f"oldest_order_date = (SELECT min(o.order_date) {others}), "
        f"sample_exception_id = (SELECT min(o.exception_id) {others}) "
        f"WHERE ({KEY_LIST}) = {key};"
    )


_LINE_EXCEPTION = "(SELECT id FROM order_item_exceptions WHERE order_item_id = new.id)"
SQLITE_TRIGGERS = {
    "order_item_exception_group_insert": (
        "AFTER INSERT ON order_item_exceptions",
        f"INSERT INTO {MEMBERS} ({_MEMBER_COLUMNS}) {_member_select('new')}"
        "WHERE oi.id = new.order_item_id; " + _sqlite_add("new.id"),
    ),
    "order_item_exception_group_update": (
        "AFTER UPDATE OF vendor_id, status, exception_type ON order_item_exceptions "
        "WHEN old.vendor_id IS NOT new.vendor_id OR old.status IS NOT new.status "
        "OR old.exception_type IS NOT new.exception_type",
        _sqlite_remove("new.id")
        + f" UPDATE {MEMBERS} SET vendor_id = new.vendor_id, status = new.status, "
        "exception_type = new.exception_type WHERE exception_id = new.id; " + _sqlite_add("new.id"),
    ),
    "order_item_exception_group_delete": (
        "AFTER DELETE ON order_item_exceptions",
        _sqlite_remove("old.id") + f" DELETE FROM {MEMBERS} WHERE exception_id = old.id;",
    ),
    "order_item_group_line_update": (
        "AFTER UPDATE OF quantity, unit_price_cents ON order_items "
        "WHEN (old.quantity IS NOT new.quantity "
        "OR old.unit_price_cents IS NOT new.unit_price_cents) "
        "AND EXISTS (SELECT 1 FROM order_item_exceptions WHERE order_item_id = new.id)",
        _sqlite_remove(_LINE_EXCEPTION) + f" UPDATE {MEMBERS} SET quantity = new.quantity, "
        "value_cents = new.quantity * COALESCE(new.unit_price_cents, 0) "
        f"WHERE exception_id = {_LINE_EXCEPTION}; " + _sqlite_add(_LINE_EXCEPTION),
    ),
}


def _upgrade_sqlite() -> None:
    for name, (when, body) in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {when} BEGIN {body} END")


def _downgrade_sqlite() -> None:
    for name in SQLITE_TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")


# --- PostgreSQL: statement triggers ---------------------------------------------------------------

POSTGRESQL_REFRESH = f"""
CREATE FUNCTION order_item_exception_groups_refresh(keys {KEY_TYPE}[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- Every touched group has a row, locked in key order (a concurrent inserter of the same
    -- key is waited for); each statement below reads the members committed by then.
    INSERT INTO {GROUPS} ({KEY_LIST}, lines, orders, units, value_cents)
    SELECT DISTINCT {_K}, 0, 0, 0, 0 FROM unnest(keys) AS k ORDER BY {_K}
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM {GROUPS} AS g JOIN unnest(keys) AS k USING ({KEY_LIST})
    ORDER BY {_G} FOR UPDATE OF g;
    UPDATE {GROUPS} AS g SET lines = t.lines, orders = t.orders, units = t.units,
        value_cents = t.value_cents, oldest_order_date = t.oldest_order_date,
        sample_exception_id = t.sample_exception_id
    FROM (
        SELECT {_M}, {_TOTALS_AS}
        FROM {MEMBERS} AS m JOIN (SELECT DISTINCT * FROM unnest(keys)) AS k USING ({KEY_LIST})
        GROUP BY {_M}
    ) AS t
    WHERE ({_G}) = ({", ".join(f"t.{c}" for c in KEY)});
    DELETE FROM {GROUPS} AS g USING unnest(keys) AS k
    WHERE ({_G}) = ({_K})
        AND NOT EXISTS (SELECT 1 FROM {MEMBERS} AS m WHERE ({_M}) = ({_G}));
END
$$
"""

_MEMBER_KEY = f"ROW({_M})::{KEY_TYPE}"
POSTGRESQL_FUNCTIONS = {
    "order_item_exception_group_insert": f"""
CREATE FUNCTION order_item_exception_group_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {MEMBERS} ({_MEMBER_COLUMNS}) {_member_select("n")}
    JOIN new_rows AS n ON n.order_item_id = oi.id;
    PERFORM order_item_exception_groups_refresh(ARRAY(
        SELECT {_MEMBER_KEY} FROM {MEMBERS} AS m JOIN new_rows AS n ON n.id = m.exception_id));
    RETURN NULL;
END
$$
""",
    "order_item_exception_group_update": f"""
CREATE FUNCTION order_item_exception_group_update() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys {KEY_TYPE}[];
BEGIN
    -- Only rows whose vendor, status or type changed move between groups.
    keys := ARRAY(
        SELECT ROW(o.vendor_id, o.status, o.exception_type, m.key_kind, m.group_key)::{KEY_TYPE}
        FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
        JOIN {MEMBERS} AS m ON m.exception_id = o.id
        WHERE (o.vendor_id, o.status, o.exception_type)
            IS DISTINCT FROM (n.vendor_id, n.status, n.exception_type));
    IF cardinality(keys) = 0 THEN
        RETURN NULL;
    END IF;
    UPDATE {MEMBERS} AS m SET vendor_id = n.vendor_id, status = n.status,
        exception_type = n.exception_type
    FROM new_rows AS n
    WHERE m.exception_id = n.id
        AND (m.vendor_id, m.status, m.exception_type)
            IS DISTINCT FROM (n.vendor_id, n.status, n.exception_type);
    PERFORM order_item_exception_groups_refresh(keys || ARRAY(
        SELECT {_MEMBER_KEY} FROM {MEMBERS} AS m JOIN new_rows AS n ON n.id = m.exception_id));
    RETURN NULL;
END
$$
""",
    "order_item_exception_group_delete": f"""
CREATE FUNCTION order_item_exception_group_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    keys {KEY_TYPE}[];
BEGIN
    keys := ARRAY(
        SELECT {_MEMBER_KEY} FROM {MEMBERS} AS m JOIN old_rows AS o ON o.id = m.exception_id);
    DELETE FROM {MEMBERS} AS m USING old_rows AS o WHERE m.exception_id = o.id;
    PERFORM order_item_exception_groups_refresh(keys);
    RETURN NULL;
END
$$
""",
    "order_item_group_line_update": f"""
CREATE FUNCTION order_item_group_line_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {MEMBERS} AS m SET quantity = n.quantity,
        value_cents = n.quantity * COALESCE(n.unit_price_cents, 0)
    FROM old_rows AS o JOIN new_rows AS n ON n.id = o.id
    JOIN order_item_exceptions AS e ON e.order_item_id = n.id
    WHERE m.exception_id = e.id
        AND (o.quantity, o.unit_price_cents) IS DISTINCT FROM (n.quantity, n.unit_price_cents);
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    PERFORM order_item_exception_groups_refresh(ARRAY(
        SELECT {_MEMBER_KEY} FROM {MEMBERS} AS m
        JOIN order_item_exceptions AS e ON e.id = m.exception_id
        JOIN old_rows AS o ON o.id = e.order_item_id
        JOIN new_rows AS n ON n.id = o.id
        WHERE (o.quantity, o.unit_price_cents) IS DISTINCT FROM (n.quantity, n.unit_price_cents)));
    RETURN NULL;
END
$$
""",
}
# Transition tables allow one event per trigger and no column list.
POSTGRESQL_TRIGGERS = {
    "order_item_exception_group_insert": "AFTER INSERT ON order_item_exceptions "
    "REFERENCING NEW TABLE AS new_rows",
    "order_item_exception_group_update": "AFTER UPDATE ON order_item_exceptions "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "order_item_exception_group_delete": "AFTER DELETE ON order_item_exceptions "
    "REFERENCING OLD TABLE AS old_rows",
    "order_item_group_line_update": "AFTER UPDATE ON order_items "
    "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows",
}
POSTGRESQL_TRIGGER_TABLES = {
    "order_item_exception_group_insert": "order_item_exceptions",
    "order_item_exception_group_update": "order_item_exceptions",
    "order_item_exception_group_delete": "order_item_exceptions",
    "order_item_group_line_update": "order_items",
}


def _upgrade_postgresql() -> None:
    op.execute(
        f"CREATE TYPE {KEY_TYPE} AS (vendor_id integer, status varchar(50), "
        "exception_type varchar(50), key_kind varchar(10), group_key varchar(500))"
    )
    op.execute(POSTGRESQL_REFRESH)
    for name, function in POSTGRESQL_FUNCTIONS.items():
        op.execute(function)
        op.execute(
            f"CREATE TRIGGER {name} {POSTGRESQL_TRIGGERS[name]} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )


def _downgrade_postgresql() -> None:
    for name, table in POSTGRESQL_TRIGGER_TABLES.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute(f"DROP FUNCTION IF EXISTS order_item_exception_groups_refresh({KEY_TYPE}[])")
    op.execute(f"DROP TYPE IF EXISTS {KEY_TYPE}")


_BACKFILL_MEMBERS = (
    f"INSERT INTO {MEMBERS} ({_MEMBER_COLUMNS}) {_member_select('e')}"
    "JOIN order_item_exceptions AS e ON e.order_item_id = oi.id"
)
_BACKFILL_GROUPS = (
    f"INSERT INTO {GROUPS} ({KEY_LIST}, {_TOTAL_COLUMNS}) "
    f"SELECT {_M}, {_TOTALS} FROM {MEMBERS} AS m GROUP BY {_M}"
)


def upgrade() -> None:
    op.create_index(TYPE_INDEX, "order_item_exceptions", ["vendor_id", "status", "exception_type"])
    _create_tables()
    op.execute(_BACKFILL_MEMBERS)
    op.execute(_BACKFILL_GROUPS)
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
    op.drop_table(GROUPS)
    op.drop_table(MEMBERS)
    op.drop_index(TYPE_INDEX, table_name="order_item_exceptions")
