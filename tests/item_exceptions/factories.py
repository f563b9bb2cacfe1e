"""Orders, lines and exceptions built directly through the ORM; each flushes, the caller
commits."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.auth.models import User
from ordergate.catalog.models import GtinMapping
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.events.models import Event
from ordergate.gtin import normalize_gtin
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from ordergate.vendors.models import Vendor
from tests.factories import Caller, login, make_product, make_user, make_vendor  # noqa: F401

_seq = itertools.count(1)
BASE_TIME = datetime(2025, 12, 19, 10, 30, tzinfo=UTC)


def make_order(
    db: Session,
    *,
    vendor_id: int,
    order_number: str | None = None,
    status: str = "pending",
    customer_name: str | None = "Marie Schmit",
    customer_email: str | None = "marie@example.test",
    order_date: datetime | None = BASE_TIME,
    **fields: Any,
) -> Order:
    n = next(_seq)
    order = Order(
        vendor_id=vendor_id,
        channel="letzshop",
        external_order_id=f"ext-order-{n}",
        external_shipment_id=f"ext-ship-{n}",
        external_order_number=f"R{n:09d}",
        order_number=order_number or f"LS-{vendor_id}-R{n:09d}",
        status=status,
        customer_name=customer_name,
        customer_email=customer_email,
        currency="EUR",
        order_date=order_date,
        **fields,
    )
    db.add(order)
    db.flush()
    return order


def make_item(
    db: Session,
    *,
    order: Order,
    gtin: str | None = "4006381333931",
    product_name: str | None = "Funko Pop! Marvel",
    sku: str | None = "MH-FU-56757",
    product_id: int | None = None,
    needs_product_match: bool | None = None,
    quantity: int = 1,
    unit_price_cents: int | None = 1999,
    unit_states: tuple[str, ...] = ("unconfirmed",),
) -> OrderItem:
    n = next(_seq)
    unmatched = product_id is None
    item = OrderItem(
        order_id=order.id,
        product_id=product_id or placeholder_product_id(db, vendor_id=order.vendor_id),
        external_item_id=f"variant-{n}",
        product_name=product_name,
        product_sku=sku,
        gtin=gtin,
        gtin_type="ean13" if gtin else None,
        gtin_normalized=normalize_gtin(gtin).canonical,
        quantity=quantity,
        unit_price_cents=unit_price_cents,
        needs_product_match=unmatched if needs_product_match is None else needs_product_match,
    )
    db.add(item)
    db.flush()
    for index, state in enumerate(unit_states):
        db.add(
            OrderItemUnit(order_item_id=item.id, external_unit_id=f"unit-{n}-{index}", state=state)
        )
    db.flush()
    return item


def make_exception(
    db: Session,
    *,
    item: OrderItem,
    exception_type: str = "product_not_found",
    status: str = "pending",
    created_at: datetime | None = None,
    resolved_product_id: int | None = None,
) -> OrderItemException:
    order = db.get(Order, item.order_id)
    assert order is not None
    exception = OrderItemException(
        order_item_id=item.id,
        vendor_id=order.vendor_id,
        original_gtin=item.gtin,
        original_product_name=item.product_name,
        original_sku=item.product_sku,
        exception_type=exception_type,
        status=status,
        resolved_product_id=resolved_product_id,
        created_at=created_at or BASE_TIME,
        updated_at=created_at or BASE_TIME,
    )
    db.add(exception)
    db.flush()
    return exception


def make_unmatched_line(
    db: Session,
    *,
    vendor_id: int,
    order: Order | None = None,
    gtin: str | None = "4006381333931",
    product_name: str | None = "Funko Pop! Marvel",
    sku: str | None = "MH-FU-56757",
    exception_type: str = "product_not_found",
    status: str = "pending",
    created_at: datetime | None = None,
) -> OrderItemException:
    """An order line on the placeholder with its exception (a new order unless given)."""
    order = order or make_order(db, vendor_id=vendor_id)
    item = make_item(db, order=order, gtin=gtin, product_name=product_name, sku=sku)
    return make_exception(
        db, item=item, exception_type=exception_type, status=status, created_at=created_at
    )


def minutes(n: int) -> datetime:
    return BASE_TIME + timedelta(minutes=n)


def exception_state(db: Session, exception_id: int) -> dict[str, Any]:
    """The exception's status, resolution and its line's product link, as committed; leaves
    no transaction open (SQLite takes the write lock when one begins)."""
    exception = db.get(OrderItemException, exception_id, populate_existing=True)
    assert exception is not None
    item = db.get(OrderItem, exception.order_item_id, populate_existing=True)
    assert item is not None
    state = {
        "status": exception.status,
        "resolved_product_id": exception.resolved_product_id,
        "resolved_by": exception.resolved_by,
        "resolution_notes": exception.resolution_notes,
        "item_product_id": item.product_id,
        "needs_product_match": item.needs_product_match,
        "events": event_count(db, exception_id),
    }
    db.commit()  # ends the read transaction without expiring loaded objects
    return state


def event_count(db: Session, exception_id: int | None = None) -> int:
    statement = (
        select(func.count()).select_from(Event).where(Event.subject_type == "order_item_exception")
    )
    if exception_id is not None:
        statement = statement.where(Event.subject_id == exception_id)
    count = db.scalar(statement) or 0
    db.commit()  # ends the read transaction without expiring loaded objects
    return count


def events_of(db: Session, exception_id: int) -> list[dict[str, Any]]:
    events = [
        {
            "vendor_id": e.vendor_id,
            "actor_user_id": e.actor_user_id,
            "action": e.action,
            "before": e.before,
            "after": e.after,
        }
        for e in db.scalars(
            select(Event)
            .where(Event.subject_type == "order_item_exception", Event.subject_id == exception_id)
            .order_by(Event.id)
        )
    ]
    db.commit()  # ends the read transaction without expiring loaded objects
    return events


def mappings(db: Session) -> list[tuple[int, str, int]]:
    rows = db.execute(
        select(GtinMapping.vendor_id, GtinMapping.gtin_key, GtinMapping.product_id).order_by(
            GtinMapping.id
        )
    ).all()
    db.commit()  # ends the read transaction without expiring loaded objects
    return [tuple(r) for r in rows]  # type: ignore[misc]


@dataclass
class Actors:
    """An admin, and two vendors each with one staff user; all logged in."""

    admin_id: int
    admin: dict[str, str]
    vendor: Vendor
    vendor_user_id: int
    vendor_headers: dict[str, str]
    other: Vendor
    other_headers: dict[str, str]


def make_actors(client: TestClient, db: Session) -> Actors:
    admin = make_user(db, email="admin@example.test", is_admin=True)
    vendor = make_vendor(db, code="shop1")
    other = make_vendor(db, code="shop2")
    staff = make_user(db, email="staff@shop1.test", vendors=["shop1"])
    make_user(db, email="staff@shop2.test", vendors=["shop2"])
    db.commit()
    return Actors(
        admin_id=admin.id,
        admin=login(client, "admin@example.test"),
        vendor=vendor,
        vendor_user_id=staff.id,
        vendor_headers=login(client, "staff@shop1.test", vendor_code="shop1"),
        other=other,
        other_headers=login(client, "staff@shop2.test", vendor_code="shop2"),
    )


def caller_user_id(db: Session, caller: Caller) -> int:
    """The id of the user behind the `caller` fixture's token (admin or shop staff)."""
    email = "admin@example.test" if caller.is_admin else f"staff@{caller.vendor.code}.test"
    user_id = db.scalar(select(User.id).where(User.email == email))
    db.commit()  # ends the read transaction without expiring loaded objects
    assert user_id is not None
    return user_id
