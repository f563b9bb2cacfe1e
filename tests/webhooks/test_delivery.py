"""Sending the outbox to a real receiver on 127.0.0.1: signatures, retries, refused targets."""

from __future__ import annotations

import json
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.webhooks import outbox
from ordergate.webhooks.delivery import deliver_due
from ordergate.webhooks.models import WebhookDelivery
from ordergate.webhooks.signing import verify
from tests.webhooks.conftest import SECRET, Owner, Receiver, deliveries, set_webhook

PING = "/api/v1/vendor/webhooks/ping"


def _deliver(app: FastAPI, settings: Settings | None = None) -> tuple[int, int, int]:
    report = deliver_due(
        app.state.session_factory,
        settings=settings or app.state.settings,
        box=app.state.secret_box,
    )
    return report.delivered, report.retrying, report.failed


def _record_event(db: Session, vendor_id: int) -> int:
    delivery_id = outbox.record_sync_exceptions(
        db, vendor_id=vendor_id, counts={"sync_run_id": 1}, exception_ids=[7, 8]
    )
    db.commit()
    assert delivery_id is not None
    return delivery_id


def _make_due(db: Session) -> None:
    db.execute(update(WebhookDelivery).values(next_attempt_at=utcnow() - timedelta(seconds=1)))
    db.commit()


def test_a_ping_is_signed_with_the_secret(
    client: TestClient, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    response = client.post(PING, headers=owner.headers)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert (answer["event"], answer["status"], answer["attempts"]) == ("ping", "delivered", 1)
    assert answer["last_status_code"] == 200
    (received,) = receiver.requests
    assert received.path == "/hooks/ordergate"
    body = json.loads(received.body)
    assert body["id"] == answer["id"]
    assert body["event"] == "ping"
    assert body["vendor_id"] == owner.vendor.id
    assert received.headers["X-Ordergate-Delivery"] == str(answer["id"])
    assert received.headers["X-Ordergate-Event"] == "ping"
    signature = received.headers["X-Ordergate-Signature"]
    assert verify(SECRET, signature, received.body)
    assert not verify(SECRET + "x", signature, received.body)
    assert not verify(SECRET, signature, received.body + b" ")


def test_a_ping_without_a_webhook_is_404(client: TestClient, db: Session, owner: Owner) -> None:
    response = client.post(PING, headers=owner.headers)
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "WEBHOOK_NOT_CONFIGURED"
    assert deliveries(db) == []


def test_a_500_is_retried_after_the_backoff_then_delivered_once(
    app: FastAPI, client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    _record_event(db, owner.vendor.id)
    receiver.statuses = [500]
    assert _deliver(app) == (0, 1, 0)
    (row,) = deliveries(db)
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
    assert row.last_attempt_at is not None
    base = app.state.settings.webhook_retry_base_seconds
    waited = row.next_attempt_at - row.last_attempt_at
    assert timedelta(seconds=base) <= waited < timedelta(seconds=base + 5)
    assert _deliver(app) == (0, 0, 0)  # not due yet
    assert len(receiver.requests) == 1
    _make_due(db)
    assert _deliver(app) == (1, 0, 0)
    _make_due(db)
    assert _deliver(app) == (0, 0, 0)  # delivered: never sent again
    first, second = receiver.requests
    assert first.body == second.body
    assert first.headers["X-Ordergate-Delivery"] == second.headers["X-Ordergate-Delivery"]
    (row,) = deliveries(db)
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 2, 200)
    assert row.delivered_at is not None
    assert row.last_error is None
    log = client.get("/api/v1/vendor/webhooks/deliveries", headers=owner.staff_headers).json()
    assert [(d["id"], d["status"], d["attempts"]) for d in log["deliveries"]] == [
        (row.id, "delivered", 2)
    ]


def test_the_last_attempt_failing_fails_the_delivery(
    app: FastAPI, client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    _record_event(db, owner.vendor.id)
    receiver.statuses = [503]
    one_attempt = app.state.settings.model_copy(update={"webhook_max_attempts": 1})
    assert _deliver(app, one_attempt) == (0, 0, 1)
    (row,) = deliveries(db)
    assert (row.status, row.last_status_code, row.last_error) == ("failed", 503, "HTTP 503")
    _make_due(db)
    assert _deliver(app) == (0, 0, 0)
    assert len(receiver.requests) == 1


def test_a_target_no_longer_allowed_is_never_contacted(
    app: FastAPI, client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    _record_event(db, owner.vendor.id)
    loopback_refused = app.state.settings.model_copy(update={"webhook_allowed_networks": []})
    assert _deliver(app, loopback_refused) == (0, 0, 1)
    assert receiver.requests == []
    (row,) = deliveries(db)
    assert row.status == "failed"
    assert row.attempts == 1
    assert row.last_error is not None
    assert row.last_error.startswith("refused target")
    assert "127.0.0.1" in row.last_error


def test_a_private_network_target_is_never_contacted(
    app: FastAPI, db: Session, owner: Owner, receiver: Receiver
) -> None:
    from ordergate.scope import VendorScope
    from ordergate.webhooks.service import set_webhook as store

    private = app.state.settings.model_copy(update={"webhook_allowed_networks": ["10.0.0.0/8"]})
    scope = VendorScope(actor_user_id=None, vendor_id=owner.vendor.id, is_admin=True)
    box = app.state.secret_box
    store(db, scope=scope, box=box, settings=private, url="http://10.0.0.1/h", secret=SECRET)
    db.commit()
    _record_event(db, owner.vendor.id)
    assert _deliver(app) == (0, 0, 1)  # the app's settings admit 127.0.0.1 only
    (row,) = deliveries(db)
    assert row.last_status_code is None
    assert row.last_error is not None
    assert "10.0.0.1" in row.last_error


def test_a_cleared_webhook_fails_its_pending_deliveries(
    app: FastAPI, client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    _record_event(db, owner.vendor.id)
    assert client.delete("/api/v1/vendor/webhooks/config", headers=owner.headers).status_code == 204
    assert _deliver(app) == (0, 0, 1)
    assert receiver.requests == []
    (row,) = deliveries(db)
    assert row.last_error == "the vendor has no webhook any more"
