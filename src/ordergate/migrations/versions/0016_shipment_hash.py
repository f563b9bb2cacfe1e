"""shipment hash on orders; statement-level insert triggers for exceptions and units (PostgreSQL)

``orders.content_hash``: what the adapter computed from the shipment as the import last applied
it whole (letzshop: a digest of the node's JSON). A re-import reads it with the page's existing
orders (the same indexed read) and skips an order whose incoming hash is the same, without
reading or writing its lines. Null (every order before this revision, and an order a local
writer changed since: a confirm or decline) takes the full comparison once, which then stores
the hash.

PostgreSQL: two row triggers that a bulk insert paid per row become statement triggers over the
statement's transition table, the same rows written:

- the exception's context row (0003/0005/0012's ``order_item_exception_context_sync`` on
  INSERT): one ``INSERT … SELECT`` from ``new_rows`` per statement. The same function keeps
  serving updates, row by row (a trigger with transition tables takes one event and no column
  list);
- a unit's insert re-deciding its line's ``blocking`` (0005's ``order_item_unit_blocking_insert``):
  one ``UPDATE`` over the exceptions on the inserted units' lines (a fresh import's units have
  none yet: one join that finds nothing, instead of one probe per unit).

SQLite keeps its row triggers (no transition tables there; its row triggers cost no call).

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONTEXT_TABLE = "order_item_exception_context"
DECLINED = "'confirmed_unavailable'"
# 0005's rule: whether exception `e` blocks.
_BLOCKING = (
    "(e.status IN ('pending', 'ignored') AND EXISTS (SELECT 1 FROM order_item_units AS u "
    f"WHERE u.order_item_id = e.order_item_id AND u.state <> {DECLINED}))"
)
_START = "coalesce(o.order_date, o.created_at)"
_DUE = (
    f"({_START} + make_interval(hours => "
    "(SELECT v.confirmation_deadline_hours FROM vendors AS v WHERE v.id = e.vendor_id)))"
)

# 0012's context row, for every exception of the statement.
EXCEPTION_INSERT_FUNCTION = f"""
CREATE FUNCTION order_item_exception_context_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {CONTEXT_TABLE} (exception_id, vendor_id, order_id, order_number, blocking,
        order_start, awaiting, due_at)
    SELECT e.id, e.vendor_id, oi.order_id, o.order_number, {_BLOCKING}, {_START},
        o.status = 'pending', {_DUE}
    FROM new_rows AS e JOIN order_items AS oi ON oi.id = e.order_item_id
    JOIN orders AS o ON o.id = oi.order_id;
    RETURN NULL;
END
$$
"""
# 0005's flip, for the exceptions on every line that gained a unit not declined.
UNIT_INSERT_FUNCTION = f"""
CREATE FUNCTION order_item_unit_blocking_insert_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {CONTEXT_TABLE} AS c SET blocking = NOT c.blocking
    FROM order_item_exceptions AS e
    WHERE e.order_item_id IN (SELECT n.order_item_id FROM new_rows AS n
            WHERE n.state <> {DECLINED})
        AND c.exception_id = e.id
        AND c.blocking IS DISTINCT FROM {_BLOCKING};
    RETURN NULL;
END
$$
"""
_CONTEXT_ROW_TRIGGER = (
    "CREATE TRIGGER order_item_exception_context_sync AFTER {events} OF id, order_item_id, "
    "vendor_id, status ON order_item_exceptions "
    "FOR EACH ROW EXECUTE FUNCTION order_item_exception_context_sync()"
)


def _upgrade_postgresql() -> None:
    op.execute("DROP TRIGGER order_item_exception_context_sync ON order_item_exceptions")
    op.execute(_CONTEXT_ROW_TRIGGER.format(events="UPDATE"))
    op.execute(EXCEPTION_INSERT_FUNCTION)
    op.execute(
        "CREATE TRIGGER order_item_exception_context_insert AFTER INSERT ON "
        "order_item_exceptions REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION order_item_exception_context_insert()"
    )
    op.execute("DROP TRIGGER order_item_unit_blocking_insert ON order_item_units")
    op.execute(UNIT_INSERT_FUNCTION)
    op.execute(
        "CREATE TRIGGER order_item_unit_blocking_insert AFTER INSERT ON order_item_units "
        "REFERENCING NEW TABLE AS new_rows "
        "FOR EACH STATEMENT EXECUTE FUNCTION order_item_unit_blocking_insert_rows()"
    )


def _downgrade_postgresql() -> None:
    op.execute("DROP TRIGGER order_item_unit_blocking_insert ON order_item_units")
    op.execute("DROP FUNCTION order_item_unit_blocking_insert_rows()")
    op.execute(
        "CREATE TRIGGER order_item_unit_blocking_insert AFTER INSERT ON order_item_units "
        f"FOR EACH ROW WHEN (NEW.state <> {DECLINED}) "
        "EXECUTE FUNCTION order_item_unit_blocking_sync()"
    )
    op.execute("DROP TRIGGER order_item_exception_context_insert ON order_item_exceptions")
    op.execute("DROP FUNCTION order_item_exception_context_insert()")
    op.execute("DROP TRIGGER order_item_exception_context_sync ON order_item_exceptions")
    op.execute(_CONTEXT_ROW_TRIGGER.format(events="INSERT OR UPDATE"))


def upgrade() -> None:
    op.add_column("orders", sa.Column("content_hash", sa.String(length=64), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): no table rebuild, which would drop the
    # triggers on ``orders`` (0012).
    op.drop_column("orders", "content_hash")
