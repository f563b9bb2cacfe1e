"""Admin account management: deactivate/reactivate, reset a password, memberships."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ordergate.auth.models import User
from tests.auth.test_roles import snapshot
from tests.conftest import PASSWORD
from tests.factories import admin_headers, login, make_user, make_vendor, staff_headers

USERS = "/api/v1/admin/users"


def _admin_id(db: Session) -> int:
    user_id = db.scalar(select(User.id).where(User.email == "admin@example.test"))
    assert user_id is not None
    return user_id


def test_deactivated_users_cannot_log_in_until_reactivated(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    user = make_user(db, email="s@example.test", is_admin=True)
    db.commit()
    off = client.patch(f"{USERS}/{user.id}", headers=admin, json={"is_active": False})
    assert off.status_code == 200, off.text
    assert off.json()["is_active"] is False
    body = {"email": "s@example.test", "password": PASSWORD}
    assert client.post("/api/v1/auth/login", json=body).status_code == 401
    client.patch(f"{USERS}/{user.id}", headers=admin, json={"is_active": True})
    login(client, "s@example.test")


def test_the_last_active_admin_is_kept(client: TestClient, db: Session, engine: Engine) -> None:
    admin = admin_headers(client, db)
    before = snapshot(engine)
    url = f"{USERS}/{_admin_id(db)}"
    for change in ({"is_active": False}, {"is_admin": False}):
        response = client.patch(url, headers=admin, json=change)
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "LAST_ADMIN"
    assert snapshot(engine) == before


def test_a_second_admin_can_revoke_the_first(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    make_user(db, email="second@example.test", is_admin=True)
    db.commit()
    response = client.patch(f"{USERS}/{_admin_id(db)}", headers=admin, json={"is_admin": False})
    assert response.status_code == 200, response.text
    assert response.json()["is_admin"] is False
    assert client.get(USERS, headers=admin).status_code == 401  # its token was revoked


def test_unknown_users_are_404(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    vendor = make_vendor(db, code="shop1")
    db.commit()
    for response in (
        client.patch(f"{USERS}/999", headers=admin, json={"is_active": False}),
        client.post(
            f"{USERS}/999/password", headers=admin, json={"new_password": "quiet-lantern-7x"}
        ),
        client.put(f"{USERS}/999/memberships/{vendor.id}", headers=admin, json={"role": "staff"}),
        client.delete(f"{USERS}/999/memberships/{vendor.id}", headers=admin),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "USER_NOT_FOUND"
        assert "999" in response.json()["error"]["message"]


def test_membership_changes_name_the_vendor_and_member(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    vendor = make_vendor(db, code="shop1")
    user = make_user(db, email="s@example.test")
    db.commit()
    ghost = client.put(f"{USERS}/{user.id}/memberships/999", headers=admin, json={"role": "staff"})
    assert ghost.status_code == 404
    assert ghost.json()["error"]["code"] == "VENDOR_NOT_FOUND"
    missing = client.delete(f"{USERS}/{user.id}/memberships/{vendor.id}", headers=admin)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "MEMBER_NOT_FOUND"


def test_admin_changes_a_role_and_removes_a_member(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    vendor, _ = staff_headers(client, db)
    staff_id = db.scalar(select(User.id).where(User.email == "staff@shop1.test"))
    url = f"{USERS}/{staff_id}/memberships/{vendor.id}"
    promoted = client.put(url, headers=admin, json={"role": "owner"})
    assert [m["role"] for m in promoted.json()["memberships"]] == ["owner"]
    assert client.delete(url, headers=admin).status_code == 204
    db.rollback()  # a fresh snapshot: the app committed since
    staff = db.get(User, staff_id)
    assert staff is not None
    assert staff.memberships == []


def test_booleans_are_strict(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    response = client.patch(f"{USERS}/{_admin_id(db)}", headers=admin, json={"is_active": 0})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.is_active"


def test_vendor_tokens_cannot_manage_users(client: TestClient, db: Session) -> None:
    _, staff = staff_headers(client, db)
    owner = login(client, "owner@shop1.test")
    response = client.patch(f"{USERS}/1", headers=owner, json={"is_active": False})
    assert response.status_code == 403
    assert client.post(f"{USERS}/1/password", headers=staff, json={}).status_code == 403
