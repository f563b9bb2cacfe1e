"""Tables derived from ``order_item_exceptions`` by triggers (migration 0003), outside the ORM.

- ``order_item_exception_context`` (both databases): per exception its vendor, order, order
  number and whether it blocks (the gate's rule, ``orders/guard.is_blocking``: pending or
  ignored on a line that is not declined; migration 0005), written in the transaction that
  changes the exception or one of its line's units. The blocked-order count reads it from one
  index; PostgreSQL searches order numbers in it (pg_trgm) without joining through each
  matching order's lines.
- ``order_item_exception_search`` (SQLite): an FTS5 table, case-sensitive trigram tokenizer,
  holding ``lower()`` of GTIN, product name, SKU and order number per exception (rowid =
  exception id).
- PostgreSQL: ``pg_trgm`` GIN indexes on the searched columns.

None of them is in the models (an FTS5 table cannot be, and the rest are only ever written by
triggers), so the schema comparison (Alembic autogenerate, ``tests/test_migrations.py``) skips
exactly these names.
"""

from __future__ import annotations

from typing import Any

from ordergate.item_exceptions.product_search import PRODUCT_SEARCH_INDEXES, PRODUCT_SEARCH_TABLES
from ordergate.item_exceptions.queue_tables import QUEUE_TABLES

# Defined beside the orders (their deadline queries read it; orders may not import this package).
from ordergate.orders.exception_context import CONTEXT_TABLE
from ordergate.orders.exception_context import exception_context as exception_context

SEARCH_TABLE = "order_item_exception_search"
# Trigrams: a shorter term has none, so it is searched by scanning.
MIN_INDEXED_TERM_LENGTH = 3


TRIGRAM_INDEXES = frozenset(
    {
        "ix_order_item_exceptions_original_gtin_trgm",
        "ix_order_item_exceptions_original_product_name_trgm",
        "ix_order_item_exceptions_original_sku_trgm",
    }
)
# FTS5's shadow tables: <table>_data, _idx, _content, _docsize, _config.
_FTS5_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
SIDE_TABLES = frozenset(
    {
        CONTEXT_TABLE,
        SEARCH_TABLE,
        *(SEARCH_TABLE + suffix for suffix in _FTS5_SHADOW_SUFFIXES),
    }
)
# The grouped queue's member and group tables (migration 0008, queue_tables.py).
SIDE_TABLES |= QUEUE_TABLES


def include_in_schema_comparison(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Alembic ``include_object`` hook: False for the side tables and trigram indexes (and
    the product search objects of migration 0006, ``product_search.py``)."""
    if type_ == "table" and (name in SIDE_TABLES or name in PRODUCT_SEARCH_TABLES):
        return False
    return not (type_ == "index" and (name in TRIGRAM_INDEXES or name in PRODUCT_SEARCH_INDEXES))
