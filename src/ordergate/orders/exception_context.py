"""The exceptions' context table (migrations 0003, 0005, 0012, 0018), outside the ORM like
the other trigger-kept tables (``item_exceptions/side_tables.py`` describes them): per
exception its vendor, order, order number, status, whether it blocks (``guard.is_blocking``),
and its order's deadline inputs (``deadlines.py``'s stored deadline). Defined here, in the
orders domain, because the orders' deadline queries read it and the orders domain imports no
other."""

from __future__ import annotations

from sqlalchemy import Boolean, Integer, String, column, table

from ordergate.db import UTCDateTime

CONTEXT_TABLE = "order_item_exception_context"

exception_context = table(
    CONTEXT_TABLE,
    column("exception_id", Integer),
    column("vendor_id", Integer),
    column("order_id", Integer),
    column("order_number", String),
    column("blocking", Boolean),
    # The order's start (order date, else arrival), whether it awaits confirmation, and start
    # plus the vendor's hours (null without): migration 0012. `deadlines.row_confirm_by`.
    column("order_start", UTCDateTime),
    column("awaiting", Boolean),
    column("due_at", UTCDateTime),
    # The exception's status, inside the deadline indexes after `due_at` (migration 0018), so
    # a deadline state with a status is counted on the index alone.
    column("status", String),
)
