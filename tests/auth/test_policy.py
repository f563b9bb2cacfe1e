"""Password, email and vendor code rules for new values."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ordergate.auth.models import User
from ordergate.security import hash_password
from tests.auth.test_roles import snapshot
from tests.conftest import PASSWORD
from tests.factories import admin_headers, login, make_user, staff_headers

USERS = "/api/v1/admin/users"


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("12345678", "too_short"),
        ("aaaaaaaa", "too_short"),
        ("password", "too_short"),
        (" " * 12, "blank"),
        ("\t \u00a0" * 4, "blank"),
        ("\x00" * 12, "nul"),
        ("quiet-lantern\x00orchard", "nul"),
        ("new.person@example.test", "contains_email"),
        ("xx-new.person-2026-ok", "contains_email"),
        ("password1234", "too_weak"),
        ("aaaaaaaaaaaa", "too_weak"),
        ("qwertyuiop12", "too_weak"),
    ],
)
def test_weak_new_passwords_are_refused_and_nothing_is_written(
    client: TestClient, db: Session, engine: Engine, password: str, reason: str
) -> None:
    admin = admin_headers(client, db)
    before = snapshot(engine)
    body = {"email": "new.person@example.test", "password": password}
    response = client.post(USERS, headers=admin, json=body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    if reason in ("too_short", "nul"):  # refused by the schema itself
        assert error["code"] == "VALIDATION_ERROR"
        assert error["details"][0]["field"] == "body.password"
    else:
        assert error["code"] == "WEAK_PASSWORD"
        assert error["details"] == {"field": "password", "reason": reason}
        assert "password" in error["message"]
    assert snapshot(engine) == before


def test_a_strong_password_is_accepted(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    body = {"email": "new@example.test", "password": "quiet-lantern-orchard-7"}
    assert client.post(USERS, headers=admin, json=body).status_code == 201
    login(client, "new@example.test", password="quiet-lantern-orchard-7")


def test_an_existing_short_password_still_logs_in(client: TestClient, db: Session) -> None:
    user = make_user(db, email="old@example.test", is_admin=True)
    user.password_hash = hash_password("short")
    db.commit()
    login(client, "old@example.test", password="short")


@pytest.mark.parametrize(
    "email", ["not-an-email", "x@y.z\u0000", "a@b", "two@@example.test", "sp ace@example.test"]
)
def test_emails_without_the_shape_the_schema_states_are_refused(
    client: TestClient, db: Session, engine: Engine, email: str
) -> None:
    admin = admin_headers(client, db)
    before = snapshot(engine)
    response = client.post(
        USERS, headers=admin, json={"email": email, "password": "quiet-lantern-orchard-7"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert response.json()["error"]["details"][0]["field"] == "body.email"
    assert snapshot(engine) == before


@pytest.mark.parametrize(
    "email", ["a..b@example.test", "x@-example.test", ".x@example.test", "x@exa_mple.test"]
)
def test_invalid_emails_are_refused(
    client: TestClient, db: Session, engine: Engine, email: str
) -> None:
    admin = admin_headers(client, db)
    before = snapshot(engine)
    response = client.post(
        USERS, headers=admin, json={"email": email, "password": "quiet-lantern-orchard-7"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "INVALID_EMAIL"
    assert response.json()["error"]["details"]["field"] == "email"
    assert snapshot(engine) == before


@pytest.mark.parametrize("code", ["a", "Shop1", "shop_1", "shop.1", "x" * 33, "shop 1", ""])
def test_vendor_codes_are_lowercase_letters_digits_and_dashes(
    client: TestClient, db: Session, code: str
) -> None:
    admin = admin_headers(client, db)
    response = client.post("/api/v1/admin/vendors", headers=admin, json={"code": code, "name": "X"})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "body.code"


@pytest.mark.parametrize("code", ["ab", "shop-1", "x" * 32, "2nd-shop"])
def test_good_vendor_codes_are_accepted(client: TestClient, db: Session, code: str) -> None:
    admin = admin_headers(client, db)
    response = client.post("/api/v1/admin/vendors", headers=admin, json={"code": code, "name": "X"})
    assert response.status_code == 201, response.text


def test_wrong_current_password_is_refused_and_changes_nothing(
    client: TestClient, db: Session, engine: Engine
) -> None:
    _, staff = staff_headers(client, db)
    before = snapshot(engine)
    response = client.post(
        "/api/v1/me/password",
        headers=staff,
        json={"current_password": "not-my-password", "new_password": "quiet-lantern-orchard-7"},
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "WRONG_CURRENT_PASSWORD"
    assert response.json()["error"]["details"] == {"field": "current_password"}
    assert snapshot(engine) == before
    assert client.get("/api/v1/me", headers=staff).status_code == 200


def test_a_weak_new_password_names_new_password(
    client: TestClient, db: Session, engine: Engine
) -> None:
    _, staff = staff_headers(client, db)
    before = snapshot(engine)
    response = client.post(
        "/api/v1/me/password",
        headers=staff,
        json={"current_password": PASSWORD, "new_password": "staff@shop1.test"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"] == {
        "field": "new_password",
        "reason": "contains_email",
    }
    assert snapshot(engine) == before


def test_admin_reset_applies_the_policy(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    user = make_user(db, email="s@example.test")
    db.commit()
    response = client.post(
        f"{USERS}/{user.id}/password", headers=admin, json={"new_password": "password1234"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"field": "new_password", "reason": "too_weak"}
    db.rollback()  # a fresh snapshot: the app committed since
    assert db.scalar(select(User.token_version).where(User.id == user.id)) == 0
