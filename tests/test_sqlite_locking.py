"""A confirm waiting on a slow Letzshop holds no transaction: another vendor's reads and writes
go through meanwhile (the report's F4b: on SQLite they answered 503 after 30 s)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.orders.models import Order
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from tests.factories import exception_state, make_actors, make_product, make_unmatched_line
from tests.letzshop.conftest import shipment, unit

KEY = "sandbox-key-1"
KNOWN = "4006381333931"
LETZSHOP_TIMEOUT = 2.0


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=3, shipments_per_vendor=1))
    yield handle
    handle.stop()


@pytest.fixture
def client(settings: Settings, engine: object) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"letzshop_timeout_seconds": LETZSHOP_TIMEOUT}))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.engine.dispose()
    app.state.read_engine.dispose()


def wait_for_mutation(control: httpx.Client) -> None:
    deadline = time.monotonic() + 10
    while not control.get("/control/mutations").json()["mutations"]:
        assert time.monotonic() < deadline, "the confirm never reached Letzshop"
        time.sleep(0.02)


def test_another_vendor_reads_and_writes_while_a_confirm_waits_on_letzshop(
    client: TestClient, db: Session, sandbox: SandboxHandle, control: httpx.Client
) -> None:
    actors = make_actors(client, db)
    make_product(db, vendor_id=actors.vendor.id, gtin=KNOWN)
    other_exception = make_unmatched_line(db, vendor_id=actors.other.id)
    db.commit()
    credentials = {"api_key": KEY, "endpoint": sandbox.graphql_url}
    path = f"/api/v1/admin/letzshop/vendors/{actors.vendor.id}/credentials"
    assert client.put(path, headers=actors.admin, json=credentials).status_code == 200
    control.post(
        "/control/shipments",
        json={
            "api_key": KEY,
            "shipments": [shipment("S1", [unit("u1", "v", KNOWN)])],
            "replace": True,
        },
    ).raise_for_status()
    assert client.post("/api/v1/vendor/letzshop/sync", headers=actors.vendor_headers).is_success
    order_id = db.scalars(select(Order.id).where(Order.vendor_id == actors.vendor.id)).one()
    # Letzshop applies the confirm and then stalls well past the client's timeout.
    faults = {"mode": "timeout", "count": 1, "timeout_seconds": LETZSHOP_TIMEOUT * 3}
    control.post("/control/faults", json=faults).raise_for_status()

    with ThreadPoolExecutor(max_workers=1) as pool:
        confirm = pool.submit(
            client.post,
            f"/api/v1/vendor/letzshop/orders/{order_id}/confirm",
            headers=actors.vendor_headers,
        )
        wait_for_mutation(control)
        read = client.get("/api/v1/vendor/orders?limit=1", headers=actors.other_headers)
        write = client.post(
            f"/api/v1/vendor/order-exceptions/{other_exception.id}/ignore",
            headers=actors.other_headers,
            json={"notes": "set aside while A confirms"},
        )
        # Both answered while A's request still waits on Letzshop's answer.
        still_waiting = not confirm.done()
        confirmed = confirm.result()

    assert (read.status_code, write.status_code) == (200, 200), (read.text, write.text)
    assert still_waiting
    db.rollback()  # end the read snapshot
    assert exception_state(db, other_exception.id)["status"] == "ignored"
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["accepted"] == {"u1": "confirmed_available"}


def test_reads_never_wait_for_the_sqlite_write_lock(
    client: TestClient, db: Session, database_url: str, is_postgres: bool
) -> None:
    if is_postgres:
        pytest.skip("SQLite's database-wide write lock")
    actors = make_actors(client, db)
    make_unmatched_line(db, vendor_id=actors.vendor.id)
    db.commit()
    path = database_url.removeprefix("sqlite:///")
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a long write holds the lock, like a big import
    try:
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            other.execute("BEGIN IMMEDIATE")  # the lock is real: a write cannot start
        other.close()
        started = time.monotonic()
        listed = client.get("/api/v1/vendor/order-exceptions", headers=actors.vendor_headers)
        orders = client.get("/api/v1/vendor/orders", headers=actors.vendor_headers)
        elapsed = time.monotonic() - started
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert (listed.status_code, orders.status_code) == (200, 200)
    assert listed.json()["total"] == 1
    assert elapsed < 10  # far below the 30 s busy timeout a write would have waited
