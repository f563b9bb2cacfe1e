"""A killed import (``kill -9``) reads as abandoned once its lease is over, and the next import
resumes from its last committed page; the end result equals an uninterrupted import."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate import migrate
from ordergate.db import make_engine, make_session_factory, utcnow
from ordergate.letzshop.models import LetzshopCredentials, SyncRun
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from ordergate.sandbox import DirtMix, SandboxHandle, SandboxState, run_in_thread
from ordergate.security import SecretBox
from ordergate.vendors.models import Vendor
from tests.conftest import TEST_SECRET
from tests.factories import admin_headers
from tests.letzshop.conftest import KEY
from tests.letzshop.tuning import tuned

ORDERGATE = str(Path(sys.executable).with_name("ordergate"))
SHIPMENTS = 2000
PAGE_SIZE = 10
LEASE_SECONDS = 3.0
KILL_AFTER_PAGES = 5


@pytest.fixture(scope="module")
def big_sandbox() -> Iterator[SandboxHandle]:
    state = SandboxState(seed=5, shipments_per_vendor=SHIPMENTS, mix=DirtMix(confirmed=0.0))
    handle = run_in_thread(state)
    yield handle
    handle.stop()


@pytest.fixture
def requests_log(big_sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=big_sandbox.url, timeout=10.0) as http:
        http.post("/control/reset").raise_for_status()
        # Slow enough that the kill lands mid-import.
        http.post("/control/faults", json={"latency_ms": 20}).raise_for_status()
        yield http
        http.post("/control/reset").raise_for_status()


def _connect_vendor(url: str, endpoint: str) -> None:
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        vendor = Vendor(code="bigshop", name="Big shop")
        session.add(vendor)
        session.flush()
        session.add(
            LetzshopCredentials(
                vendor_id=vendor.id,
                endpoint_url=endpoint,
                api_key_encrypted=SecretBox(TEST_SECRET).encrypt(KEY),
                api_key_last4=None,
                sync_interval_minutes=None,
            )
        )
        session.commit()
    engine.dispose()


def _env(url: str) -> dict[str, str]:
    return {
        **os.environ,
        "ORDERGATE_DATABASE_URL": url,
        "ORDERGATE_SECRET_KEY": TEST_SECRET,
        "ORDERGATE_LETZSHOP_PAGE_SIZE": str(PAGE_SIZE),
        "ORDERGATE_LETZSHOP_SYNC_LEASE_SECONDS": str(LEASE_SECONDS),
        "ORDERGATE_LETZSHOP_MAX_RETRIES": "1",
        "COLUMNS": "120",
    }


def _import(url: str) -> None:
    done = subprocess.run(
        [ORDERGATE, "letzshop", "import", "--vendor", "bigshop"],
        env=_env(url),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _run(db: Session) -> SyncRun | None:
    db.rollback()
    return db.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(1)).first()


def _kill_after_pages(db: Session, url: str, pages: int) -> None:
    process = subprocess.Popen(
        [ORDERGATE, "letzshop", "import", "--vendor", "bigshop"],
        env=_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            run = _run(db)
            if run is not None and run.pages_done >= pages:
                break
            assert process.poll() is None, "the import ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail("the import committed no pages in time")
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    """Every order, item, unit and exception of the database, by external ids (sorted, so
    duplicates show)."""
    engine = make_engine(url, sqlite_immediate=False)
    shipment = Order.external_shipment_id
    with make_session_factory(engine)() as session:
        result = {
            "orders": session.execute(select(shipment, Order.status, Order.total_cents)),
            "items": session.execute(
                select(shipment, OrderItem.external_item_id, OrderItem.quantity).join(
                    Order, Order.id == OrderItem.order_id
                )
            ),
            "units": session.execute(
                select(shipment, OrderItemUnit.external_unit_id, OrderItemUnit.state)
                .join(OrderItem, OrderItem.id == OrderItemUnit.order_item_id)
                .join(Order, Order.id == OrderItem.order_id)
            ),
            "exceptions": session.execute(
                select(shipment, OrderItem.external_item_id, OrderItemException.exception_type)
                .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
                .join(Order, Order.id == OrderItem.order_id)
            ),
        }
        rows = {name: sorted(tuple(r) for r in found) for name, found in result.items()}
    engine.dispose()
    return rows


def test_killed_import_is_abandoned_after_its_lease_and_the_rerun_resumes_from_its_cursor(
    app: FastAPI,
    client: TestClient,
    db: Session,
    database_url: str,
    scratch_url: str,
    big_sandbox: SandboxHandle,
    requests_log: httpx.Client,
) -> None:
    _connect_vendor(database_url, big_sandbox.graphql_url)
    admin = admin_headers(client, db)
    vendor_id = db.scalars(select(Vendor.id).where(Vendor.code == "bigshop")).one()
    runs_path = f"/api/v1/admin/letzshop/vendors/{vendor_id}/sync-runs"

    _kill_after_pages(db, database_url, KILL_AFTER_PAGES)

    killed = _run(db)
    assert killed is not None
    assert (killed.status, killed.finished_at) == ("running", None)
    assert killed.pages_done >= KILL_AFTER_PAGES
    assert killed.last_cursor
    stored_before = set(db.scalars(select(Order.external_shipment_id)))
    assert len(stored_before) == killed.pages_done * PAGE_SIZE
    with tuned(app, letzshop_sync_lease_seconds=LEASE_SECONDS):
        assert client.get(runs_path, headers=admin).json()["sync_runs"][0]["status"] == "running"
        time.sleep(LEASE_SECONDS - (utcnow() - killed.heartbeat_at).total_seconds() + 0.5)  # type: ignore[operator]
        abandoned = client.get(f"{runs_path}/{killed.id}", headers=admin).json()
    assert abandoned["status"] == "abandoned"
    assert abandoned["pages_done"] == killed.pages_done

    first_request = len(requests_log.get("/control/requests").json()["requests"])
    _import(database_url)

    log = requests_log.get("/control/requests").json()["requests"][first_request:]
    assert log[0]["variables"]["after"] == killed.last_cursor
    restart = next(i for i, r in enumerate(log) if r["variables"]["after"] is None)
    resumed_ids = {i for r in log[:restart] for i in r["shipment_ids"]}
    assert resumed_ids
    assert not resumed_ids & stored_before  # nothing it had stored was read again first
    assert len(log) == SHIPMENTS // PAGE_SIZE + 1  # the rest, then the pages before the cursor
    rerun = _run(db)
    assert rerun is not None
    assert (rerun.status, rerun.orders_created) == ("succeeded", SHIPMENTS - len(stored_before))

    migrate.upgrade(scratch_url)
    _connect_vendor(scratch_url, big_sandbox.graphql_url)
    _import(scratch_url)
    resumed, uninterrupted = snapshot(database_url), snapshot(scratch_url)
    assert len(uninterrupted["orders"]) == SHIPMENTS
    assert uninterrupted["exceptions"]
    for table in ("orders", "items", "units", "exceptions"):
        assert resumed[table] == uninterrupted[table], table


def test_sync_all_marks_stale_runs_abandoned(db: Session, database_url: str) -> None:
    vendor = Vendor(code="quiet", name="Quiet")
    db.add(vendor)
    db.flush()
    stale = SyncRun(
        vendor_id=vendor.id,
        trigger="schedule",
        state_filter="unconfirmed",
        status="running",
        heartbeat_at=utcnow() - timedelta(minutes=10),
        failures=[],
    )
    db.add(stale)
    db.commit()
    done = subprocess.run(
        [ORDERGATE, "letzshop", "sync-all"],
        env=_env(database_url),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 abandoned" in done.stdout
    db.expire_all()
    assert db.get(SyncRun, stale.id).status == "abandoned"  # type: ignore[union-attr]
