"""The nightly auto-match sweep on the queue: registered at 03:00 UTC with a queueing lock, and a
real worker running it resolves each vendor's missed matches as the system (cause `sweep`)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.events.models import Event
from ordergate.jobs.queue import build_app
from ordergate.jobs.tasks import PERIODIC_QUEUE, SWEEP_EXCEPTIONS
from ordergate.orders.models import OrderItemException
from tests.factories import make_pending_exception, make_product, make_vendor
from tests.jobs.conftest import Workers, wait_for

GTIN = "4006381333931"
OTHER = "5901234123457"


def test_the_sweep_is_a_nightly_periodic_task_with_a_queueing_lock(
    queue_settings: Settings,
) -> None:
    app = build_app(queue_settings)
    [periodic] = [
        p for p in app.periodic_registry.periodic_tasks.values() if p.task.name == SWEEP_EXCEPTIONS
    ]
    assert (periodic.cron, periodic.periodic_id) == ("0 3 * * *", "nightly-sweep")
    assert periodic.task.queue == PERIODIC_QUEUE
    assert periodic.task.queueing_lock == SWEEP_EXCEPTIONS
    assert periodic.task.lock is None


def test_a_worker_runs_the_sweep_for_every_vendor_with_pending_exceptions(
    queued_client: TestClient, db: Session, queue_settings: Settings, workers: Workers
) -> None:
    swept = []
    for code in ("a", "b"):
        vendor = make_vendor(db, code=code)
        swept.append(make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN))
        make_product(db, vendor_id=vendor.id, gtin=GTIN)
    # No product with its GTIN yet: stays pending, and no event is written for it.
    unmatched = make_pending_exception(db, vendor_id=vendor.id, gtin=OTHER)
    db.commit()
    app = build_app(queue_settings)
    app.open()
    try:
        app.configure_task(SWEEP_EXCEPTIONS).defer(timestamp=0)
    finally:
        app.close()

    workers.start("--concurrency", "1", "--queues", PERIODIC_QUEUE)

    def resolved() -> list[OrderItemException] | None:
        db.rollback()
        rows = db.scalars(select(OrderItemException).order_by(OrderItemException.id)).all()
        return rows if rows[0].status == rows[1].status == "resolved" else None

    rows = wait_for(resolved)
    assert [(r.id, r.status) for r in rows] == [
        (swept[0].id, "resolved"),
        (swept[1].id, "resolved"),
        (unmatched.id, "pending"),
    ]
    events = db.scalars(select(Event).where(Event.action == "auto_matched").order_by(Event.id))
    assert [(e.subject_id, e.actor_user_id, e.after["cause"]) for e in events] == [
        (swept[0].id, None, "sweep"),
        (swept[1].id, None, "sweep"),
    ]
