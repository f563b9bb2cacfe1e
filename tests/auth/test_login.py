from __future__ import annotations

import jwt
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.auth.models import User
from tests.conftest import PASSWORD, TEST_SECRET
from tests.factories import admin_headers, login, make_user, make_vendor


def test_login_returns_a_bearer_token(client: TestClient, db: Session) -> None:
    make_user(db, email="a@example.test", is_admin=True)
    db.commit()
    response = client.post(
        "/api/v1/auth/login", json={"email": "A@Example.test", "password": PASSWORD}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 480 * 60
    claims = jwt.decode(body["access_token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["vendor_id"] is None


def test_wrong_password_and_unknown_email_look_the_same(client: TestClient, db: Session) -> None:
    make_user(db, email="a@example.test")
    db.commit()
    wrong = client.post("/api/v1/auth/login", json={"email": "a@example.test", "password": "nope"})
    unknown = client.post(
        "/api/v1/auth/login", json={"email": "b@example.test", "password": "nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_inactive_user_cannot_log_in(client: TestClient, db: Session) -> None:
    user = make_user(db, email="a@example.test")
    user.is_active = False
    db.commit()
    response = client.post(
        "/api/v1/auth/login", json={"email": "a@example.test", "password": PASSWORD}
    )
    assert response.status_code == 401


def test_single_vendor_member_gets_that_vendor(client: TestClient, db: Session) -> None:
    vendor = make_vendor(db, code="shop1")
    make_user(db, email="s@example.test", vendors=["shop1"])
    db.commit()
    me = client.get("/api/v1/me", headers=login(client, "s@example.test"))
    assert me.status_code == 200
    assert me.json()["vendor"]["vendor_id"] == vendor.id
    assert me.json()["user"]["email"] == "s@example.test"


def test_multi_vendor_member_must_name_a_vendor(client: TestClient, db: Session) -> None:
    make_vendor(db, code="shop1")
    shop2 = make_vendor(db, code="shop2")
    make_user(db, email="s@example.test", vendors=["shop1", "shop2"])
    db.commit()
    ambiguous = client.post(
        "/api/v1/auth/login", json={"email": "s@example.test", "password": PASSWORD}
    )
    assert ambiguous.status_code == 400
    assert ambiguous.json()["error"]["code"] == "VENDOR_CODE_REQUIRED"
    assert ambiguous.json()["error"]["details"] == {"vendor_codes": ["shop1", "shop2"]}
    headers = login(client, "s@example.test", vendor_code="shop2")
    assert client.get("/api/v1/me", headers=headers).json()["vendor"]["vendor_id"] == shop2.id


def test_naming_a_vendor_you_do_not_belong_to_is_forbidden(client: TestClient, db: Session) -> None:
    make_vendor(db, code="shop1")
    make_vendor(db, code="other")
    make_user(db, email="s@example.test", vendors=["shop1"])
    db.commit()
    response = client.post(
        "/api/v1/auth/login",
        json={"email": "s@example.test", "password": PASSWORD, "vendor_code": "other"},
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    assert "other" in response.json()["error"]["message"]


def test_missing_and_garbage_tokens_are_rejected(client: TestClient) -> None:
    assert client.get("/api/v1/me").status_code == 401
    response = client.get("/api/v1/me", headers={"Authorization": "Bearer garbage"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_token_of_deactivated_user_stops_working(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    user = db.scalar(select(User).where(User.email == "admin@example.test"))
    assert user is not None
    user.is_active = False
    db.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_vendor_user_cannot_reach_admin_routes(client: TestClient, db: Session) -> None:
    make_vendor(db, code="shop1")
    make_user(db, email="s@example.test", vendors=["shop1"])
    db.commit()
    headers = login(client, "s@example.test")
    response = client.get("/api/v1/admin/vendors", headers=headers)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "FORBIDDEN"
    created = client.post("/api/v1/admin/vendors", headers=headers, json={"code": "x", "name": "X"})
    assert created.status_code == 403
    assert db.scalar(select(func.count()).select_from(User)) == 1
