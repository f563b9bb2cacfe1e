"""The grouped queue's tables (migration 0008), outside the ORM like ``side_tables.py``'s.

- ``order_item_exception_group_members``: one row per exception with its group key (vendor,
  status, type, ``key_kind`` + ``group_key``), its order, order date, quantity and value.
- ``order_item_exception_groups``: per group key the totals (lines, distinct orders, units,
  value, oldest order date) and the lowest exception id, the sample the API shows.

The group key of a line: its canonical GTIN (``key_kind`` ``gtin``); without one the exception's
trimmed SKU (``sku``), then its trimmed product name (``name``), else ``none`` with an empty key.
Both are written only by triggers (SQLite row triggers, PostgreSQL statement triggers) in the
transaction that inserts, updates or deletes an exception or changes its line's quantity or
unit price, so they are never stale. A line's GTIN, SKU and name and its order's date are not
changed after import (nothing in ordergate updates them), so no trigger watches them.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String, column, table

from ordergate.db import UTCDateTime

MEMBERS_TABLE = "order_item_exception_group_members"
GROUPS_TABLE = "order_item_exception_groups"

group_members = table(
    MEMBERS_TABLE,
    column("exception_id", Integer),
    column("vendor_id", Integer),
    column("status", String),
    column("exception_type", String),
    column("key_kind", String),
    column("group_key", String),
    column("order_id", Integer),
    column("quantity", Integer),
    column("value_cents", BigInteger),
    column("order_date", UTCDateTime),
)

groups = table(
    GROUPS_TABLE,
    column("vendor_id", Integer),
    column("status", String),
    column("exception_type", String),
    column("key_kind", String),
    column("group_key", String),
    column("lines", Integer),
    column("orders", Integer),
    column("units", BigInteger),
    column("value_cents", BigInteger),
    column("oldest_order_date", UTCDateTime),
    column("sample_exception_id", Integer),
)

QUEUE_TABLES = frozenset({MEMBERS_TABLE, GROUPS_TABLE})
