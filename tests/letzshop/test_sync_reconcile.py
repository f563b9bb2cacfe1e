"""The default sync repairs orders Letzshop decided that are still pending locally (a confirm
whose answer was lost, or a decision taken in Letzshop's back office): after the unconfirmed
list it reads the confirmed list, newest first, bounded by age."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.letzshop.models import SyncRun
from ordergate.orders.models import Order, OrderItem, OrderItemUnit
from tests.letzshop.conftest import KEY
from tests.letzshop.tuning import dated, decide_in_sandbox, served, tuned


def _sync(client: TestClient, vendor_id: int, admin: dict[str, str]) -> dict:
    response = client.post(f"/api/v1/admin/letzshop/vendors/{vendor_id}/sync", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()


def _local(db: Session, shipment_id: str) -> tuple[str, dict[str, str]]:
    db.rollback()
    order = db.scalars(select(Order).where(Order.external_shipment_id == shipment_id)).one()
    units = db.execute(
        select(OrderItemUnit.external_unit_id, OrderItemUnit.state)
        .join(OrderItem, OrderItem.id == OrderItemUnit.order_item_id)
        .where(OrderItem.order_id == order.id)
    )
    return order.status, dict(units.all())


def test_units_decided_at_letzshop_are_repaired_by_the_default_sync(
    client: TestClient, db: Session, shop, control: httpx.Client, put_shipments: Callable
) -> None:
    vendor, admin, _ = shop
    put_shipments(
        dated("A", ["a1", "a2"], days_ago=2),
        dated("B", ["b1"], days_ago=1),
        dated("C", ["c1"], days_ago=1),
    )
    assert _sync(client, vendor.id, admin)["orders_created"] == 3
    decide_in_sandbox(control, {"a1": True, "a2": False, "b1": False})

    body = _sync(client, vendor.id, admin)

    assert _local(db, "A") == (
        "processing",
        {"a1": "confirmed_available", "a2": "confirmed_unavailable"},
    )
    assert _local(db, "B") == ("cancelled", {"b1": "confirmed_unavailable"})
    assert _local(db, "C") == ("pending", {"c1": "unconfirmed"})
    assert (body["orders_reconciled"], body["orders_updated"], body["orders_created"]) == (2, 2, 0)
    run = db.get(SyncRun, body["run_id"])
    assert run is not None
    assert (run.status, run.orders_updated) == ("succeeded", 2)
    # Repaired once: the next sync finds nothing to reconcile and reads no confirmed page.
    before = len(served(control, state="confirmed"))
    assert _sync(client, vendor.id, admin)["orders_reconciled"] == 0
    assert len(served(control, state="confirmed")) == before


def test_nothing_pending_locally_means_no_confirmed_page_is_read(
    client: TestClient, db: Session, shop, control: httpx.Client, put_shipments: Callable
) -> None:
    vendor, admin, _ = shop
    put_shipments(dated("A", ["a1"], days_ago=1))
    _sync(client, vendor.id, admin)
    assert served(control, state="confirmed") == []
    assert len(served(control, state="unconfirmed")) == 1


def test_an_order_older_than_the_bound_is_not_fetched(
    app: FastAPI,
    client: TestClient,
    db: Session,
    shop,
    control: httpx.Client,
    put_shipments: Callable,
) -> None:
    vendor, admin, _ = shop
    # Insertion order is the sandbox's age order: OLD, then fillers, then RECENT (newest).
    put_shipments(
        dated("OLD", ["o1"], days_ago=30),
        *(dated(f"F{n}", [f"f{n}"], days_ago=20 - n) for n in range(4)),
        dated("RECENT", ["r1"], days_ago=3),
    )
    with tuned(app, letzshop_page_size=2, letzshop_reconcile_days=14):
        _sync(client, vendor.id, admin)
        decide_in_sandbox(control, {"o1": True, "r1": True, **{f"f{n}": True for n in range(4)}})
        body = _sync(client, vendor.id, admin)

    assert body["orders_reconciled"] == 1
    assert _local(db, "RECENT")[0] == "processing"
    assert _local(db, "OLD") == ("pending", {"o1": "unconfirmed"})  # beyond 14 days: left alone
    confirmed_pages = served(control, state="confirmed")
    assert [r["shipment_ids"] for r in confirmed_pages] == [["RECENT", "F3"]]


def test_the_confirmed_walk_stops_at_shipments_older_than_what_is_pending(
    app: FastAPI,
    client: TestClient,
    db: Session,
    shop,
    control: httpx.Client,
    put_shipments: Callable,
) -> None:
    vendor, admin, _ = shop
    put_shipments(dated("GONE", ["g1"], days_ago=5))
    with tuned(app, letzshop_page_size=2):
        _sync(client, vendor.id, admin)
        # Letzshop no longer lists GONE at all; its confirmed history is older, plus two newer.
        put_shipments(
            *(dated(f"H{n}", [f"h{n}"], days_ago=12 - n) for n in range(6)),
            dated("N1", ["n1"], days_ago=1),
            dated("N2", ["n2"], days_ago=0.5),
        )
        decide_in_sandbox(control, {**{f"h{n}": True for n in range(6)}, "n1": True, "n2": True})
        body = _sync(client, vendor.id, admin)

    assert body["orders_reconciled"] == 0
    assert _local(db, "GONE")[0] == "pending"
    pages = [r["shipment_ids"] for r in served(control, state="confirmed")]
    # Newest first: N2 N1 | H5 H4 (7 and 8 days old: older than GONE, 5 days) -> stop.
    assert pages == [["N2", "N1"], ["H5", "H4"]]
    assert db.scalar(select(Order.id).where(Order.external_shipment_id == "N1")) is None


def test_a_confirmed_list_that_is_not_newest_first_is_walked_until_the_order_is_found(
    app: FastAPI,
    client: TestClient,
    db: Session,
    shop,
    control: httpx.Client,
    put_shipments: Callable,
) -> None:
    vendor, admin, _ = shop
    put_shipments(dated("T", ["t1"], days_ago=3))
    with tuned(app, letzshop_page_size=2):
        _sync(client, vendor.id, admin)
        decide_in_sandbox(control, {"t1": True})
        # Served after T and with dates rising along the walk: 30, 25, 20, 15 days, then T.
        older = [dated(f"X{n}", [f"x{n}"], days_ago=10 + 5 * n) for n in range(1, 5)]
        for node in older:
            node["inventoryUnits"][0]["state"] = "confirmed_available"
        control.post(
            "/control/shipments", json={"api_key": KEY, "shipments": older}
        ).raise_for_status()
        body = _sync(client, vendor.id, admin)

    assert body["orders_reconciled"] == 1
    assert _local(db, "T") == ("processing", {"t1": "confirmed_available"})
    pages = [r["shipment_ids"] for r in served(control, state="confirmed")]
    assert pages == [["X4", "X3"], ["X2", "X1"], ["T"]]
