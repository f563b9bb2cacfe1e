"""Limits and honest answers: body size (413), notes length, NUL, strict booleans, 405 + Allow,
and bulk-resolve's invalid GTIN."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.catalog.models import MarketplaceProduct, Product
from ordergate.config import Settings
from ordergate.schemas import NON_BLANK, NOTES_MAX_LENGTH, WHITESPACE, RequiredNotes
from ordergate.vendors.models import Vendor
from tests.conftest import TEST_SECRET
from tests.factories import (
    admin_headers,
    event_count,
    exception_state,
    make_actors,
    make_product,
    make_unmatched_line,
    vendor_headers,
)
from tests.test_openapi_contract import SPEC

MIB = 1024 * 1024
VENDORS = "/api/v1/admin/vendors"
IMPORT = "/api/v1/admin/marketplace-products/import"
FEED_HEADER = b"id\ttitle\tgtin\n"


def vendor_count(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Vendor)) or 0


def json_of_size(size: int) -> bytes:
    """A vendor-create body of exactly `size` bytes (the padding is an ignored field)."""
    head, tail = b'{"code": "big", "name": "Big", "pad": "', b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def chunks(body: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


# --- request body limits -------------------------------------------------------------------


def assert_too_large(response: httpx.Response, limit: int) -> None:
    assert response.status_code == 413, response.text
    error = response.json()["error"]
    assert error["code"] == "PAYLOAD_TOO_LARGE"
    assert f"{limit:,} bytes" in error["message"]
    assert error["details"] == {"limit_bytes": limit}


def test_json_body_over_the_limit_with_content_length_is_413(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    body = json_of_size(MIB + 1)
    response = client.post(
        VENDORS, headers={**headers, "content-type": "application/json"}, content=body
    )
    assert_too_large(response, MIB)
    assert vendor_count(db) == 0


def test_chunked_json_body_over_the_limit_is_413(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.post(
        VENDORS,
        headers={**headers, "content-type": "application/json"},
        content=chunks(json_of_size(MIB + 1)),
    )
    assert "content-length" not in response.request.headers
    assert_too_large(response, MIB)
    assert vendor_count(db) == 0


def test_json_body_at_the_limit_is_accepted(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    for body in (json_of_size(MIB), chunks(json_of_size(MIB))):
        response = client.post(
            VENDORS, headers={**headers, "content-type": "application/json"}, content=body
        )
        assert response.status_code in (201, 409), response.text
    assert vendor_count(db) == 1


@pytest.fixture
def small_upload_app(settings: Settings, engine: object) -> Iterator[FastAPI]:
    """The real app with a 64 KiB upload limit, so an oversize feed stays small."""
    app = create_app(settings.model_copy(update={"upload_body_limit_bytes": 64 * 1024}))
    yield app
    app.state.engine.dispose()


def feed(rows: int) -> bytes:
    return FEED_HEADER + b"".join(b"p%d\tProduct %d\t\n" % (i, i) for i in range(rows))


def multipart(body: bytes) -> tuple[bytes, str]:
    boundary = "ordergate-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f.tsv"\r\n'
        "Content-Type: text/tab-separated-values\r\n\r\n"
    ).encode()
    return (
        head + body + f"\r\n--{boundary}--\r\n".encode(),
        f"multipart/form-data; boundary={boundary}",
    )


def marketplace_products(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(MarketplaceProduct)) or 0


def test_feed_upload_over_the_upload_limit_is_413_with_and_without_length(
    small_upload_app: FastAPI, db: Session
) -> None:
    with TestClient(small_upload_app) as client:
        headers = admin_headers(client, db)
        body, content_type = multipart(feed(5_000))
        assert len(body) > 64 * 1024
        for content in (body, chunks(body, 8 * 1024)):
            response = client.post(
                IMPORT, headers={**headers, "content-type": content_type}, content=content
            )
            assert_too_large(response, 64 * 1024)
    assert marketplace_products(db) == 0


def test_feed_upload_beyond_the_json_limit_but_within_the_upload_limit_imports(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    rows = feed(60_000)
    assert MIB < len(rows) < 50 * MIB
    response = client.post(IMPORT, headers=headers, files={"file": ("f.tsv", rows)})
    assert response.status_code == 200, response.text
    assert marketplace_products(db) == 60_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_real_server_refuses_an_oversize_chunked_body(
    settings: Settings, db: Session, engine: object
) -> None:
    """Over real HTTP/1.1 with Transfer-Encoding: chunked (no Content-Length at all)."""
    app = create_app(settings.model_copy(update={"request_body_limit_bytes": 4096}))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.01)
        with TestClient(app) as client:
            headers = admin_headers(client, db)
        response = httpx.post(
            f"http://127.0.0.1:{port}{VENDORS}",
            headers={**headers, "content-type": "application/json"},
            content=chunks(json_of_size(6000), 1000),
        )
        assert response.request.headers["transfer-encoding"] == "chunked"
        assert_too_large(response, 4096)
        assert vendor_count(db) == 0
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.engine.dispose()


# --- notes and other text ------------------------------------------------------------------

RESOLVE = "/api/v1/vendor/order-exceptions/{}/resolve"
IGNORE = "/api/v1/vendor/order-exceptions/{}/ignore"
BULK = "/api/v1/vendor/order-exceptions/bulk-resolve"


@pytest.mark.parametrize("route", ["resolve", "ignore", "bulk"])
def test_notes_longer_than_2000_characters_are_422_and_change_nothing(
    client: TestClient, db: Session, route: str
) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id, gtin="4006381333931")
    product = make_product(db, vendor_id=actors.vendor.id, gtin="4006381333931")
    db.commit()
    before = exception_state(db, exception.id)
    path, body = {
        "resolve": (RESOLVE.format(exception.id), {"product_id": product.id}),
        "ignore": (IGNORE.format(exception.id), {}),
        "bulk": (BULK, {"gtin": "4006381333931", "product_id": product.id}),
    }[route]
    too_long = {**body, "notes": "n" * (NOTES_MAX_LENGTH + 1)}
    response = client.post(path, headers=actors.vendor_headers, json=too_long)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "body.notes"
    assert exception_state(db, exception.id) == before
    longest = {**body, "notes": "n" * NOTES_MAX_LENGTH}
    response = client.post(path, headers=actors.vendor_headers, json=longest)
    assert response.status_code == 200, response.text


def test_notes_are_bounded_in_the_schema() -> None:
    for name in ("ResolveRequest", "IgnoreRequest", "BulkResolveRequest"):
        notes = SPEC["components"]["schemas"][name]["properties"]["notes"]
        branches = notes.get("anyOf", [notes])
        assert any(b.get("maxLength") == NOTES_MAX_LENGTH for b in branches), name


@pytest.mark.parametrize("notes", ["\u00a0", " ", "\t\n", "\u3000"])
def test_whitespace_only_ignore_notes_are_refused_as_the_schema_says(
    client: TestClient, db: Session, notes: str
) -> None:
    """The schema's pattern refuses whitespace-only text; the app refuses exactly that."""
    pattern = SPEC["components"]["schemas"]["IgnoreRequest"]["properties"]["notes"]["pattern"]
    assert re.search(pattern, notes) is None
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    db.commit()
    response = client.post(
        IGNORE.format(exception.id), headers=actors.vendor_headers, json={"notes": notes}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.notes"
    assert exception_state(db, exception.id)["status"] == "pending"


def test_ignore_notes_are_trimmed_after_the_check(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    db.commit()
    response = client.post(
        IGNORE.format(exception.id),
        headers=actors.vendor_headers,
        json={"notes": "\u00a0 out of stock \u3000"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["resolution_notes"] == "out of stock"


# --- NUL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/vendor/order-exceptions",
        "/api/v1/vendor/orders",
        "/api/v1/vendor/products",
    ],
)
@pytest.mark.parametrize("term", ["\x00", "abc\x00", "\x00abcd"])
def test_nul_in_a_search_is_422_naming_the_field(
    client: TestClient, db: Session, path: str, term: str
) -> None:
    """SQLite's full-text search answered 503 and `search=%00` matched every exception."""
    _, headers = vendor_headers(client, db)
    response = client.get(path, headers=headers, params={"search": term})
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "query.search"


# --- strict booleans -----------------------------------------------------------------------


@pytest.mark.parametrize("remember", [0, 1, "true", "yes", None])
def test_remember_must_be_a_json_boolean(client: TestClient, db: Session, remember: object) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id, gtin="4006381333931")
    product = make_product(db, vendor_id=actors.vendor.id, gtin="4006381333931")
    db.commit()
    before = exception_state(db, exception.id)
    response = client.post(
        RESOLVE.format(exception.id),
        headers=actors.vendor_headers,
        json={"product_id": product.id, "remember": remember},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "body.remember"
    assert exception_state(db, exception.id) == before


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/vendor/products", {"title": "Mug", "price_cents": False}, "body.price_cents"),
        ("/api/v1/vendor/products", {"title": "Mug", "price_cents": "100"}, "body.price_cents"),
        (BULK, {"gtin": "4006381333931", "product_id": True}, "body.product_id"),
        (
            "/api/v1/vendor/marketplace-products/copy-to-catalog",
            {"marketplace_product_ids": ["1"]},
            "body.marketplace_product_ids.0",
        ),
    ],
)
def test_body_integers_must_be_json_integers(
    client: TestClient, db: Session, path: str, body: dict[str, object], field: str
) -> None:
    """`"price_cents": false` created a product with price 0."""
    actors = make_actors(client, db)
    response = client.post(path, headers=actors.vendor_headers, json=body)
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Product).where(~Product.is_placeholder)) == 0


@pytest.mark.parametrize("value", ["1", "0", "yes", "on", "True"])
def test_query_booleans_are_true_or_false(client: TestClient, db: Session, value: str) -> None:
    _, headers = vendor_headers(client, db)
    for path, name in (
        ("/api/v1/vendor/orders", "has_exceptions"),
        ("/api/v1/vendor/products", "is_active"),
    ):
        response = client.get(path, headers=headers, params={name: value})
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"] == f"query.{name}"
        assert client.get(path, headers=headers, params={name: "true"}).status_code == 200
        assert client.get(path, headers=headers, params={name: "false"}).status_code == 200


# --- 405 and Allow -------------------------------------------------------------------------

METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


@pytest.mark.parametrize("path", list(SPEC["paths"]))
def test_every_undocumented_method_is_405_listing_the_documented_ones(
    client: TestClient, path: str
) -> None:
    documented = sorted(m.upper() for m in SPEC["paths"][path])
    url = "/".join("7" if part.startswith("{") else part for part in path.split("/"))
    for method in sorted(METHODS - set(documented)):
        response = client.request(method, url)
        assert response.status_code == 405, (method, url, response.text)
        assert response.headers["allow"] == ", ".join(documented), (method, url)
        assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_get_on_bulk_resolve_is_405_not_an_exception_id(client: TestClient) -> None:
    response = client.get("/api/v1/admin/order-exceptions/bulk-resolve?vendor_id=1")
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"


def test_a_non_numeric_id_is_not_found(client: TestClient, db: Session) -> None:
    _, headers = vendor_headers(client, db)
    response = client.get("/api/v1/vendor/orders/abc", headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


# --- bulk-resolve with an invalid GTIN -----------------------------------------------------


def test_bulk_resolve_with_an_invalid_gtin_no_exception_carries_is_400_invalid_gtin(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id, gtin="4006381333931")
    product = make_product(db, vendor_id=actors.vendor.id, gtin="4006381333931")
    db.commit()
    before = exception_state(db, exception.id)
    response = client.post(
        BULK,
        headers=actors.vendor_headers,
        json={"gtin": "4006381333932", "product_id": product.id, "remember": True},
    )
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "INVALID_GTIN"
    assert "4006381333932" in error["message"]
    assert error["details"] == {"field": "gtin", "gtin": "4006381333932"}
    assert exception_state(db, exception.id) == before
    assert event_count(db) == 0


# --- malformed tokens ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "claims",
    [{"sub": str(2**70)}, {"sub": "0"}, {"sub": "1", "vendor_id": 2**40}, {"sub": "-3"}],
)
def test_a_validly_signed_token_with_an_impossible_id_is_401(
    client: TestClient, db: Session, claims: dict[str, object]
) -> None:
    """A forged `sub` of 2**70 answered 422 VALUE_OUT_OF_RANGE (it needs the secret key)."""
    admin_headers(client, db)
    token = jwt.encode(
        {"exp": datetime.now(UTC) + timedelta(minutes=5), **claims},
        TEST_SECRET,
        algorithm="HS256",
    )
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "NOT_AUTHENTICATED"


def test_the_non_blank_pattern_means_the_same_to_python_and_to_the_validator() -> None:
    """Spelled out, the whitespace class is Unicode White_Space for every regex engine: what a
    schema-driven client generates as non-blank, the app accepts, and the other way round."""
    unicode_white_space = {chr(c) for c in range(0x110000) if chr(c).isspace()} - set(
        "\x1c\x1d\x1e\x1f"  # str.isspace() also counts these separators; Unicode does not
    )
    assert set(WHITESPACE) == unicode_white_space
    validator = TypeAdapter(RequiredNotes)
    for char in [*WHITESPACE, "\x1c", "\ufeff", "\u200b", "a"]:
        python_accepts = re.search(NON_BLANK, char) is not None
        try:
            validator.validate_python(char)
            app_accepts = True
        except ValidationError:
            app_accepts = False
        assert python_accepts == app_accepts == (char not in WHITESPACE), repr(char)


def test_an_integral_json_number_is_an_integer(client: TestClient, db: Session) -> None:
    """JSON Schema counts 7.0 as an integer, so a schema-driven client may send it."""
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id, gtin="4006381333931")
    product = make_product(db, vendor_id=actors.vendor.id, gtin="4006381333931")
    db.commit()
    response = client.post(
        RESOLVE.format(exception.id),
        headers=actors.vendor_headers,
        json={"product_id": float(product.id)},
    )
    assert response.status_code == 200, response.text
    assert exception_state(db, exception.id)["resolved_product_id"] == product.id
