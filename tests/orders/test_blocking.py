"""Blocking, defined once (orders/guard.py): an exception on a declined line blocks nothing and
is counted as blocking nowhere — not by the gate, `exception_count`, the `has_exceptions` filter
or the exceptions stats' `orders_with_exceptions` (the trigger-kept context table, 0005)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ordergate.db import PageRequest
from ordergate.item_exceptions.side_tables import exception_context
from ordergate.orders import guard, service
from ordergate.orders.errors import OrderHasUnresolvedExceptionsError
from ordergate.orders.models import (
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
    UnitState,
)
from ordergate.scope import Scope
from tests.factories import Caller, make_exception, make_item, make_order, make_product, make_vendor
from tests.letzshop.conftest import shipment, unit

KNOWN = "4006381333931"
UNKNOWN = "5901234123457"
DECLINED = UnitState.CONFIRMED_UNAVAILABLE


def _views(client: TestClient, caller: Caller, order_id: int) -> dict[str, Any]:
    """What the API says about the order's blocking, in the caller's tree."""
    orders = caller.url(admin="/api/v1/admin/orders", vendor="/api/v1/vendor/orders")
    stats = caller.url(
        admin="/api/v1/admin/order-exceptions/stats", vendor="/api/v1/vendor/order-exceptions/stats"
    )

    def listed(flag: str) -> list[int]:
        params = {**caller.vendor_query(), "has_exceptions": flag}
        response = client.get(orders, headers=caller.headers, params=params)
        assert response.status_code == 200, response.text
        return [o["id"] for o in response.json()["orders"]]

    detail = client.get(f"{orders}/{order_id}", headers=caller.headers)
    assert detail.status_code == 200, detail.text
    counts = client.get(stats, headers=caller.headers, params=caller.vendor_query())
    assert counts.status_code == 200, counts.text
    return {
        "exception_count": detail.json()["exception_count"],
        "blocked": order_id in listed("true"),
        "free": order_id in listed("false"),
        "orders_with_exceptions": counts.json()["orders_with_exceptions"],
    }


BLOCKED = {"exception_count": 1, "blocked": True, "free": False, "orders_with_exceptions": 1}
UNBLOCKED = {"exception_count": 0, "blocked": False, "free": True, "orders_with_exceptions": 0}


def test_declining_the_only_unknown_line_unblocks_the_order_everywhere(
    client: TestClient, db: Session, shop, put_shipments
) -> None:
    """Through the real API and the Letzshop sandbox: sync, decline, then read and confirm."""
    vendor, admin, vendor_auth = shop
    make_product(db, vendor_id=vendor.id, gtin=KNOWN)
    db.commit()
    put_shipments(
        shipment("S1", [unit("u1", "known", KNOWN), unit("u2", "mystery", UNKNOWN)]),
    )
    assert client.post("/api/v1/vendor/letzshop/sync", headers=vendor_auth).status_code == 200
    order = db.scalars(select(Order).where(Order.external_shipment_id == "S1")).one()
    mystery = db.scalars(
        select(OrderItem).where(
            OrderItem.order_id == order.id, OrderItem.external_item_id == "mystery"
        )
    ).one()
    callers = [Caller("admin", vendor, admin), Caller("vendor", vendor, vendor_auth)]
    assert [_views(client, c, order.id) for c in callers] == [BLOCKED, BLOCKED]

    declined = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/items/{mystery.id}/decline", headers=vendor_auth
    )
    assert declined.status_code == 200, declined.text
    assert [_views(client, c, order.id) for c in callers] == [UNBLOCKED, UNBLOCKED]
    confirmed = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "processing"


def _order_with_unknown_line(db: Session, vendor_id: int) -> tuple[Order, OrderItem]:
    product = make_product(db, vendor_id=vendor_id, gtin=KNOWN)
    order = make_order(db, vendor_id=vendor_id)
    make_item(db, order=order, product_id=product.id, gtin=KNOWN)
    unknown = make_item(db, order=order, gtin=UNKNOWN, unit_states=("unconfirmed",) * 2)
    make_exception(db, item=unknown)
    db.commit()
    return order, unknown


def _set_states(db: Session, item: OrderItem, state: str) -> None:
    db.execute(
        update(OrderItemUnit).where(OrderItemUnit.order_item_id == item.id).values(state=state)
    )
    db.commit()


def test_declined_line_unblocks_and_undeclining_blocks_again_over_the_api(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order, unknown = _order_with_unknown_line(db, caller.vendor.id)
    assert _views(client, caller, order.id) == BLOCKED
    _set_states(db, unknown, DECLINED)
    assert _views(client, caller, order.id) == UNBLOCKED
    _set_states(db, unknown, UnitState.CONFIRMED_AVAILABLE)
    assert _views(client, caller, order.id) == BLOCKED


def _service_views(db: Session, order: Order) -> tuple[int | None, bool]:
    scope = Scope(actor_user_id=None, vendor_id=order.vendor_id)
    db.expire_all()
    count = service.get_order(db, scope=scope, order_id=order.id).exception_count
    listed, _ = service.list_orders(db, scope=scope, page=PageRequest(), has_exceptions=True)
    return count, order.id in [o.id for o in listed]


def test_the_gate_and_the_read_side_agree_on_a_declined_line(db: Session) -> None:
    vendor = make_vendor(db, code="shop1")
    order, unknown = _order_with_unknown_line(db, vendor.id)
    with pytest.raises(OrderHasUnresolvedExceptionsError):
        guard.ensure_confirmable(db, order_id=order.id)
    assert _service_views(db, order) == (1, True)

    # One of two units declined: the line is not declined, so it still blocks.
    first = min(u.id for u in unknown.units)
    db.execute(update(OrderItemUnit).where(OrderItemUnit.id == first).values(state=DECLINED))
    db.commit()
    assert _service_views(db, order) == (1, True)

    _set_states(db, unknown, DECLINED)
    guard.ensure_confirmable(db, order_id=order.id)
    guard.ensure_confirmable(db, order_id=order.id, item_ids=[unknown.id])
    assert _service_views(db, order) == (0, False)


def _stored_blocking(db: Session) -> dict[int, bool]:
    context = exception_context.c
    return {k: bool(v) for k, v in db.execute(select(context.exception_id, context.blocking))}


def _context_matches_the_rule(db: Session) -> None:
    db.expire_all()
    rule = db.execute(select(OrderItemException.id, guard.is_blocking()))
    assert _stored_blocking(db) == {k: bool(v) for k, v in rule}


def test_the_context_table_follows_unit_and_status_changes(db: Session) -> None:
    vendor = make_vendor(db, code="shop1")
    order = make_order(db, vendor_id=vendor.id)
    lines = [make_item(db, order=order, unit_states=("unconfirmed",) * 2) for _ in range(3)]
    exceptions = [make_exception(db, item=line) for line in lines]
    declined_at_import = make_item(db, order=order, unit_states=(DECLINED,))
    exceptions.append(make_exception(db, item=declined_at_import, status="ignored"))
    db.commit()
    _context_matches_the_rule(db)
    assert _stored_blocking(db) == {
        exceptions[0].id: True,
        exceptions[1].id: True,
        exceptions[2].id: True,
        exceptions[3].id: False,
    }

    _set_states(db, lines[0], DECLINED)  # a line declined
    _set_states(db, lines[1], UnitState.RETURNED)  # a state that is not a decline
    _context_matches_the_rule(db)
    # A unit that is not declined added to the declined line makes it block again.
    db.add(OrderItemUnit(order_item_id=lines[0].id, external_unit_id="late", state="unconfirmed"))
    db.commit()
    _context_matches_the_rule(db)
    # ...and deleting it declines the line again.
    db.execute(delete(OrderItemUnit).where(OrderItemUnit.external_unit_id == "late"))
    db.commit()
    _context_matches_the_rule(db)
    # Status changes on a declined and on an open line.
    for exception, status in zip(
        exceptions, ["pending", "resolved", "ignored", "pending"], strict=True
    ):
        db.execute(
            update(OrderItemException)
            .where(OrderItemException.id == exception.id)
            .values(status=status)
        )
    db.commit()
    _context_matches_the_rule(db)
    _set_states(db, declined_at_import, "unconfirmed")
    _context_matches_the_rule(db)
    assert _stored_blocking(db)[exceptions[3].id] is True
