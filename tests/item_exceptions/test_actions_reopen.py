"""POST …/order-exceptions/{id}/reopen: back to pending on the placeholder, the mapping of the
undone resolution removed, the gate closed again; refused once Letzshop has the units."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.catalog.models import GtinMapping
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.db import utcnow
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from tests.factories import (
    Caller,
    caller_user_id,
    events_of,
    exception_state,
    make_actors,
    make_exception,
    make_item,
    make_order,
    make_product,
    make_unmatched_line,
    mappings,
)
from tests.item_exceptions.test_actions_create_product import snapshot
from tests.letzshop.conftest import put_shipments, sandbox, shipment, shop, unit

__all__ = ["put_shipments", "sandbox", "shop"]  # the Letzshop sandbox fixtures

ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"
GTIN = "4006381333931"
UNKNOWN = "5901234123457"


def _url(caller: Caller, exception_id: int, action: str = "reopen") -> str:
    return caller.url(admin=ADMIN, vendor=VENDOR) + f"/{exception_id}/{action}"


def _resolve(client: TestClient, caller: Caller, exception_id: int, product_id: int, **extra):
    response = client.post(
        _url(caller, exception_id, "resolve"),
        headers=caller.headers,
        json={"product_id": product_id, **extra},
    )
    assert response.status_code == 200, response.text


def test_reopens_a_resolved_exception_onto_the_placeholder(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=GTIN)
    product = make_product(db, vendor_id=caller.vendor.id, title="Wrong one")
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    actor_id = caller_user_id(db, caller)
    db.commit()
    _resolve(client, caller, exception.id, product.id, notes="looked right")
    response = client.post(
        _url(caller, exception.id), headers=caller.headers, json={"notes": "  wrong product  "}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == exception.id
    assert body["status"] == "pending"
    assert (body["resolved_product_id"], body["resolved_at"], body["resolved_by"]) == (
        None,
        None,
        None,
    )
    assert (body["resolution_notes"], body["mapping_removed"]) == (None, None)
    assert exception_state(db, exception.id) == {
        "status": "pending",
        "resolved_product_id": None,
        "resolved_by": None,
        "resolution_notes": None,
        "item_product_id": placeholder,
        "needs_product_match": True,
        "events": 2,
    }
    assert events_of(db, exception.id)[1] == {
        "vendor_id": caller.vendor.id,
        "actor_user_id": actor_id,
        "action": "reopened",
        "before": {
            "status": "resolved",
            "product_id": product.id,
            "resolved_product_id": product.id,
            "resolved_by": actor_id,
            "resolution_notes": "looked right",
        },
        "after": {
            "status": "pending",
            "product_id": placeholder,
            "resolved_product_id": None,
            "notes": "wrong product",
            "mapping_removed": None,
        },
    }
    stats = client.get(
        caller.url(admin=ADMIN, vendor=VENDOR) + "/stats",
        headers=caller.headers,
        params=caller.vendor_query(),
    ).json()
    assert (stats["pending"], stats["resolved"], stats["orders_with_exceptions"]) == (1, 0, 1)
    detail = client.get(
        caller.url(admin=ADMIN, vendor=VENDOR) + f"/{exception.id}", headers=caller.headers
    ).json()
    assert (detail["item"]["product_id"], detail["item"]["needs_product_match"]) == (
        placeholder,
        True,
    )


def test_reopen_removes_the_mapping_its_resolution_made_and_says_so(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=GTIN)
    product = make_product(db, vendor_id=caller.vendor.id)
    db.commit()
    _resolve(client, caller, exception.id, product.id, remember=True)
    mapping_id = db.scalar(select(GtinMapping.id))
    db.commit()
    response = client.post(
        _url(caller, exception.id), headers=caller.headers, json={"notes": "bad mapping"}
    )
    assert response.status_code == 200, response.text
    removed = {
        "id": mapping_id,
        "vendor_id": caller.vendor.id,
        "gtin_key": "0" + GTIN,
        "product_id": product.id,
    }
    assert response.json()["mapping_removed"] == removed
    assert mappings(db) == []
    assert events_of(db, exception.id)[-1]["after"]["mapping_removed"] == removed


def test_a_mapping_of_the_gtin_to_another_product_is_kept(
    client: TestClient, db: Session, caller: Caller
) -> None:
    vendor_id = caller.vendor.id
    exception = make_unmatched_line(db, vendor_id=vendor_id, gtin=GTIN)
    chosen = make_product(db, vendor_id=vendor_id, title="Chosen here")
    remembered = make_product(db, vendor_id=vendor_id, title="Remembered elsewhere")
    db.add(GtinMapping(vendor_id=vendor_id, gtin_key="0" + GTIN, product_id=remembered.id))
    db.commit()
    _resolve(client, caller, exception.id, chosen.id)
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={"notes": "x"})
    assert response.status_code == 200, response.text
    assert response.json()["mapping_removed"] is None
    assert mappings(db) == [(vendor_id, "0" + GTIN, remembered.id)]


def test_reopens_an_ignored_exception(client: TestClient, db: Session, caller: Caller) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    db.commit()
    client.post(_url(caller, exception.id, "ignore"), headers=caller.headers, json={"notes": "l8r"})
    response = client.post(
        _url(caller, exception.id), headers=caller.headers, json={"notes": "handle it now"}
    )
    assert response.status_code == 200, response.text
    state = exception_state(db, exception.id)
    assert (state["status"], state["resolution_notes"], state["item_product_id"]) == (
        "pending",
        None,
        placeholder,
    )
    event = events_of(db, exception.id)[-1]
    assert (event["action"], event["before"]["status"], event["before"]["resolution_notes"]) == (
        "reopened",
        "ignored",
        "l8r",
    )


def test_a_reopened_exception_can_be_resolved_again(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    wrong = make_product(db, vendor_id=caller.vendor.id, title="Wrong")
    right = make_product(db, vendor_id=caller.vendor.id, title="Right")
    db.commit()
    _resolve(client, caller, exception.id, wrong.id)
    client.post(_url(caller, exception.id), headers=caller.headers, json={"notes": "wrong"})
    _resolve(client, caller, exception.id, right.id)
    state = exception_state(db, exception.id)
    assert (state["status"], state["item_product_id"], state["events"]) == ("resolved", right.id, 3)
    assert [e["action"] for e in events_of(db, exception.id)] == [
        "resolved",
        "reopened",
        "resolved",
    ]


def test_reopening_a_pending_exception_is_400_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    db.commit()
    before = snapshot(db)
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={"notes": "x"})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "EXCEPTION_ALREADY_PENDING",
        "message": f"Order item exception {exception.id} is pending; only resolved or ignored "
        "exceptions can be reopened",
        "details": {"exception_id": exception.id, "status": "pending"},
    }
    assert snapshot(db) == before


def _resolved_line(db: Session, vendor_id: int, unit_states: tuple[str, ...]):
    product = make_product(db, vendor_id=vendor_id, gtin=GTIN)
    order = make_order(db, vendor_id=vendor_id)
    item = make_item(db, order=order, gtin=GTIN, product_id=product.id, unit_states=unit_states)
    exception = make_exception(db, item=item, status="resolved", resolved_product_id=product.id)
    db.add(GtinMapping(vendor_id=vendor_id, gtin_key="0" + GTIN, product_id=product.id))
    db.commit()
    return order, item, exception


def test_reopen_is_409_once_a_unit_is_confirmed_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    for confirmed in ("confirmed_available", "returned"):
        order, item, exception = _resolved_line(
            db, caller.vendor.id, ("unconfirmed", confirmed, "confirmed_unavailable")
        )
        before = snapshot(db)
        response = client.post(
            _url(caller, exception.id), headers=caller.headers, json={"notes": "too late"}
        )
        assert response.status_code == 409
        unit_id = item.units[1].external_unit_id
        assert response.json()["error"] == {
            "code": "EXCEPTION_UNITS_CONFIRMED",
            "message": f"Order item exception {exception.id} cannot be reopened: 1 unit(s) of "
            f"its line {item.id} (order {order.id}) are already confirmed at the marketplace "
            f"({unit_id}); nothing was changed",
            "details": {
                "exception_id": exception.id,
                "order_id": order.id,
                "item_id": item.id,
                "unit_ids": [unit_id],
            },
        }
        assert snapshot(db) == before
        db.execute(GtinMapping.__table__.delete())
        db.commit()


def test_a_declined_line_can_be_reopened(client: TestClient, db: Session, caller: Caller) -> None:
    _, _, exception = _resolved_line(db, caller.vendor.id, ("confirmed_unavailable",))
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={"notes": "x"})
    assert response.status_code == 200, response.text
    # A declined line does not block its order, pending or not.
    stats = client.get(
        caller.url(admin=ADMIN, vendor=VENDOR) + "/stats",
        headers=caller.headers,
        params=caller.vendor_query(),
    ).json()
    assert (stats["pending"], stats["orders_with_exceptions"]) == (1, 0)


def test_reopen_is_409_while_a_fulfilment_holds_the_order(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order, _, exception = _resolved_line(db, caller.vendor.id, ("unconfirmed",))
    db.get(Order, order.id).fulfilment_lease_until = utcnow() + timedelta(minutes=5)
    db.commit()
    before = snapshot(db)
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={"notes": "x"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "FULFILMENT_IN_PROGRESS"
    assert response.json()["error"]["details"] == {"order_id": order.id}
    assert snapshot(db) == before
    # An expired lease (its sender died) no longer holds the order.
    db.get(Order, order.id).fulfilment_lease_until = utcnow() - timedelta(seconds=1)
    db.commit()
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={"notes": "x"})
    assert response.status_code == 200, response.text


def test_reopen_without_or_with_blank_notes_is_422_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    _, _, exception = _resolved_line(db, actors.vendor.id, ("unconfirmed",))
    before = snapshot(db)
    for body in ({}, {"notes": ""}, {"notes": "   "}, {"notes": None}, {"notes": "x" * 2001}):
        response = client.post(f"{ADMIN}/{exception.id}/reopen", headers=actors.admin, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert snapshot(db) == before


def test_another_vendors_exception_is_404_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    _, _, theirs = _resolved_line(db, actors.other.id, ("unconfirmed",))
    before = snapshot(db)
    for exception_id in (theirs.id, 999999):
        response = client.post(
            f"{VENDOR}/{exception_id}/reopen", headers=actors.vendor_headers, json={"notes": "x"}
        )
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "ORDER_ITEM_EXCEPTION_NOT_FOUND",
            "message": f"Order item exception {exception_id} not found",
            "details": {"exception_id": exception_id},
        }
    assert snapshot(db) == before


# --- through the real confirm path (the Letzshop sandbox) ----------------------------------


def _import(client: TestClient, db: Session, vendor_auth: dict[str, str], put_shipments) -> Order:
    put_shipments(
        shipment("S1", [unit("u1", "known", GTIN), unit("u2", "mystery", UNKNOWN, name="Myst")])
    )
    response = client.post("/api/v1/vendor/letzshop/sync", headers=vendor_auth)
    assert response.status_code == 200, response.text
    db.rollback()
    return db.scalars(select(Order).where(Order.external_shipment_id == "S1")).one()


def test_reopen_closes_the_confirmation_gate_again(
    client: TestClient, db: Session, shop, put_shipments, control: httpx.Client
) -> None:
    vendor, admin, vendor_auth = shop
    make_product(db, vendor_id=vendor.id, gtin=GTIN)
    db.commit()
    order = _import(client, db, vendor_auth, put_shipments)
    exception = db.scalars(select(OrderItemException)).one()
    db.commit()
    created = client.post(
        f"{VENDOR}/{exception.id}/create-product", headers=vendor_auth, json={"title": "Mystery"}
    )
    assert created.status_code == 201, created.text
    reopened = client.post(
        f"{VENDOR}/{exception.id}/reopen", headers=vendor_auth, json={"notes": "not this one"}
    )
    assert reopened.status_code == 200, reopened.text
    for path, headers in (
        (f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", vendor_auth),
        (f"/api/v1/admin/letzshop/vendors/{vendor.id}/orders/{order.id}/confirm", admin),
    ):
        response = client.post(path, headers=headers)
        assert response.status_code == 400, response.text
        assert response.json()["error"]["code"] == "ORDER_HAS_UNRESOLVED_EXCEPTIONS"
        assert response.json()["error"]["details"]["exception_ids"] == [exception.id]
    assert control.get("/control/mutations").json()["mutations"] == []
    db.rollback()
    assert set(db.scalars(select(OrderItemUnit.state))) == {"unconfirmed"}
    db.rollback()


def test_reopen_is_refused_after_letzshop_confirmed_the_line(
    client: TestClient, db: Session, shop, put_shipments, control: httpx.Client
) -> None:
    vendor, _, vendor_auth = shop
    make_product(db, vendor_id=vendor.id, gtin=GTIN)
    db.commit()
    order = _import(client, db, vendor_auth, put_shipments)
    exception = db.scalars(select(OrderItemException)).one()
    db.commit()
    created = client.post(
        f"{VENDOR}/{exception.id}/create-product", headers=vendor_auth, json={"title": "Mystery"}
    )
    assert created.status_code == 201, created.text
    confirmed = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )
    assert confirmed.status_code == 200, confirmed.text
    before = snapshot(db)
    response = client.post(
        f"{VENDOR}/{exception.id}/reopen", headers=vendor_auth, json={"notes": "too late"}
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "EXCEPTION_UNITS_CONFIRMED"
    assert error["details"]["unit_ids"] == ["u2"]
    assert snapshot(db) == before
    item = db.get(OrderItem, exception.order_item_id)
    assert item is not None
    assert item.product_id == created.json()["product"]["id"]
    db.rollback()
