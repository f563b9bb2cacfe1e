"""Which changes record which events, in the change's own transaction."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.item_exceptions import matching
from ordergate.item_exceptions.service import resolve_exception
from ordergate.orders.models import OrderItemException
from ordergate.scope import VendorScope
from ordergate.vendors.models import Vendor
from ordergate.webhooks import outbox
from ordergate.webhooks.delivery import deliver_due, run_tick
from ordergate.webhooks.models import WebhookDelivery
from tests.factories import (
    make_exception,
    make_item,
    make_order,
    make_product,
    row_count,
    set_deadline_hours,
)
from tests.webhooks.conftest import Owner, Receiver, deliveries, set_webhook

GTIN_A = "4006381333931"
GTIN_B = "5901234123457"


def _resolve(client: TestClient, owner: Owner, exception_id: int, product_id: int) -> None:
    response = client.post(
        f"/api/v1/vendor/order-exceptions/{exception_id}/resolve",
        headers=owner.headers,
        json={"product_id": product_id},
    )
    assert response.status_code == 200, response.text


def _order_with_lines(db: Session, vendor: Vendor, *gtins: str) -> list[OrderItemException]:
    order = make_order(db, vendor_id=vendor.id)
    return [make_exception(db, item=make_item(db, order=order, gtin=gtin)) for gtin in gtins]


def test_a_sync_that_creates_exceptions_records_one_event_with_their_ids(
    app: FastAPI, client: TestClient, db: Session, shop, receiver: Receiver
) -> None:
    vendor, admin, owner_auth = shop
    assert set_webhook(client, owner_auth, receiver.url).status_code == 200
    sync = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin)
    assert sync.status_code == 200, sync.text
    summary = sync.json()
    assert summary["exceptions_created"] > 0
    ids = sorted(db.scalars(select(OrderItemException.id)))
    (row,) = deliveries(db, event="exceptions.created")
    assert sorted(row.data["exception_ids"]) == ids
    assert row.data["exceptions_created"] == summary["exceptions_created"] == len(ids)
    assert (row.data["sync_run_id"], row.data["status"]) == (summary["run_id"], "succeeded")
    assert row.data["orders_created"] == summary["orders_created"]
    again = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin)
    assert again.json()["exceptions_created"] == 0
    assert len(deliveries(db)) == 1  # a run that created none records nothing
    report = deliver_due(
        app.state.session_factory, settings=app.state.settings, box=app.state.secret_box
    )
    assert report.delivered == 1
    (received,) = receiver.requests
    body = json.loads(received.body)
    assert (body["event"], body["id"]) == ("exceptions.created", row.id)
    assert sorted(body["data"]["exception_ids"]) == ids


def test_a_vendor_without_a_webhook_records_nothing(client: TestClient, db: Session, shop) -> None:
    vendor, admin, _ = shop
    sync = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin)
    assert sync.json()["exceptions_created"] > 0
    assert row_count(db, WebhookDelivery) == 0


def test_the_order_is_confirmable_when_its_last_blocking_exception_is_resolved(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    first, second = _order_with_lines(db, owner.vendor, GTIN_A, GTIN_B)
    (elsewhere,) = _order_with_lines(db, owner.vendor, GTIN_A)
    product = make_product(db, vendor_id=owner.vendor.id, title="Toy")
    order_id, other_order = _order_of(db, second), _order_of(db, elsewhere)
    db.commit()
    _resolve(client, owner, first.id, product.id)
    assert deliveries(db) == []  # the second one still blocks
    _resolve(client, owner, second.id, product.id)
    (row,) = deliveries(db)
    assert (row.event, row.vendor_id) == ("order.confirmable", owner.vendor.id)
    assert row.data["order_id"] == order_id != other_order


def test_a_bulk_resolve_announces_only_the_orders_it_unblocked(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    (alone,) = _order_with_lines(db, owner.vendor, GTIN_A)
    _with_other, _other = _order_with_lines(db, owner.vendor, GTIN_A, GTIN_B)
    product = make_product(db, vendor_id=owner.vendor.id, title="Toy")
    alone_order = _order_of(db, alone)
    db.commit()
    response = client.post(
        "/api/v1/vendor/order-exceptions/bulk-resolve",
        headers=owner.headers,
        json={"gtin": GTIN_A, "product_id": product.id},
    )
    assert response.status_code == 200, response.text
    assert response.json()["resolved_count"] == 2
    assert [(r.event, r.data["order_id"]) for r in deliveries(db)] == [
        ("order.confirmable", alone_order)
    ]


def test_auto_match_announces_the_orders_it_unblocked(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    (exception,) = _order_with_lines(db, owner.vendor, GTIN_B)
    order_id = _order_of(db, exception)
    make_product(db, vendor_id=owner.vendor.id, title="Toy", gtin=GTIN_B)
    assert matching.sweep_vendor(db, vendor_id=owner.vendor.id) == 1
    db.commit()
    assert [(r.event, r.data["order_id"]) for r in deliveries(db)] == [
        ("order.confirmable", order_id)
    ]


def test_a_rolled_back_resolution_leaves_no_delivery(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    (exception,) = _order_with_lines(db, owner.vendor, GTIN_A)
    product = make_product(db, vendor_id=owner.vendor.id, title="Toy")
    db.commit()
    scope = VendorScope(actor_user_id=None, vendor_id=owner.vendor.id, is_admin=True)
    resolve_exception(db, scope=scope, exception_id=exception.id, product_id=product.id)
    in_transaction = db.scalars(select(WebhookDelivery.event)).all()
    assert in_transaction == ["order.confirmable"]
    db.rollback()
    assert deliveries(db) == []
    assert db.get(OrderItemException, exception.id).status == "pending"  # type: ignore[union-attr]
    db.commit()


def test_an_order_at_risk_is_announced_once(
    app: FastAPI, client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    set_deadline_hours(db, owner.vendor, 48)
    now = utcnow()
    at_risk = make_order(db, vendor_id=owner.vendor.id, order_date=now - timedelta(hours=30))
    make_exception(db, item=make_item(db, order=at_risk))
    on_track = make_order(db, vendor_id=owner.vendor.id, order_date=now - timedelta(hours=1))
    make_exception(db, item=make_item(db, order=on_track))
    db.commit()
    tick = {"settings": app.state.settings, "box": app.state.secret_box}
    at_risk_count, report = run_tick(app.state.session_factory, **tick)
    assert (at_risk_count, report.delivered) == (1, 1)
    assert run_tick(app.state.session_factory, **tick)[0] == 0
    assert outbox.record_at_risk_orders(db, now=utcnow()) == 0
    db.commit()
    (row,) = deliveries(db)
    assert (row.event, row.data["order_id"], row.dedupe_key) == (
        "order.deadline_at_risk",
        at_risk.id,
        str(at_risk.id),
    )
    (received,) = receiver.requests
    assert json.loads(received.body)["data"]["order_number"] == at_risk.order_number


def _order_of(db: Session, exception: OrderItemException) -> int:
    from ordergate.orders.models import OrderItem

    order_id = db.scalar(select(OrderItem.order_id).where(OrderItem.id == exception.order_item_id))
    assert order_id is not None
    return order_id
