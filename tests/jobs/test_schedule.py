"""Scheduled syncs on the queue: the periodic task queues each due vendor once, and a real
worker runs the schedule by itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.jobs.queue import ProcrastinateSyncQueue, build_app
from ordergate.letzshop.models import SyncRun
from ordergate.letzshop.queueing import queue_due_syncs
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from ordergate.security import SecretBox
from tests.conftest import TEST_SECRET
from tests.jobs.conftest import Workers, connect_vendor, wait_for

SHIPMENTS = 10


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=41, shipments_per_vendor=SHIPMENTS))
    yield handle
    handle.stop()


def _scheduled(db: Session, code: str, endpoint: str, interval: int | None) -> int:
    vendor = connect_vendor(
        db, code=code, endpoint=endpoint, api_key="sandbox-key-1", sync_interval_minutes=interval
    )
    return vendor.id


def test_due_syncs_are_queued_once_each(
    queued_client: TestClient, db: Session, sandbox: SandboxHandle, queue_settings: Settings
) -> None:
    due = _scheduled(db, "due", sandbox.graphql_url, 10)
    recent = _scheduled(db, "recent", sandbox.graphql_url, 10)
    _scheduled(db, "off", sandbox.graphql_url, None)
    db.add(
        SyncRun(
            vendor_id=recent,
            trigger="api",
            state_filter="unconfirmed",
            status="succeeded",
            started_at=utcnow() - timedelta(minutes=2),
            failures=[],
        )
    )
    db.commit()
    queue = ProcrastinateSyncQueue(build_app(queue_settings))
    box = SecretBox(TEST_SECRET)
    factory = queued_client.app.state.session_factory  # type: ignore[attr-defined]
    try:
        first = queue_due_syncs(factory, queue=queue, box=box, now=utcnow())
        again = queue_due_syncs(factory, queue=queue, box=box, now=utcnow())
    finally:
        queue.close()

    db.rollback()
    queued = db.scalars(select(SyncRun).where(SyncRun.status == "queued")).all()
    assert [(r.id, r.vendor_id, r.trigger) for r in queued] == [(first[0], due, "schedule")]
    assert again == []
    jobs = db.execute(text("SELECT task_name, lock FROM procrastinate_jobs")).all()
    assert [tuple(j) for j in jobs] == [("ordergate.sync_vendor", f"letzshop-sync-vendor-{due}")]


def test_a_worker_runs_the_schedule_by_itself(
    queued_client: TestClient,
    db: Session,
    sandbox: SandboxHandle,
    control: httpx.Client,
    workers: Workers,
) -> None:
    listed = control.get("/control/shipments", params={"api_key": "sandbox-key-1"}).json()
    unconfirmed = [s for s in listed["shipments"] if s["shipment"]["state"] == "unconfirmed"]
    vendor_id = _scheduled(db, "every-minute", sandbox.graphql_url, 1)
    workers.start("--concurrency", "1")

    def scheduled_run() -> SyncRun | None:
        db.rollback()
        run = db.scalars(select(SyncRun).where(SyncRun.vendor_id == vendor_id)).first()
        return run if run is not None and run.status == "succeeded" else None

    # The periodic task fires at the next minute boundary.
    run = wait_for(scheduled_run, timeout=100, every=0.5)
    assert (run.trigger, run.state_filter) == ("schedule", "unconfirmed")
    assert run.shipments_seen == len(unconfirmed) > 0
