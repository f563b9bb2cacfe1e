"""Webhook tests: the app with 127.0.0.1 allowed as a receiver (and its delivery thread off, so
each test sends exactly when it calls deliver_due), and a real HTTP receiver on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.vendors.models import Vendor
from ordergate.webhooks.models import WebhookDelivery
from tests.factories import login, staff_headers
from tests.letzshop.conftest import put_shipments, sandbox, shop  # noqa: F401 (fixtures)

SECRET = "whsec-test-0123456789abcdef"


@pytest.fixture(scope="session")
def webhook_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"webhook_allowed_networks": ["127.0.0.1/32"], "webhook_deliver_interval_seconds": 0}
    )


@pytest.fixture(scope="session")
def app(webhook_settings: Settings) -> FastAPI:
    return create_app(webhook_settings)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Records every request; answers the next status of `statuses` (then 200)."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, received: Received) -> int:
        with self.lock:
            self.requests.append(received)
            return self.statuses.pop(0) if self.statuses else 200


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's spelling)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            status = receiver.record(Received(self.path, dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(found))
    found.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/ordergate"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


@dataclass(frozen=True)
class Owner:
    vendor: Vendor
    headers: dict[str, str]
    staff_headers: dict[str, str]


@pytest.fixture
def owner(client: TestClient, db: Session) -> Owner:
    """A vendor with an owner (logged in) and a staff member."""
    vendor, staff = staff_headers(client, db, code="hooks")
    return Owner(vendor, login(client, "owner@hooks.test"), staff)


def set_webhook(client: TestClient, headers: dict[str, str], url: str) -> Any:
    return client.put(
        "/api/v1/vendor/webhooks/config", headers=headers, json={"url": url, "secret": SECRET}
    )


def deliveries(db: Session, **where: Any) -> list[WebhookDelivery]:
    """The outbox as committed (ends the read transaction)."""
    db.rollback()
    db.expire_all()  # the rows as committed, not as this session last saw them
    statement = select(WebhookDelivery).filter_by(**where).order_by(WebhookDelivery.id)
    rows = list(db.scalars(statement))
    db.commit()
    return rows
