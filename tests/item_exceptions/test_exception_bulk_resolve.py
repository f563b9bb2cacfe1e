from __future__ import annotations

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from ordergate.catalog.placeholder import placeholder_product_id
from tests.factories import (
    Caller,
    caller_user_id,
    event_count,
    events_of,
    exception_state,
    make_actors,
    make_product,
    make_unmatched_line,
    make_vendor,
)

ADMIN = "/api/v1/admin/order-exceptions/bulk-resolve"
VENDOR = "/api/v1/vendor/order-exceptions/bulk-resolve"


def _bulk(client: TestClient, caller: Caller, body: dict) -> Response:
    return client.post(
        caller.url(admin=ADMIN, vendor=VENDOR),
        headers=caller.headers,
        params=caller.vendor_query(),
        json=body,
    )


def test_bulk_resolves_pending_exceptions_by_canonical_gtin(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v1 = caller.vendor.id
    actor_id = caller_user_id(db, caller)
    plain = make_unmatched_line(db, vendor_id=v1, gtin="4006381333931")
    padded = make_unmatched_line(db, vendor_id=v1, gtin="04006381333931")
    spaced = make_unmatched_line(db, vendor_id=v1, gtin=" 4006381333931 ")
    ignored = make_unmatched_line(db, vendor_id=v1, gtin="4006381333931", status="ignored")
    other_gtin = make_unmatched_line(db, vendor_id=v1, gtin="5702016618891")
    other = make_vendor(db, code="shop2")
    other_vendor = make_unmatched_line(db, vendor_id=other.id, gtin="4006381333931")
    product = make_product(db, vendor_id=v1, gtin="4006381333931")
    placeholder = placeholder_product_id(db, vendor_id=v1)
    db.commit()
    response = _bulk(
        client,
        caller,
        {"gtin": "04006381333931", "product_id": product.id, "notes": "New product"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "resolved_count": 3,
        "gtin": "04006381333931",
        "product_id": product.id,
    }
    for exception in (plain, padded, spaced):
        assert exception_state(db, exception.id) == {
            "status": "resolved",
            "resolved_product_id": product.id,
            "resolved_by": actor_id,
            "resolution_notes": "New product",
            "item_product_id": product.id,
            "needs_product_match": False,
            "events": 1,
        }
        assert events_of(db, exception.id)[0]["before"] == {
            "status": "pending",
            "product_id": placeholder,
            "resolved_product_id": None,
        }
    for exception, status in (
        (ignored, "ignored"),
        (other_gtin, "pending"),
        (other_vendor, "pending"),
    ):
        state = exception_state(db, exception.id)
        assert (state["status"], state["resolved_product_id"], state["events"]) == (
            status,
            None,
            0,
        )
        assert state["needs_product_match"] is True
    assert event_count(db) == 3


def test_bulk_resolve_with_an_invalid_gtin_matches_the_trimmed_raw_string(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v1 = caller.vendor.id
    odd = make_unmatched_line(db, vendor_id=v1, gtin="ABC-123", exception_type="gtin_mismatch")
    similar = make_unmatched_line(db, vendor_id=v1, gtin="ABC-1234")
    product = make_product(db, vendor_id=v1)
    db.commit()
    response = _bulk(client, caller, {"gtin": " ABC-123 ", "product_id": product.id})
    assert response.status_code == 200
    assert response.json() == {"resolved_count": 1, "gtin": "ABC-123", "product_id": product.id}
    assert exception_state(db, odd.id)["status"] == "resolved"
    assert exception_state(db, similar.id)["status"] == "pending"


def test_vendor_bulk_resolve_touches_only_its_own_exceptions(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    mine = make_unmatched_line(db, vendor_id=actors.vendor.id)
    theirs = make_unmatched_line(db, vendor_id=actors.other.id)
    product = make_product(db, vendor_id=actors.vendor.id)
    db.commit()
    response = client.post(
        VENDOR,
        headers=actors.vendor_headers,
        params={"vendor_id": actors.other.id},
        json={"gtin": "4006381333931", "product_id": product.id},
    )
    assert response.json()["resolved_count"] == 1
    assert exception_state(db, mine.id)["status"] == "resolved"
    assert exception_state(db, theirs.id)["events"] == 0
    assert exception_state(db, theirs.id)["status"] == "pending"


def test_bulk_resolve_with_no_match_resolves_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    make_unmatched_line(db, vendor_id=caller.vendor.id, status="resolved")
    product = make_product(db, vendor_id=caller.vendor.id)
    db.commit()
    response = _bulk(client, caller, {"gtin": "4006381333931", "product_id": product.id})
    assert response.status_code == 200
    assert response.json()["resolved_count"] == 0
    assert event_count(db) == 0


def test_admin_bulk_resolve_requires_vendor_id(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    product = make_product(db, vendor_id=actors.vendor.id)
    db.commit()
    response = client.post(
        ADMIN, headers=actors.admin, json={"gtin": "4006381333931", "product_id": product.id}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.vendor_id"
    assert exception_state(db, exception.id)["status"] == "pending"


def test_bulk_resolve_with_another_vendors_product_is_400_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    theirs = make_product(db, vendor_id=make_vendor(db, code="shop2").id)
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    db.commit()
    response = _bulk(client, caller, {"gtin": "4006381333931", "product_id": theirs.id})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PRODUCT_FOR_EXCEPTION"
    assert str(theirs.id) in response.json()["error"]["message"]
    state = exception_state(db, exception.id)
    assert (state["status"], state["item_product_id"], state["events"]) == (
        "pending",
        placeholder,
        0,
    )


def test_bulk_resolve_with_inactive_product_is_400(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    inactive = make_product(db, vendor_id=caller.vendor.id, is_active=False)
    db.commit()
    response = _bulk(
        client, caller, {"gtin": "4006381333931", "product_id": inactive.id, "remember": True}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "INVALID_PRODUCT_FOR_EXCEPTION"
    assert exception_state(db, exception.id)["status"] == "pending"


def test_bulk_resolve_with_blank_gtin_is_422(
    client: TestClient, db: Session, caller: Caller
) -> None:
    product = make_product(db, vendor_id=caller.vendor.id)
    db.commit()
    for body in ({"product_id": product.id}, {"gtin": "  ", "product_id": product.id}):
        assert _bulk(client, caller, body).status_code == 422


def test_admin_bulk_resolve_for_an_unknown_vendor_is_404(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    product = make_product(db, vendor_id=actors.vendor.id)
    db.commit()
    response = client.post(
        ADMIN,
        headers=actors.admin,
        params={"vendor_id": 999999},
        json={"gtin": "4006381333931", "product_id": product.id},
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "VENDOR_NOT_FOUND"
    assert exception_state(db, exception.id)["status"] == "pending"
    assert event_count(db) == 0
