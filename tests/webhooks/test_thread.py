"""Where jobs run inline (SQLite, `make run`), the API process sends deliveries itself, from a
thread started with the app's lifespan."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.webhooks import outbox
from tests.factories import login, staff_headers
from tests.webhooks.conftest import Receiver, deliveries, set_webhook


def test_the_apps_thread_delivers_without_a_worker(
    webhook_settings: Settings, db: Session, receiver: Receiver
) -> None:
    assert not webhook_settings.jobs_queued
    app = create_app(webhook_settings.model_copy(update={"webhook_deliver_interval_seconds": 0.2}))
    try:
        with TestClient(app) as client:
            vendor, _ = staff_headers(client, db, code="threaded")
            owner = login(client, "owner@threaded.test")
            assert set_webhook(client, owner, receiver.url).status_code == 200
            outbox.record_sync_exceptions(
                db, vendor_id=vendor.id, counts={"sync_run_id": 1}, exception_ids=[1]
            )
            db.commit()
            deadline = time.monotonic() + 10
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.1)
        assert len(receiver.requests) == 1
        (row,) = deliveries(db)
        assert (row.status, row.attempts) == ("delivered", 1)
    finally:
        app.state.engine.dispose()
        app.state.read_engine.dispose()
