from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from ordergate.catalog.placeholder import placeholder_product_id
from tests.factories import (
    BASE_TIME,
    Actors,
    make_actors,
    make_exception,
    make_item,
    make_order,
    make_product,
)

ADMIN = "/api/v1/admin/orders"
VENDOR = "/api/v1/vendor/orders"


def _ids(body: dict) -> list[int]:
    return [o["id"] for o in body["orders"]]


def _seed(db: Session, actors: Actors) -> dict[str, int]:
    v1, v2 = actors.vendor.id, actors.other.id
    product = make_product(db, vendor_id=v1, gtin="5702016618891")
    clean = make_order(
        db,
        vendor_id=v1,
        order_number="LS-1-CLEAN",
        customer_name="Anna Weber",
        customer_email="anna@example.test",
        order_date=BASE_TIME,
        status="processing",
    )
    make_item(db, order=clean, product_id=product.id, gtin="5702016618891")
    blocked = make_order(
        db,
        vendor_id=v1,
        order_number="LS-1-BLOCKED",
        customer_name="Jang Muller",
        customer_email="jang@example.test",
        order_date=BASE_TIME + timedelta(hours=1),
    )
    make_exception(db, item=make_item(db, order=blocked))
    make_exception(db, item=make_item(db, order=blocked, gtin=None), status="ignored")
    make_item(db, order=blocked, product_id=product.id, gtin="5702016618891")
    fixed = make_order(
        db, vendor_id=v1, order_number="LS-1-FIXED", order_date=BASE_TIME + timedelta(hours=2)
    )
    make_exception(
        db,
        item=make_item(db, order=fixed, product_id=product.id, needs_product_match=False),
        status="resolved",
        resolved_product_id=product.id,
    )
    theirs = make_order(
        db, vendor_id=v2, order_number="LS-2-THEIRS", order_date=BASE_TIME + timedelta(hours=3)
    )
    make_exception(db, item=make_item(db, order=theirs))
    db.commit()
    return {
        "product": product.id,
        "clean": clean.id,
        "blocked": blocked.id,
        "fixed": fixed.id,
        "theirs": theirs.id,
    }


def test_admin_lists_all_orders_newest_first(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    ids = _seed(db, actors)
    response = client.get(ADMIN, headers=actors.admin)
    assert response.status_code == 200
    body = response.json()
    assert (body["total"], body["skip"], body["limit"]) == (4, 0, 50)
    assert _ids(body) == [ids["theirs"], ids["fixed"], ids["blocked"], ids["clean"]]
    assert [o["exception_count"] for o in body["orders"]] == [1, 0, 2, 0]


def test_order_carries_fields_items_units_and_exception_briefs(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    order = make_order(
        db,
        vendor_id=actors.vendor.id,
        order_number="LS-1-R702236251",
        customer_locale="fr",
        shipping_address={"city": "Luxembourg", "country": "LU"},
        billing_address={"city": "Esch", "country": "LU"},
        total_cents=3998,
        tracking_code="TRK1",
        tracking_provider="post.lu",
    )
    item = make_item(
        db, order=order, quantity=2, unit_states=("unconfirmed", "confirmed_available")
    )
    exception = make_exception(db, item=item)
    placeholder = placeholder_product_id(db, vendor_id=actors.vendor.id)
    db.commit()
    response = client.get(f"{VENDOR}/{order.id}", headers=actors.vendor_headers)
    assert response.status_code == 200
    body = response.json()
    items = body.pop("items")
    assert {k: body[k] for k in body if k not in ("created_at", "updated_at")} == {
        "id": order.id,
        "vendor_id": actors.vendor.id,
        "channel": "letzshop",
        "order_number": "LS-1-R702236251",
        "external_order_id": order.external_order_id,
        "external_shipment_id": order.external_shipment_id,
        "external_order_number": order.external_order_number,
        "status": "pending",
        "customer_email": "marie@example.test",
        "customer_name": "Marie Schmit",
        "customer_locale": "fr",
        "shipping_address": {"city": "Luxembourg", "country": "LU"},
        "billing_address": {"city": "Esch", "country": "LU"},
        "total_cents": 3998,
        "currency": "EUR",
        "order_date": "2025-12-19T10:30:00Z",
        "confirmed_at": None,
        "tracking_code": "TRK1",
        "tracking_provider": "post.lu",
        "exception_count": 1,
        # No deadline: the vendor has no confirmation_deadline_hours.
        "confirm_by": None,
        "deadline_state": None,
        "age_seconds": body["age_seconds"],
        "confirmation_pending": False,
    }
    assert items == [
        {
            "id": item.id,
            "external_item_id": item.external_item_id,
            "product_id": placeholder,
            "product_name": "Funko Pop! Marvel",
            "product_sku": "MH-FU-56757",
            "gtin": "4006381333931",
            "gtin_type": "ean13",
            "quantity": 2,
            "unit_price_cents": 1999,
            "needs_product_match": True,
            "units": [
                {
                    "id": item.units[0].id,
                    "external_unit_id": item.units[0].external_unit_id,
                    "state": "unconfirmed",
                },
                {
                    "id": item.units[1].id,
                    "external_unit_id": item.units[1].external_unit_id,
                    "state": "confirmed_available",
                },
            ],
            "exception": {
                "id": exception.id,
                "exception_type": "product_not_found",
                "status": "pending",
                "original_gtin": "4006381333931",
                "original_product_name": "Funko Pop! Marvel",
                "resolved_product_id": None,
            },
        }
    ]


def test_matched_item_has_no_exception_brief(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    ids = _seed(db, actors)
    body = client.get(f"{ADMIN}/{ids['clean']}", headers=actors.admin).json()
    assert [(i["product_id"], i["needs_product_match"], i["exception"]) for i in body["items"]] == [
        (ids["product"], False, None)
    ]


def test_filters_by_vendor_and_status(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    ids = _seed(db, actors)
    mine = client.get(ADMIN, headers=actors.admin, params={"vendor_id": actors.vendor.id}).json()
    assert _ids(mine) == [ids["fixed"], ids["blocked"], ids["clean"]]
    processing = client.get(ADMIN, headers=actors.admin, params={"status": "processing"}).json()
    assert (processing["total"], _ids(processing)) == (1, [ids["clean"]])
    bad = client.get(ADMIN, headers=actors.admin, params={"status": "declined"})
    assert bad.status_code == 422


def test_has_exceptions_counts_only_pending_or_ignored(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    ids = _seed(db, actors)
    blocked = client.get(ADMIN, headers=actors.admin, params={"has_exceptions": "true"}).json()
    assert (blocked["total"], _ids(blocked)) == (2, [ids["theirs"], ids["blocked"]])
    free = client.get(VENDOR, headers=actors.vendor_headers, params={"has_exceptions": "false"})
    assert _ids(free.json()) == [ids["fixed"], ids["clean"]]


def test_search_by_order_number_email_and_name(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    ids = _seed(db, actors)

    def search(term: str) -> list[int]:
        return _ids(client.get(ADMIN, headers=actors.admin, params={"search": term}).json())

    assert search("ls-1-blocked") == [ids["blocked"]]
    assert search("ANNA@EXAMPLE") == [ids["clean"]]
    assert search("jang mull") == [ids["blocked"]]
    assert search("nobody") == []


def test_pagination(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    ids = _seed(db, actors)
    body = client.get(ADMIN, headers=actors.admin, params={"skip": 1, "limit": 2}).json()
    assert (body["total"], body["skip"], body["limit"]) == (4, 1, 2)
    assert _ids(body) == [ids["fixed"], ids["blocked"]]
    assert client.get(ADMIN, headers=actors.admin, params={"limit": 201}).status_code == 422


def test_orders_without_date_come_last(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    undated = make_order(db, vendor_id=actors.vendor.id, order_date=None)
    dated = make_order(db, vendor_id=actors.vendor.id)
    db.commit()
    body = client.get(VENDOR, headers=actors.vendor_headers).json()
    assert _ids(body) == [dated.id, undated.id]


def test_vendor_sees_only_its_orders(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    ids = _seed(db, actors)
    body = client.get(VENDOR, headers=actors.other_headers, params={"vendor_id": actors.vendor.id})
    assert _ids(body.json()) == [ids["theirs"]]


def test_vendor_gets_404_for_another_vendors_order(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    ids = _seed(db, actors)
    response = client.get(f"{VENDOR}/{ids['theirs']}", headers=actors.vendor_headers)
    assert response.status_code == 404
    assert response.json() == {
        "error": {
            "code": "ORDER_NOT_FOUND",
            "message": f"Order {ids['theirs']} not found",
            "details": {"order_id": ids["theirs"]},
        }
    }
    missing = client.get(f"{ADMIN}/999999", headers=actors.admin)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "ORDER_NOT_FOUND"


def _outer_query(sql: str) -> str:
    """The statement without its parenthesised parts (subqueries such as exception_count's)."""
    while (shorter := re.sub(r"\([^()]*\)", "", sql)) != sql:
        sql = shorter
    return sql


def test_list_loads_lines_with_a_fixed_number_of_queries(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    for _ in range(30):
        order = make_order(db, vendor_id=actors.vendor.id)
        for _ in range(3):
            make_exception(db, item=make_item(db, order=order, unit_states=("a", "b")))
    db.commit()
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    # GETs run on the read engine (on PostgreSQL the same engine).
    app_engine = client.app.state.read_engine  # type: ignore[attr-defined]
    event.listen(app_engine, "before_cursor_execute", count)
    try:
        body = client.get(ADMIN, headers=actors.admin, params={"limit": 30}).json()
    finally:
        event.remove(app_engine, "before_cursor_execute", count)
    assert len(body["orders"]) == 30
    assert sum(len(o["items"]) for o in body["orders"]) == 90
    selects = [s for s in statements if s.lstrip().upper().startswith("SELECT")]
    tables = [re.findall(r"\bFROM\s+(\w+)", _outer_query(s))[0] for s in selects]
    # A line's two collections load in either order (sibling selectin loads).
    assert [*tables[:6], *sorted(tables[6:8]), *tables[8:]] == [
        "users",  # auth
        "vendor_memberships",  # auth (selectin)
        "orders",  # total
        "orders",  # the page's ids
        "orders",  # those orders, with exception_count
        "order_items",
        "order_item_exceptions",
        "order_item_units",
    ]
