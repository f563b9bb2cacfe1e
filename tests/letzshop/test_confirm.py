"""The confirmation gate on every path, and fulfilment recording exactly what Letzshop accepted."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from tests.factories import make_product
from tests.letzshop.conftest import KEY, shipment, unit

KNOWN = "4006381333931"
UNKNOWN = "5901234123457"


def mutations(control: httpx.Client) -> list[dict]:
    return control.get("/control/mutations").json()["mutations"]


def sandbox_unit_states(control: httpx.Client) -> dict[str, str]:
    dump = control.get("/control/shipments", params={"api_key": KEY}).json()["shipments"]
    return {u["id"]: u["state"] for s in dump for u in s["shipment"]["inventoryUnits"]}


@pytest.fixture
def imported(client: TestClient, db: Session, shop, put_shipments) -> Callable[..., Order]:
    """Put shipments in the sandbox, sync them, and return the order of the first."""
    vendor, _, vendor_auth = shop
    make_product(db, vendor_id=vendor.id, gtin=KNOWN)
    db.commit()

    def load(*shipments: dict) -> Order:
        put_shipments(*shipments)
        response = client.post("/api/v1/vendor/letzshop/sync", headers=vendor_auth)
        assert response.status_code == 200, response.text
        db.rollback()  # end the read snapshot; reload
        return db.scalars(
            select(Order).where(Order.external_shipment_id == shipments[0]["id"])
        ).one()

    return load


def mixed_order() -> dict:
    return shipment(
        "S1",
        [unit("u1", "known", KNOWN), unit("u2", "known", KNOWN), unit("u3", "mystery", UNKNOWN)],
    )


def item(db: Session, order: Order, variant: str) -> OrderItem:
    return db.scalars(
        select(OrderItem).where(
            OrderItem.order_id == order.id, OrderItem.external_item_id == variant
        )
    ).one()


def confirm_paths(vendor_id: int, order: Order, item_id: int) -> list[tuple[str, str]]:
    """Every route that can confirm, with who calls it. Kept in sync by the test below."""
    return [
        ("admin", f"/api/v1/admin/letzshop/vendors/{vendor_id}/orders/{order.id}/confirm"),
        ("vendor", f"/api/v1/vendor/letzshop/orders/{order.id}/confirm"),
        (
            "admin",
            f"/api/v1/admin/letzshop/vendors/{vendor_id}/orders/{order.id}/items/{item_id}/confirm",
        ),
        ("vendor", f"/api/v1/vendor/letzshop/orders/{order.id}/items/{item_id}/confirm"),
    ]


def test_the_path_list_covers_every_confirming_route(app: FastAPI) -> None:
    confirming = sorted(p for p in app.openapi()["paths"] if p.endswith("/confirm"))
    assert confirming == sorted(
        [
            "/api/v1/admin/letzshop/vendors/{vendor_id}/orders/{order_id}/confirm",
            "/api/v1/vendor/letzshop/orders/{order_id}/confirm",
            "/api/v1/admin/letzshop/vendors/{vendor_id}/orders/{order_id}/items/{item_id}/confirm",
            "/api/v1/vendor/letzshop/orders/{order_id}/items/{item_id}/confirm",
        ]
    )


@pytest.mark.parametrize("status", ["pending", "ignored"])
def test_every_confirm_path_is_blocked_by_an_unresolved_exception(
    client: TestClient, db: Session, shop, imported, control: httpx.Client, status: str
) -> None:
    vendor, admin, vendor_auth = shop
    order = imported(mixed_order())
    mystery = item(db, order, "mystery")
    exception = db.scalars(select(OrderItemException)).one()
    exception.status = status
    db.commit()
    headers = {"admin": admin, "vendor": vendor_auth}
    for who, path in confirm_paths(vendor.id, order, mystery.id):
        response = client.post(path, headers=headers[who])
        assert response.status_code == 400, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "ORDER_HAS_UNRESOLVED_EXCEPTIONS"
        assert error["details"]["count"] == 1
        assert error["details"]["exception_ids"] == [exception.id]
    assert mutations(control) == []
    db.rollback()  # end the read snapshot; reload
    assert set(db.scalars(select(OrderItemUnit.state))) == {"unconfirmed"}
    assert db.get(Order, order.id).status == "pending"


def test_confirming_a_clean_item_of_a_blocked_order_is_allowed(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(mixed_order())
    known = item(db, order, "known")
    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/items/{known.id}/confirm", headers=vendor_auth
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == {"u1": "confirmed_available", "u2": "confirmed_available"}
    assert sandbox_unit_states(control) == {
        "u1": "confirmed_available",
        "u2": "confirmed_available",
        "u3": "unconfirmed",
    }


def test_declining_the_unknown_line_unblocks_the_order(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(mixed_order())
    mystery = item(db, order, "mystery")
    declined = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/items/{mystery.id}/decline", headers=vendor_auth
    )
    assert declined.status_code == 200, declined.text
    confirmed = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "processing"
    db.rollback()  # end the read snapshot; reload
    stored = db.get(Order, order.id)
    assert stored.status == "processing"
    assert stored.confirmed_at is not None
    assert sandbox_unit_states(control) == {
        "u1": "confirmed_available",
        "u2": "confirmed_available",
        "u3": "confirmed_unavailable",
    }


def test_resolved_exception_no_longer_blocks(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    vendor, admin, _ = shop
    order = imported(mixed_order())
    exception = db.scalars(select(OrderItemException)).one()
    exception.status = "resolved"
    db.commit()
    response = client.post(
        f"/api/v1/admin/letzshop/vendors/{vendor.id}/orders/{order.id}/confirm", headers=admin
    )
    assert response.status_code == 200, response.text
    sent = mutations(control)
    assert len(sent) == 1
    decisions = sent[0]["variables"]["input"]["inventoryUnits"]
    assert sorted((d["inventoryUnitId"], d["isAvailable"]) for d in decisions) == [
        ("u1", True),
        ("u2", True),
        ("u3", True),
    ]


def test_reject_is_never_blocked(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    vendor, admin, _ = shop
    order = imported(mixed_order())
    response = client.post(
        f"/api/v1/admin/letzshop/vendors/{vendor.id}/orders/{order.id}/reject", headers=admin
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert set(sandbox_unit_states(control).values()) == {"confirmed_unavailable"}


def test_units_letzshop_refuses_keep_their_state_and_answer_409(
    client: TestClient, db: Session, shop, imported, control: httpx.Client, sandbox
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN), unit("u2", "other", KNOWN)]))
    # u2 was decided on Letzshop's side meanwhile (e.g. in its back office).
    httpx.post(
        sandbox.graphql_url,
        headers={"Authorization": f"Bearer {KEY}"},
        json={
            "query": "mutation($i: ConfirmInventoryUnitsInput!) "
            "{ confirmInventoryUnits(input: $i) { errors { id } } }",
            "variables": {
                "i": {"inventoryUnits": [{"inventoryUnitId": "u2", "isAvailable": False}]}
            },
        },
    ).raise_for_status()
    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "LETZSHOP_REFUSED_UNITS"
    assert error["details"]["accepted"] == {"u1": "confirmed_available"}
    assert [r["unit_id"] for r in error["details"]["refused"]] == ["u2"]
    db.rollback()  # end the read snapshot; reload
    states = {u.external_unit_id: u.state for u in db.scalars(select(OrderItemUnit))}
    assert states == {"u1": "confirmed_available", "u2": "unconfirmed"}


def test_unreachable_letzshop_on_confirm_is_502_and_changes_nothing(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    control.post("/control/faults", json={"mode": "http_502"}).raise_for_status()
    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )
    assert response.status_code == 502
    assert response.json()["error"]["code"] == "LETZSHOP_UNAVAILABLE"
    db.rollback()  # end the read snapshot; reload
    assert db.get(Order, order.id).status == "pending"
    assert db.get(Order, order.id).confirmed_at is None
    assert set(db.scalars(select(OrderItemUnit.state))) == {"unconfirmed"}


def test_confirming_twice_says_there_is_nothing_left(
    client: TestClient, db: Session, shop, imported
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    assert (
        client.post(
            f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
        ).status_code
        == 200
    )
    again = client.post(f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == "NO_UNCONFIRMED_UNITS"


def test_another_vendors_order_is_404(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    from tests.factories import vendor_headers

    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    _, other = vendor_headers(client, db, code="other")
    response = client.post(f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=other)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ORDER_NOT_FOUND"
    assert mutations(control) == []


def test_item_of_another_order_is_404(client: TestClient, db: Session, shop, imported) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/items/999999/decline", headers=vendor_auth
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ORDER_ITEM_NOT_FOUND"
