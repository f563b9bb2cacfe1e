"""Queued fulfilment seen from the inline mode (the SQLite default, no worker; the suite runs
inline on both databases): Letzshop down keeps answering 502 and records nothing; a request
queued elsewhere (a queue-mode process on the same database) still blocks a second decision
and can be read."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.events.models import Event
from ordergate.orders.models import FulfilmentRequest, Order
from tests.letzshop import test_confirm
from tests.letzshop.conftest import shipment, unit
from tests.letzshop.test_confirm import KNOWN, mutations

imported = test_confirm.imported


def _count(db: Session, model: type) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(model)) or 0


def test_inline_letzshop_down_answers_502_and_records_nothing(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    control.post("/control/faults", json={"mode": "http_503"}).raise_for_status()

    failed = client.post(f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth)

    assert failed.status_code == 502, failed.text
    assert failed.json()["error"]["code"] == "LETZSHOP_UNAVAILABLE"
    assert _count(db, FulfilmentRequest) == 0
    assert _count(db, Event) == 0
    shown = client.get(f"/api/v1/vendor/orders/{order.id}", headers=vendor_auth).json()
    assert (shown["confirmation_pending"], shown["status"]) == (False, "pending")
    assert db.get(Order, order.id).fulfilment_lease_until is None


def test_a_request_under_way_blocks_every_decision_and_nothing_is_sent(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    vendor, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    item_id = order.items[0].id
    queued = FulfilmentRequest(
        order_id=order.id, vendor_id=vendor.id, verdict="confirm", status="requested", attempts=1
    )
    db.add(queued)
    db.commit()
    base = f"/api/v1/vendor/letzshop/orders/{order.id}"

    for path in ("/confirm", "/reject", f"/items/{item_id}/confirm", f"/items/{item_id}/decline"):
        refused = client.post(base + path, headers=vendor_auth)
        assert refused.status_code == 409, (path, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "FULFILMENT_PENDING"
        assert error["details"] == {"order_id": order.id, "request_id": queued.id}

    assert mutations(control) == []
    db.rollback()
    assert db.get(Order, order.id).fulfilment_lease_until is None
    assert _count(db, Event) == 0
    shown = client.get(f"/api/v1/vendor/orders/{order.id}", headers=vendor_auth).json()
    assert shown["confirmation_pending"] is True


def test_a_request_can_be_read_by_its_vendor_and_the_admin(
    client: TestClient, db: Session, shop, imported
) -> None:
    vendor, admin, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    queued = FulfilmentRequest(
        order_id=order.id,
        vendor_id=vendor.id,
        verdict="decline",
        status="failed",
        attempts=3,
        last_error="gave up",
    )
    db.add(queued)
    db.commit()

    mine = client.get(
        f"/api/v1/vendor/letzshop/fulfilment-requests/{queued.id}", headers=vendor_auth
    )
    admins = client.get(
        f"/api/v1/admin/letzshop/vendors/{vendor.id}/fulfilment-requests/{queued.id}",
        headers=admin,
    )

    assert mine.status_code == admins.status_code == 200, mine.text
    assert mine.json() == admins.json()
    body = mine.json()
    assert {k: body[k] for k in ("request_id", "order_id", "verdict", "status", "attempts")} == {
        "request_id": queued.id,
        "order_id": order.id,
        "verdict": "decline",
        "status": "failed",
        "attempts": 3,
    }
    assert body["last_error"] == "gave up"
    missing = client.get("/api/v1/vendor/letzshop/fulfilment-requests/999999", headers=vendor_auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "FULFILMENT_REQUEST_NOT_FOUND"
