"""GET …/order-exceptions/export.csv over HTTP in both trees: the list's rows and filters as
CSV that the csv module reads back, formulas neutralised, streamed in batches."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.events.models import Event
from ordergate.item_exceptions import export
from ordergate.orders.models import OrderItemException
from tests.factories import (
    BASE_TIME,
    Caller,
    admin_headers,
    make_exception,
    make_item,
    make_order,
    make_product,
    make_unmatched_line,
    make_vendor,
    row_count,
)
from tests.live_server import live_server

ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"
GTIN = "4006381333931"


def _url(caller: Caller, suffix: str = "") -> str:
    return caller.url(admin=ADMIN, vendor=VENDOR) + suffix


def _export(client: TestClient, caller: Caller, **params: Any) -> httpx.Response:
    response = client.get(
        _url(caller, "/export.csv"),
        headers=caller.headers,
        params={**caller.vendor_query(), **params},
    )
    assert response.status_code == 200, response.text
    return response


def _rows(response: httpx.Response) -> list[dict[str, str]]:
    """The body as the csv module reads it (UTF-8, the header row naming the columns)."""
    reader = csv.reader(io.StringIO(response.content.decode("utf-8"), newline=""))
    header = next(reader)
    assert tuple(header) == export.COLUMNS
    rows = [dict(zip(header, row, strict=True)) for row in reader]
    return rows


def _admin(client: TestClient, db: Session) -> dict[str, str]:
    return admin_headers(client, db)


def _listed_ids(client: TestClient, caller: Caller, **params: Any) -> list[int]:
    ids: list[int] = []
    while True:
        response = client.get(
            _url(caller),
            headers=caller.headers,
            params={**caller.vendor_query(), **params, "skip": len(ids), "limit": 200},
        )
        assert response.status_code == 200, response.text
        page = [row["id"] for row in response.json()["exceptions"]]
        ids += page
        if len(page) < 200:
            return ids


def test_one_row_per_exception_with_its_order_product_and_resolution(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order = make_order(db, vendor_id=caller.vendor.id, order_number="LS-1-R7")
    pending = make_exception(
        db,
        item=make_item(
            db, order=order, gtin=GTIN, product_name="Funko Pop", sku="FU-1", quantity=3
        ),
        created_at=BASE_TIME,
    )
    resolved = make_exception(
        db,
        item=make_item(db, order=order, gtin=None, product_name="Mug", sku=None),
        created_at=BASE_TIME + timedelta(minutes=5),
    )
    product = make_product(db, vendor_id=caller.vendor.id, title="Blue mug", sku="MUG-B")
    db.commit()
    answer = client.post(
        _url(caller, f"/{resolved.id}/resolve"),
        headers=caller.headers,
        json={"product_id": product.id, "notes": "same mug, new name"},
    )
    assert answer.status_code == 200, answer.text
    resolved_at = answer.json()["resolved_at"]

    response = _export(client, caller)
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.headers["content-disposition"] == (
        'attachment; filename="order-exceptions.csv"'
    )
    assert not response.content.startswith(b"\xef\xbb\xbf")
    email = "admin@example.test" if caller.is_admin else f"staff@{caller.vendor.code}.test"
    assert _rows(response) == [
        {
            "exception_id": str(resolved.id),
            "vendor_code": "shop1",
            "order_number": "LS-1-R7",
            "order_date": "2025-12-19T10:30:00Z",
            "exception_created_at": "2025-12-19T10:35:00Z",
            "gtin": "",
            "sku": "",
            "product_name": "Mug",
            "quantity": "1",
            "exception_type": "product_not_found",
            "status": "resolved",
            "resolved_product_id": str(product.id),
            "resolved_product_sku": "MUG-B",
            "resolved_product_title": "Blue mug",
            "resolved_by": email,
            "resolved_at": resolved_at[:19] + "Z",
            "resolution_notes": "same mug, new name",
        },
        {
            "exception_id": str(pending.id),
            "vendor_code": "shop1",
            "order_number": "LS-1-R7",
            "order_date": "2025-12-19T10:30:00Z",
            "exception_created_at": "2025-12-19T10:30:00Z",
            "gtin": GTIN,
            "sku": "FU-1",
            "product_name": "Funko Pop",
            "quantity": "3",
            "exception_type": "product_not_found",
            "status": "pending",
            "resolved_product_id": "",
            "resolved_product_sku": "",
            "resolved_product_title": "",
            "resolved_by": "",
            "resolved_at": "",
            "resolution_notes": "",
        },
    ]


def test_an_auto_match_is_resolved_by_the_system(
    client: TestClient, db: Session, caller: Caller
) -> None:
    make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=GTIN)
    db.commit()
    products = caller.url(
        admin=f"/api/v1/admin/vendors/{caller.vendor.id}/products", vendor="/api/v1/vendor/products"
    )
    created = client.post(products, headers=caller.headers, json={"title": "Pop", "gtin": GTIN})
    assert created.json()["auto_matched"] == 1
    (row,) = _rows(_export(client, caller))
    assert (row["status"], row["resolved_by"], row["resolved_product_title"]) == (
        "resolved",
        export.SYSTEM_RESOLVER,
        "Pop",
    )


DANGEROUS = [
    '=HYPERLINK("http://evil.test","click")',
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\uff1d1+1",
]


def test_formula_cells_are_neutralised_and_read_back(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order = make_order(db, vendor_id=caller.vendor.id, order_number="=LS-FORMULA")
    for text in DANGEROUS:
        make_exception(
            db, item=make_item(db, order=order, gtin=text[:50], product_name=text, sku=text)
        )
    db.commit()
    rows = _rows(_export(client, caller))
    assert len(rows) == len(DANGEROUS)
    assert sorted(row["product_name"] for row in rows) == sorted("'" + t for t in DANGEROUS)
    for row in rows:
        for column in ("product_name", "sku", "gtin", "order_number"):
            assert row[column].startswith("'"), (column, row[column])
            assert not row[column].startswith(export.FORMULA_TRIGGERS)
        assert row["order_number"] == "'=LS-FORMULA"


def test_notes_and_names_keep_quotes_commas_line_breaks_and_accents(
    client: TestClient, db: Session, caller: Caller
) -> None:
    name = 'Tasse "Lëtzebuerg", 2 × 0,3 l\nbleu — 🐉'
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, product_name=name, sku="a,b")
    db.commit()
    ignored = client.post(
        _url(caller, f"/{exception.id}/ignore"),
        headers=caller.headers,
        json={"notes": "=cmd|' /C calc'!A0 and\r\na \"quoted\" note"},
    )
    assert ignored.status_code == 200
    (row,) = _rows(_export(client, caller))
    assert row["product_name"] == name
    assert row["sku"] == "a,b"
    assert row["resolution_notes"] == "'=cmd|' /C calc'!A0 and\r\na \"quoted\" note"
    assert row["status"] == "ignored"
    assert row["resolved_by"] == ""


def test_harmless_text_is_left_alone() -> None:
    for text in ("Funko", "4006381333931", "'quoted", " =spaced", "a=b", "mug-2"):
        assert export.neutralise(text) == text


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"status": "pending"},
        {"status": "resolved"},
        {"exception_type": "gtin_mismatch"},
        {"search": "mug"},
        {"search": GTIN},
        {"search": "0" + GTIN},
        {"search": "LS-"},
        {"search": "zz"},
        {"status": "pending", "search": "pop"},
    ],
)
def test_the_filters_are_the_lists(
    client: TestClient, db: Session, caller: Caller, params: dict[str, str]
) -> None:
    other = make_vendor(db, code="shop2")
    for vendor_id in (caller.vendor.id, other.id):
        for n in range(3):
            make_unmatched_line(db, vendor_id=vendor_id, gtin=GTIN, product_name=f"Pop mug {n}")
            make_unmatched_line(
                db,
                vendor_id=vendor_id,
                gtin="12345",
                product_name=f"Puzzle zz {n}",
                exception_type="gtin_mismatch",
                status="ignored",
            )
            make_unmatched_line(
                db, vendor_id=vendor_id, gtin=None, product_name="Mug", status="resolved"
            )
    db.commit()
    exported = [int(row["exception_id"]) for row in _rows(_export(client, caller, **params))]
    assert exported == _listed_ids(client, caller, **params)
    assert exported  # every filter above matches something
    shop1 = {e for e in exported if _vendor_of(db, e) == caller.vendor.id}
    assert shop1 == set(exported)  # the admin's ?vendor_id and the vendor's token


def _vendor_of(db: Session, exception_id: int) -> int:
    exception = db.get(OrderItemException, exception_id)
    assert exception is not None
    vendor_id = exception.vendor_id
    db.commit()
    return vendor_id


def test_an_admin_exports_every_vendor_without_a_filter(client: TestClient, db: Session) -> None:
    for code in ("shop1", "shop2"):
        make_unmatched_line(db, vendor_id=make_vendor(db, code=code).id)
    db.commit()
    response = client.get(f"{ADMIN}/export.csv", headers=_admin(client, db))
    assert sorted(row["vendor_code"] for row in _rows(response)) == ["shop1", "shop2"]


def test_batches_cover_every_row_once_in_the_lists_order(
    client: TestClient, db: Session, caller: Caller, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ten rows in batches of three, seven of them created at the same instant: the keyset
    (created_at, id) neither skips nor repeats a row at a batch boundary."""
    monkeypatch.setattr(export, "BATCH_SIZE", 3)
    for n in range(10):
        make_unmatched_line(
            db, vendor_id=caller.vendor.id, created_at=BASE_TIME + timedelta(minutes=min(n, 3))
        )
    db.commit()
    exported = [int(row["exception_id"]) for row in _rows(_export(client, caller))]
    assert len(exported) == len(set(exported)) == 10
    assert exported == _listed_ids(client, caller)


@pytest.mark.parametrize("rows", [0, 3, 6])
def test_a_batch_boundary_at_the_end(
    client: TestClient, db: Session, caller: Caller, monkeypatch: pytest.MonkeyPatch, rows: int
) -> None:
    monkeypatch.setattr(export, "BATCH_SIZE", 3)
    for _ in range(rows):
        make_unmatched_line(db, vendor_id=caller.vendor.id)
    db.commit()
    assert len(_rows(_export(client, caller))) == rows


def test_a_byte_order_mark_on_request(client: TestClient, db: Session, caller: Caller) -> None:
    make_unmatched_line(db, vendor_id=caller.vendor.id, product_name="Café")
    db.commit()
    response = _export(client, caller, bom="true")
    assert response.content.startswith(b"\xef\xbb\xbfexception_id,")
    (row,) = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["product_name"] == "Café"


def test_bad_filters_are_refused_with_the_lists_codes(
    client: TestClient, db: Session, caller: Caller
) -> None:
    make_unmatched_line(db, vendor_id=caller.vendor.id)
    db.commit()
    for params in (
        {"status": "open"},
        {"exception_type": "x"},
        {"bom": "yes"},
        {"search": "a\x00b"},
        {"search": "x" * 201},
    ):
        response = client.get(
            _url(caller, "/export.csv"),
            headers=caller.headers,
            params={**caller.vendor_query(), **params},
        )
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_an_unknown_vendor_is_refused(client: TestClient, db: Session) -> None:
    response = client.get(
        f"{ADMIN}/export.csv", headers=_admin(client, db), params={"vendor_id": 999_999}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "VENDOR_NOT_FOUND"


def test_the_export_needs_a_token(client: TestClient) -> None:
    for url in (ADMIN, VENDOR):
        assert client.get(f"{url}/export.csv").status_code == 401


def test_the_export_changes_nothing(client: TestClient, db: Session, caller: Caller) -> None:
    make_unmatched_line(db, vendor_id=caller.vendor.id)
    db.commit()
    before = (row_count(db, OrderItemException), row_count(db, Event))
    _export(client, caller)
    assert (row_count(db, OrderItemException), row_count(db, Event)) == before


# --- streamed by a real server --------------------------------------------------------------


@pytest.fixture
def served(settings: Settings, engine: Any) -> Iterator[str]:
    with live_server(settings) as server:
        yield server.url


def _lines(url: str, headers: dict[str, str], params: dict[str, Any]) -> Iterator[bytes]:
    with (
        httpx.Client(base_url=url, timeout=30) as http,
        http.stream("GET", f"{ADMIN}/export.csv", headers=headers, params=params) as response,
    ):
        assert response.status_code == 200
        assert response.headers.get("transfer-encoding") == "chunked"
        yield from response.iter_raw()


def test_a_real_server_streams_the_batches(
    client: TestClient, db: Session, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "BATCH_SIZE", 4)
    vendor = make_vendor(db)
    for _ in range(10):
        make_unmatched_line(db, vendor_id=vendor.id)
    db.commit()
    headers = _admin(client, db)
    body = b"".join(_lines(served, headers, {"vendor_id": vendor.id}))
    rows = list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))
    assert len(rows) == 11


def test_a_failure_after_the_first_batch_ends_the_body_short(
    client: TestClient, db: Session, served: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the 200 is sent an error cannot be answered: the transfer breaks off instead, so
    no client takes a partial export for a whole one."""
    monkeypatch.setattr(export, "BATCH_SIZE", 2)
    original = export.Export.batch

    def failing(self: export.Export, session: Session, after: Any) -> Any:
        if after is not None:
            raise RuntimeError("the database went away")
        return original(self, session, after)

    monkeypatch.setattr(export.Export, "batch", failing)
    vendor = make_vendor(db)
    for _ in range(5):
        make_unmatched_line(db, vendor_id=vendor.id)
    db.commit()
    headers = _admin(client, db)
    received: list[bytes] = []
    with pytest.raises(httpx.RemoteProtocolError):
        received.extend(_lines(served, headers, {"vendor_id": vendor.id}))
    assert b"".join(received).count(b"\r\n") == 3  # the header and the first batch only


def test_no_connection_is_held_between_batches(
    app: Any,
    client: TestClient,
    db: Session,
    caller: Caller,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each later batch starts with none of the read pool's connections checked out: the
    request's session was closed before the body streamed, and each batch's own session is
    closed before the next."""
    monkeypatch.setattr(export, "BATCH_SIZE", 2)
    original = export.Export.batch
    checked_out: list[int] = []

    def counting(self: export.Export, session: Session, after: Any) -> Any:
        if after is not None:
            checked_out.append(app.state.read_engine.pool.checkedout())
        return original(self, session, after)

    monkeypatch.setattr(export.Export, "batch", counting)
    for _ in range(7):
        make_unmatched_line(db, vendor_id=caller.vendor.id)
    db.commit()
    assert len(_rows(_export(client, caller))) == 7
    assert checked_out == [0, 0, 0]
