"""Several workers and vendors: a vendor's syncs never overlap (procrastinate's per-vendor lock),
and a worker killed mid-sync (`kill -9`) loses nothing: after the stalled-job retry another
worker finishes the import from the dead run's cursor, with exactly the sandbox's counts."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.jobs.queue import build_app
from ordergate.jobs.tasks import RETRY_STALLED_JOBS, retry_stalled
from ordergate.letzshop.models import SyncRun
from ordergate.letzshop.runs import RETRIED_ERROR
from ordergate.orders.models import Order, OrderItem, OrderItemUnit
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from tests.factories import admin_headers
from tests.jobs.conftest import Workers, connect_vendor, wait_for
from tests.jobs.test_queued_sync import sandbox_counts

VENDORS = 4
SHIPMENTS = 20
RUNS_PER_VENDOR = 3
BIG = 240
STALLED_SECONDS = 5


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    keys = {f"key-{i}": (f"sv-{i}",) for i in range(VENDORS)}
    handle = run_in_thread(SandboxState(seed=31, shipments_per_vendor=SHIPMENTS, api_keys=keys))
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def big_sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=32, shipments_per_vendor=BIG))
    yield handle
    handle.stop()


def _runs(db: Session, vendor_id: int) -> list[SyncRun]:
    db.rollback()
    return list(
        db.scalars(select(SyncRun).where(SyncRun.vendor_id == vendor_id).order_by(SyncRun.id))
    )


def test_two_workers_never_overlap_one_vendors_runs(
    queued_client: TestClient,
    db: Session,
    sandbox: SandboxHandle,
    control: httpx.Client,
    workers: Workers,
) -> None:
    control.post("/control/faults", json={"latency_ms": 30}).raise_for_status()
    vendors = [
        connect_vendor(db, code=f"shop{i}", endpoint=sandbox.graphql_url, api_key=f"key-{i}")
        for i in range(VENDORS)
    ]
    admin = admin_headers(queued_client, db)
    for _ in range(2):
        workers.start("--concurrency", "2", ORDERGATE_LETZSHOP_PAGE_SIZE="5")

    accepted = {v.id: 0 for v in vendors}
    refused = 0
    deadline = time.monotonic() + 120
    while min(accepted.values()) < RUNS_PER_VENDOR and time.monotonic() < deadline:
        for vendor in vendors:
            if accepted[vendor.id] == RUNS_PER_VENDOR:
                continue
            answer = queued_client.post(
                f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync",
                headers=admin,
                json={"state": "all"},
            )
            if answer.status_code == 202:
                accepted[vendor.id] += 1
            else:
                assert answer.json()["error"]["code"] == "SYNC_ALREADY_QUEUED", answer.text
                refused += 1
        time.sleep(0.05)
    assert min(accepted.values()) == RUNS_PER_VENDOR

    def all_done() -> bool:
        return all(
            len(runs) == RUNS_PER_VENDOR
            and all(r.status not in ("queued", "running") for r in runs)
            for runs in (_runs(db, v.id) for v in vendors)
        )

    wait_for(all_done, timeout=180, every=0.2)
    assert refused > 0  # some requests came while a run waited
    for vendor in vendors:
        runs = sorted(_runs(db, vendor.id), key=lambda r: r.started_at)
        assert [r.status for r in runs] == ["succeeded"] * RUNS_PER_VENDOR
        for earlier, later in zip(runs, runs[1:], strict=False):
            assert earlier.finished_at is not None
            assert earlier.finished_at <= later.started_at, (vendor.code, earlier.id, later.id)
        assert runs[0].orders_created == SHIPMENTS
        orders = db.scalar(select(func.count()).where(Order.vendor_id == vendor.id))
        assert orders == SHIPMENTS


def _counts(db: Session) -> tuple[int, int, int]:
    db.rollback()
    return (
        db.scalar(select(func.count()).select_from(Order)) or 0,
        db.scalar(select(func.count()).select_from(OrderItem)) or 0,
        db.scalar(select(func.count()).select_from(OrderItemUnit)) or 0,
    )


def test_a_worker_killed_mid_sync_is_retried_and_the_import_completes_exactly(
    queued_client: TestClient,
    db: Session,
    big_sandbox: SandboxHandle,
    queue_settings: Settings,
    workers: Workers,
) -> None:
    with httpx.Client(base_url=big_sandbox.url, timeout=10.0) as control:
        control.post("/control/reset").raise_for_status()
        control.post("/control/faults", json={"latency_ms": 40}).raise_for_status()
        expected = sandbox_counts(control, "sandbox-key-1")
        vendor = connect_vendor(
            db, code="bigshop", endpoint=big_sandbox.graphql_url, api_key="sandbox-key-1"
        )
        admin = admin_headers(queued_client, db)
        env = {
            "ORDERGATE_LETZSHOP_PAGE_SIZE": "5",
            "ORDERGATE_JOBS_STALLED_SECONDS": str(STALLED_SECONDS),
        }
        doomed = workers.start("--concurrency", "1", **env)
        queued = queued_client.post(
            f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync",
            headers=admin,
            json={"state": "all"},
        )
        assert queued.status_code == 202, queued.text
        run_id = queued.json()["run_id"]
        wait_for(lambda: _runs(db, vendor.id)[0].pages_done >= 3, timeout=60, every=0.02)
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
        killed = _runs(db, vendor.id)[0]
        assert (killed.id, killed.status) == (run_id, "running")
        assert 0 < _counts(db)[0] < expected[0]

        workers.start("--concurrency", "1", **env)
        time.sleep(STALLED_SECONDS + 1)  # the dead worker's heartbeat is now stale
        app = build_app(queue_settings.model_copy(update={"jobs_stalled_seconds": 5.0}))

        async def retry() -> list[int]:
            async with app.open_async():
                return await retry_stalled(app, seconds_since_heartbeat=STALLED_SECONDS)

        # In a thread of its own: a browser test's Playwright may hold this thread's event loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            assert len(pool.submit(asyncio.run, retry()).result()) == 1

        def finished() -> list[SyncRun] | None:
            runs = _runs(db, vendor.id)
            return runs if len(runs) == 2 and runs[1].status == "succeeded" else None

        first, second = wait_for(finished, timeout=120, every=0.2)
        assert (first.status, first.error) == ("abandoned", RETRIED_ERROR)
        assert first.finished_at is not None
        assert first.finished_at <= second.started_at
        assert second.job_id == first.job_id
        assert second.trigger == "api"
        assert _counts(db) == expected
        # Nothing read twice: the new run went on from the dead run's cursor.
        assert first.orders_created + second.orders_created == expected[0]
        control.post("/control/reset").raise_for_status()


def test_the_worker_app_retries_stalled_jobs_and_queues_due_syncs_every_minute(
    queue_settings: Settings,
) -> None:
    app = build_app(queue_settings)
    periodic = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    assert periodic == {
        RETRY_STALLED_JOBS: "* * * * *",
        "ordergate.queue_due_syncs": "* * * * *",
        "ordergate.deliver_webhooks": "* * * * *",
    }
    assert app.tasks[RETRY_STALLED_JOBS].lock is None  # the sweeper runs without a lock
