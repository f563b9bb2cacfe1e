"""An endpoint that is not Letzshop tells nothing about what answered (the probe report's F3 port
oracle): a closed port, the app's own routes, an HTML page, plain JSON and a redirect all give the
same 502 body and the same recorded run error. Production refuses at request time a stored
endpoint that its rules do not allow, and sends nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.letzshop.client import UNAVAILABLE_MESSAGE
from ordergate.letzshop.models import LetzshopCredentials, SyncRun
from ordergate.vendors.models import Vendor
from tests.letzshop.conftest import KEY
from tests.probe_servers import RecordingServer, free_port, recording_server, served_app


@pytest.fixture
def foreign(app: FastAPI) -> Iterator[tuple[str, RecordingServer]]:
    """(the app's own base URL, a recording server): two loopback services that are not Letzshop."""
    with served_app(app) as own, recording_server() as record:
        yield own, record


def sync_with_endpoint(
    client: TestClient, shop: tuple[Vendor, dict[str, str], dict[str, str]], endpoint: str
) -> dict[str, Any]:
    vendor, admin, _ = shop
    put = client.put(
        f"/api/v1/admin/letzshop/vendors/{vendor.id}/credentials",
        headers=admin,
        json={"api_key": KEY, "endpoint": endpoint},
    )
    assert put.status_code == 200, put.text
    response = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin)
    assert response.status_code == 502, response.text
    error: dict[str, Any] = response.json()["error"]
    return error


def test_every_foreign_answer_gives_the_same_error(
    client: TestClient, db: Session, shop: Any, foreign: tuple[str, RecordingServer]
) -> None:
    own, record = foreign
    endpoints = [
        "http://127.0.0.1:1/graphql",  # nothing listens (the report's probe)
        f"http://127.0.0.1:{free_port()}/graphql",  # nor here
        f"{own}/health",  # GET only: 405
        f"{own}/api/v1/auth/login",  # 422 JSON, not GraphQL
        f"{record.url}/html",  # 404 HTML page
        f"{record.url}/json",  # 200 JSON without data
        f"{record.url}/redirect",  # 302
    ]

    errors = [sync_with_endpoint(client, shop, endpoint) for endpoint in endpoints]

    run_ids = [error["details"].pop("run_id") for error in errors]
    assert errors == [errors[0]] * len(endpoints)
    vendor = shop[0]
    assert errors[0] == {
        "code": "LETZSHOP_UNAVAILABLE",
        "message": f"Letzshop request for vendor {vendor.id} failed: {UNAVAILABLE_MESSAGE}",
        "details": {"vendor_id": vendor.id, "orders_created": 0, "orders_updated": 0},
    }
    db.rollback()
    runs = db.scalars(select(SyncRun).where(SyncRun.id.in_(run_ids)))
    assert {(run.status, run.error) for run in runs} == {("failed", UNAVAILABLE_MESSAGE)}
    assert [path for _, path, _ in record.requests] == ["/html", "/json", "/redirect"]


@pytest.fixture
def production(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"env": "production"}))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    app.state.engine.dispose()


def test_a_stored_endpoint_is_checked_again_at_request_time(
    client: TestClient, db: Session, shop: Any, production: TestClient
) -> None:
    vendor, admin, _ = shop
    with recording_server() as record:
        client.put(  # allowed where it was stored (loopback outside production)
            f"/api/v1/admin/letzshop/vendors/{vendor.id}/credentials",
            headers=admin,
            json={"endpoint": f"{record.url}/graphql"},
        ).raise_for_status()

        response = production.post(
            f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin
        )

        assert record.requests == []
    assert response.status_code == 502
    error = response.json()["error"]
    assert (error["code"], error["message"]) == (
        "LETZSHOP_UNAVAILABLE",
        f"Letzshop request for vendor {vendor.id} failed: {UNAVAILABLE_MESSAGE}",
    )


@pytest.mark.parametrize("endpoint", ["ftp://letzshop.lu/graphql", "not a url", "http://[::1"])
def test_an_endpoint_stored_before_validation_answers_502(
    client: TestClient, db: Session, shop: Any, endpoint: str
) -> None:
    vendor, admin, _ = shop
    db.execute(update(LetzshopCredentials).values(endpoint_url=endpoint))  # as an old CLI could
    db.commit()

    response = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin)

    assert response.status_code == 502, response.text
    assert response.json()["error"]["message"].endswith(UNAVAILABLE_MESSAGE)
    db.rollback()
    assert [run.status for run in db.scalars(select(SyncRun))] == ["failed"]
