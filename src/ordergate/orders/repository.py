"""The orders domain's SQL: orders, lines, units — the read side's queries, the gate's query and
the import's bulk statements (one statement per table and batch, whatever the batch's size)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, selectinload, with_expression
from sqlalchemy.sql import Select

from ordergate import bulk
from ordergate.catalog.models import GtinMapping, Product
from ordergate.catalog.repository import matchable
from ordergate.db import (
    PageRequest,
    binds_arrays,
    count_rows,
    in_list,
    in_list_batches,
    in_parameter,
    rows_changed,
    upsert_insert,
)
from ordergate.events.models import Event, EventSubject
from ordergate.events.repository import subject_is, timeline_page
from ordergate.orders import deadlines, guard
from ordergate.orders.models import (
    FulfilmentRequest,
    FulfilmentRequestStatus,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
    UnitState,
)
from ordergate.scope import Scope, scoped

# Core tables for the bulk statements (typed as Table: the ORM types them as FromClause).
ORDERS = cast(Table, Order.__table__)
ITEMS = cast(Table, OrderItem.__table__)
UNITS = cast(Table, OrderItemUnit.__table__)
EXCEPTIONS = cast(Table, OrderItemException.__table__)


# --- Blocking -----------------------------------------------------------------------------------


def _blocking_of_order(*columns: Any) -> Select[Any]:
    """``columns`` over the blocking exceptions (``guard.is_blocking``) on the lines of the
    enclosing query's ``Order``."""
    return (
        select(*columns)
        .select_from(OrderItemException)
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .where(OrderItem.order_id == Order.id, guard.is_blocking())
        .correlate(Order)
    )


def blocking_exception_count() -> ColumnElement[int]:
    """Per ``Order`` row: how many of its exceptions block."""
    return _blocking_of_order(func.count(OrderItemException.id)).scalar_subquery()


def has_blocking_exception() -> ColumnElement[bool]:
    """Per ``Order`` row: at least one of its exceptions blocks."""
    return exists(_blocking_of_order(OrderItemException.id))


def blocking_exception_ids(
    session: Session, *, order_id: int, item_ids: Sequence[int] | None = None
) -> list[int]:
    """Ids of the order's blocking exceptions (on the given items only, when given)."""
    query = (
        select(OrderItemException.id)
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .where(OrderItem.order_id == order_id, guard.is_blocking())
        .order_by(OrderItemException.id)
    )
    if item_ids is not None:
        query = query.where(OrderItem.id.in_(item_ids))
    return list(session.scalars(query))


# --- Read side ----------------------------------------------------------------------------------


def _with_lines(statement: Select[Any], *, now: datetime) -> Select[Any]:
    """Orders with their blocking count, deadline and age at `now`, lines, units and
    exceptions: one IN query per relationship for the whole page."""
    deadline = deadlines.order_confirm_by(Order.id)
    return statement.options(
        with_expression(Order.exception_count, blocking_exception_count()),
        with_expression(Order.confirm_by, deadline),
        with_expression(Order.deadline_state, deadlines.deadline_state(deadline, now=now)),
        with_expression(Order.age_seconds, order_age_seconds(now=now)),
        with_expression(Order.confirmation_pending, has_open_fulfilment_request()),
        selectinload(Order.items).selectinload(OrderItem.units),
        selectinload(Order.items).selectinload(OrderItem.exception),
    )


NEWEST_ORDERS_FIRST = (Order.order_date.desc().nulls_last(), Order.id.desc())


def list_orders(
    session: Session,
    *,
    scope: Scope,
    page: PageRequest,
    status: str | None = None,
    has_exceptions: bool | None = None,
    search: str | None = None,
    deadline_state: deadlines.DeadlineState | None = None,
    by_confirm_by: bool = False,
    now: datetime,
) -> tuple[list[Order], int]:
    """Newest first (order date, then id), or soonest ``confirm_by`` first (orders without one
    last, then newest first)."""
    conditions: list[ColumnElement[bool]] = []
    if deadline_state is not None:
        in_state = deadlines.orders_in_deadline_state(deadline_state, scope=scope, now=now)
        conditions.append(Order.id.in_(in_state))
    if status is not None:
        conditions.append(Order.status == status)
    if has_exceptions is not None:
        blocking = has_blocking_exception()
        conditions.append(blocking if has_exceptions else ~blocking)
    if search is not None:
        conditions.append(
            or_(
                Order.order_number.icontains(search, autoescape=True),
                Order.customer_email.icontains(search, autoescape=True),
                Order.customer_name.icontains(search, autoescape=True),
            )
        )
    statement = scoped(select(Order), scope, Order.vendor_id).where(*conditions)
    total = count_rows(session, statement, up_to=page.count_up_to)
    if not by_confirm_by:
        return _orders_page(session, statement, page.skip, page.limit, now=now), total
    # Two walks instead of a deadline per order: the orders with one (the context's deadline
    # rows) soonest first, then the others newest first, each stopping at the page.
    with_deadline = statement.where(Order.id.in_(deadlines.orders_with_deadline(scope=scope)))
    soonest = deadlines.order_confirm_by(Order.id).asc()
    first = _orders_page(session, with_deadline, page.skip, page.limit, now=now, first=soonest)
    if len(first) == page.limit:
        return first, total
    holders = page.skip + len(first) if first else count_rows(session, with_deadline)
    rest = statement.where(~deadlines.order_holds_deadline(Order.id))
    more = _orders_page(
        session, rest, max(page.skip - holders, 0), page.limit - len(first), now=now
    )
    return first + more, total


def _orders_page(
    session: Session,
    statement: Select[Any],
    skip: int,
    limit: int,
    *,
    now: datetime,
    first: ColumnElement[Any] | None = None,
) -> list[Order]:
    """The page's order ids first (`first`, then newest first), then those orders with their
    lines: OFFSET skips bare ids, not rows whose blocking count and deadline were computed
    (page 150 of all vendors' orders: 593 ms in that statement on PostgreSQL, before)."""
    order = (first, *NEWEST_ORDERS_FIRST) if first is not None else NEWEST_ORDERS_FIRST
    ids = list(
        session.scalars(
            statement.with_only_columns(Order.id).order_by(*order).offset(skip).limit(limit)
        )
    )
    if not ids:
        return []
    rows = session.scalars(
        _with_lines(select(Order).where(in_list(session, Order.id, ids)), now=now)
    )
    by_id = {row.id: row for row in rows}
    return [by_id[order_id] for order_id in ids]


def get_order(session: Session, *, scope: Scope, order_id: int, now: datetime) -> Order | None:
    statement = scoped(select(Order).where(Order.id == order_id), scope, Order.vendor_id)
    return session.scalar(_with_lines(statement, now=now))


def find_order(session: Session, *, scope: Scope, order_id: int) -> Order | None:
    """The order alone (no lines), within the scope."""
    return session.scalar(scoped(select(Order), scope, Order.vendor_id).where(Order.id == order_id))


# --- Fulfilment -----------------------------------------------------------------------------------


def take_fulfilment_lease(
    session: Session, *, order_id: int, now: datetime, until: datetime
) -> bool:
    """One conditional UPDATE: the order's lease is free or expired, and now ours until `until`."""
    taken = session.execute(
        update(Order)
        .where(
            Order.id == order_id,
            or_(Order.fulfilment_lease_until.is_(None), Order.fulfilment_lease_until < now),
        )
        .values(fulfilment_lease_until=until)
        .execution_options(synchronize_session=False)
    )
    return bool(rows_changed(taken))


def release_fulfilment_lease(session: Session, *, order_id: int, lease_until: datetime) -> None:
    """Free the lease, unless it expired and another sender holds it now."""
    session.execute(
        update(Order)
        .where(Order.id == order_id, Order.fulfilment_lease_until == lease_until)
        .values(fulfilment_lease_until=None)
        .execution_options(synchronize_session=False)
    )


def _units_of_order(order_id: int) -> Select[OrderItemUnit]:
    return (
        select(OrderItemUnit)
        .join(OrderItem, OrderItem.id == OrderItemUnit.order_item_id)
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItemUnit.id)
    )


def unconfirmed_units(
    session: Session, *, order_id: int, item_ids: Sequence[int] | None
) -> list[OrderItemUnit]:
    statement = _units_of_order(order_id).where(OrderItemUnit.state == UnitState.UNCONFIRMED)
    if item_ids is not None:
        statement = statement.where(OrderItem.id.in_(item_ids))
    return list(session.scalars(statement))


def units_of_order(
    session: Session, *, order_id: int, external_unit_ids: Sequence[str]
) -> list[OrderItemUnit]:
    statement = _units_of_order(order_id).where(
        OrderItemUnit.external_unit_id.in_(external_unit_ids)
    )
    return list(session.scalars(statement))


def unit_states_of_order(session: Session, *, order_id: int) -> list[str]:
    statement = (
        select(OrderItemUnit.state)
        .join(OrderItem, OrderItem.id == OrderItemUnit.order_item_id)
        .where(OrderItem.order_id == order_id)
    )
    return list(session.scalars(statement))


def item_ids_of_order(session: Session, *, order_id: int, item_ids: Sequence[int]) -> set[int]:
    statement = select(OrderItem.id).where(
        OrderItem.order_id == order_id, OrderItem.id.in_(item_ids)
    )
    return set(session.scalars(statement))


# --- Lines after import -------------------------------------------------------------------------


def point_lines_at(
    session: Session,
    *,
    item_ids: Sequence[int],
    product_id: int | ColumnElement[Any],
    at: datetime,
) -> None:
    """Point the lines at the product, matched; marketplace ids and units stay as they are.
    `product_id` may be a per-line expression (auto-match: each line to its own product).

    The one writer of a line's product after import: resolve, bulk resolve and auto-match."""
    for chunk in in_list_batches(session, item_ids):
        session.execute(
            update(OrderItem)
            .where(in_list(session, OrderItem.id, chunk))
            .values(product_id=product_id, needs_product_match=False, updated_at=at)
            .execution_options(synchronize_session=False)
        )


# --- The import: look-ups -----------------------------------------------------------------------


class StoredOrder(NamedTuple):
    id: int
    status: str
    content_hash: str | None


# Built once per way of binding a list (`db.in_parameter`): a page's ids cost no statement
# building, and on PostgreSQL one array parameter instead of 100 bound values.
_EXISTING_ORDERS = {
    arrays: select(
        ORDERS.c.external_shipment_id, ORDERS.c.id, ORDERS.c.status, ORDERS.c.content_hash
    ).where(
        ORDERS.c.vendor_id == bindparam("vendor_id"),
        ORDERS.c.channel == bindparam("channel"),
        in_parameter(ORDERS.c.external_shipment_id, "shipment_ids", arrays=arrays),
    )
    for arrays in (False, True)
}


def existing_orders(
    session: Session, *, vendor_id: int, channel: str, shipment_ids: Collection[str]
) -> dict[str, StoredOrder]:
    """Stored orders of these shipments, by shipment id (one read of the unique index's range
    and the rows)."""
    if not shipment_ids:
        return {}
    rows = session.execute(
        _EXISTING_ORDERS[binds_arrays(session)],
        {"vendor_id": vendor_id, "channel": channel, "shipment_ids": list(shipment_ids)},
    )
    return {row[0]: StoredOrder(row[1], row[2], row[3]) for row in rows}


def taken_order_numbers(session: Session, numbers: Collection[str]) -> set[str]:
    return set(session.scalars(select(Order.order_number).where(Order.order_number.in_(numbers))))


def stored_lines(
    session: Session, order_ids: Collection[int]
) -> Sequence[tuple[int, int, str, int | None, str | None, str | None]]:
    """(order id, item id, external item id, unit id, external unit id, unit state) of every
    line of the orders; the unit columns are None for a line without units."""
    rows = session.execute(
        select(
            OrderItem.order_id,
            OrderItem.id,
            OrderItem.external_item_id,
            OrderItemUnit.id,
            OrderItemUnit.external_unit_id,
            OrderItemUnit.state,
        )
        .join(OrderItemUnit, OrderItemUnit.order_item_id == OrderItem.id, isouter=True)
        .where(OrderItem.order_id.in_(order_ids))
    )
    return rows.all()


def catalog_products(
    session: Session, *, vendor_id: int, canonical_gtins: Collection[str]
) -> list[tuple[str, int]]:
    """(canonical GTIN, product id) of the vendor's matchable products with these GTINs, by id."""
    if not canonical_gtins:
        return []
    rows = session.execute(
        select(Product.gtin_normalized, Product.id)
        .where(matchable(vendor_id), Product.gtin_normalized.in_(canonical_gtins))
        .order_by(Product.id)
    )
    return [(gtin, product_id) for gtin, product_id in rows if gtin is not None]


def remembered_products(
    session: Session, *, vendor_id: int, gtin_keys: Collection[str]
) -> dict[str, int]:
    """GTIN key -> the matchable product a human decision mapped it to."""
    if not gtin_keys:
        return {}
    rows = session.execute(
        select(GtinMapping.gtin_key, GtinMapping.product_id)
        .join(Product, Product.id == GtinMapping.product_id)
        .where(
            GtinMapping.vendor_id == vendor_id,
            GtinMapping.gtin_key.in_(gtin_keys),
            matchable(vendor_id),
        )
    )
    return {key: product_id for key, product_id in rows}


def products_by_ids(
    session: Session, *, vendor_id: int, product_ids: Collection[int]
) -> list[Product]:
    """The vendor's products with these ids (the products an order's lines point at)."""
    if not product_ids:
        return []
    return list(
        session.scalars(
            select(Product).where(Product.vendor_id == vendor_id, Product.id.in_(product_ids))
        )
    )


# --- The import: bulk writes --------------------------------------------------------------------


def insert_orders(session: Session, rows: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Insert the orders another import has not inserted meanwhile: shipment id -> order id of
    those this statement inserted."""
    if not rows:
        return {}
    insert = upsert_insert(session)
    statement = (
        insert(ORDERS)
        .on_conflict_do_nothing(index_elements=["vendor_id", "channel", "external_shipment_id"])
        .returning(ORDERS.c.external_shipment_id, ORDERS.c.id)
    )
    return {ext_id: order_id for ext_id, order_id in session.execute(statement, rows)}


# Lines, units and exceptions have no ON CONFLICT: a second import adding the same line or
# unit fails on the unique constraint, and the importer retries its orders one by one.


def insert_items(session: Session, rows: Sequence[Mapping[str, Any]]) -> dict[tuple[int, str], int]:
    """(order id, external item id) -> item id. The rows all have the same keys."""
    if not rows:
        return {}
    ids = bulk.allocate_ids(session, ITEMS, len(rows))
    bulk.insert_rows(
        session,
        ITEMS,
        ["id", *rows[0]],
        [(item_id, *row.values()) for item_id, row in zip(ids, rows, strict=True)],
    )
    return {
        (row["order_id"], row["external_item_id"]): item_id
        for item_id, row in zip(ids, rows, strict=True)
    }


def insert_units(session: Session, units: Sequence[tuple[int, str, str]], *, at: datetime) -> None:
    """Insert (item id, external unit id, state) units."""
    bulk.insert_rows(
        session,
        UNITS,
        ["order_item_id", "external_unit_id", "state", "created_at", "updated_at"],
        [(item_id, ext, state, at, at) for item_id, ext, state in units],
    )


def insert_exceptions(session: Session, rows: Sequence[Mapping[str, Any]]) -> dict[int, int]:
    """Item id -> exception id. The rows all have the same keys."""
    if not rows:
        return {}
    ids = bulk.allocate_ids(session, EXCEPTIONS, len(rows))
    bulk.insert_rows(
        session,
        EXCEPTIONS,
        ["id", *rows[0]],
        [(exception_id, *row.values()) for exception_id, row in zip(ids, rows, strict=True)],
    )
    return {row["order_item_id"]: exception_id for exception_id, row in zip(ids, rows, strict=True)}


# Rows in id order: two imports updating the same rows lock them in the same order, so they
# wait for each other instead of deadlocking (PostgreSQL).


def update_unit_states(session: Session, states: Mapping[int, str], *, at: datetime) -> None:
    """Unit id -> its new state."""
    if not states:
        return
    session.execute(
        update(UNITS)
        .where(UNITS.c.id == bindparam("unit_id"))
        .values(state=bindparam("new_state"), updated_at=at),
        [{"unit_id": u, "new_state": states[u]} for u in sorted(states)],
    )


def update_quantities(session: Session, quantities: Mapping[int, int], *, at: datetime) -> None:
    """Item id -> its new quantity."""
    if not quantities:
        return
    session.execute(
        update(ITEMS)
        .where(ITEMS.c.id == bindparam("item_id"))
        .values(quantity=bindparam("new_quantity"), updated_at=at),
        [{"item_id": i, "new_quantity": quantities[i]} for i in sorted(quantities)],
    )


def update_statuses(session: Session, statuses: Mapping[int, str], *, at: datetime) -> None:
    """Order id -> its new status."""
    if not statuses:
        return
    session.execute(
        update(ORDERS)
        .where(ORDERS.c.id == bindparam("order_id"))
        .values(status=bindparam("new_status"), updated_at=at),
        [{"order_id": o, "new_status": statuses[o]} for o in sorted(statuses)],
    )


def update_hashes(session: Session, hashes: Mapping[int, str | None]) -> None:
    """Order id -> the digest of the shipment now applied (``updated_at`` stays: a new digest
    alone is no change of the order)."""
    if not hashes:
        return
    session.execute(
        update(ORDERS)
        .where(ORDERS.c.id == bindparam("order_id"))
        # The column's onupdate would set updated_at: kept as it is.
        .values(content_hash=bindparam("new_hash"), updated_at=ORDERS.c.updated_at),
        [{"order_id": o, "new_hash": hashes[o]} for o in sorted(hashes)],
    )


def mark_confirmed(session: Session, order_ids: Collection[int], *, at: datetime) -> None:
    """Set ``confirmed_at`` where it is not set yet."""
    if not order_ids:
        return
    session.execute(
        update(ORDERS)
        .where(ORDERS.c.id.in_(sorted(order_ids)), ORDERS.c.confirmed_at.is_(None))
        .values(confirmed_at=at)
    )


def unmatch_lines(
    session: Session, *, item_ids: Sequence[int], placeholder_id: int, at: datetime
) -> None:
    """Point the lines back at the vendor's placeholder, waiting for a product match again
    (a reopened exception); marketplace ids and units stay as they are."""
    for chunk in in_list_batches(session, item_ids):
        session.execute(
            update(OrderItem)
            .where(in_list(session, OrderItem.id, chunk))
            .values(product_id=placeholder_id, needs_product_match=True, updated_at=at)
            .execution_options(synchronize_session=False)
        )


def lock_order_lease(session: Session, *, order_id: int) -> datetime | None:
    """The order's fulfilment lease, read with the order row locked (FOR UPDATE on PostgreSQL):
    a confirm taking the lease meanwhile waits for this transaction, or this read waits for it
    and sees the lease it took."""
    return session.execute(
        select(Order.fulfilment_lease_until).where(Order.id == order_id).with_for_update()
    ).scalar_one()


def units_in_states(session: Session, *, item_id: int, states: Collection[str]) -> list[str]:
    """External ids of the line's units in these states, by id (read now, not from the
    session's cache)."""
    return list(
        session.scalars(
            select(OrderItemUnit.external_unit_id)
            .where(OrderItemUnit.order_item_id == item_id, OrderItemUnit.state.in_(states))
            .order_by(OrderItemUnit.id)
        )
    )


def order_timeline(
    session: Session, *, vendor_id: int, order_id: int, page: PageRequest
) -> tuple[list[Event], int]:
    """The order's events and its lines' exceptions' events, oldest first."""
    exception_ids = session.scalars(
        select(OrderItemException.id)
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .where(OrderItem.order_id == order_id)
    ).all()
    return timeline_page(
        session,
        vendor_id=vendor_id,
        where=or_(
            subject_is(EventSubject.ORDER, order_id),
            subject_is(EventSubject.EXCEPTION, exception_ids),
        ),
        page=page,
    )


def order_age_seconds(*, now: datetime) -> ColumnElement[int]:
    """Per ``Order`` row: whole seconds since its order date (its arrival without one)."""
    return deadlines.age_seconds(func.coalesce(Order.order_date, Order.created_at), now=now)


# --- Queued fulfilment requests ---------------------------------------------------------------


def _open_request_of(order_id: Any) -> Select[Any]:
    return select(FulfilmentRequest.id).where(
        FulfilmentRequest.order_id == order_id,
        FulfilmentRequest.status.in_(FulfilmentRequestStatus.open()),
    )


def has_open_fulfilment_request() -> ColumnElement[bool]:
    """Per ``Order`` row: a queued confirm/decline of it is under way."""
    return exists(_open_request_of(Order.id).correlate(Order))


def open_fulfilment_request(session: Session, *, order_id: int) -> FulfilmentRequest | None:
    request_id = session.scalar(_open_request_of(order_id))
    return None if request_id is None else session.get(FulfilmentRequest, request_id)


def fail_unqueued_request(session: Session, *, request_id: int, error: str, at: datetime) -> None:
    """End a request whose job was never recorded (its process stopped before the defer)."""
    session.execute(
        update(FulfilmentRequest)
        .where(
            FulfilmentRequest.id == request_id,
            FulfilmentRequest.status == FulfilmentRequestStatus.REQUESTED,
            FulfilmentRequest.job_id.is_(None),
        )
        .values(status=FulfilmentRequestStatus.FAILED, last_error=error, finished_at=at)
        .execution_options(synchronize_session=False)
    )


def find_fulfilment_request(
    session: Session, *, scope: Scope, request_id: int
) -> FulfilmentRequest | None:
    statement = select(FulfilmentRequest).where(FulfilmentRequest.id == request_id)
    return session.scalar(scoped(statement, scope, FulfilmentRequest.vendor_id))


def latest_fulfilment_request(session: Session, *, order_id: int) -> FulfilmentRequest | None:
    return session.scalar(
        select(FulfilmentRequest)
        .where(FulfilmentRequest.order_id == order_id)
        .order_by(FulfilmentRequest.id.desc())
        .limit(1)
    )
