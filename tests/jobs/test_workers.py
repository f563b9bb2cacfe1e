"""Several workers and vendors: a vendor's syncs never overlap (procrastinate's per-vendor lock),
scheduled syncs of 20 vendors run exactly once per period under two workers, and a worker
killed mid-sync (`kill -9`) loses nothing: after the stalled-job retry another worker finishes
the import from the dead run's cursor, with exactly the sandbox's counts."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, NamedTuple

import httpx
import procrastinate
import pytest
from fastapi.testclient import TestClient
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.jobs.queue import ProcrastinateSyncQueue, build_app
from ordergate.jobs.tasks import QUEUE_DUE_SYNCS, RETRY_STALLED_JOBS, retry_stalled
from ordergate.letzshop.errors import SyncAlreadyQueuedError
from ordergate.letzshop.models import SyncRun
from ordergate.letzshop.queueing import queue_due_syncs
from ordergate.letzshop.runs import RETRIED_ERROR
from ordergate.orders.models import Order, OrderItem, OrderItemUnit
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from ordergate.sandbox.generator import generate_shipments
from ordergate.sandbox.state import shipment_state
from ordergate.security import SecretBox
from tests.conftest import TEST_SECRET
from tests.factories import admin_headers
from tests.jobs.conftest import Workers, connect_vendor, sandbox_counts, wait_for

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


# --- scheduled syncs: 20 vendors, two workers, periods --------------------------------------
#
# Periods are driven without waiting a minute each: when every run of a period has ended, the
# test moves every run's timestamps back by the interval (as if a minute had passed: due-ness
# reads the latest run's started_at), then ticks by deferring the real periodic task
# `ordergate.queue_due_syncs`, which the workers run. Ticks come every 0.2 s during a period
# and after it, and the workers' own minute cron may tick too: exactly one scheduled run per
# vendor per period however many ticks. The intervals are compared in real time (each period's
# timestamps are read before they are moved).

MANY = 20
MANY_SHIPMENTS = 6
ADDED = 2  # new unconfirmed shipments per vendor before each later period
PERIODS = 3
INTERVAL_MINUTES = 1  # the smallest sync_interval_minutes


@pytest.fixture(scope="module")
def many_sandbox() -> Iterator[SandboxHandle]:
    keys = {f"many-{i}": (f"mv-{i}",) for i in range(MANY)}
    state = SandboxState(seed=33, shipments_per_vendor=MANY_SHIPMENTS, api_keys=keys)
    handle = run_in_thread(state)
    yield handle
    handle.stop()


@pytest.fixture
def many_control(many_sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=many_sandbox.url, timeout=10.0) as http:
        http.post("/control/reset").raise_for_status()
        yield http
        http.post("/control/reset").raise_for_status()


@pytest.fixture
def jobs_app(queue_settings: Settings) -> Iterator[procrastinate.App]:
    app = build_app(queue_settings)
    app.open()
    yield app
    app.close()


def _all_runs(db: Session) -> list[SyncRun]:
    db.rollback()
    return list(db.scalars(select(SyncRun).order_by(SyncRun.id)))


class Seen(NamedTuple):
    """A run as read at the end of its period, before the clock moves its timestamps."""

    id: int
    vendor_id: int
    trigger: str
    status: str
    orders_created: int
    started_at: datetime
    finished_at: datetime | None


def _seen(runs: list[SyncRun]) -> list[Seen]:
    return [
        Seen(r.id, r.vendor_id, r.trigger, r.status, r.orders_created, r.started_at, r.finished_at)
        for r in runs
    ]


def _new_unconfirmed(period: int, vendor: int) -> list[dict[str, Any]]:
    generated = generate_shipments(33, 12, id_prefix=f"p{period}v{vendor}")
    found = [s for s in generated if shipment_state(s) == "unconfirmed"][:ADDED]
    assert len(found) == ADDED
    return found


def _tick(app: procrastinate.App) -> None:
    """Defer the periodic due-sync task, as procrastinate's scheduler does every minute."""
    with contextlib.suppress(AlreadyEnqueued):  # a tick already waits
        app.configure_task(QUEUE_DUE_SYNCS).defer(timestamp=int(time.time()))


def _ticks_pending(db: Session) -> int:
    db.rollback()
    return db.scalar(
        text(
            "SELECT count(*) FROM procrastinate_jobs WHERE task_name = :name "
            "AND status IN ('todo', 'doing')"
        ),
        {"name": QUEUE_DUE_SYNCS},
    )


def _advance_clock(db: Session) -> None:
    """An interval passes: every run, all ended, moved back by it."""
    db.execute(
        text(
            "UPDATE sync_runs SET queued_at = queued_at - make_interval(mins => :m), "
            "started_at = started_at - make_interval(mins => :m), "
            "finished_at = finished_at - make_interval(mins => :m), "
            "heartbeat_at = heartbeat_at - make_interval(mins => :m)"
        ),
        {"m": INTERVAL_MINUTES},
    )
    db.commit()


def _press(
    client: TestClient, admin: dict[str, str], runs: list[SyncRun], pressed: set[int]
) -> None:
    """An API sync of each vendor whose scheduled run has left the queue: accepted (202), it
    waits for the vendor's lock."""
    for run in runs:
        if run.trigger == "schedule" and run.status != "queued" and run.vendor_id not in pressed:
            answer = client.post(
                f"/api/v1/admin/letzshop/vendors/{run.vendor_id}/sync", headers=admin
            )
            assert answer.status_code == 202, answer.text
            pressed.add(run.vendor_id)


def _run_period(
    db: Session,
    client: TestClient,
    admin: dict[str, str],
    app: procrastinate.App | None,
    after: int,
) -> list[Seen]:
    """Tick (unless ``app`` is None: queued already) and press until each vendor's scheduled
    and API runs of the period have ended; more ticks after; the period's runs."""
    pressed: set[int] = set()

    def ended() -> list[SyncRun] | None:
        if app is not None:
            _tick(app)
        runs = [r for r in _all_runs(db) if r.id > after]
        before = len(pressed)
        _press(client, admin, runs, pressed)
        # A run pressed now is not in ``runs``: only a read after the last press can end it.
        live = len(pressed) > before or any(r.status in ("queued", "running") for r in runs)
        return runs if len(pressed) == MANY and not live else None

    wait_for(ended, timeout=60, every=0.2)
    if app is not None:
        for _ in range(3):
            _tick(app)
            time.sleep(0.2)
    wait_for(lambda: _ticks_pending(db) == 0, timeout=30, every=0.1)
    return _seen([r for r in _all_runs(db) if r.id > after])


def _vendor_counts(db: Session, vendor_id: int) -> tuple[int, int, int]:
    db.rollback()
    items = select(OrderItem.id).where(OrderItem.vendor_id == vendor_id)
    return (
        db.scalar(select(func.count()).where(Order.vendor_id == vendor_id)) or 0,
        db.scalar(select(func.count()).where(OrderItem.vendor_id == vendor_id)) or 0,
        db.scalar(select(func.count()).where(OrderItemUnit.order_item_id.in_(items))) or 0,
    )


def test_two_workers_run_every_due_sync_of_20_vendors_once_per_period(
    queued_client: TestClient,
    db: Session,
    many_sandbox: SandboxHandle,
    many_control: httpx.Client,
    queue_settings: Settings,
    jobs_app: procrastinate.App,
    workers: Workers,
) -> None:
    keys = [f"many-{i}" for i in range(MANY)]
    vendors = [
        connect_vendor(
            db,
            code=f"many{i}",
            endpoint=many_sandbox.graphql_url,
            api_key=key,
            sync_interval_minutes=INTERVAL_MINUTES,
        ).id
        for i, key in enumerate(keys)
    ]
    admin = admin_headers(queued_client, db)
    factory = queued_client.app.state.session_factory  # type: ignore[attr-defined]
    queue = ProcrastinateSyncQueue(jobs_app, owns_app=False)
    added = {
        v: [sandbox_counts(many_control, k, state="unconfirmed")[0]]
        for v, k in zip(vendors, keys, strict=True)
    }

    # Period 1, before any worker: the periodic task's service queues every vendor once.
    box = SecretBox(TEST_SECRET)
    first = queue_due_syncs(factory, queue=queue, box=box, now=utcnow())
    assert len(first) == MANY
    assert queue_due_syncs(factory, queue=queue, box=box, now=utcnow()) == []
    _assert_second_defers_refused(
        queued_client, db, admin, queue, dict(zip(vendors, first, strict=True))
    )

    for _ in range(2):
        workers.start("--concurrency", "2")
    periods = [_run_period(db, queued_client, admin, None, after=0)]
    for period in range(2, PERIODS + 1):
        for vendor_id, key in zip(vendors, keys, strict=True):
            shipments = _new_unconfirmed(period, vendor_id)
            many_control.post(
                "/control/shipments", json={"api_key": key, "shipments": shipments}
            ).raise_for_status()
            added[vendor_id].append(ADDED)
        last_id = periods[-1][-1].id
        _advance_clock(db)
        periods.append(_run_period(db, queued_client, admin, jobs_app, after=last_id))

    for vendor_id, key in zip(vendors, keys, strict=True):
        _assert_once_per_period(periods, vendor_id, added[vendor_id])
        _assert_no_overlap([r for runs in periods for r in runs if r.vendor_id == vendor_id])
        assert _vendor_counts(db, vendor_id) == sandbox_counts(
            many_control, key, state="unconfirmed"
        )


def _assert_second_defers_refused(
    client: TestClient,
    db: Session,
    admin: dict[str, str],
    queue: ProcrastinateSyncQueue,
    waiting: dict[int, int],
) -> None:
    """While each vendor's run waits: 409 by the API, AlreadyEnqueued by procrastinate; nothing
    written."""
    runs_before = [(r.id, r.status) for r in _all_runs(db)]
    jobs_before = db.execute(
        text("SELECT id, status, queueing_lock FROM procrastinate_jobs ORDER BY id")
    ).all()
    for vendor_id, run_id in waiting.items():
        answer = client.post(f"/api/v1/admin/letzshop/vendors/{vendor_id}/sync", headers=admin)
        assert answer.status_code == 409, answer.text
        assert answer.json()["error"]["code"] == "SYNC_ALREADY_QUEUED"
        assert answer.json()["error"]["details"]["run_id"] == run_id
        with pytest.raises(SyncAlreadyQueuedError) as refused:
            queue.defer_sync(vendor_id=vendor_id, run_id=run_id, trigger="schedule")
        assert isinstance(refused.value.__cause__, AlreadyEnqueued)
    assert [(r.id, r.status) for r in _all_runs(db)] == runs_before
    assert (
        db.execute(
            text("SELECT id, status, queueing_lock FROM procrastinate_jobs ORDER BY id")
        ).all()
        == jobs_before
    )


def _assert_once_per_period(periods: list[list[Seen]], vendor_id: int, added: list[int]) -> None:
    """One scheduled run per period, importing what the sandbox added; one API run, nothing new."""
    for number, (runs, new) in enumerate(zip(periods, added, strict=True), start=1):
        mine = [r for r in runs if r.vendor_id == vendor_id]
        scheduled = [(r.status, r.orders_created) for r in mine if r.trigger == "schedule"]
        by_api = [(r.status, r.orders_created) for r in mine if r.trigger == "api"]
        assert scheduled == [("succeeded", new)], (vendor_id, number, scheduled)
        assert by_api == [("succeeded", 0)], (vendor_id, number, by_api)


def _assert_no_overlap(runs: list[Seen]) -> None:
    ordered = sorted(runs, key=lambda r: r.started_at)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        assert earlier.finished_at is not None
        assert earlier.finished_at <= later.started_at, (earlier.id, later.id)


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
        "ordergate.sweep_exceptions": "0 3 * * *",
    }
    assert app.tasks[RETRY_STALLED_JOBS].lock is None  # the sweeper runs without a lock
