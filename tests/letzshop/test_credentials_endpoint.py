"""PUT .../letzshop/credentials refuses endpoints the server must not send requests to (the probe
report's F3): 400 ENDPOINT_NOT_ALLOWED naming the field and the reason, and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.letzshop.models import LetzshopCredentials
from tests.factories import Caller, vendor_headers
from tests.letzshop.conftest import KEY, letzshop_path

PROBES = [
    ("http://169.254.169.254/latest/meta-data/", "address"),
    ("http://10.0.0.1/graphql", "address"),
    ("http://[fe80::1]/graphql", "address"),
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", "address"),
    ("http://0.0.0.0:18100/health", "address"),
    ("file:///etc/passwd", "scheme"),
    ("ftp://letzshop.lu/graphql", "scheme"),
    ("http://metadata.google.internal/computeMetadata/v1/", "host"),
    ("http://user:secret@127.0.0.1:18765/graphql", "url"),
    ("not a url", "url"),
]


def stored(db: Session) -> list[tuple[int, str, str, bool]]:
    db.rollback()  # end the read snapshot
    rows = db.scalars(select(LetzshopCredentials).order_by(LetzshopCredentials.vendor_id))
    return [(r.vendor_id, r.endpoint_url, r.api_key_encrypted, r.auto_sync) for r in rows]


def assert_refused(response: Any, reason: str) -> None:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "ENDPOINT_NOT_ALLOWED"
    assert error["details"] == {"field": "endpoint", "reason": reason}
    assert error["message"].startswith("endpoint is not allowed: ")


@pytest.mark.parametrize(("endpoint", "reason"), PROBES)
def test_a_refused_endpoint_stores_nothing(
    client: TestClient, db: Session, caller: Caller, endpoint: str, reason: str
) -> None:
    response = client.put(
        letzshop_path(caller, "/credentials"),
        headers=caller.headers,
        json={"api_key": KEY, "endpoint": endpoint},
    )

    assert_refused(response, reason)
    assert stored(db) == []


@pytest.mark.parametrize(("endpoint", "reason"), PROBES[:3])
def test_a_refused_endpoint_leaves_stored_credentials_unchanged(
    client: TestClient, db: Session, shop: Any, endpoint: str, reason: str
) -> None:
    _, _, vendor_auth = shop
    before = stored(db)

    response = client.put(
        "/api/v1/vendor/letzshop/credentials",
        headers=vendor_auth,
        json={"api_key": "another-key-123456", "endpoint": endpoint, "auto_sync": True},
    )

    assert_refused(response, reason)
    assert stored(db) == before


def test_loopback_is_allowed_outside_production(client: TestClient, db: Session) -> None:
    _, vendor_auth = vendor_headers(client, db, code="luxtoys")

    response = client.put(
        "/api/v1/vendor/letzshop/credentials",
        headers=vendor_auth,
        json={"api_key": KEY, "endpoint": "http://127.0.0.1:1/graphql"},
    )

    assert response.status_code == 200, response.text
    assert response.json()["endpoint"] == "http://127.0.0.1:1/graphql"


@pytest.fixture
def production(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """The app with production rules; ``localhost`` listed so its address is what refuses it."""
    rules = settings.model_copy(
        update={
            "env": "production",
            "letzshop_allowed_hosts": ["letzshop.lu", "localhost", "192.168.50.0/24"],
        }
    )
    app = create_app(rules)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.engine.dispose()


@pytest.mark.parametrize(
    ("endpoint", "reason"),
    [
        ("http://letzshop.lu/graphql", "scheme"),
        ("https://localhost/graphql", "address"),  # resolves to 127.0.0.1
        ("https://127.0.0.1:1/graphql", "address"),
        ("https://10.0.0.1/graphql", "address"),
        ("https://evil.example/graphql", "host"),
    ],
)
def test_production_requires_https_and_public_addresses(
    production: TestClient, db: Session, endpoint: str, reason: str
) -> None:
    _, vendor_auth = vendor_headers(production, db, code="luxtoys")

    response = production.put(
        "/api/v1/vendor/letzshop/credentials",
        headers=vendor_auth,
        json={"api_key": KEY, "endpoint": endpoint},
    )

    assert_refused(response, reason)
    assert stored(db) == []


@pytest.mark.parametrize(
    "endpoint", ["https://letzshop.lu/graphql", "https://192.168.50.7/graphql", None]
)
def test_production_accepts_listed_hosts_and_networks(
    production: TestClient, db: Session, endpoint: str | None
) -> None:
    vendor, vendor_auth = vendor_headers(production, db, code="luxtoys")
    body = {"api_key": KEY} if endpoint is None else {"api_key": KEY, "endpoint": endpoint}

    response = production.put("/api/v1/vendor/letzshop/credentials", headers=vendor_auth, json=body)

    assert response.status_code == 200, response.text
    expected = endpoint or "https://letzshop.lu/graphql"
    assert [(vendor_id, url) for vendor_id, url, _, _ in stored(db)] == [(vendor.id, expected)]
