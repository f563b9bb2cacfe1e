"""POST …/order-exceptions/{id}/create-product: the product from the line, this exception
resolved to it, its same-GTIN siblings auto-matched; refusals change nothing."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.catalog.models import Product
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.models import Base
from tests.factories import (
    Caller,
    caller_user_id,
    events_of,
    exception_state,
    make_actors,
    make_exception,
    make_item,
    make_marketplace_product,
    make_order,
    make_product,
    make_unmatched_line,
    make_vendor,
)

ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"
GTIN = "4006381333931"
OTHER_GTIN = "5901234123457"
BAD_GTIN = "4006381333932"  # wrong check digit


def _url(caller: Caller, exception_id: int) -> str:
    return caller.url(admin=ADMIN, vendor=VENDOR) + f"/{exception_id}/create-product"


def snapshot(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by primary key (no transaction left open)."""
    db.rollback()
    rows = {
        table.name: [
            tuple(map(repr, row))
            for row in db.execute(select(table).order_by(*table.primary_key.columns))
        ]
        for table in Base.metadata.sorted_tables
    }
    db.rollback()
    return rows


def products_of(db: Session, vendor_id: int) -> list[Product]:
    rows = list(
        db.scalars(
            select(Product)
            .where(Product.vendor_id == vendor_id, Product.is_placeholder.is_(False))
            .order_by(Product.id)
            .execution_options(populate_existing=True)
        )
    )
    db.commit()
    return rows


def test_creates_the_product_from_the_line_and_resolves_the_exception(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order = make_order(db, vendor_id=caller.vendor.id)
    item = make_item(
        db,
        order=order,
        gtin=GTIN,
        product_name="Funko Pop! Thor",
        sku="FU-THOR",
        unit_price_cents=1499,
    )
    exception = make_exception(db, item=item)
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    actor_id = caller_user_id(db, caller)
    db.commit()
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 201, response.text
    body = response.json()
    (product,) = products_of(db, caller.vendor.id)
    assert body["resolved_count"] == 1
    assert body["auto_matched"] == 0
    assert body["product"]["id"] == product.id
    assert {k: body["product"][k] for k in ("title", "sku", "gtin", "gtin_normalized")} == {
        "title": "Funko Pop! Thor",
        "sku": "FU-THOR",
        "gtin": GTIN,
        "gtin_normalized": "0" + GTIN,
    }
    assert (body["product"]["price_cents"], body["product"]["is_active"]) == (1499, True)
    assert body["product"]["vendor_id"] == caller.vendor.id
    assert body["product"]["marketplace_product_id"] is None
    assert product.gtin_type == "ean13"  # the line's own label for its GTIN
    assert (body["exception"]["id"], body["exception"]["status"]) == (exception.id, "resolved")
    assert body["exception"]["resolved_product_id"] == product.id
    assert exception_state(db, exception.id) == {
        "status": "resolved",
        "resolved_product_id": product.id,
        "resolved_by": actor_id,
        "resolution_notes": None,
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
                "notes": None,
                "via": "new_product",
            },
        }
    ]


def test_defaults_come_from_the_marketplace_product_with_that_gtin(
    client: TestClient, db: Session, caller: Caller
) -> None:
    listing = make_marketplace_product(
        db, title="Funko Pop! Marvel: Thor", gtin="0" + GTIN, sku="MP-THOR", price_cents=2499
    )
    listing.brand = "Funko"
    make_marketplace_product(db, title="Elsewhere", gtin=GTIN, marketplace="amazon")
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=GTIN, sku="LINE-SKU")
    db.commit()
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 201, response.text
    product = response.json()["product"]
    assert {k: product[k] for k in ("title", "sku", "brand", "price_cents", "gtin")} == {
        "title": "Funko Pop! Marvel: Thor",
        "sku": "MP-THOR",
        "brand": "Funko",
        "price_cents": 2499,
        "gtin": GTIN,
    }
    assert product["marketplace_product_id"] == listing.id


def test_the_request_overrides_every_default(
    client: TestClient, db: Session, caller: Caller
) -> None:
    make_marketplace_product(db, title="Listing", gtin=GTIN, sku="MP", price_cents=2499)
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=GTIN)
    db.commit()
    response = client.post(
        _url(caller, exception.id),
        headers=caller.headers,
        json={
            "title": "Own title",
            "sku": "OWN-1",
            "brand": "Own",
            "price_cents": 0,
            "notes": "created from the queue",
        },
    )
    assert response.status_code == 201, response.text
    product = response.json()["product"]
    assert (product["title"], product["sku"], product["brand"], product["price_cents"]) == (
        "Own title",
        "OWN-1",
        "Own",
        0,
    )
    assert exception_state(db, exception.id)["resolution_notes"] == "created from the queue"


def test_pending_siblings_with_the_same_canonical_gtin_are_auto_matched(
    client: TestClient, db: Session, caller: Caller
) -> None:
    vendor_id = caller.vendor.id
    other = make_vendor(db, code="shop2")
    exception = make_unmatched_line(db, vendor_id=vendor_id, gtin=GTIN)
    same = make_unmatched_line(db, vendor_id=vendor_id, gtin=GTIN)
    padded = make_unmatched_line(db, vendor_id=vendor_id, gtin="0" + GTIN)
    ignored = make_unmatched_line(db, vendor_id=vendor_id, gtin=GTIN, status="ignored")
    unrelated = make_unmatched_line(db, vendor_id=vendor_id, gtin=OTHER_GTIN)
    theirs = make_unmatched_line(db, vendor_id=other.id, gtin=GTIN)
    db.commit()
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["resolved_count"], body["auto_matched"]) == (3, 2)
    product_id = body["product"]["id"]
    for sibling in (same, padded):
        state = exception_state(db, sibling.id)
        assert (state["status"], state["item_product_id"], state["needs_product_match"]) == (
            "resolved",
            product_id,
            False,
        )
        (event,) = events_of(db, sibling.id)
        assert (event["action"], event["after"]["cause"]) == ("auto_matched", "catalog")
    assert exception_state(db, ignored.id)["status"] == "ignored"
    assert exception_state(db, unrelated.id)["status"] == "pending"
    assert exception_state(db, theirs.id)["status"] == "pending"
    stats = client.get(
        caller.url(admin=ADMIN, vendor=VENDOR) + "/stats",
        headers=caller.headers,
        params=caller.vendor_query(),
    ).json()
    # The ignored one and the unrelated one still block their orders.
    assert (stats["pending"], stats["resolved"], stats["orders_with_exceptions"]) == (1, 3, 2)


def test_gtin_mismatch_without_a_corrected_gtin_is_400_naming_it_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(
        db, vendor_id=caller.vendor.id, gtin=BAD_GTIN, exception_type="gtin_mismatch"
    )
    db.commit()
    before = snapshot(db)
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "INVALID_GTIN",
        "message": f"Order item exception {exception.id} carries the GTIN '{BAD_GTIN}', which "
        "is not a valid GTIN (length or check digit); pass a corrected `gtin` to create the "
        "product",
        "details": {"field": "gtin", "gtin": BAD_GTIN, "exception_id": exception.id},
    }
    assert snapshot(db) == before


def test_a_corrected_gtin_that_is_not_valid_either_is_400_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(
        db, vendor_id=caller.vendor.id, gtin=BAD_GTIN, exception_type="gtin_mismatch"
    )
    db.commit()
    before = snapshot(db)
    response = client.post(
        _url(caller, exception.id), headers=caller.headers, json={"gtin": "12345"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "INVALID_GTIN"
    assert "'12345'" in error["message"]
    assert error["details"] == {"field": "gtin", "gtin": "12345", "exception_id": exception.id}
    assert snapshot(db) == before


def test_a_corrected_gtin_creates_the_product_and_resolves_the_same_wrong_gtin_lines(
    client: TestClient, db: Session, caller: Caller
) -> None:
    vendor_id = caller.vendor.id
    exception = make_unmatched_line(
        db, vendor_id=vendor_id, gtin=BAD_GTIN, exception_type="gtin_mismatch"
    )
    same_typo = make_unmatched_line(
        db, vendor_id=vendor_id, gtin=BAD_GTIN, exception_type="gtin_mismatch"
    )
    right_gtin = make_unmatched_line(db, vendor_id=vendor_id, gtin=GTIN)
    other_typo = make_unmatched_line(
        db, vendor_id=vendor_id, gtin="4006381333933", exception_type="gtin_mismatch"
    )
    db.commit()
    response = client.post(
        _url(caller, exception.id), headers=caller.headers, json={"gtin": f" {GTIN} "}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["product"]["gtin"], body["product"]["gtin_normalized"]) == (GTIN, "0" + GTIN)
    assert (body["resolved_count"], body["auto_matched"]) == (3, 1)
    product_id = body["product"]["id"]
    for resolved, via in ((exception, "resolved"), (same_typo, "resolved")):
        assert exception_state(db, resolved.id)["item_product_id"] == product_id
        (event,) = events_of(db, resolved.id)
        assert (event["action"], event["after"]["via"]) == (via, "new_product")
    (event,) = events_of(db, right_gtin.id)
    assert event["action"] == "auto_matched"
    assert exception_state(db, other_typo.id)["status"] == "pending"


def test_duplicate_gtin_is_409_naming_the_candidates_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    vendor_id = caller.vendor.id
    first = make_product(db, vendor_id=vendor_id, title="A", gtin=GTIN)
    second = make_product(db, vendor_id=vendor_id, title="B", gtin="0" + GTIN)
    exception = make_unmatched_line(
        db, vendor_id=vendor_id, gtin=GTIN, exception_type="duplicate_gtin"
    )
    db.commit()
    before = snapshot(db)
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "GTIN_ALREADY_IN_CATALOG"
    assert error["details"] == {
        "exception_id": exception.id,
        "gtin": GTIN,
        "product_ids": [first.id, second.id],
    }
    assert f"{first.id}, {second.id}" in error["message"]
    assert snapshot(db) == before


def test_duplicate_gtin_with_a_different_free_gtin_creates_the_product(
    client: TestClient, db: Session, caller: Caller
) -> None:
    vendor_id = caller.vendor.id
    make_product(db, vendor_id=vendor_id, title="A", gtin=GTIN)
    make_product(db, vendor_id=vendor_id, title="B", gtin=GTIN)
    exception = make_unmatched_line(
        db, vendor_id=vendor_id, gtin=GTIN, exception_type="duplicate_gtin"
    )
    db.commit()
    response = client.post(
        _url(caller, exception.id), headers=caller.headers, json={"gtin": OTHER_GTIN}
    )
    assert response.status_code == 201, response.text
    assert response.json()["product"]["gtin"] == OTHER_GTIN
    assert exception_state(db, exception.id)["status"] == "resolved"


def test_an_inactive_copy_of_the_listing_does_not_block_and_is_not_linked_twice(
    client: TestClient, db: Session, caller: Caller
) -> None:
    vendor_id = caller.vendor.id
    listing = make_marketplace_product(db, title="Listing", gtin=GTIN)
    old = make_product(db, vendor_id=vendor_id, title="Old copy", gtin=GTIN, is_active=False)
    old.marketplace_product_id = listing.id
    exception = make_unmatched_line(db, vendor_id=vendor_id, gtin=GTIN)
    db.commit()
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 201, response.text
    assert response.json()["product"]["title"] == "Listing"
    assert response.json()["product"]["marketplace_product_id"] is None


def test_an_already_resolved_exception_is_400_and_nothing_is_created(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, status="resolved")
    db.commit()
    before = snapshot(db)
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "EXCEPTION_ALREADY_RESOLVED",
        "message": f"Order item exception {exception.id} is already resolved",
        "details": {"exception_id": exception.id},
    }
    assert snapshot(db) == before


def test_an_ignored_exception_can_create_its_product(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, status="ignored")
    db.commit()
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 201, response.text
    assert events_of(db, exception.id)[0]["before"]["status"] == "ignored"


def test_a_line_without_gtin_gets_a_product_without_gtin(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=None)
    other_without = make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=None)
    db.commit()
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["product"]["gtin"], body["resolved_count"]) == (None, 1)
    assert exception_state(db, other_without.id)["status"] == "pending"


def test_no_title_anywhere_is_422_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, product_name=None)
    db.commit()
    before = snapshot(db)
    response = client.post(_url(caller, exception.id), headers=caller.headers, json={})
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"field": "title", "exception_id": exception.id}
    assert snapshot(db) == before
    named = client.post(
        _url(caller, exception.id), headers=caller.headers, json={"title": "Named by hand"}
    )
    assert named.status_code == 201, named.text


def test_another_vendors_exception_is_404_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    theirs = make_unmatched_line(db, vendor_id=actors.other.id)
    db.commit()
    before = snapshot(db)
    for url in (f"{VENDOR}/{theirs.id}/create-product", f"{VENDOR}/999999/create-product"):
        response = client.post(url, headers=actors.vendor_headers, json={})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "ORDER_ITEM_EXCEPTION_NOT_FOUND"
    assert snapshot(db) == before


def test_the_admin_creates_in_the_exceptions_own_vendor_catalog(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    theirs = make_unmatched_line(db, vendor_id=actors.other.id)
    db.commit()
    response = client.post(f"{ADMIN}/{theirs.id}/create-product", headers=actors.admin, json={})
    assert response.status_code == 201, response.text
    assert response.json()["product"]["vendor_id"] == actors.other.id
    assert products_of(db, actors.vendor.id) == []


def test_blank_or_oversized_fields_are_422(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    db.commit()
    before = snapshot(db)
    for body in ({"title": ""}, {"sku": "x" * 101}, {"price_cents": -1}, {"gtin": "1" * 51}):
        response = client.post(
            f"{ADMIN}/{exception.id}/create-product", headers=actors.admin, json=body
        )
        assert response.status_code == 422, body
    assert snapshot(db) == before
