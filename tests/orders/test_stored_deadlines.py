"""The stored deadline columns of the context table (migration 0012) and the exception's
status there (0018) stay equal to the rule (`deadlines.due_at`, the gate's
`guard.is_blocking`, status pending) whatever changes: an order's exceptions, its status
(confirmed, declined), its date, its vendor's hours; and after the migration's backfill. The
lists, the stats and the KPIs read these columns."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, case, delete, func, select, update
from sqlalchemy.orm import Session

from ordergate import migrate
from ordergate.db import PageRequest, make_engine, make_session_factory
from ordergate.item_exceptions import repository
from ordergate.item_exceptions import service as exception_service
from ordergate.item_exceptions.side_tables import exception_context
from ordergate.orders import deadlines, guard
from ordergate.orders import service as order_service
from ordergate.orders.models import (
    ExceptionStatus,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
    OrderStatus,
)
from ordergate.scope import Scope
from ordergate.vendors.models import Vendor
from tests.factories import BASE_TIME, make_exception, make_item, make_order, make_vendor

DECLINED = "confirmed_unavailable"
NOW = BASE_TIME + timedelta(hours=30)


def _stored(db: Session) -> dict[int, tuple[Any, ...]]:
    c = exception_context.c
    rows = db.execute(
        select(c.exception_id, c.order_start, c.awaiting, c.due_at, c.blocking, c.status)
    )
    return {r[0]: (r[1], bool(r[2]), r[3], bool(r[4]), r[5]) for r in rows}


def _rule(db: Session) -> dict[int, tuple[Any, ...]]:
    """The same five values computed from the source rows."""
    rows = db.execute(
        select(
            OrderItemException.id,
            func.coalesce(Order.order_date, Order.created_at),
            Order.status == OrderStatus.PENDING,
            deadlines.due_at(
                order_date=Order.order_date,
                order_created_at=Order.created_at,
                vendor_id=OrderItemException.vendor_id,
            ),
            guard.is_blocking(),
            OrderItemException.status,
        )
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
    )
    return {r[0]: (r[1], bool(r[2]), r[3], bool(r[4]), r[5]) for r in rows}


def _matches_the_rule(db: Session) -> dict[int, tuple[Any, ...]]:
    db.expire_all()
    stored = _stored(db)
    assert stored == _rule(db)
    return stored


def _confirm_by(db: Session, order: Order) -> tuple[datetime | None, list[datetime | None]]:
    """The order's `confirm_by` in the orders list and its exceptions' in the exceptions list."""
    db.expire_all()
    scope = Scope(actor_user_id=None, vendor_id=order.vendor_id)
    listed = order_service.get_order(db, scope=scope, order_id=order.id, now=NOW)
    rows, _ = exception_service.list_exceptions(db, scope=scope, page=PageRequest(), now=NOW)
    order_items = {item.id for item in listed.items}
    return listed.confirm_by, [r.confirm_by for r in rows if r.order_item_id in order_items]


def _vendor_with_hours(db: Session, hours: int | None, code: str = "shop1") -> Vendor:
    vendor = make_vendor(db, code=code)
    vendor.confirmation_deadline_hours = hours
    db.commit()
    return vendor


def test_the_stored_deadline_follows_the_orders_exceptions(db: Session) -> None:
    vendor = _vendor_with_hours(db, 48)
    order = make_order(db, vendor_id=vendor.id)
    lines = [make_item(db, order=order) for _ in range(2)]
    first = make_exception(db, item=lines[0])
    db.commit()
    due = BASE_TIME + timedelta(hours=48)
    assert _matches_the_rule(db)[first.id] == (BASE_TIME, True, due, True, "pending")
    assert _confirm_by(db, order) == (due, [due])

    second = make_exception(db, item=lines[1], status="ignored")
    db.commit()
    _matches_the_rule(db)
    assert _confirm_by(db, order) == (due, [due, due])

    for exception_id in (first.id, second.id):
        db.execute(
            update(OrderItemException)
            .where(OrderItemException.id == exception_id)
            .values(status="resolved")
        )
    db.commit()
    _matches_the_rule(db)
    assert _confirm_by(db, order) == (None, [None, None])

    # A line declined: its exception, reopened, does not block.
    db.execute(
        update(OrderItemException).where(OrderItemException.id == first.id).values(status="pending")
    )
    db.execute(
        update(OrderItemUnit)
        .where(OrderItemUnit.order_item_id == lines[0].id)
        .values(state=DECLINED)
    )
    db.commit()
    assert _matches_the_rule(db)[first.id][3] is False
    assert _confirm_by(db, order) == (None, [None, None])

    db.execute(delete(OrderItemException).where(OrderItemException.id == second.id))
    db.commit()
    assert set(_matches_the_rule(db)) == {first.id}


def test_confirming_or_declining_an_order_clears_its_deadline(db: Session) -> None:
    vendor = _vendor_with_hours(db, 24)
    orders = [make_order(db, vendor_id=vendor.id) for _ in range(3)]
    for order in orders:
        make_exception(db, item=make_item(db, order=order))
    db.commit()
    due = BASE_TIME + timedelta(hours=24)
    assert [_confirm_by(db, o)[0] for o in orders] == [due, due, due]

    for order, status in zip(orders, ("processing", "cancelled"), strict=False):
        db.execute(update(Order).where(Order.id == order.id).values(status=status))
    db.commit()
    _matches_the_rule(db)
    assert [_confirm_by(db, o) for o in orders] == [(None, [None]), (None, [None]), (due, [due])]
    stats = exception_service.exception_stats(
        db, scope=Scope(actor_user_id=None, vendor_id=vendor.id), now=NOW
    )
    assert (stats.orders_with_exceptions, stats.at_risk, stats.overdue) == (3, 0, 1)

    # Back to pending, and a later order date on the third: each follows.
    later = BASE_TIME + timedelta(hours=10, microseconds=999_999)
    db.execute(update(Order).where(Order.id == orders[0].id).values(status="pending"))
    db.execute(update(Order).where(Order.id == orders[2].id).values(order_date=later))
    db.commit()
    _matches_the_rule(db)
    assert _confirm_by(db, orders[0])[0] == due
    assert _confirm_by(db, orders[2])[0] == later + timedelta(hours=24)
    stats = exception_service.exception_stats(
        db, scope=Scope(actor_user_id=None, vendor_id=vendor.id), now=NOW
    )
    assert (stats.at_risk, stats.overdue) == (1, 1)


def test_a_vendors_hours_recompute_only_its_rows(db: Session) -> None:
    vendor = _vendor_with_hours(db, 48)
    other = _vendor_with_hours(db, 72, code="shop2")
    mine = make_order(db, vendor_id=vendor.id)
    theirs = make_order(db, vendor_id=other.id, order_date=None)
    make_exception(db, item=make_item(db, order=mine))
    make_exception(db, item=make_item(db, order=theirs))
    db.commit()
    theirs_due = theirs.created_at + timedelta(hours=72)
    assert _confirm_by(db, theirs)[0] == theirs_due

    for hours in (5, None, 8_760):
        db.execute(
            update(Vendor).where(Vendor.id == vendor.id).values(confirmation_deadline_hours=hours)
        )
        db.commit()
        _matches_the_rule(db)
        expected = None if hours is None else BASE_TIME + timedelta(hours=hours)
        assert _confirm_by(db, mine) == (expected, [expected])
        assert _confirm_by(db, theirs)[0] == theirs_due


def test_the_order_list_filters_and_sorts_by_the_stored_deadline(db: Session) -> None:
    vendor = _vendor_with_hours(db, 24)
    soon = make_order(db, vendor_id=vendor.id, order_date=BASE_TIME + timedelta(hours=10))
    late = make_order(db, vendor_id=vendor.id, order_date=BASE_TIME + timedelta(hours=20))
    past = make_order(db, vendor_id=vendor.id, order_date=BASE_TIME)
    plain = make_order(db, vendor_id=vendor.id, order_date=BASE_TIME + timedelta(hours=40))
    for order in (soon, late, past):
        make_exception(db, item=make_item(db, order=order))
    make_item(db, order=plain)
    db.commit()
    scope = Scope(actor_user_id=None, vendor_id=vendor.id)

    def ids(**kwargs: Any) -> list[int]:
        found, _ = order_service.list_orders(db, scope=scope, now=NOW, **kwargs)
        return [o.id for o in found]

    assert ids(page=PageRequest(), sort=order_service.OrderSort.CONFIRM_BY) == [
        past.id,
        soon.id,
        late.id,
        plain.id,
    ]
    # Pages across the two walks: with a deadline, then without.
    assert ids(page=PageRequest(skip=3, limit=1), sort=order_service.OrderSort.CONFIRM_BY) == [
        plain.id
    ]
    assert ids(page=PageRequest(skip=2, limit=2), sort=order_service.OrderSort.CONFIRM_BY) == [
        late.id,
        plain.id,
    ]
    assert ids(page=PageRequest(), deadline_state=deadlines.DeadlineState.AT_RISK) == [
        late.id,
        soon.id,
    ]
    assert ids(page=PageRequest(), deadline_state=deadlines.DeadlineState.OVERDUE) == [past.id]


def _line_vendors(db: Session) -> dict[int, int | None]:
    return {
        line_id: vendor_id
        for line_id, vendor_id in db.execute(select(OrderItem.id, OrderItem.vendor_id))
    }


def test_the_migration_backfills_existing_rows(scratch_url: str) -> None:
    migrate.upgrade(scratch_url)
    engine: Engine = make_engine(scratch_url)
    with make_session_factory(engine)() as db:
        vendor = _vendor_with_hours(db, 36)
        none = _vendor_with_hours(db, None, code="shop2")
        pending = make_order(db, vendor_id=vendor.id)
        shipped = make_order(db, vendor_id=vendor.id, status="shipped", order_date=None)
        no_hours = make_order(db, vendor_id=none.id)
        statuses = ("pending", "ignored", "resolved")
        for order, status in zip((pending, shipped, no_hours), statuses, strict=True):
            make_exception(db, item=make_item(db, order=order), status=status)
        make_item(db, order=pending)  # a line without an exception
        db.commit()
        before = _matches_the_rule(db)
        lines = _line_vendors(db)
        vendor_ids, pending_id = {vendor.id, none.id}, pending.id
    engine.dispose()

    migrate.downgrade(scratch_url, "0011")
    migrate.upgrade(scratch_url)
    engine = make_engine(scratch_url)
    with make_session_factory(engine)() as db:
        assert _matches_the_rule(db) == before
        assert sorted(v[2] is not None for v in before.values()) == [False, True, True]
        assert _line_vendors(db) == lines
        assert set(lines.values()) == vendor_ids
        # The triggers work after the backfill too.
        db.execute(update(Order).where(Order.id == pending_id).values(status="processing"))
        db.commit()
        awaiting = case((exception_context.c.awaiting, 1), else_=0)
        assert db.scalar(select(func.sum(awaiting))) == 1  # no_hours, still pending
        _matches_the_rule(db)
    engine.dispose()


def test_a_line_inserted_without_its_vendor_gets_the_orders(db: Session) -> None:
    vendor = make_vendor(db, code="shop1")
    order = make_order(db, vendor_id=vendor.id)
    item = make_item(db, order=order)
    db.commit()
    db.expire_all()
    assert db.get(OrderItem, item.id).vendor_id == vendor.id


def test_a_dense_deadline_state_lists_the_same_rows_by_either_path(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    vendor = _vendor_with_hours(db, 24)
    other = _vendor_with_hours(db, 24, code="shop2")
    for n in range(8):
        order = make_order(
            db, vendor_id=(vendor, other)[n % 2].id, order_date=BASE_TIME + timedelta(hours=n)
        )
        make_exception(
            db,
            item=make_item(db, order=order),
            created_at=BASE_TIME + timedelta(minutes=n % 3),
            status=("pending", "ignored", "pending")[n % 3],
        )
    make_exception(db, item=make_item(db, order=make_order(db, vendor_id=vendor.id)))
    db.commit()

    def listed(vendor_id: int | None) -> list[tuple[list[int], int]]:
        scope = Scope(actor_user_id=None, vendor_id=vendor_id, is_admin=vendor_id is None)
        found = []
        for state in deadlines.DeadlineState:
            for page in (PageRequest(limit=3), PageRequest(skip=3, limit=3)):
                for status in (None, ExceptionStatus.PENDING, ExceptionStatus.IGNORED):
                    rows, total = exception_service.list_exceptions(
                        db, scope=scope, status=status, deadline_state=state, page=page, now=NOW
                    )
                    found.append(([r.id for r in rows], total))
        return found

    for vendor_id in (None, vendor.id):
        sparse = listed(vendor_id)
        monkeypatch.setattr(repository, "DENSE_DEADLINE_ROWS", 1)
        assert listed(vendor_id) == sparse
        monkeypatch.undo()
        assert any(total > 3 for _, total in sparse)
