from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.catalog.placeholder import placeholder_product_id
from tests.factories import (
    Caller,
    caller_user_id,
    event_count,
    events_of,
    exception_state,
    make_actors,
    make_exception,
    make_item,
    make_order,
    make_product,
    make_unmatched_line,
    make_vendor,
)

ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"


def _url(caller: Caller, suffix: str = "") -> str:
    return caller.url(admin=ADMIN, vendor=VENDOR) + suffix


def _unchanged(placeholder_id: int, *, status: str = "pending") -> dict:
    return {
        "status": status,
        "resolved_product_id": None,
        "resolved_by": None,
        "resolution_notes": None,
        "item_product_id": placeholder_id,
        "needs_product_match": True,
        "events": 0,
    }


# --- detail --------------------------------------------------------------------------------


def test_detail_carries_order_and_item_context(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order = make_order(
        db, vendor_id=caller.vendor.id, order_number="LS-1-R1", customer_name="Jang Schmit"
    )
    item = make_item(
        db, order=order, quantity=2, unit_states=("unconfirmed", "confirmed_available")
    )
    exception = make_exception(db, item=item)
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    db.commit()
    response = client.get(_url(caller, f"/{exception.id}"), headers=caller.headers)
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == exception.id
    assert body["status"] == "pending"
    assert body["order_number"] == "LS-1-R1"
    assert body["order"] == {
        "id": order.id,
        "order_number": "LS-1-R1",
        "order_date": "2025-12-19T10:30:00Z",
        "status": "pending",
        "customer_name": "Jang Schmit",
    }
    units = body["item"].pop("units")
    assert body["item"] == {
        "id": item.id,
        "product_id": placeholder,
        "quantity": 2,
        "unit_price_cents": 1999,
        "needs_product_match": True,
    }
    assert [(u["external_unit_id"], u["state"]) for u in units] == [
        (item.units[0].external_unit_id, "unconfirmed"),
        (item.units[1].external_unit_id, "confirmed_available"),
    ]
    assert body["candidates"] == []


def test_duplicate_gtin_detail_lists_active_candidates_of_the_vendor(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v1 = caller.vendor.id
    other = make_vendor(db, code="shop2")
    first = make_product(db, vendor_id=v1, title="Funko A", sku="A", gtin="4006381333931")
    second = make_product(db, vendor_id=v1, title="Funko B", sku="B", gtin="04006381333931")
    make_product(db, vendor_id=v1, title="Old", gtin="4006381333931", is_active=False)
    make_product(db, vendor_id=other.id, title="Theirs", gtin="4006381333931")
    make_product(db, vendor_id=v1, title="Unrelated", gtin="5702016618891")
    exception = make_unmatched_line(db, vendor_id=v1, exception_type="duplicate_gtin")
    db.commit()
    body = client.get(_url(caller, f"/{exception.id}"), headers=caller.headers).json()
    assert body["candidates"] == [
        {"id": first.id, "title": "Funko A", "sku": "A", "gtin": "4006381333931"},
        {"id": second.id, "title": "Funko B", "sku": "B", "gtin": "04006381333931"},
    ]


def test_detail_of_missing_exception_is_404(
    client: TestClient, db: Session, caller: Caller
) -> None:
    response = client.get(_url(caller, "/999999"), headers=caller.headers)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "ORDER_ITEM_EXCEPTION_NOT_FOUND",
            "message": "Order item exception 999999 not found",
            "details": {"exception_id": 999999},
        }
    }


def test_vendor_gets_404_for_another_vendors_exception_like_a_missing_one(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    theirs = make_unmatched_line(db, vendor_id=actors.other.id)
    db.commit()
    response = client.get(f"{VENDOR}/{theirs.id}", headers=actors.vendor_headers)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "ORDER_ITEM_EXCEPTION_NOT_FOUND",
            "message": f"Order item exception {theirs.id} not found",
            "details": {"exception_id": theirs.id},
        }
    }


# --- resolve -------------------------------------------------------------------------------


def test_resolves_exception(client: TestClient, db: Session, caller: Caller) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    product = make_product(db, vendor_id=caller.vendor.id, gtin="4006381333931")
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    actor_id = caller_user_id(db, caller)
    db.commit()
    response = client.post(
        _url(caller, f"/{exception.id}/resolve"),
        headers=caller.headers,
        json={"product_id": product.id, "notes": "Matched to correct product manually"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == exception.id
    assert body["status"] == "resolved"
    assert body["resolved_product_id"] == product.id
    assert body["resolved_by"] == actor_id
    assert body["resolution_notes"] == "Matched to correct product manually"
    assert body["resolved_at"] is not None
    assert body["order_number"].startswith("LS-")
    state = exception_state(db, exception.id)
    assert state == {
        "status": "resolved",
        "resolved_product_id": product.id,
        "resolved_by": actor_id,
        "resolution_notes": "Matched to correct product manually",
        "item_product_id": product.id,
        "needs_product_match": False,
        "events": 1,
    }
    assert events_of(db, exception.id) == [
        {
            "vendor_id": caller.vendor.id,
            "actor_user_id": actor_id,
            "action": "resolved",
            "before": {"status": "pending", "product_id": placeholder, "resolved_product_id": None},
            "after": {
                "status": "resolved",
                "product_id": product.id,
                "resolved_product_id": product.id,
                "notes": "Matched to correct product manually",
                "via": "one",
            },
        }
    ]


def test_resolves_exception_without_notes(client: TestClient, db: Session, caller: Caller) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    product = make_product(db, vendor_id=caller.vendor.id)
    actor_id = caller_user_id(db, caller)
    db.commit()
    response = client.post(
        _url(caller, f"/{exception.id}/resolve"),
        headers=caller.headers,
        json={"product_id": product.id},
    )
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["resolved_by"]) == ("resolved", actor_id)
    state = exception_state(db, exception.id)
    assert (state["item_product_id"], state["resolution_notes"], state["events"]) == (
        product.id,
        None,
        1,
    )


def test_ignored_exception_can_be_resolved(client: TestClient, db: Session, caller: Caller) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, status="ignored")
    product = make_product(db, vendor_id=caller.vendor.id)
    db.commit()
    response = client.post(
        _url(caller, f"/{exception.id}/resolve"),
        headers=caller.headers,
        json={"product_id": product.id},
    )
    assert response.status_code == 200
    assert events_of(db, exception.id)[0]["before"]["status"] == "ignored"


def test_resolving_a_resolved_exception_is_400_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    first = make_product(db, vendor_id=caller.vendor.id, title="First")
    second = make_product(db, vendor_id=caller.vendor.id, title="Second")
    db.commit()
    url = _url(caller, f"/{exception.id}/resolve")
    assert (
        client.post(url, headers=caller.headers, json={"product_id": first.id}).status_code == 200
    )
    again = client.post(url, headers=caller.headers, json={"product_id": second.id})
    assert again.status_code == 400
    assert again.json()["error"] == {
        "code": "EXCEPTION_ALREADY_RESOLVED",
        "message": f"Order item exception {exception.id} is already resolved",
        "details": {"exception_id": exception.id},
    }
    state = exception_state(db, exception.id)
    assert (state["resolved_product_id"], state["item_product_id"], state["events"]) == (
        first.id,
        first.id,
        1,
    )


def test_resolve_with_another_vendors_product_is_400_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    theirs = make_product(db, vendor_id=make_vendor(db, code="shop2").id)
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    db.commit()
    response = client.post(
        _url(caller, f"/{exception.id}/resolve"),
        headers=caller.headers,
        json={"product_id": theirs.id},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "INVALID_PRODUCT_FOR_EXCEPTION",
        "message": f"Product {theirs.id} cannot resolve this exception: it does not exist",
        "details": {"product_id": theirs.id, "reason": "it does not exist"},
    }
    assert exception_state(db, exception.id) == _unchanged(placeholder)


def test_resolve_with_inactive_placeholder_or_missing_product_is_400(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    inactive = make_product(db, vendor_id=caller.vendor.id, is_active=False)
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    db.commit()
    for product_id, reason in (
        (inactive.id, "it is inactive"),
        (placeholder, "it is the placeholder product"),
        (999999, "it does not exist"),
    ):
        response = client.post(
            _url(caller, f"/{exception.id}/resolve"),
            headers=caller.headers,
            json={"product_id": product_id},
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert error["code"] == "INVALID_PRODUCT_FOR_EXCEPTION"
        assert error["message"] == f"Product {product_id} cannot resolve this exception: {reason}"
    assert exception_state(db, exception.id) == _unchanged(placeholder)


def test_vendor_cannot_resolve_another_vendors_exception(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    theirs = make_unmatched_line(db, vendor_id=actors.other.id)
    their_product = make_product(db, vendor_id=actors.other.id)
    placeholder = placeholder_product_id(db, vendor_id=actors.other.id)
    db.commit()
    response = client.post(
        f"{VENDOR}/{theirs.id}/resolve",
        headers=actors.vendor_headers,
        json={"product_id": their_product.id},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ORDER_ITEM_EXCEPTION_NOT_FOUND"
    assert exception_state(db, theirs.id) == _unchanged(placeholder)


def test_resolve_missing_exception_is_404(client: TestClient, db: Session, caller: Caller) -> None:
    product = make_product(db, vendor_id=caller.vendor.id)
    db.commit()
    response = client.post(
        _url(caller, "/424242/resolve"), headers=caller.headers, json={"product_id": product.id}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ORDER_ITEM_EXCEPTION_NOT_FOUND"
    assert event_count(db) == 0


def test_resolve_without_product_id_is_422(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    placeholder = placeholder_product_id(db, vendor_id=actors.vendor.id)
    db.commit()
    response = client.post(f"{ADMIN}/{exception.id}/resolve", headers=actors.admin, json={})
    assert response.status_code == 422
    assert exception_state(db, exception.id) == _unchanged(placeholder)


def test_resolve_keeps_marketplace_ids_and_units_of_the_line(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    product = make_product(db, vendor_id=actors.vendor.id)
    db.commit()
    before = client.get(f"{ADMIN}/{exception.id}", headers=actors.admin).json()
    client.post(
        f"{ADMIN}/{exception.id}/resolve", headers=actors.admin, json={"product_id": product.id}
    )
    after = client.get(f"{ADMIN}/{exception.id}", headers=actors.admin).json()
    assert after["item"]["units"] == before["item"]["units"]
    assert after["item"]["product_id"] == product.id
    assert after["order_item_id"] == before["order_item_id"]


# --- ignore --------------------------------------------------------------------------------


def test_ignores_a_pending_exception_with_a_reason(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    actor_id = caller_user_id(db, caller)
    db.commit()
    response = client.post(
        _url(caller, f"/{exception.id}/ignore"),
        headers=caller.headers,
        json={"notes": "  Customer cancelled this line by phone  "},
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["resolution_notes"]) == (
        "ignored",
        "Customer cancelled this line by phone",
    )
    assert (body["resolved_product_id"], body["resolved_by"], body["resolved_at"]) == (
        None,
        None,
        None,
    )
    state = exception_state(db, exception.id)
    assert (state["status"], state["item_product_id"], state["needs_product_match"]) == (
        "ignored",
        placeholder,
        True,
    )
    assert events_of(db, exception.id) == [
        {
            "vendor_id": caller.vendor.id,
            "actor_user_id": actor_id,
            "action": "ignored",
            "before": {"status": "pending", "product_id": placeholder},
            "after": {
                "status": "ignored",
                "product_id": placeholder,
                "notes": "Customer cancelled this line by phone",
            },
        }
    ]


def test_ignored_exception_still_blocks_in_stats(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    db.commit()
    client.post(f"{ADMIN}/{exception.id}/ignore", headers=actors.admin, json={"notes": "later"})
    stats = client.get(f"{VENDOR}/stats", headers=actors.vendor_headers).json()
    assert (stats["pending"], stats["ignored"], stats["orders_with_exceptions"]) == (0, 1, 1)


def test_ignore_without_or_with_blank_reason_is_422(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    placeholder = placeholder_product_id(db, vendor_id=actors.vendor.id)
    db.commit()
    for body in ({}, {"notes": ""}, {"notes": "   "}, {"notes": None}):
        response = client.post(f"{ADMIN}/{exception.id}/ignore", headers=actors.admin, json=body)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert exception_state(db, exception.id) == _unchanged(placeholder)


def test_ignore_of_a_non_pending_exception_is_400(
    client: TestClient, db: Session, caller: Caller
) -> None:
    ignored = make_unmatched_line(db, vendor_id=caller.vendor.id, status="ignored")
    resolved = make_unmatched_line(db, vendor_id=caller.vendor.id, status="resolved")
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    db.commit()
    for exception, status in ((ignored, "ignored"), (resolved, "resolved")):
        response = client.post(
            _url(caller, f"/{exception.id}/ignore"), headers=caller.headers, json={"notes": "again"}
        )
        assert response.status_code == 400
        assert response.json()["error"] == {
            "code": "EXCEPTION_NOT_PENDING",
            "message": f"Order item exception {exception.id} is {status}; only pending "
            "exceptions can be ignored",
            "details": {"exception_id": exception.id, "status": status},
        }
        assert exception_state(db, exception.id) == _unchanged(placeholder, status=status)


def test_vendor_cannot_ignore_another_vendors_exception(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    theirs = make_unmatched_line(db, vendor_id=actors.other.id)
    placeholder = placeholder_product_id(db, vendor_id=actors.other.id)
    db.commit()
    response = client.post(
        f"{VENDOR}/{theirs.id}/ignore", headers=actors.vendor_headers, json={"notes": "mine?"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ORDER_ITEM_EXCEPTION_NOT_FOUND"
    assert exception_state(db, theirs.id) == _unchanged(placeholder)
