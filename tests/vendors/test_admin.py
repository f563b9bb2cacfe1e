from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.auth.models import User
from ordergate.vendors.models import Vendor
from tests.factories import admin_headers, login


def test_admin_creates_and_lists_vendors(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    created = client.post(
        "/api/v1/admin/vendors", headers=headers, json={"code": "luxtoys", "name": "Lux Toys"}
    )
    assert created.status_code == 201
    assert created.json()["code"] == "luxtoys"
    listed = client.get("/api/v1/admin/vendors", headers=headers).json()
    assert listed["total"] == 1
    assert [v["code"] for v in listed["vendors"]] == ["luxtoys"]


def test_duplicate_vendor_code_is_a_conflict_and_writes_nothing(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    client.post("/api/v1/admin/vendors", headers=headers, json={"code": "luxtoys", "name": "A"})
    again = client.post(
        "/api/v1/admin/vendors", headers=headers, json={"code": "luxtoys", "name": "B"}
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "VENDOR_CODE_TAKEN"
    assert "luxtoys" in again.json()["error"]["message"]
    names = db.scalars(select(Vendor.name)).all()
    assert names == ["A"]


def test_admin_creates_vendor_user_who_can_log_in(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    client.post("/api/v1/admin/vendors", headers=headers, json={"code": "shop1", "name": "Shop"})
    created = client.post(
        "/api/v1/admin/users",
        headers=headers,
        json={
            "email": "Staff@Shop1.test",
            "password": "correct-horse-battery",
            "vendor_codes": ["shop1"],
            "role": "owner",
        },
    )
    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "staff@shop1.test"
    assert [(m["vendor_code"], m["role"]) for m in body["memberships"]] == [("shop1", "owner")]
    assert "password" not in str(body)
    me = client.get("/api/v1/me", headers=login(client, "staff@shop1.test")).json()
    assert me["vendor"]["vendor_code"] == "shop1"
    listed = client.get("/api/v1/admin/users", headers=headers).json()
    assert listed["total"] == 2


def test_email_is_unique_case_insensitively(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    body = {"email": "ADMIN@example.test", "password": "another-password"}
    response = client.post("/api/v1/admin/users", headers=headers, json=body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "EMAIL_TAKEN"
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_user_for_unknown_vendor_is_404_and_writes_nothing(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    body = {"email": "x@example.test", "password": "long-enough-pw", "vendor_codes": ["ghost"]}
    response = client.post("/api/v1/admin/users", headers=headers, json=body)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "VENDOR_NOT_FOUND"
    assert "ghost" in response.json()["error"]["message"]
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_validation_errors_use_the_envelope(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.post("/api/v1/admin/vendors", headers=headers, json={"code": "", "name": "X"})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"][0]["field"] == "body.code"
    assert "body.code" in error["message"]


def test_pagination_bounds_are_validated(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.get("/api/v1/admin/vendors?limit=201", headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "query.limit"


def test_unknown_route_uses_the_envelope(client: TestClient) -> None:
    response = client.get("/api/v1/nowhere")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_health_reports_the_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_openapi_describes_every_route(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    paths = spec["paths"]
    for path in [
        "/api/v1/auth/login",
        "/api/v1/me",
        "/api/v1/admin/vendors",
        "/api/v1/admin/users",
        "/health",
    ]:
        assert path in paths
    for path, operations in paths.items():
        for method, operation in operations.items():
            assert operation.get("description") or operation.get("summary"), (method, path)
