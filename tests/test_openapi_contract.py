"""The OpenAPI document tells the truth: walked operation by operation against the real app.

For every request parameter and body field: integers declare both bounds and a value at each
bound is accepted (not 422); strings declare a maximum length; a NUL character is refused with
422 naming the field, and nothing in the database changes.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.models import Base
from ordergate.orders.models import OrderItem
from ordergate.schemas import NO_NUL, NON_BLANK
from tests.conftest import PASSWORD
from tests.factories import login, make_product, make_unmatched_line, make_user, make_vendor

# Values for fields whose content has a rule beyond their type (shape, check digit).
EXAMPLES: dict[str, Any] = {
    "gtin": "4006381333931",
    "email": "staff@shop1.test",
    "password": PASSWORD,
    "new_password": PASSWORD,
    "current_password": PASSWORD,
    "currency": "EUR",
    "endpoint": "https://letzshop.lu/graphql",
    "code": "shop9",
    "marketplace": "letzshop",
    "vendor_code": "shop1",
    "vendor_codes": ["shop1"],
    "role": "staff",
    "api_key": "sandbox-key-1",
    "secret": "whsec-0123456789abcdef",
}
# Fields whose maximum-length value breaks a rule the schema cannot state (a check digit).
FREE_LENGTH_EXEMPT = {"gtin"}
NUL = "\x00"


def accepted(response: Any) -> bool:
    """Schema-valid input may break a business rule (4xx) but is never invalid, never a 5xx."""
    return response.status_code != 422 and response.status_code < 500


@dataclass(frozen=True)
class Leaf:
    """One parameter or body field: where it goes, its name path and its schema."""

    where: str  # path, query, body, form
    loc: tuple[str | int, ...]
    schema: dict[str, Any]

    @property
    def field(self) -> str:
        # FastAPI names form fields like JSON body fields.
        where = "body" if self.where == "form" else self.where
        return ".".join(str(part) for part in (where, *self.loc))


@dataclass
class Request:
    method: str
    path: str
    path_params: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    form: dict[str, Any] | None = None
    files: dict[str, Any] | None = None


def _spec() -> dict[str, Any]:
    settings = Settings(env="test", database_url="sqlite://", secret_key="x" * 32)
    return create_app(settings).openapi()


SPEC = _spec()
OPERATIONS = [
    (method.upper(), path)
    for path, ops in SPEC["paths"].items()
    for method in ops
    if method in ("get", "post", "put", "patch", "delete")
]


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = SPEC["components"]["schemas"][name]
    return schema


def concrete(schema: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional value."""
    schema = resolve(schema)
    for branch in schema.get("anyOf", ()):
        if resolve(branch).get("type") != "null":
            return resolve(branch)
    return schema


def is_binary(schema: dict[str, Any]) -> bool:
    return "contentMediaType" in schema or schema.get("format") == "binary"


def leaves(where: str, loc: tuple[str | int, ...], schema: dict[str, Any]) -> Iterator[Leaf]:
    schema = concrete(schema)
    kind = schema.get("type")
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            yield from leaves(where, (*loc, name), sub)
    elif kind == "array":
        yield from leaves(where, (*loc, 0), schema["items"])
    elif kind in ("string", "integer") and not is_binary(schema):
        yield Leaf(where, loc, schema)


def example(name: str, schema: dict[str, Any]) -> Any:
    schema = concrete(schema)
    if name in EXAMPLES:
        return EXAMPLES[name]
    kind = schema.get("type")
    if "enum" in schema:
        return schema["enum"][0]
    if kind == "object":
        return {key: example(key, sub) for key, sub in schema.get("properties", {}).items()}
    if kind == "array":
        return [example(name, schema["items"])]
    if kind == "integer":
        return int(max(schema.get("minimum", 1), 1))
    if kind == "boolean":
        return False
    if is_binary(schema):
        return ("feed.tsv", b"id\ttitle\n", "text/tab-separated-values")
    return "x"


def operation(method: str, path: str) -> dict[str, Any]:
    return SPEC["paths"][path][method.lower()]


def operation_leaves(method: str, path: str) -> list[Leaf]:
    op = operation(method, path)
    found = [
        leaf
        for param in op.get("parameters", ())
        for leaf in leaves(param["in"], (param["name"],), param["schema"])
    ]
    for media, content in op.get("requestBody", {}).get("content", {}).items():
        where = "form" if media.startswith("multipart/") else "body"
        found.extend(leaves(where, (), content["schema"]))
    return found


@dataclass(frozen=True)
class World:
    """The rows each operation's ids point at, and a token for each side of the API."""

    ids: dict[str, int]
    admin: dict[str, str]
    vendor: dict[str, str]


@pytest.fixture
def world(client: TestClient, db: Session) -> World:
    vendor = make_vendor(db, code="shop1")
    make_user(db, email="admin@example.test", is_admin=True)
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    product = make_product(db, vendor_id=vendor.id, gtin="4006381333931")
    exception = make_unmatched_line(db, vendor_id=vendor.id, gtin="4006381333931")
    db.commit()
    item = db.get(OrderItem, exception.order_item_id)
    assert item is not None
    ids = {
        "vendor_id": vendor.id,
        "product_id": product.id,
        "exception_id": exception.id,
        "order_id": item.order_id,
        "item_id": item.id,
        "mapping_id": 1,
        "marketplace_product_ids": 1,
    }
    return World(
        ids=ids,
        admin=login(client, "admin@example.test"),
        vendor=login(client, "staff@shop1.test"),
    )


def base_request(method: str, path: str, world: World) -> Request:
    op = operation(method, path)
    request = Request(method, path)
    for param in op.get("parameters", ()):
        name = param["name"]
        value = world.ids.get(name, example(name, param["schema"]))
        if param["in"] == "path":
            request.path_params[name] = value
        elif param["in"] == "query" and (param.get("required") or name in world.ids):
            request.query[name] = value
    for media, content in op.get("requestBody", {}).get("content", {}).items():
        body = example("", content["schema"])
        for key in body:
            if key in world.ids:
                body[key] = [world.ids[key]] if isinstance(body[key], list) else world.ids[key]
        if media.startswith("multipart/"):
            request.files = {k: v for k, v in body.items() if isinstance(v, tuple)}
            request.form = {k: v for k, v in body.items() if not isinstance(v, tuple)}
        else:
            request.body = body
    return request


def with_value(request: Request, leaf: Leaf, value: Any) -> Request:
    copy = deepcopy(request)
    if leaf.where in ("path", "query"):
        target: Any = copy.path_params if leaf.where == "path" else copy.query
        target[leaf.loc[0]] = value
        return copy
    container: Any = copy.body if leaf.where == "body" else copy.form
    for part in leaf.loc[:-1]:
        container = container[part]
    container[leaf.loc[-1]] = value
    return copy


def send(client: TestClient, request: Request, world: World) -> Any:
    path = request.path.format(**request.path_params)
    headers = world.admin if path.startswith("/api/v1/admin/") else world.vendor
    kwargs: dict[str, Any] = {"params": request.query, "headers": headers}
    if request.body is not None:
        kwargs["json"] = request.body
    if request.files is not None:
        kwargs["files"] = request.files
        kwargs["data"] = request.form
    return client.request(request.method, path, **kwargs)


def fingerprint(db: Session) -> str:
    digest = hashlib.sha256()
    db.expire_all()
    for table in Base.metadata.sorted_tables:
        rows = db.execute(select(table).order_by(*table.primary_key.columns)).all()
        digest.update(repr((table.name, sorted(map(repr, rows)))).encode())
    db.rollback()
    return digest.hexdigest()


def with_nul(value: Any) -> str:
    text = str(value)
    return text[:1] + NUL + text[1:]


def max_length_text(length: int) -> str:
    # Varied text, so a strength or shape check sees a plausible value, not "xxxx".
    rng = random.Random(length)
    return "".join(
        rng.choice("abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679") for _ in range(length)
    )


def free_text(leaf: Leaf) -> bool:
    """A string whose only rules are its length and the NUL pattern."""
    plain = leaf.schema.get("pattern") in (None, NO_NUL, NON_BLANK)
    return plain and "enum" not in leaf.schema and "format" not in leaf.schema


def test_the_walk_covers_every_operation() -> None:
    assert len(OPERATIONS) >= 45
    kinds = {leaf.schema.get("type") for m, p in OPERATIONS for leaf in operation_leaves(m, p)}
    assert kinds == {"string", "integer"}


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_every_integer_has_both_bounds_and_every_string_a_max_length(
    method: str, path: str
) -> None:
    for leaf in operation_leaves(method, path):
        if leaf.schema.get("type") == "integer":
            assert "minimum" in leaf.schema, leaf.field
            assert "maximum" in leaf.schema, leaf.field
            assert leaf.schema["maximum"] <= 2**31 - 1, leaf.field
        elif "enum" not in leaf.schema:
            assert "maxLength" in leaf.schema, leaf.field


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_nul_in_any_string_is_422_naming_the_field_and_changes_nothing(
    client: TestClient, db: Session, world: World, method: str, path: str
) -> None:
    base = base_request(method, path, world)
    before = fingerprint(db)
    for leaf in operation_leaves(method, path):
        if leaf.schema.get("type") != "string":
            continue
        valid = example(str(leaf.loc[-1]), leaf.schema)
        response = send(client, with_value(base, leaf, with_nul(valid)), world)
        assert response.status_code == 422, (leaf.field, response.text)
        fields = [d["field"] for d in response.json()["error"]["details"]]
        assert leaf.field in fields, (leaf.field, fields)
    assert fingerprint(db) == before


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_values_at_every_declared_bound_are_accepted(
    client: TestClient, world: World, method: str, path: str
) -> None:
    base = base_request(method, path, world)
    response = send(client, base, world)
    assert accepted(response), response.text
    for leaf in operation_leaves(method, path):
        if leaf.schema.get("type") == "integer":
            values: list[Any] = [int(leaf.schema["minimum"]), int(leaf.schema["maximum"])]
        elif free_text(leaf) and str(leaf.loc[-1]) not in FREE_LENGTH_EXEMPT:
            values = [max_length_text(leaf.schema["maxLength"])]
        else:
            continue
        for value in values:
            response = send(client, with_value(base, leaf, value), world)
            assert accepted(response), (leaf.field, value, response.text)
