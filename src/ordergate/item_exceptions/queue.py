"""The grouped queue and bulk by selection (issue 9 §4).

- **Groups**: the exceptions the list shows for the same filters (status, default pending; type;
  search), grouped by vendor, status, type and the lines' product key (canonical GTIN; without
  one the SKU, then the name), with their lines, distinct orders, units, value at risk and
  oldest order date, largest impact first. Read from trigger-maintained totals
  (`queue_tables.py`, migration 0008); a search groups its matches on the fly.
- **Catalog gap list**: the same groups as CSV, every group, spreadsheet-safe.
- **Bulk-resolve preview**: what `POST …/bulk-resolve` would touch for a GTIN.
- **Bulk by selection**: resolve or ignore up to 500 chosen exceptions in one transaction. An id
  that is missing or another vendor's, or a product the vendor cannot match, refuses the whole
  request (nothing changes); the rest answer per id `resolved`, `ignored` or `skipped` with the
  reason.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ordergate.db import PageRequest, utcnow
from ordergate.errors import ValidationFailedError
from ordergate.events.repository import record_events
from ordergate.gtin import normalize_gtin
from ordergate.item_exceptions import events, repository
from ordergate.item_exceptions.errors import (
    BulkGtinInvalidError,
    OrderItemExceptionsNotFoundError,
)
from ordergate.item_exceptions.export import neutralise
from ordergate.item_exceptions.repository import GroupSort
from ordergate.item_exceptions.service import after_resolved, check_matchable_product
from ordergate.orders.deadlines import DeadlineState
from ordergate.orders.models import ExceptionStatus, ExceptionType
from ordergate.scope import Scope, VendorScope

RESOLVED = "resolved"
IGNORED = "ignored"
SKIPPED = "skipped"
ALREADY_RESOLVED = "already_resolved"
ALREADY_IGNORED = "already_ignored"


# --- groups -----------------------------------------------------------------------------------


def _group_view(row: Any) -> dict[str, Any]:
    """`schemas.ExceptionGroupOut`'s attributes of one group row."""
    return {
        "vendor_id": row.vendor_id,
        "key_kind": row.key_kind,
        "key": row.group_key,
        "gtin": row.group_key if row.key_kind == "gtin" else None,
        "sample_gtin": row.sample_gtin,
        "sku": row.sample_sku,
        "product_name": row.sample_product_name,
        "sample_exception_id": row.sample_exception_id,
        "exception_type": row.exception_type,
        "status": row.status,
        "lines": row.lines,
        "orders": row.orders,
        "units": row.units,
        "value_cents": row.value_cents,
        "oldest_order_date": row.oldest_order_date,
    }


def list_groups(
    session: Session,
    *,
    scope: Scope,
    status: ExceptionStatus = ExceptionStatus.PENDING,
    exception_type: ExceptionType | None = None,
    search: str | None = None,
    deadline_state: DeadlineState | None = None,
    sort: GroupSort = GroupSort.ORDERS,
    page: PageRequest | None,
    now: datetime | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of groups (no page: all of them) and how many groups match. The lines of all
    groups add up to the list's total for the same filters (`repository.ListFilters`)."""
    rows, total = repository.list_groups(
        session,
        scope=scope,
        filters=repository.ListFilters(
            exception_type=exception_type, search=search, deadline_state=deadline_state
        ),
        status=status,
        sort=sort,
        page=page,
        now=now,
    )
    return [_group_view(row) for row in rows], total


# The catalog gap list: one row per group.
CSV_COLUMNS = (
    "vendor_id",
    "key_kind",
    "gtin",
    "sample_gtin",
    "sku",
    "product_name",
    "exception_type",
    "status",
    "lines",
    "orders",
    "units",
    "value_cents",
    "oldest_order_date",
    "sample_exception_id",
)


def spreadsheet_safe(value: Any) -> Any:
    """A cell a spreadsheet shows as text (`export.neutralise`, the export's one rule)."""
    if isinstance(value, str):
        return neutralise(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def groups_csv(
    session: Session,
    *,
    scope: Scope,
    status: ExceptionStatus = ExceptionStatus.PENDING,
    exception_type: ExceptionType | None = None,
    search: str | None = None,
    deadline_state: DeadlineState | None = None,
    sort: GroupSort = GroupSort.ORDERS,
) -> str:
    """Every group of the filters as CSV (UTF-8 with a byte-order mark, so spreadsheets read
    it as UTF-8; a header row; formula cells neutralised). A group is small, and the groups of
    the whole queue are a few tens of thousands of rows, so the text is built at once."""
    views, _ = list_groups(
        session,
        scope=scope,
        status=status,
        exception_type=exception_type,
        search=search,
        deadline_state=deadline_state,
        sort=sort,
        page=None,
    )
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_csv_rows(views))
    return out.getvalue()


def _csv_rows(views: Iterable[dict[str, Any]]) -> Iterable[list[Any]]:
    for view in views:
        yield [spreadsheet_safe(view[name]) for name in CSV_COLUMNS]


# --- bulk-resolve preview ---------------------------------------------------------------------


def preview_bulk_resolve(session: Session, *, scope: VendorScope, gtin: str) -> dict[str, Any]:
    """What `POST …/bulk-resolve` with this GTIN would resolve now (the same lines: canonical
    GTIN when valid, else the trimmed raw text), how many orders they are on, and how many of
    the orders awaiting confirmation would have no blocking exception afterwards."""
    parsed = normalize_gtin(gtin)
    if parsed.key is None:
        raise ValidationFailedError("gtin must not be blank", details={"field": "gtin"})
    preview = repository.preview_gtin(
        session, scope=scope, canonical_gtin=parsed.canonical, raw_gtin=parsed.key
    )
    if preview.exceptions == 0 and parsed.canonical is None:
        raise BulkGtinInvalidError(gtin)
    return {
        "gtin": gtin,
        "canonical_gtin": parsed.canonical,
        "exceptions": preview.exceptions,
        "orders": preview.orders,
        "confirmable_orders": preview.confirmable_orders,
    }


# --- bulk by selection ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SelectionOutcome:
    """`schemas.BulkSelectionResponse`'s attributes."""

    results: list[dict[str, Any]]
    resolved_count: int
    ignored_count: int
    skipped_count: int


def _select(
    session: Session, *, scope: VendorScope, exception_ids: Sequence[int]
) -> tuple[list[int], dict[int, repository.SelectedException]]:
    """The distinct ids in request order and the vendor's rows among them, locked; any other
    id refuses the whole request."""
    wanted = list(dict.fromkeys(exception_ids))
    found = {
        row.id: row for row in repository.lock_selected(session, scope=scope, exception_ids=wanted)
    }
    missing = [exception_id for exception_id in wanted if exception_id not in found]
    if missing:
        raise OrderItemExceptionsNotFoundError(missing)
    return wanted, found


def _outcome(wanted: list[int], results: dict[int, tuple[str, str | None]]) -> SelectionOutcome:
    rows = [
        {
            "exception_id": exception_id,
            "result": results[exception_id][0],
            "reason": results[exception_id][1],
        }
        for exception_id in wanted
    ]
    counts = {
        kind: sum(1 for row in rows if row["result"] == kind)
        for kind in (RESOLVED, IGNORED, SKIPPED)
    }
    return SelectionOutcome(rows, counts[RESOLVED], counts[IGNORED], counts[SKIPPED])


def bulk_resolve_selection(
    session: Session,
    *,
    scope: VendorScope,
    exception_ids: Sequence[int],
    product_id: int,
    notes: str | None = None,
) -> SelectionOutcome:
    """Resolve the chosen pending or ignored exceptions with one product of the vendor; the
    resolved ones are skipped (`already_resolved`). Events say `via: selection`."""
    wanted, found = _select(session, scope=scope, exception_ids=exception_ids)
    check_matchable_product(session, product_id=product_id, vendor_id=scope.vendor_id)
    blocking = [row.id for row in found.values() if row.status in ExceptionStatus.blocking()]
    results: dict[int, tuple[str, str | None]] = {
        row.id: (SKIPPED, ALREADY_RESOLVED) for row in found.values()
    }
    if blocking:
        now = utcnow()
        product_before = repository.item_product_ids(
            session, item_ids=[found[i].order_item_id for i in blocking]
        )
        resolved = repository.write_resolution(
            session,
            repository.blocking_among(exception_ids=blocking, product_id=product_id),
            actor_user_id=scope.actor_user_id,
            notes=notes,
            at=now,
        )
        # The rows are locked: every blocking one is resolved.
        assert len(resolved) == len(blocking)
        after_resolved(
            session,
            resolved,
            vendor_id=scope.vendor_id,
            actor_user_id=scope.actor_user_id,
            product_id=product_id,
            product_before=product_before,
            status_before={i: found[i].status for i in blocking},
            notes=notes,
            at=now,
            via=events.ResolvedVia.SELECTION,
        )
        results.update({row.exception_id: (RESOLVED, None) for row in resolved})
    return _outcome(wanted, results)


def bulk_ignore_selection(
    session: Session, *, scope: VendorScope, exception_ids: Sequence[int], notes: str
) -> SelectionOutcome:
    """Set the chosen pending exceptions aside with one reason; ignored and resolved ones are
    skipped (`already_ignored`, `already_resolved`)."""
    wanted, found = _select(session, scope=scope, exception_ids=exception_ids)
    results: dict[int, tuple[str, str | None]] = {
        row.id: (SKIPPED, ALREADY_IGNORED if row.status == IGNORED else ALREADY_RESOLVED)
        for row in found.values()
    }
    pending = [row.id for row in found.values() if row.status == ExceptionStatus.PENDING]
    if pending:
        product_of_line = repository.item_product_ids(
            session, item_ids=[found[i].order_item_id for i in pending]
        )
        ignored = repository.mark_many_ignored(
            session, exception_ids=pending, notes=notes, at=utcnow()
        )
        assert ignored == set(pending)  # locked above
        record_events(
            session,
            [
                events.exception_ignored(
                    exception_id=exception_id,
                    vendor_id=scope.vendor_id,
                    actor_user_id=scope.actor_user_id,
                    product_id=product_of_line[found[exception_id].order_item_id],
                    notes=notes,
                )
                for exception_id in sorted(ignored)
            ],
        )
        results.update({exception_id: (IGNORED, None) for exception_id in ignored})
    return _outcome(wanted, results)
