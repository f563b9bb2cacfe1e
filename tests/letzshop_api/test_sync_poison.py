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
from tests.letzshop_api.test_sync import counts

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
