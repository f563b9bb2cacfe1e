"""The order timeline (GET …/orders/{id}/events), over HTTP in both trees: the order's own
events and its lines' exceptions' events, oldest first."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.events.models import Event, EventAction
from ordergate.events.repository import record_events
from ordergate.orders.events import exception_created, order_status_changed, units_decided
from ordergate.orders.models import Order, OrderItemException
from tests.factories import (
    Caller,
    caller_user_id,
    make_item,
    make_order,
    make_product,
    make_unmatched_line,
    make_vendor,
    row_count,
)

ADMIN = "/api/v1/admin"
VENDOR = "/api/v1/vendor"


def _base(caller: Caller) -> str:
    return caller.url(admin=ADMIN, vendor=VENDOR)


def _created(db: Session, exception: OrderItemException) -> None:
    record_events(
        db,
        [
            exception_created(
                exception_id=exception.id,
                vendor_id=exception.vendor_id,
                exception_type=exception.exception_type,
                original_gtin=exception.original_gtin,
                candidate_product_ids=[],
            )
        ],
    )


def _order_with_history(db: Session, vendor_id: int) -> tuple[Order, OrderItemException]:
    """An imported order with an unmatched line (its `created` event), re-imported with a
    status change."""
    order = make_order(db, vendor_id=vendor_id)
    make_item(db, order=order, product_id=make_product(db, vendor_id=vendor_id).id)
    exception = make_unmatched_line(db, vendor_id=vendor_id, order=order)
    _created(db, exception)
    db.commit()
    record_events(
        db,
        [order_status_changed(order_id=order.id, vendor_id=vendor_id, before="pending", after="x")],
    )
    db.commit()
    return order, exception


def _timeline(client: TestClient, caller: Caller, order_id: int, **params: Any) -> Any:
    response = client.get(
        f"{_base(caller)}/orders/{order_id}/events", headers=caller.headers, params=params
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_the_order_timeline_holds_its_events_and_its_exceptions(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order, exception = _order_with_history(db, caller.vendor.id)
    product = make_product(db, vendor_id=caller.vendor.id, title="Mug")
    db.commit()
    resolved = client.post(
        f"{_base(caller)}/order-exceptions/{exception.id}/resolve",
        headers=caller.headers,
        json={"product_id": product.id, "notes": "the mug"},
    )
    assert resolved.status_code == 200, resolved.text
    user_id = caller_user_id(db, caller)
    record_events(
        db,
        [
            units_decided(
                order_id=order.id,
                vendor_id=caller.vendor.id,
                actor_user_id=user_id,
                action=EventAction.CONFIRMED,
                status_before="pending",
                status_after="processing",
                units={"unit-1": "confirmed_available"},
            )
        ],
    )
    db.commit()

    body = _timeline(client, caller, order.id)
    email = "admin@example.test" if caller.is_admin else f"staff@{caller.vendor.code}.test"
    user = {"type": "user", "user_id": user_id, "email": email, "cause": None}
    system = {"type": "system", "user_id": None, "email": None, "cause": "import"}
    assert [
        (e["subject_type"], e["subject_id"], e["action"], e["actor"]) for e in body["events"]
    ] == [
        ("order_item_exception", exception.id, "created", system),
        ("order", order.id, "status_changed", system),
        ("order_item_exception", exception.id, "resolved", user),
        ("order", order.id, "confirmed", user),
    ]
    assert body["total"] == 4
    assert body["events"][2]["notes"] == "the mug"
    assert body["events"][3]["after"]["units"] == {"unit-1": "confirmed_available"}


def test_other_orders_events_stay_out(client: TestClient, db: Session, caller: Caller) -> None:
    order, _ = _order_with_history(db, caller.vendor.id)
    neighbour, _ = _order_with_history(db, caller.vendor.id)
    events = _timeline(client, caller, order.id)["events"]
    assert len(events) == 2
    assert {e["subject_id"] for e in events if e["subject_type"] == "order"} == {order.id}
    assert neighbour.id not in {e["subject_id"] for e in events if e["subject_type"] == "order"}


def test_an_order_without_events_has_an_empty_timeline(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order = make_order(db, vendor_id=caller.vendor.id)
    db.commit()
    assert _timeline(client, caller, order.id) == {"events": [], "total": 0, "skip": 0, "limit": 50}


def test_the_order_timeline_pages(client: TestClient, db: Session, caller: Caller) -> None:
    order, _ = _order_with_history(db, caller.vendor.id)
    everything = _timeline(client, caller, order.id)["events"]
    page = _timeline(client, caller, order.id, skip=1, limit=1)
    assert (page["total"], page["skip"], page["limit"]) == (2, 1, 1)
    assert page["events"] == everything[1:]


def test_another_vendors_order_answers_like_a_missing_one(
    client: TestClient, db: Session, caller: Caller
) -> None:
    other = make_vendor(db, code="shop2")
    foreign, _ = _order_with_history(db, other.id)
    events_before = row_count(db, Event)
    for order_id in (foreign.id, 999_999):
        response = client.get(f"{_base(caller)}/orders/{order_id}/events", headers=caller.headers)
        if caller.is_admin and order_id == foreign.id:
            assert response.status_code == 200
            assert len(response.json()["events"]) == 2
            continue
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "ORDER_NOT_FOUND"
        assert str(order_id) in response.json()["error"]["message"]
    assert row_count(db, Event) == events_before
