"""Vendor isolation, walked over the OpenAPI document: every vendor-scoped operation, called with
another vendor's ids, answers its not-found (or invalid-product) error and changes nothing.

The operations come from the app's OpenAPI document, so a new route is walked without editing
this file:

- vendor tree (`/api/v1/vendor/...`): every operation with a path id, and every operation whose
  JSON body carries an id (`*_id`, `*_ids`). Vendor A's owner calls it with one id of vendor B
  at a time (the other ids A's own), and with all path ids B's;
- admin tree: every `{vendor_id}` path and `?vendor_id` query (required, or a list's filter)
  with an unknown vendor id (404 VENDOR_NOT_FOUND, issue 8's rule; the rest A's valid ids);
  the same paths with vendor A and one of B's order/item/run ids; every operation whose body
  carries an id, with B's.

Each parameter name is filled from the tables below; a name missing from them fails the test
(it is never skipped). The database is compared whole (every table of `Base.metadata`, rows
ordered by primary key) before and after each call.

Expected answer per foreign value (the first foreign path parameter decides, else the body):
  order_id → 404 ORDER_NOT_FOUND            item_id      → 404 ORDER_ITEM_NOT_FOUND
  exception_id → 404 ORDER_ITEM_EXCEPTION_NOT_FOUND     mapping_id → 404 GTIN_MAPPING_NOT_FOUND
  exception_ids (body) → 404 ORDER_ITEM_EXCEPTIONS_NOT_FOUND (bulk by selection)
  run_id → 404 SYNC_RUN_NOT_FOUND           request_id → 404 FULFILMENT_REQUEST_NOT_FOUND
  user_id      → 404 MEMBER_NOT_FOUND (vendor tree)
  product_id (body) → 400 INVALID_PRODUCT_FOR_EXCEPTION (the documented code for another
    vendor's product, docs/errors.md)
  marketplace_product_ids (body) → 404 MARKETPLACE_PRODUCTS_NOT_FOUND: marketplace products
    belong to no vendor, so the "foreign" value is an id that does not exist
  unknown vendor_id (admin path) → 404 VENDOR_NOT_FOUND
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.db import make_session_factory
from ordergate.models import Base
from ordergate.orders.models import FulfilmentRequest
from ordergate.sandbox import SandboxState, run_in_thread
from tests.conftest import _clean
from tests.factories import make_user
from tests.test_golden import PASSWORD, gtin13, shipment, unit

METHODS = ("get", "post", "put", "patch", "delete")
UNKNOWN_VENDOR = 999_999
MISSING_MARKETPLACE_PRODUCT = 999_999

# What another vendor's value of each parameter answers.
EXPECTED: dict[str, tuple[int, str]] = {
    "order_id": (404, "ORDER_NOT_FOUND"),
    "item_id": (404, "ORDER_ITEM_NOT_FOUND"),
    "exception_id": (404, "ORDER_ITEM_EXCEPTION_NOT_FOUND"),
    # Bulk by selection (queue): the whole request is refused, naming the ids.
    "exception_ids": (404, "ORDER_ITEM_EXCEPTIONS_NOT_FOUND"),
    "mapping_id": (404, "GTIN_MAPPING_NOT_FOUND"),
    "run_id": (404, "SYNC_RUN_NOT_FOUND"),
    "delivery_id": (404, "WEBHOOK_DELIVERY_NOT_FOUND"),
    "request_id": (404, "FULFILMENT_REQUEST_NOT_FOUND"),
    "user_id": (404, "MEMBER_NOT_FOUND"),
    "product_id": (400, "INVALID_PRODUCT_FOR_EXCEPTION"),
    "marketplace_product_ids": (404, "MARKETPLACE_PRODUCTS_NOT_FOUND"),
    "vendor_id": (404, "VENDOR_NOT_FOUND"),
}
# Admin-tree parameters that name no vendor's resource (an admin acts on any user): filled with
# a valid value, never walked as another vendor's.
ADMIN_GLOBAL = {"user_id"}
# Required body fields that are not ids: a valid value for vendor A (callables get the world).
BODY_DEFAULTS: dict[str, Any] = {
    "notes": "isolation walk",
    "role": "staff",
    "title": "Walker product",
    "gtin": lambda w: w.pending_gtin,
    "api_key": "walker-key",
    "endpoint": lambda w: w.sandbox_url,
}


def _spec() -> dict[str, Any]:
    settings = Settings(env="test", database_url="sqlite://", secret_key="x" * 32)
    return create_app(settings).openapi()


SPEC = _spec()


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:  # an optional body: `X | None`
        schema = _resolve(next(s for s in schema["anyOf"] if s.get("type") != "null"))
    return schema


def _is_id(name: str) -> bool:
    return name.endswith("_id") or name.endswith("_ids")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    path_params: tuple[str, ...]
    required_query: tuple[str, ...]
    vendor_filter: bool  # an optional `?vendor_id` (an admin list's filter)
    body_fields: tuple[str, ...]  # required fields of a JSON body, plus every id field
    has_body: bool

    @property
    def tree(self) -> str:
        return "vendor" if self.path.startswith("/api/v1/vendor/") else "admin"

    @property
    def body_ids(self) -> tuple[str, ...]:
        return tuple(f for f in self.body_fields if _is_id(f))


@dataclass(frozen=True)
class Case:
    op: Operation
    foreign: tuple[str, ...]  # the parameters given vendor B's (or an unknown) value

    @property
    def id(self) -> str:
        return f"{self.op.method} {self.op.path} foreign={','.join(self.foreign)}"


def _operations() -> list[Operation]:
    ops = []
    for path, item in SPEC["paths"].items():
        for method, op in item.items():
            if method not in METHODS:
                continue
            params = op.get("parameters", [])
            body_fields: tuple[str, ...] = ()
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                schema = _resolve(content["application/json"]["schema"])
                required = schema.get("required", [])
                body_fields = tuple(
                    f for f in schema.get("properties", {}) if f in required or _is_id(f)
                )
            ops.append(
                Operation(
                    method=method.upper(),
                    path=path,
                    path_params=tuple(p["name"] for p in params if p["in"] == "path"),
                    required_query=tuple(
                        p["name"] for p in params if p["in"] == "query" and p.get("required")
                    ),
                    vendor_filter=any(
                        p["in"] == "query" and p["name"] == "vendor_id" and not p.get("required")
                        for p in params
                    ),
                    body_fields=body_fields,
                    has_body="requestBody" in op,
                )
            )
    return ops


def _cases() -> list[Case]:
    cases = []
    for op in _operations():
        if op.path.startswith("/api/v1/vendor/"):
            for name in op.path_params:
                cases.append(Case(op, (name,)))
            if len(op.path_params) > 1:
                cases.append(Case(op, op.path_params))
            for name in op.body_ids:
                cases.append(Case(op, (name,)))
        elif op.path.startswith("/api/v1/admin/"):
            if "vendor_id" in (*op.path_params, *op.required_query) or op.vendor_filter:
                cases.append(Case(op, ("vendor_id",)))
                for name in op.path_params:
                    if name not in ("vendor_id", *ADMIN_GLOBAL):
                        cases.append(Case(op, (name,)))
            for name in op.body_ids:
                cases.append(Case(op, (name,)))
    return cases


CASES = _cases()


@dataclass
class World:
    """Two vendors with the same kinds of rows; `a` and `b` map a parameter name to an id."""

    headers: dict[str, dict[str, str]]
    a: dict[str, Any]
    b: dict[str, Any]
    pending_gtin: str
    sandbox_url: str


G_A = gtin13("600000000001")
G_B = gtin13("600000000002")
G_UNKNOWN = gtin13("600000000003")
G_REMEMBER = gtin13("600000000004")


def _login(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json() if response.content else None


def _build_world(client: TestClient, db: Session, sandbox_url: str, control: httpx.Client) -> World:
    make_user(db, email="admin@example.test", password=PASSWORD, is_admin=True)
    db.commit()
    admin = _login(client, "admin@example.test")
    headers = {"admin": admin}
    ids: dict[str, dict[str, Any]] = {}
    feed = b"id\ttitle\tgtin\nmp-walk\tWalker mug\t\n"
    _ok(
        client.post(
            "/api/v1/admin/marketplace-products/import",
            headers=admin,
            files={"file": ("feed.tsv", feed, "text/tab-separated-values")},
        )
    )
    mp = _ok(client.get("/api/v1/admin/marketplace-products", headers=admin))
    marketplace_id = mp["marketplace_products"][0]["id"]
    for side, code, key, gtin in (
        ("a", "alpha", "sandbox-key-1", G_A),
        ("b", "beta", "sandbox-key-2", G_B),
    ):
        vendor = _ok(
            client.post("/api/v1/admin/vendors", headers=admin, json={"code": code, "name": code}),
            201,
        )
        _ok(
            client.post(
                "/api/v1/admin/users",
                headers=admin,
                json={"email": f"owner@{code}.test", "password": PASSWORD, "vendor_codes": [code]},
            ),
            201,
        )
        owner = _login(client, f"owner@{code}.test")
        headers[side] = owner
        staff = _ok(
            client.post(
                "/api/v1/vendor/members",
                headers=owner,
                json={"email": f"staff@{code}.test", "role": "staff", "password": PASSWORD},
            ),
            201,
        )
        product = _ok(
            client.post(
                "/api/v1/vendor/products", headers=owner, json={"title": f"{code}", "gtin": gtin}
            ),
            201,
        )["product"]
        _ok(
            client.put(
                f"/api/v1/admin/letzshop/vendors/{vendor['id']}/credentials",
                headers=admin,
                json={"api_key": key, "endpoint": sandbox_url},
            )
        )
        # A webhook (a public literal address: no DNS, and no thread sends in the tests), so
        # the sync below records a delivery.
        _ok(
            client.put(
                "/api/v1/vendor/webhooks/config",
                headers=owner,
                json={"url": "http://93.184.215.14/hook", "secret": "whsec-isolation-walk"},
            )
        )
        p = code[0].upper()
        control.post(
            "/control/shipments",
            json={
                "api_key": key,
                "replace": True,
                "shipments": [
                    shipment(
                        f"{p}1",
                        [
                            unit(f"{p}1u1", "known", gtin, name="Known"),
                            unit(f"{p}1u2", "unknown", G_UNKNOWN, name="Unknown"),
                        ],
                    ),
                    shipment(f"{p}2", [unit(f"{p}2u1", "rem", G_REMEMBER, name="Remember")]),
                ],
            },
        ).raise_for_status()
        run = _ok(client.post("/api/v1/vendor/letzshop/sync", headers=owner))
        exceptions = _ok(client.get("/api/v1/vendor/order-exceptions", headers=owner))
        by_gtin = {e["original_gtin"]: e for e in exceptions["exceptions"]}
        _ok(
            client.post(
                f"/api/v1/vendor/order-exceptions/{by_gtin[G_REMEMBER]['id']}/resolve",
                headers=owner,
                json={"product_id": product["id"], "remember": True},
            )
        )
        mapping = _ok(client.get("/api/v1/vendor/gtin-mappings", headers=owner))["mappings"][0]
        delivery = _ok(client.get("/api/v1/vendor/webhooks/deliveries", headers=owner))
        pending = by_gtin[G_UNKNOWN]
        order = _ok(client.get(f"/api/v1/vendor/orders/{pending['order_id']}", headers=owner))
        known_item = next(i for i in order["items"] if i["external_item_id"] == "known")
        # A queued confirm that ended (failed): one to read, none under way to block the walk.
        queued = FulfilmentRequest(
            order_id=order["id"], vendor_id=vendor["id"], verdict="confirm", status="failed"
        )
        db.add(queued)
        db.commit()
        ids[side] = {
            "vendor_id": vendor["id"],
            "order_id": order["id"],
            "item_id": known_item["id"],
            "exception_id": pending["id"],
            "exception_ids": [pending["id"]],
            "gtin": G_UNKNOWN,  # the bulk-resolve preview's required query
            "mapping_id": mapping["id"],
            "run_id": run["run_id"],
            "delivery_id": delivery["deliveries"][0]["id"],
            "request_id": queued.id,
            "user_id": staff["user_id"],
            "product_id": product["id"],
            "marketplace_product_ids": [marketplace_id],
        }
    ids["b"]["marketplace_product_ids"] = [MISSING_MARKETPLACE_PRODUCT]
    ids["b"]["vendor_id"] = UNKNOWN_VENDOR  # "another vendor" of an admin path: none at all
    return World(headers, ids["a"], ids["b"], G_UNKNOWN, sandbox_url)


@pytest.fixture(scope="module")
def world(app: FastAPI, _engine: Engine) -> Iterator[tuple[TestClient, Session, World]]:
    """Built once for the module (every case leaves the database as it found it, and checks)."""
    handle = run_in_thread(SandboxState(seed=3, shipments_per_vendor=0))
    session = make_session_factory(_engine)()
    app.state.login_throttle.reset()
    try:
        with (
            TestClient(app, raise_server_exceptions=False) as client,
            httpx.Client(base_url=handle.url, timeout=10.0) as control,
        ):
            built = _build_world(client, session, handle.graphql_url, control)
            yield client, session, built
    finally:
        session.close()
        handle.stop()
        _clean(_engine)


def snapshot(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by primary key."""
    db.rollback()  # a fresh read snapshot
    rows = {}
    for table in Base.metadata.sorted_tables:
        statement = select(table).order_by(*table.primary_key.columns)
        rows[table.name] = [tuple(map(repr, row)) for row in db.execute(statement)]
    db.rollback()  # release SQLite's read transaction before the app writes
    return rows


def _value(name: str, case: Case, world: World) -> Any:
    side = world.b if name in case.foreign else world.a
    if name not in side:
        raise AssertionError(
            f"{case.op.method} {case.op.path}: no value for parameter {name!r}; add it to the "
            "world's id tables (and EXPECTED) in tests/test_isolation.py"
        )
    return side[name]


def _request(case: Case, world: World) -> dict[str, Any]:
    op = case.op
    path = op.path
    for name in op.path_params:
        path = path.replace(f"{{{name}}}", str(_value(name, case, world)))
    query = (*op.required_query, *(("vendor_id",) if op.vendor_filter else ()))
    params = {name: _value(name, case, world) for name in query}
    body: dict[str, Any] | None = None
    if op.has_body:
        body = {}
        for name in op.body_fields:
            if _is_id(name):
                body[name] = _value(name, case, world)
            elif name in BODY_DEFAULTS:
                default = BODY_DEFAULTS[name]
                body[name] = default(world) if callable(default) else default
            else:
                raise AssertionError(
                    f"{op.method} {path}: no value for required body field {name!r}; add it to "
                    "BODY_DEFAULTS in tests/test_isolation.py"
                )
    headers = world.headers["admin" if op.tree == "admin" else "a"]
    return {"method": op.method, "url": path, "params": params, "json": body, "headers": headers}


def _expected(case: Case) -> tuple[int, str]:
    ordered = [n for n in case.op.path_params if n in case.foreign] + [
        n for n in case.foreign if n not in case.op.path_params
    ]
    name = ordered[0]
    if name not in EXPECTED:
        raise AssertionError(f"{case.id}: no expected answer for {name!r} in EXPECTED")
    return EXPECTED[name]


def test_the_walk_covers_the_vendor_routes() -> None:
    """The walk is not empty and reaches each kind of vendor resource and both trees."""
    walked = {(c.op.method, c.op.path) for c in CASES}
    assert len(walked) >= 30
    names = {n for c in CASES for n in c.foreign}
    assert names >= set(EXPECTED), set(EXPECTED) - names
    assert ("POST", "/api/v1/vendor/order-exceptions/bulk-resolve") in walked
    assert ("DELETE", "/api/v1/admin/users/{user_id}/memberships/{vendor_id}") in walked


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_another_vendors_ids_answer_not_found_and_change_nothing(
    case: Case, world: tuple[TestClient, Session, World]
) -> None:
    client, db, built = world
    request = _request(case, built)
    before = snapshot(db)
    response = client.request(**request)
    after = snapshot(db)
    status, code = _expected(case)
    assert (response.status_code, response.json().get("error", {}).get("code")) == (
        status,
        code,
    ), (request, response.text)
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert changed == {}, f"{case.id} changed the database"
