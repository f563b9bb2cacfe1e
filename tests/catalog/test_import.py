"""Marketplace feed import and listing over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.catalog.models import MarketplaceProduct
from tests.factories import admin_headers, make_marketplace_product, row_count, tsv, vendor_headers

IMPORT = "/api/v1/admin/marketplace-products/import"
LIST = "/api/v1/admin/marketplace-products"
HEADER = ["id", "title", "description", "link", "price", "brand", "gtin", "mpn", "sku"]


def _row(pid: str, title: str = "Mug", price: str = "19.99 EUR", gtin: str = "") -> list[str]:
    return [pid, title, "A mug", f"https://x.test/{pid}", price, "Acme", gtin, "M-1", f"S-{pid}"]


def _counts(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of the result before runs, dry runs and warnings were added."""
    return {k: body[k] for k in ("created", "updated", "failed", "total_rows")}


def _upload(client: TestClient, headers: dict[str, str], content: bytes, **kwargs: Any) -> Any:
    return client.post(
        IMPORT,
        headers=headers,
        files={"file": ("feed.tsv", content, "text/tab-separated-values")},
        **kwargs,
    )


def test_import_creates_rows_with_parsed_fields(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    data = tsv(HEADER, _row("p1", gtin="4006381333931"), _row("p2", price="5,50 EUR"))
    response = _upload(client, headers, data)
    assert response.status_code == 200, response.text
    assert _counts(response.json()) == {"created": 2, "updated": 0, "failed": [], "total_rows": 2}
    p1 = db.scalars(
        select(MarketplaceProduct).where(MarketplaceProduct.marketplace_product_id == "p1")
    ).one()
    assert (p1.marketplace, p1.title, p1.description, p1.brand, p1.mpn, p1.sku) == (
        "letzshop",
        "Mug",
        "A mug",
        "Acme",
        "M-1",
        "S-p1",
    )
    assert (p1.price_cents, p1.currency) == (1999, "EUR")
    assert (p1.gtin, p1.gtin_normalized, p1.gtin_type) == (
        "4006381333931",
        "04006381333931",
        "gtin13",
    )
    assert p1.attributes == {"link": "https://x.test/p1"}


def test_reimport_updates_and_never_duplicates(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    _upload(client, headers, tsv(HEADER, _row("p1"), _row("p2")))
    again = _upload(client, headers, tsv(HEADER, _row("p1", title="Big mug"), _row("p3")))
    assert _counts(again.json()) == {"created": 1, "updated": 1, "failed": [], "total_rows": 2}
    titles = db.execute(
        select(MarketplaceProduct.marketplace_product_id, MarketplaceProduct.title).order_by(
            MarketplaceProduct.marketplace_product_id
        )
    ).all()
    assert [tuple(t) for t in titles] == [("p1", "Big mug"), ("p2", "Mug"), ("p3", "Mug")]


def test_bad_rows_are_reported_by_row_number_and_good_rows_kept(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    data = tsv(
        HEADER,
        _row("p1"),
        _row("", title="No id"),
        _row("p3", title=""),
        _row("p4", price="cheap"),
        _row("p5"),
        _row("p1", title="Again"),
    )
    response = _upload(client, headers, data)
    assert _counts(response.json()) == {
        "created": 2,
        "updated": 0,
        "failed": [
            {"row": 3, "error": "id is missing"},
            {"row": 4, "error": "title is missing"},
            {"row": 5, "error": "price 'cheap' is not an amount with an optional currency code"},
            {"row": 7, "error": "id 'p1' repeats row 2; row skipped"},
        ],
        "total_rows": 6,
    }
    ids = db.scalars(
        select(MarketplaceProduct.marketplace_product_id).order_by(MarketplaceProduct.id)
    ).all()
    assert ids == ["p1", "p5"]


def test_bom_and_crlf_are_understood(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    data = tsv(HEADER, _row("p1"), newline="\r\n", bom=True)
    response = _upload(client, headers, data)
    assert response.json()["created"] == 1
    row = db.scalars(select(MarketplaceProduct)).one()
    assert (row.marketplace_product_id, row.sku) == ("p1", "S-p1")


def test_invalid_gtin_is_kept_raw_without_canonical_form(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    _upload(client, headers, tsv(HEADER, _row("p1", gtin="4006381333932")))
    row = db.scalars(select(MarketplaceProduct)).one()
    assert (row.gtin, row.gtin_normalized, row.gtin_type) == ("4006381333932", None, None)


def test_marketplace_form_field_keeps_feeds_apart(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    _upload(client, headers, tsv(HEADER, _row("p1")))
    other = _upload(client, headers, tsv(HEADER, _row("p1")), data={"marketplace": "amazon"})
    assert other.json()["created"] == 1
    rows = db.execute(
        select(MarketplaceProduct.marketplace, MarketplaceProduct.marketplace_product_id).order_by(
            MarketplaceProduct.marketplace
        )
    ).all()
    assert [tuple(r) for r in rows] == [("amazon", "p1"), ("letzshop", "p1")]


def test_marketplace_query_parameter_is_accepted(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    _upload(client, headers, tsv(HEADER, _row("p1")), params={"marketplace": "amazon"})
    assert db.scalars(select(MarketplaceProduct.marketplace)).all() == ["amazon"]


def test_empty_file_is_400_and_writes_nothing(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = _upload(client, headers, b"")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CSV_EMPTY"
    assert row_count(db, MarketplaceProduct) == 0


def test_comma_separated_file_is_400_naming_the_missing_columns(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    response = _upload(client, headers, b"id,title,price\np1,Mug,1.00 EUR\n")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "CSV_HEADER_INVALID"
    assert error["details"]["missing_columns"] == ["id", "title"]
    assert row_count(db, MarketplaceProduct) == 0


def test_undecodable_file_is_400_and_writes_nothing(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    data = "id\ttitle\np1\tMug\np2\tCafé\n".encode("latin-1")
    response = _upload(client, headers, data)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CSV_NOT_UTF8"
    assert row_count(db, MarketplaceProduct) == 0


def test_binary_file_is_400(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = _upload(client, headers, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "CSV_NOT_UTF8"


def test_missing_file_field_is_422(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.post(IMPORT, headers=headers, data={"marketplace": "letzshop"})
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.file"


def test_vendor_cannot_import(client: TestClient, db: Session) -> None:
    _, headers = vendor_headers(client, db)
    response = _upload(client, headers, tsv(HEADER, _row("p1")))
    assert response.status_code == 403
    assert row_count(db, MarketplaceProduct) == 0


def test_list_searches_by_canonical_gtin(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    make_marketplace_product(db, marketplace_product_id="a", gtin="4006381333931")
    make_marketplace_product(db, marketplace_product_id="b", gtin="96385074")
    db.commit()
    body = client.get(LIST, headers=headers, params={"search": "04006381333931"}).json()
    assert body["total"] == 1
    assert [p["marketplace_product_id"] for p in body["marketplace_products"]] == ["a"]


def test_list_searches_by_title_and_marketplace_id(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    make_marketplace_product(db, marketplace_product_id="X-1", title="Blue coffee mug")
    make_marketplace_product(db, marketplace_product_id="X-2", title="Tea towel")
    make_marketplace_product(db, marketplace_product_id="X-3", title="100% wool")
    db.commit()

    def ids(search: str) -> list[str]:
        body = client.get(LIST, headers=headers, params={"search": search}).json()
        return [p["marketplace_product_id"] for p in body["marketplace_products"]]

    assert ids("COFFEE") == ["X-1"]
    assert ids("X-2") == ["X-2"]
    assert ids("%") == ["X-3"]


def test_list_paginates(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    for n in range(5):
        make_marketplace_product(db, marketplace_product_id=f"p{n}")
    db.commit()
    body = client.get(LIST, headers=headers, params={"skip": 1, "limit": 2}).json()
    assert (body["total"], body["skip"], body["limit"]) == (5, 1, 2)
    assert [p["marketplace_product_id"] for p in body["marketplace_products"]] == ["p1", "p2"]


VENDOR_LIST = "/api/v1/vendor/marketplace-products"


def test_vendor_staff_list_and_search_marketplace_products(client: TestClient, db: Session) -> None:
    # What copy-to-catalog copies from, so the vendor tree lists it too (issue 9, small gaps).
    _, headers = vendor_headers(client, db)
    make_marketplace_product(db, marketplace_product_id="a", gtin="4006381333931", title="Mug")
    make_marketplace_product(db, marketplace_product_id="b", title="Tea towel")
    db.commit()
    everything = client.get(VENDOR_LIST, headers=headers).json()
    assert everything["total"] == 2
    found = client.get(VENDOR_LIST, headers=headers, params={"search": "04006381333931"}).json()
    assert [p["marketplace_product_id"] for p in found["marketplace_products"]] == ["a"]
    admin = client.get(LIST, headers=admin_headers(client, db)).json()
    assert everything == admin  # one query, the same answer in both trees


def test_the_vendor_tree_needs_a_vendor_token(client: TestClient, db: Session) -> None:
    make_marketplace_product(db, marketplace_product_id="a")
    db.commit()
    assert client.get(VENDOR_LIST).status_code == 401
    response = client.get(VENDOR_LIST, headers=admin_headers(client, db))
    assert response.status_code == 403  # an admin token without a vendor acts for none
