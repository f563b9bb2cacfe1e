"""One poisoned shipment among 161 (the probe report's F1): the sync answers, records the one
failure naming the field, and imports every other shipment, the pages after it included."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.letzshop.models import SyncRun
from ordergate.orders.models import Order
from ordergate.sandbox.generator import generate_shipments
from tests.letzshop.conftest import shipment, unit
from tests.letzshop.test_sync import KNOWN, counts

GOOD = 160
POSITION = 100  # 0-based: the 101st shipment, the first of the third page of 50


def _price(node: dict[str, Any], value: Any) -> str:
    node["inventoryUnits"][0]["variant"]["price"] = value
    return "inventoryUnits[0].variant.price"


def _total(node: dict[str, Any], value: Any) -> str:
    node["order"]["total"] = value
    return "order.total"


@pytest.mark.parametrize(
    ("poison", "value", "shown"),
    [
        (_price, "1e30", '"1e30" is beyond 21,474,836.47'),
        (_total, "1e30", '"1e30" is beyond 21,474,836.47'),
        (_price, -5, "-5 is negative"),
    ],
)
def test_poisoned_shipment_is_one_failure_and_every_other_imports(
    client: TestClient,
    db: Session,
    shop,
    put_shipments: Callable[..., None],
    poison: Callable[[dict[str, Any], Any], str],
    value: Any,
    shown: str,
) -> None:
    vendor, admin, _ = shop
    good = generate_shipments(5, GOOD, id_prefix="good")
    bad = generate_shipments(6, 1, id_prefix="bad")[0]
    field = poison(bad, value)
    put_shipments(*good[:POSITION], bad, *good[POSITION:])
    sync = f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync"

    first = client.post(sync, headers=admin, json={"state": "all"})

    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["status"], body["shipments_seen"], body["orders_created"]) == (
        "partial",
        GOOD + 1,
        GOOD,
    )
    assert body["failed"] == [{"external_id": bad["id"], "reason": f"{field}: {shown}"}]
    stored = set(db.scalars(select(Order.external_shipment_id)))
    assert stored == {node["id"] for node in good}
    run = db.scalars(select(SyncRun)).one()
    assert (run.status, run.failures) == ("partial", body["failed"])
    before = counts(db)

    again = client.post(sync, headers=admin, json={"state": "all"})

    assert again.status_code == 200, again.text
    assert (again.json()["orders_created"], again.json()["orders_updated"]) == (0, 0)
    assert [f["external_id"] for f in again.json()["failed"]] == [bad["id"]]
    assert counts(db) == before


def test_values_the_databases_treat_differently_fail_alike_on_both(
    client: TestClient, db: Session, shop, put_shipments: Callable[..., None]
) -> None:
    vendor, admin, _ = shop
    big_price = shipment("S2", [unit("u2", "var2", KNOWN, price=1e12)])
    nul_name = shipment("S3", [unit("u3", "var3", KNOWN, name="Toy\x00")])
    long_number = shipment("S4", [unit("u4", "var4", KNOWN)], number="R" * 101)
    long_email = shipment("S5", [unit("u5", "var5", KNOWN)])
    long_email["order"]["email"] = "a" * 310 + "@example.lu"
    twice = shipment("S6", [unit("u6", "var6", KNOWN), unit("u6", "var6", KNOWN)])
    put_shipments(
        shipment("S1", [unit("u1", "var1", KNOWN)]),
        big_price,
        nul_name,
        long_number,
        long_email,
        twice,
        shipment("S1", [unit("u7", "var7", KNOWN)]),
        shipment("S8", [unit("u8", "var8", KNOWN)]),
    )

    response = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin)

    assert response.status_code == 200, response.text
    body = response.json()
    assert sorted((f["external_id"], f["reason"]) for f in body["failed"]) == [
        ("S1", "shipment appears twice in the same page"),
        ("S2", "inventoryUnits[0].variant.price: 1000000000000.0 is beyond 21,474,836.47"),
        (
            "S3",
            "inventoryUnits[0].variant.product.name.en: contains a NUL character, "
            "which cannot be stored",
        ),
        ("S4", "order.number: 101 characters, longer than 100"),
        ("S5", "order.email: 321 characters, longer than 320"),
        ("S6", "an inventory unit id appears twice"),
    ]
    assert set(db.scalars(select(Order.external_shipment_id))) == {"S1", "S8"}
