"""Hostile and malformed input gets a clear 4xx, never a 500, and changes nothing."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.vendors.models import Vendor
from tests.factories import admin_headers, vendor_headers

HUGE = 10**20


@pytest.mark.parametrize(
    "path",
    [
        f"/api/v1/vendor/orders/{HUGE}",
        f"/api/v1/vendor/order-exceptions/{HUGE}",
        f"/api/v1/vendor/order-exceptions?skip={HUGE}",
        f"/api/v1/vendor/letzshop/orders/{HUGE}/confirm",
    ],
)
def test_out_of_range_ids_are_4xx(client: TestClient, db: Session, path: str) -> None:
    _, headers = vendor_headers(client, db)
    method = client.post if path.endswith("/confirm") else client.get
    response = method(path, headers=headers)
    assert response.status_code in (404, 422), response.text
    assert response.json()["error"]["code"] in (
        "VALUE_OUT_OF_RANGE",
        "VALIDATION_ERROR",
        "ORDER_NOT_FOUND",
    )


def test_out_of_range_body_value_is_4xx_and_writes_nothing(client: TestClient, db: Session) -> None:
    _, headers = vendor_headers(client, db)
    response = client.post(
        "/api/v1/vendor/order-exceptions/1/resolve", headers=headers, json={"product_id": HUGE}
    )
    assert 400 <= response.status_code < 500, response.text


def test_malformed_json_is_422(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.post(
        "/api/v1/admin/vendors",
        headers={**headers, "content-type": "application/json"},
        content=b"{not json",
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert db.scalar(select(func.count()).select_from(Vendor)) == 0


def test_overlong_vendor_name_is_422(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.post(
        "/api/v1/admin/vendors", headers=headers, json={"code": "xy", "name": "n" * 300}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.name"


@pytest.mark.parametrize(
    "term", ['"', "'", "%", "_", "a*b", "NEAR(x y)", "))", "ab\x00cd", "é" * 300]
)
def test_search_terms_never_break_the_query(client: TestClient, db: Session, term: str) -> None:
    _, headers = vendor_headers(client, db)
    for path in (
        "/api/v1/vendor/order-exceptions",
        "/api/v1/vendor/orders",
        "/api/v1/vendor/products",
    ):
        response = client.get(path, headers=headers, params={"search": term})
        assert response.status_code in (200, 422), (path, response.text)
