"""Revocable tokens: every token carries its user's token version, refused once it is raised."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.auth.models import User
from ordergate.db import utcnow
from tests.conftest import PASSWORD, TEST_SECRET
from tests.factories import admin_headers, login, make_user, make_vendor, staff_headers

NEW_PASSWORD = "quiet-lantern-orchard-7"
ME = "/api/v1/me"


def _user(db: Session, email: str) -> User:
    db.rollback()  # a fresh snapshot: the app committed since
    user = db.scalar(select(User).where(User.email == email))
    assert user is not None
    return user


def _assert_revoked(client: TestClient, headers: dict[str, str]) -> None:
    response = client.get(ME, headers=headers)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_a_token_carries_the_users_token_version(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    claims = jwt.decode(headers["Authorization"][7:], TEST_SECRET, algorithms=["HS256"])
    assert claims["ver"] == 0
    assert client.get(ME, headers=headers).status_code == 200


def test_password_change_refuses_older_tokens(client: TestClient, db: Session) -> None:
    _, old = staff_headers(client, db)
    other_device = login(client, "staff@shop1.test")
    response = client.post(
        "/api/v1/me/password",
        headers=old,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 200, response.text
    fresh = {"Authorization": f"Bearer {response.json()['access_token']}"}
    _assert_revoked(client, old)
    _assert_revoked(client, other_device)
    assert client.get(ME, headers=fresh).json()["vendor"]["vendor_code"] == "shop1"
    assert _user(db, "staff@shop1.test").token_version == 1
    login(client, "staff@shop1.test", password=NEW_PASSWORD)


def test_logout_everywhere_refuses_every_earlier_token(client: TestClient, db: Session) -> None:
    _, first = staff_headers(client, db)
    second = login(client, "staff@shop1.test")
    assert client.post("/api/v1/me/logout-all", headers=first).status_code == 204
    _assert_revoked(client, first)
    _assert_revoked(client, second)
    assert client.get(ME, headers=login(client, "staff@shop1.test")).status_code == 200


def test_admin_password_reset_refuses_older_tokens(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    _, staff = staff_headers(client, db)
    user_id = _user(db, "staff@shop1.test").id
    response = client.post(
        f"/api/v1/admin/users/{user_id}/password",
        headers=admin,
        json={"new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204, response.text
    _assert_revoked(client, staff)
    login(client, "staff@shop1.test", password=NEW_PASSWORD)


def test_deactivation_refuses_older_tokens_even_after_reactivation(
    client: TestClient, db: Session
) -> None:
    admin = admin_headers(client, db)
    _, staff = staff_headers(client, db)
    user_id = _user(db, "staff@shop1.test").id
    url = f"/api/v1/admin/users/{user_id}"
    assert client.patch(url, headers=admin, json={"is_active": False}).status_code == 200
    _assert_revoked(client, staff)
    assert client.patch(url, headers=admin, json={"is_active": True}).status_code == 200
    _assert_revoked(client, staff)
    assert client.get(ME, headers=login(client, "staff@shop1.test")).status_code == 200


def test_membership_removal_refuses_every_token_of_that_user(
    client: TestClient, db: Session
) -> None:
    admin = admin_headers(client, db)
    vendor, _ = staff_headers(client, db)
    make_vendor(db, code="shop2")
    make_user(db, email="both@example.test", vendors=["shop1", "shop2"])
    db.commit()
    shop2_token = login(client, "both@example.test", vendor_code="shop2")
    user_id = _user(db, "both@example.test").id
    removed = client.delete(f"/api/v1/admin/users/{user_id}/memberships/{vendor.id}", headers=admin)
    assert removed.status_code == 204, removed.text
    _assert_revoked(client, shop2_token)


def test_role_change_refuses_older_tokens(client: TestClient, db: Session) -> None:
    make_vendor(db, code="shop1")
    make_user(db, email="owner@shop1.test", vendors=["shop1"])
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    db.commit()
    owner = login(client, "owner@shop1.test")
    staff = login(client, "staff@shop1.test")
    user_id = _user(db, "staff@shop1.test").id
    changed = client.patch(
        f"/api/v1/vendor/members/{user_id}", headers=owner, json={"role": "owner"}
    )
    assert changed.status_code == 200, changed.text
    _assert_revoked(client, staff)
    assert client.get(ME, headers=owner).status_code == 200


def _forged(**claims: Any) -> dict[str, str]:
    payload = {"sub": "1", "vendor_id": None, "ver": 0, "exp": utcnow() + timedelta(minutes=5)}
    payload.update(claims)
    payload = {key: value for key, value in payload.items() if value is not ...}
    return {"Authorization": f"Bearer {jwt.encode(payload, TEST_SECRET, algorithm='HS256')}"}


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": str(2**70)},
        {"sub": str(2**31)},
        {"sub": "0"},
        {"sub": "-1"},
        {"sub": "1.5"},
        {"sub": "abc"},
        {"sub": 1},
        {"vendor_id": 2**70},
        {"vendor_id": "1"},
        {"vendor_id": True},
        {"ver": ...},
        {"ver": "0"},
        {"ver": 2**70},
    ],
    ids=repr,
)
def test_a_validly_signed_token_with_malformed_claims_is_401(
    client: TestClient, db: Session, claims: dict[str, Any]
) -> None:
    make_vendor(db, code="shop1")
    make_user(db, email="a@example.test", is_admin=True, vendors=["shop1"])
    db.commit()
    assert client.get(ME, headers=_forged()).status_code == 200
    response = client.get(ME, headers=_forged(**claims))
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"
