"""Fixtures and helpers for the orders and sync page tests: a vendor connected to the Letzshop
sandbox over real HTTP, its staff logged in to the dashboard, and readers of what the sandbox
and the database hold. Test modules import the fixtures they use."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.orders.models import Order, OrderItem, OrderItemException
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from ordergate.vendors.models import Vendor
from tests.factories import admin_headers, make_user, make_vendor
from tests.letzshop.conftest import KEY, shipment, unit

KNOWN = "4006381333931"
UNKNOWN = "5901234123457"


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=11, shipments_per_vendor=12))
    yield handle
    handle.stop()


@dataclass
class Shop:
    vendor: Vendor
    other: Vendor
    admin: dict[str, str]  # API headers of a platform admin
    staff_email: str
    other_email: str


@pytest.fixture
def shop(client: TestClient, db: Session, sandbox: SandboxHandle, control: httpx.Client) -> Shop:
    """shop1 connected to the sandbox (its owner staff@shop1.test), and shop2 with its own
    member (staff@shop2.test), not connected."""
    vendor = make_vendor(db, code="shop1", name="Maison Verte")
    other = make_vendor(db, code="shop2", name="Autre Boutique")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    make_user(db, email="staff@shop2.test", vendors=["shop2"])
    db.commit()
    admin = admin_headers(client, db)
    response = client.put(
        f"/api/v1/admin/letzshop/vendors/{vendor.id}/credentials",
        headers=admin,
        json={"api_key": KEY, "endpoint": sandbox.graphql_url},
    )
    assert response.status_code == 200, response.text
    return Shop(vendor, other, admin, "staff@shop1.test", "staff@shop2.test")


def mixed_shipment(shipment_id: str = "S1") -> dict[str, Any]:
    """Two units of a product in the catalog, one of an unknown GTIN (a blocking exception)."""
    return shipment(
        shipment_id,
        [unit("u1", "known", KNOWN), unit("u2", "known", KNOWN), unit("u3", "mystery", UNKNOWN)],
    )


def put_and_sync(client: TestClient, shop: Shop, control: httpx.Client, *shipments: Any) -> None:
    """Put shipments in the sandbox and import them through the API (the set-up, not the
    subject of these tests)."""
    response = control.post(
        "/control/shipments", json={"api_key": KEY, "shipments": list(shipments), "replace": True}
    )
    assert response.status_code == 200, response.text
    synced = client.post(
        f"/api/v1/admin/letzshop/vendors/{shop.vendor.id}/sync", headers=shop.admin
    )
    assert synced.status_code == 200, synced.text


def order_of(db: Session, shipment_id: str) -> Order:
    db.rollback()  # a fresh snapshot
    statement = select(Order).where(Order.external_shipment_id == shipment_id)
    return db.scalars(statement.execution_options(populate_existing=True)).one()


def line(db: Session, order: Order, variant: str) -> OrderItem:
    return db.scalars(
        select(OrderItem).where(
            OrderItem.order_id == order.id, OrderItem.external_item_id == variant
        )
    ).one()


def exception_of(db: Session, item: OrderItem) -> OrderItemException:
    return db.scalars(
        select(OrderItemException).where(OrderItemException.order_item_id == item.id)
    ).one()


def mutations(control: httpx.Client) -> list[dict[str, Any]]:
    return list(control.get("/control/mutations").json()["mutations"])


def sandbox_unit_states(control: httpx.Client) -> dict[str, str]:
    dump = control.get("/control/shipments", params={"api_key": KEY}).json()["shipments"]
    return {u["id"]: u["state"] for s in dump for u in s["shipment"]["inventoryUnits"]}


def wait_for_run(client: TestClient, run_id: int, *, timeout: float = 30.0) -> httpx.Response:
    """Poll the run's fragment as the page's htmx does, until the run is no longer running."""
    deadline = time.monotonic() + timeout
    while True:
        fragment = client.get(f"/sync/runs/{run_id}", headers={"HX-Request": "true"})
        assert fragment.status_code == 200, fragment.text
        if 'hx-trigger="every 1s"' not in fragment.text:
            return fragment
        assert time.monotonic() < deadline, fragment.text
        time.sleep(0.2)
