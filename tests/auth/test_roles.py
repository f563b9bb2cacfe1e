"""Owners (and admins) change a vendor's settings and members; staff work the queue."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session
from starlette.routing import BaseRoute

from ordergate.auth import service
from ordergate.auth.errors import LastOwnerError
from ordergate.auth.models import User, VendorMembership
from ordergate.config import Settings
from ordergate.db import make_engine, make_session_factory
from ordergate.demo import seed_demo
from ordergate.deps import require_owner
from ordergate.models import Base
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from tests.conftest import TEST_SECRET
from tests.factories import admin_headers, login, make_user, make_vendor, staff_headers

# Every owner-only route with a request that would succeed for an owner. A new owner-only route
# fails test_every_owner_only_route_is_listed until it is added here (and so tested below).
OWNER_ONLY: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/api/v1/vendor/letzshop/credentials"): {
        "json": {"api_key": "a-long-letzshop-key", "endpoint": "https://letzshop.lu/graphql"}
    },
    ("POST", "/api/v1/vendor/members"): {
        "json": {"email": "new@shop1.test", "role": "owner", "password": "quiet-lantern-orchard-7"}
    },
    ("PATCH", "/api/v1/vendor/members/{user_id}"): {"json": {"role": "owner"}},
    ("DELETE", "/api/v1/vendor/members/{user_id}"): {},
    ("PATCH", "/api/v1/vendor/settings"): {"json": {"confirmation_deadline_hours": 48}},
    # the contract check (issue 13): runs requests with the vendor's key and records the result
    ("POST", "/api/v1/vendor/letzshop/check"): {},
    # the vendor's webhook (issue 11): where its notifications go and the secret that signs them
    ("PUT", "/api/v1/vendor/webhooks/config"): {
        "json": {"url": "https://93.184.216.34/hooks/ordergate", "secret": "a-long-webhook-secret"}
    },
    ("DELETE", "/api/v1/vendor/webhooks/config"): {},
    ("POST", "/api/v1/vendor/webhooks/ping"): {},
}
# An owner past the gate meets the route's own precondition here (no credentials configured).
PAST_THE_GATE: dict[tuple[str, str], tuple[int, str]] = {
    ("POST", "/api/v1/vendor/letzshop/check"): (400, "LETZSHOP_NOT_CONFIGURED"),
    ("DELETE", "/api/v1/vendor/webhooks/config"): (404, "WEBHOOK_NOT_CONFIGURED"),
    ("POST", "/api/v1/vendor/webhooks/ping"): (404, "WEBHOOK_NOT_CONFIGURED"),
}


def _uses_owner_dependency(dependant: Dependant) -> bool:
    return any(
        sub.call is require_owner or _uses_owner_dependency(sub) for sub in dependant.dependencies
    )


def _api_routes(routes: Sequence[BaseRoute]) -> Iterator[APIRoute]:
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router (FastAPI >= 0.16x)
            yield from _api_routes(route.original_router.routes)


def documented_path(route: APIRoute) -> str:
    """The path as OpenAPI spells it (routes match ids with a digits-only convertor)."""
    return re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)


def owner_only_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, documented_path(route))
        for route in _api_routes(app.routes)
        if _uses_owner_dependency(route.dependant)
        for method in route.methods
    }


def test_the_route_walk_sees_every_operation(app: FastAPI) -> None:
    operations = {
        (method.upper(), path) for path, item in app.openapi()["paths"].items() for method in item
    }
    walked = {(m, documented_path(r)) for r in _api_routes(app.routes) for m in r.methods}
    assert operations <= walked


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(text(f"SELECT * FROM {table.name}"))]
            for table in Base.metadata.sorted_tables
        }


def test_every_owner_only_route_is_listed(app: FastAPI) -> None:
    assert owner_only_routes(app) == set(OWNER_ONLY)


@pytest.mark.parametrize(("method", "path"), sorted(OWNER_ONLY), ids="{0[0]} {0[1]}".format)
def test_staff_get_403_on_owner_routes_and_nothing_changes(
    client: TestClient, db: Session, engine: Engine, method: str, path: str
) -> None:
    _, staff = staff_headers(client, db)
    owner = db.scalar(select(User).where(User.email == "owner@shop1.test"))
    assert owner is not None
    before = snapshot(engine)
    response = client.request(
        method, path.format(user_id=owner.id), headers=staff, **OWNER_ONLY[(method, path)]
    )
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "OWNER_REQUIRED"
    assert snapshot(engine) == before


@pytest.mark.parametrize(("method", "path"), sorted(OWNER_ONLY), ids="{0[0]} {0[1]}".format)
def test_owners_pass_the_owner_routes(
    client: TestClient, db: Session, method: str, path: str
) -> None:
    staff_headers(client, db)
    owner = login(client, "owner@shop1.test")
    staff = db.scalar(select(User).where(User.email == "staff@shop1.test"))
    assert staff is not None
    response = client.request(
        method, path.format(user_id=staff.id), headers=owner, **OWNER_ONLY[(method, path)]
    )
    if (method, path) in PAST_THE_GATE:
        status, code = PAST_THE_GATE[(method, path)]
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
        return
    assert response.status_code < 300, response.text


def test_the_first_member_of_a_vendor_is_its_owner(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    make_vendor(db, code="shop1")
    db.commit()
    body = {"password": "quiet-lantern-orchard-7", "vendor_codes": ["shop1"], "role": "staff"}
    first = client.post("/api/v1/admin/users", headers=admin, json={"email": "a@x.test", **body})
    second = client.post("/api/v1/admin/users", headers=admin, json={"email": "b@x.test", **body})
    assert first.json()["memberships"][0]["role"] == "owner"
    assert second.json()["memberships"][0]["role"] == "staff"


def test_admin_membership_put_makes_the_first_member_owner(client: TestClient, db: Session) -> None:
    admin = admin_headers(client, db)
    vendor = make_vendor(db, code="shop1")
    user = make_user(db, email="a@x.test")
    db.commit()
    response = client.put(
        f"/api/v1/admin/users/{user.id}/memberships/{vendor.id}",
        headers=admin,
        json={"role": "staff"},
    )
    assert response.status_code == 200, response.text
    assert [(m["vendor_code"], m["role"]) for m in response.json()["memberships"]] == [
        ("shop1", "owner")
    ]


def test_staff_list_the_members(client: TestClient, db: Session) -> None:
    _, staff = staff_headers(client, db)
    response = client.get("/api/v1/vendor/members", headers=staff)
    assert response.status_code == 200, response.text
    assert [(m["email"], m["role"]) for m in response.json()["members"]] == [
        ("owner@shop1.test", "owner"),
        ("staff@shop1.test", "staff"),
    ]
    assert response.json()["total"] == 2


def test_an_owner_adds_an_existing_user_by_email(client: TestClient, db: Session) -> None:
    _, staff = staff_headers(client, db)
    make_vendor(db, code="shop2")
    make_user(db, email="elsewhere@shop2.test", vendors=["shop2"])
    db.commit()
    owner = login(client, "owner@shop1.test")
    response = client.post(
        "/api/v1/vendor/members",
        headers=owner,
        json={"email": "Elsewhere@Shop2.test", "role": "staff"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["email"] == "elsewhere@shop2.test"
    assert response.json()["role"] == "staff"
    login(client, "elsewhere@shop2.test", vendor_code="shop1")


def test_an_owner_creates_a_member(client: TestClient, db: Session) -> None:
    staff_headers(client, db)
    owner = login(client, "owner@shop1.test")
    body = {"email": "new@shop1.test", "role": "staff", "password": "quiet-lantern-orchard-7"}
    response = client.post("/api/v1/vendor/members", headers=owner, json=body)
    assert response.status_code == 201, response.text
    login(client, "new@shop1.test", password="quiet-lantern-orchard-7")


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "new@shop1.test", "role": "staff"}, 422, "PASSWORD_REQUIRED"),
        ({"email": "new@shop1.test", "password": "password1234"}, 422, "WEAK_PASSWORD"),
        ({"email": "staff@shop1.test"}, 409, "ALREADY_MEMBER"),
        ({"email": "owner@shop2.test", "password": "quiet-lantern-orchard-7"}, 409, "EMAIL_TAKEN"),
        ({"email": "a..b@shop1.test", "password": "quiet-lantern-orchard-7"}, 422, "INVALID_EMAIL"),
    ],
    ids=lambda value: str(value) if isinstance(value, str) else "",
)
def test_adding_a_member_refuses_bad_requests_and_writes_nothing(
    client: TestClient, db: Session, engine: Engine, body: dict[str, Any], status: int, code: str
) -> None:
    staff_headers(client, db)
    make_vendor(db, code="shop2")
    make_user(db, email="owner@shop2.test", vendors=["shop2"])
    db.commit()
    owner = login(client, "owner@shop1.test")
    before = snapshot(engine)
    response = client.post("/api/v1/vendor/members", headers=owner, json=body)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert snapshot(engine) == before


def test_a_vendor_is_never_left_without_an_owner(
    client: TestClient, db: Session, engine: Engine
) -> None:
    staff_headers(client, db)
    owner_user = db.scalar(select(User).where(User.email == "owner@shop1.test"))
    assert owner_user is not None
    owner = login(client, "owner@shop1.test")
    before = snapshot(engine)
    url = f"/api/v1/vendor/members/{owner_user.id}"
    demoted = client.patch(url, headers=owner, json={"role": "staff"})
    removed = client.delete(url, headers=owner)
    for response in (demoted, removed):
        assert response.status_code == 409, response.text
        assert response.json()["error"]["code"] == "LAST_OWNER"
        assert "shop1" in response.json()["error"]["message"]
    assert snapshot(engine) == before


def test_admin_cannot_remove_the_last_owner_either(
    client: TestClient, db: Session, engine: Engine
) -> None:
    admin = admin_headers(client, db)
    vendor, _ = staff_headers(client, db)
    owner = db.scalar(select(User).where(User.email == "owner@shop1.test"))
    assert owner is not None
    before = snapshot(engine)
    url = f"/api/v1/admin/users/{owner.id}/memberships/{vendor.id}"
    assert client.put(url, headers=admin, json={"role": "staff"}).status_code == 409
    response = client.delete(url, headers=admin)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "LAST_OWNER"
    assert snapshot(engine) == before


def test_a_second_owner_lets_the_first_step_down(client: TestClient, db: Session) -> None:
    staff_headers(client, db)
    owner = login(client, "owner@shop1.test")
    ids = dict(db.execute(select(User.email, User.id)).all())
    promoted = client.patch(
        f"/api/v1/vendor/members/{ids['staff@shop1.test']}", headers=owner, json={"role": "owner"}
    )
    assert promoted.json()["role"] == "owner"
    left = client.delete(f"/api/v1/vendor/members/{ids['owner@shop1.test']}", headers=owner)
    assert left.status_code == 204, left.text
    db.rollback()  # a fresh snapshot: the app committed since
    assert db.execute(select(VendorMembership.user_id, VendorMembership.role)).all() == [
        (ids["staff@shop1.test"], "owner")
    ]


def test_members_of_another_vendor_are_not_found(client: TestClient, db: Session) -> None:
    staff_headers(client, db)
    make_vendor(db, code="shop2")
    other = make_user(db, email="owner@shop2.test", vendors=["shop2"])
    db.commit()
    owner = login(client, "owner@shop1.test")
    response = client.patch(
        f"/api/v1/vendor/members/{other.id}", headers=owner, json={"role": "staff"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "MEMBER_NOT_FOUND"
    assert str(other.id) in response.json()["error"]["message"]


def test_the_demo_seeds_an_owner_and_a_staff_member_per_vendor(
    db: Session, settings: Settings
) -> None:
    seed_demo(
        db, box=SecretBox(TEST_SECRET), settings=settings, sandbox_url="http://127.0.0.1:1/graphql"
    )
    db.commit()
    roles = db.execute(
        select(User.email, VendorMembership.role).join(VendorMembership.user).order_by(User.email)
    ).all()
    assert roles == [
        ("owner@kirchbooks.test", "owner"),
        ("owner@luxtoys.test", "owner"),
        ("owner@moselwine.test", "owner"),
        ("staff@kirchbooks.test", "staff"),
        ("staff@luxtoys.test", "staff"),
        ("staff@moselwine.test", "staff"),
    ]


def test_two_owners_stepping_down_at_once_leave_one_owner(
    database_url: str, db: Session, engine: Engine
) -> None:
    vendor = make_vendor(db, code="shop1")
    first_owner = make_user(db, email="a@shop1.test", vendors=["shop1"])
    second_owner = make_user(db, email="b@shop1.test", vendors=["shop1"], role="owner")
    db.commit()
    app_engine = make_engine(database_url)  # as the app: BEGIN IMMEDIATE on SQLite
    sessions = make_session_factory(app_engine)

    def step_down(session: Session, user_id: int) -> None:
        scope = VendorScope(actor_user_id=user_id, vendor_id=vendor.id, role="owner")
        service.change_member_role(session, scope=scope, user_id=user_id, role="staff")

    def second_steps_down() -> str:
        with sessions() as second:
            try:
                step_down(second, second_owner.id)
            except LastOwnerError as exc:
                return exc.code
            second.commit()
            return "stepped down"

    first = sessions()
    try:
        step_down(first, first_owner.id)  # not committed yet: holds the owner rows
        with ThreadPoolExecutor(max_workers=1) as pool:
            outcome = pool.submit(second_steps_down)
            time.sleep(0.5)
            waited = not outcome.done()  # waits for the first's locks, not reading stale rows
            first.commit()
            assert outcome.result(timeout=30) == "LAST_OWNER"
        assert waited
    finally:
        first.close()
        app_engine.dispose()
    db.rollback()
    roles = db.execute(select(VendorMembership.user_id, VendorMembership.role)).all()
    assert sorted(roles) == [(first_owner.id, "staff"), (second_owner.id, "owner")]


def test_an_admin_acting_for_a_vendor_passes_owner_routes(client: TestClient, db: Session) -> None:
    staff_headers(client, db)
    make_user(db, email="ops@example.test", is_admin=True, vendors=["shop1"])
    db.commit()
    ops = login(client, "ops@example.test", vendor_code="shop1")
    assert client.get("/api/v1/me", headers=ops).json()["vendor"]["role"] == "staff"
    method, path = "PUT", "/api/v1/vendor/letzshop/credentials"
    response = client.request(method, path, headers=ops, **OWNER_ONLY[(method, path)])
    assert response.status_code == 200, response.text
