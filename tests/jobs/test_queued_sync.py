"""The API queues syncs (202) and a real `ordergate worker` runs them against the sandbox; a
second sync while one waits is refused by our check and by procrastinate's queueing lock."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ordergate.jobs.queue import ProcrastinateSyncQueue, build_app
from ordergate.letzshop.errors import SyncAlreadyQueuedError
from ordergate.letzshop.models import SyncRun
from ordergate.orders.models import Order, OrderItem, OrderItemUnit
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from tests.factories import admin_headers
from tests.jobs.conftest import Workers, connect_vendor, sandbox_counts, wait_for

SHIPMENTS = 40
PAGE_SIZE = 5
KEY = "sandbox-key-1"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=21, shipments_per_vendor=SHIPMENTS))
    yield handle
    handle.stop()


@pytest.fixture
def slow(control: httpx.Client) -> httpx.Client:
    # Slow enough that the run is seen running, page by page.
    control.post("/control/faults", json={"latency_ms": 60}).raise_for_status()
    return control


def _jobs(db: Session) -> list[tuple[Any, ...]]:
    db.rollback()
    return [
        tuple(r)
        for r in db.execute(
            text("SELECT id, task_name, status, lock, queueing_lock FROM procrastinate_jobs")
        )
    ]


def _counts(db: Session) -> tuple[int, int, int]:
    db.rollback()
    return tuple(  # type: ignore[return-value]
        db.scalar(select(func.count()).select_from(m)) or 0
        for m in (Order, OrderItem, OrderItemUnit)
    )


def test_a_queued_sync_answers_202_and_a_worker_imports_every_shipment(
    queued_client: TestClient,
    db: Session,
    sandbox: SandboxHandle,
    slow: httpx.Client,
    workers: Workers,
) -> None:
    vendor = connect_vendor(db, code="luxtoys", endpoint=sandbox.graphql_url, api_key=KEY)
    admin = admin_headers(queued_client, db)
    path = f"/api/v1/admin/letzshop/vendors/{vendor.id}"

    queued = queued_client.post(f"{path}/sync", headers=admin, json={"state": "all"})

    assert queued.status_code == 202, queued.text
    body = queued.json()
    assert (body["status"], body["vendor_id"], body["trigger"]) == ("queued", vendor.id, "api")
    assert queued.headers["location"] == f"{path}/sync-runs/{body['run_id']}"
    assert body["job_id"] == _jobs(db)[0][0]
    assert _jobs(db)[0][1:] == (
        "ordergate.sync_vendor",
        "todo",
        f"letzshop-sync-vendor-{vendor.id}",
        f"letzshop-sync-vendor-{vendor.id}",
    )
    assert _counts(db) == (0, 0, 0)  # nothing ran in the request
    run_url = queued.headers["location"]
    assert queued_client.get(run_url, headers=admin).json()["status"] == "queued"

    workers.start("--concurrency", "1", ORDERGATE_LETZSHOP_PAGE_SIZE=str(PAGE_SIZE))
    seen: list[tuple[str, int]] = []

    def finished() -> dict[str, Any] | None:
        run = queued_client.get(run_url, headers=admin).json()
        seen.append((run["status"], run["pages_done"]))
        return run if run["status"] not in ("queued", "running") else None

    run = wait_for(finished, every=0.05)

    assert run["status"] == "succeeded", run
    assert run["shipments_seen"] == SHIPMENTS
    assert run["orders_created"] == SHIPMENTS
    assert run["queued_at"] <= run["started_at"] <= run["finished_at"]
    # Polled while it ran: pages and counts grew before the end.
    assert any(status == "running" and 0 < pages < run["pages_done"] for status, pages in seen)
    assert _counts(db) == sandbox_counts(slow, KEY)
    assert _counts(db)[0] == SHIPMENTS


def test_a_second_sync_while_one_waits_is_refused_and_changes_nothing(
    queued_client: TestClient, db: Session, sandbox: SandboxHandle, control: httpx.Client
) -> None:
    vendor = connect_vendor(db, code="luxtoys", endpoint=sandbox.graphql_url, api_key=KEY)
    admin = admin_headers(queued_client, db)
    path = f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync"
    first = queued_client.post(path, headers=admin)
    assert first.status_code == 202, first.text
    runs_before = db.execute(select(SyncRun.id, SyncRun.status)).all()
    jobs_before = _jobs(db)

    second = queued_client.post(path, headers=admin)

    assert second.status_code == 409, second.text
    error = second.json()["error"]
    assert error["code"] == "SYNC_ALREADY_QUEUED"
    assert error["details"] == {"vendor_id": vendor.id, "run_id": first.json()["run_id"]}
    db.rollback()
    assert db.execute(select(SyncRun.id, SyncRun.status)).all() == runs_before
    assert _jobs(db) == jobs_before


def test_the_queueing_lock_itself_refuses_a_second_waiting_job_of_the_vendor(
    queued_client: TestClient, db: Session, sandbox: SandboxHandle, queue_settings: Any
) -> None:
    vendor = connect_vendor(db, code="luxtoys", endpoint=sandbox.graphql_url, api_key=KEY)
    queue = ProcrastinateSyncQueue(build_app(queue_settings))
    try:
        queue.defer_sync(vendor_id=vendor.id, run_id=1, trigger="api")
        jobs_before = _jobs(db)
        with pytest.raises(SyncAlreadyQueuedError):
            queue.defer_sync(vendor_id=vendor.id, run_id=2, trigger="api")
        assert _jobs(db) == jobs_before
        # Another vendor's lock is its own.
        other = connect_vendor(db, code="other", endpoint=sandbox.graphql_url, api_key=KEY)
        queue.defer_sync(vendor_id=other.id, run_id=3, trigger="api")
        assert len(_jobs(db)) == 2
    finally:
        queue.close()


def test_a_queued_run_whose_job_is_gone_does_not_block_the_vendor(
    queued_client: TestClient, db: Session, sandbox: SandboxHandle
) -> None:
    vendor = connect_vendor(db, code="luxtoys", endpoint=sandbox.graphql_url, api_key=KEY)
    admin = admin_headers(queued_client, db)
    path = f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync"
    lost = queued_client.post(path, headers=admin).json()
    db.execute(text("DELETE FROM procrastinate_jobs WHERE id = :id"), {"id": lost["job_id"]})
    db.commit()

    again = queued_client.post(path, headers=admin)

    assert again.status_code == 202, again.text
    db.rollback()
    runs = db.execute(select(SyncRun.id, SyncRun.status, SyncRun.error).order_by(SyncRun.id))
    assert [tuple(r) for r in runs] == [
        (lost["run_id"], "failed", "its job ended without running it"),
        (again.json()["run_id"], "queued", None),
    ]
    assert [j[0] for j in _jobs(db)] == [again.json()["job_id"]]
