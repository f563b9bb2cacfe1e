"""While the last contract check found the confirmation mutation unfit, every path that sends
confirmInventoryUnits (confirm and decline, both trees) is refused before anything is sent; the
import goes on; a passing check lifts the refusal."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.orders.models import Order, OrderItem, OrderItemUnit
from tests.factories import make_product
from tests.letzshop.conftest import KEY, shipment, unit

KNOWN = "4006381333931"


def mutations(control: httpx.Client) -> list[dict]:
    return control.get("/control/mutations").json()["mutations"]


def sandbox_unit_states(control: httpx.Client) -> dict[str, str]:
    dump = control.get("/control/shipments", params={"api_key": KEY}).json()["shipments"]
    return {u["id"]: u["state"] for s in dump for u in s["shipment"]["inventoryUnits"]}


@pytest.fixture
def order(client: TestClient, db: Session, shop, put_shipments) -> Order:
    """One imported order of two units of a known product (nothing else blocks it)."""
    vendor, _, vendor_auth = shop
    make_product(db, vendor_id=vendor.id, gtin=KNOWN)
    db.commit()
    put_shipments(shipment("S1", [unit("u1", "known", KNOWN), unit("u2", "known", KNOWN)]))
    response = client.post("/api/v1/vendor/letzshop/sync", headers=vendor_auth)
    assert response.status_code == 200, response.text
    db.rollback()
    return db.scalars(select(Order).where(Order.external_shipment_id == "S1")).one()


def check(client: TestClient, headers: dict[str, str], control: httpx.Client, **switch) -> dict:
    control.post("/control/schema", json=switch).raise_for_status()
    response = client.post("/api/v1/vendor/letzshop/check", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def sending_paths(vendor_id: int, order: Order, item_id: int) -> list[tuple[str, str]]:
    """Every route that sends confirmInventoryUnits, with who calls it (the test below keeps
    the list complete)."""
    admin = f"/api/v1/admin/letzshop/vendors/{vendor_id}/orders/{order.id}"
    vendor = f"/api/v1/vendor/letzshop/orders/{order.id}"
    return [
        (who, f"{base}{tail}")
        for who, base in (("admin", admin), ("vendor", vendor))
        for tail in (
            "/confirm",
            "/reject",
            f"/items/{item_id}/confirm",
            f"/items/{item_id}/decline",
        )
    ]


def test_the_path_list_covers_every_deciding_route(app: FastAPI) -> None:
    deciding = sorted(
        p
        for p in app.openapi()["paths"]
        if p.endswith(("/confirm", "/reject", "/decline")) and "/letzshop/" in p
    )
    admin = "/api/v1/admin/letzshop/vendors/{vendor_id}/orders/{order_id}"
    vendor = "/api/v1/vendor/letzshop/orders/{order_id}"
    tails = ("/confirm", "/reject", "/items/{item_id}/confirm", "/items/{item_id}/decline")
    assert deciding == sorted(f"{base}{tail}" for base in (admin, vendor) for tail in tails)


def test_every_deciding_path_is_refused_after_a_mismatch_in_the_confirmation_mutation(
    client: TestClient, db: Session, shop, order: Order, control: httpx.Client
) -> None:
    vendor, admin, vendor_auth = shop
    report = check(client, vendor_auth, control, variant="drifted")
    assert report["blocks_confirmation"] is True
    line = db.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).one()
    headers = {"admin": admin, "vendor": vendor_auth}

    for who, path in sending_paths(vendor.id, order, line.id):
        response = client.post(path, headers=headers[who])
        assert response.status_code == 409, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "LETZSHOP_CHECK_MISMATCH"
        assert error["details"]["vendor_id"] == vendor.id
        assert error["details"]["checked_at"] == report["checked_at"]
        assert error["details"]["problems"] == [
            m["message"] for m in report["mismatches"] if "ConfirmUnits" in m["operations"]
        ]
        assert "run the check again" in error["message"]
        assert "ordergate letzshop check --vendor" in error["message"]

    assert mutations(control) == []
    assert sandbox_unit_states(control) == {"u1": "unconfirmed", "u2": "unconfirmed"}
    db.rollback()
    assert set(db.scalars(select(OrderItemUnit.state))) == {"unconfirmed"}
    assert db.get(Order, order.id).status == "pending"


def test_the_import_is_not_refused(
    client: TestClient, shop, order: Order, control: httpx.Client, put_shipments: Callable
) -> None:
    _, _, vendor_auth = shop
    check(client, vendor_auth, control, variant="drifted")
    control.post("/control/schema", json={"variant": "standard"}).raise_for_status()

    response = client.post("/api/v1/vendor/letzshop/sync", headers=vendor_auth)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded"


def test_a_mismatch_outside_the_confirmation_mutation_does_not_refuse(
    client: TestClient, shop, order: Order, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    report = check(client, vendor_auth, control, variant="drifted", introspection=False)
    assert report["status"] == "mismatch"
    assert report["blocks_confirmation"] is False
    control.post("/control/schema", json={"variant": "standard"}).raise_for_status()

    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )

    assert response.status_code == 200, response.text


def test_a_passing_check_lifts_the_refusal(
    client: TestClient, shop, order: Order, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    check(client, vendor_auth, control, variant="drifted")
    refused = client.post(f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth)
    assert refused.status_code == 409

    assert check(client, vendor_auth, control, variant="standard")["status"] == "ok"
    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == {"u1": "confirmed_available", "u2": "confirmed_available"}
    assert [m["operation_name"] for m in mutations(control)] == ["ConfirmUnits"]


def test_a_vendor_never_checked_may_confirm(
    client: TestClient, shop, order: Order, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop

    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )

    assert response.status_code == 200, response.text
