"""Row-level rules of the feed import over HTTP, from the 2026-12 probe: NUL, field counts,
values that are never cleared, invalid GTINs as warnings, dry runs and capped result lists."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.catalog.models import MarketplaceProduct
from tests.factories import admin_headers, row_count, tsv

IMPORT = "/api/v1/admin/marketplace-products/import"
HEADER = ["id", "title", "price", "gtin", "brand"]
GTIN = "4006381333931"


def _upload(client: TestClient, headers: dict[str, str], content: bytes, **params: Any) -> Any:
    return client.post(
        IMPORT,
        headers=headers,
        params=params,
        files={"file": ("feed.tsv", content, "text/tab-separated-values")},
    )


def _stored(db: Session) -> list[tuple[Any, ...]]:
    rows = db.execute(
        select(
            MarketplaceProduct.marketplace_product_id,
            MarketplaceProduct.title,
            MarketplaceProduct.price_cents,
            MarketplaceProduct.currency,
            MarketplaceProduct.gtin,
            MarketplaceProduct.gtin_normalized,
            MarketplaceProduct.brand,
            MarketplaceProduct.attributes,
            MarketplaceProduct.updated_at,
        ).order_by(MarketplaceProduct.marketplace_product_id)
    ).all()
    db.commit()
    return [tuple(r) for r in rows]


def _seed(client: TestClient, headers: dict[str, str]) -> None:
    response = _upload(client, headers, tsv(HEADER, ["p1", "Mug", "19.99 EUR", GTIN, "Acme"]))
    assert response.json()["created"] == 1, response.text


def test_row_with_nul_is_a_row_error_and_good_rows_are_kept(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    data = tsv(HEADER, ["p1", "Mug", "1.00 EUR", "", ""], ["p2", "Cup\x00", "1.00 EUR", "", ""])
    response = _upload(client, headers, data)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["failed"] == [{"row": 3, "error": "title contains a NUL character"}]
    assert (body["created"], body["failed_count"]) == (1, 1)
    assert [r[0] for r in _stored(db)] == ["p1"]


def test_nul_in_an_extra_column_is_a_row_error(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    data = tsv([*HEADER, "link"], ["p1", "Mug", "", "", "", "https://x\x00"])
    body = _upload(client, headers, data).json()
    assert body["failed"] == [{"row": 2, "error": "link contains a NUL character"}]
    assert row_count(db, MarketplaceProduct) == 0


def test_unbalanced_quote_is_a_row_error_and_never_wipes_stored_values(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    _seed(client, headers)
    before = _stored(db)
    # The quote opens a quoted field that swallows the tabs (and lines) after it.
    data = b'id\ttitle\tprice\tgtin\tbrand\np1\t"Big mug\t\t\t\n'
    response = _upload(client, headers, data)
    body = response.json()
    assert (body["created"], body["updated"], body["failed_count"]) == (0, 0, 1), body
    assert body["failed"][0]["row"] == 2
    assert body["failed"][0]["error"].startswith("2 fields but the header has 5")
    assert "quote" in body["failed"][0]["error"]
    assert _stored(db) == before


def test_row_with_fewer_fields_than_header_is_a_row_error(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    body = _upload(client, headers, tsv(HEADER, ["p1", "Mug", "1.00 EUR"])).json()
    assert body["failed"] == [{"row": 2, "error": "3 fields but the header has 5"}]
    assert row_count(db, MarketplaceProduct) == 0


def test_empty_cells_never_clear_stored_values(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    _seed(client, headers)
    before = _stored(db)
    body = _upload(client, headers, tsv(HEADER, ["p1", "Mug", "", "", ""])).json()
    assert (body["created"], body["updated"], body["unchanged"]) == (0, 0, 1), body
    assert _stored(db) == before


def test_unparsable_price_on_update_is_a_row_error_and_keeps_the_stored_price(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    _seed(client, headers)
    before = _stored(db)
    body = _upload(client, headers, tsv(HEADER, ["p1", "Big mug", "cheap", "", ""])).json()
    assert body["failed"] == [
        {"row": 2, "error": "price 'cheap' is not an amount with an optional currency code"}
    ]
    assert _stored(db) == before


def test_update_changes_given_cells_and_keeps_the_others(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    _seed(client, headers)
    body = _upload(client, headers, tsv(HEADER, ["p1", "Big mug", "", "", "Beta"])).json()
    assert (body["updated"], body["unchanged"]) == (1, 0)
    (row,) = _stored(db)
    assert row[:7] == ("p1", "Big mug", 1999, "EUR", GTIN, "0" + GTIN, "Beta")


def test_invalid_gtin_imports_with_a_warning_naming_row_and_value(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    data = tsv(HEADER, ["p1", "Mug", "", "4006381333932", ""])
    body = _upload(client, headers, data).json()
    assert (body["created"], body["failed_count"], body["warnings_count"]) == (1, 0, 1)
    assert body["warnings"] == [
        {
            "row": 2,
            "warning": "gtin '4006381333932' is not a valid GTIN-8/12/13/14 (length or check "
            "digit); it is not used for matching",
        }
    ]
    (row,) = _stored(db)
    assert (row[4], row[5]) == ("4006381333932", None)


def test_invalid_gtin_on_update_keeps_the_stored_valid_gtin(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    _seed(client, headers)
    before = _stored(db)
    body = _upload(client, headers, tsv(HEADER, ["p1", "Mug", "", "4006381333932", ""])).json()
    assert (body["unchanged"], body["warnings_count"]) == (1, 1), body
    assert _stored(db) == before


def test_dry_run_reports_changes_and_writes_nothing(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    _upload(
        client, headers, tsv(HEADER, ["p1", "Mug", "1.00 EUR", "", ""], ["p2", "Cup", "", "", ""])
    )
    before = _stored(db)
    data = tsv(
        HEADER,
        ["p1", "Big mug", "2.00 EUR", "", ""],
        ["p2", "Cup", "", "", ""],
        ["p3", "Bowl", "", "", ""],
        ["p4", "", "", "", ""],
    )
    response = _upload(client, headers, data, dry_run="true")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["dry_run"] is True
    assert (body["created"], body["updated"], body["unchanged"], body["failed_count"]) == (
        1,
        1,
        1,
        1,
    )
    assert body["changes"] == [
        {
            "row": 2,
            "id": "p1",
            "action": "update",
            "fields": {
                "title": {"from": "Mug", "to": "Big mug"},
                "price_cents": {"from": 100, "to": 200},
            },
        },
        {"row": 4, "id": "p3", "action": "create", "fields": {}},
    ]
    assert _stored(db) == before


def test_result_lists_at_most_the_first_1000_errors_with_the_total(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    rows = [[f"p{n}", "", "", "", ""] for n in range(1500)]
    body = _upload(client, headers, tsv(HEADER, *rows, ["ok", "Mug", "", "", ""])).json()
    assert (body["created"], body["failed_count"], len(body["failed"])) == (1, 1500, 1000)
    assert body["failed"][0] == {"row": 2, "error": "title is missing"}
    assert body["failed"][-1]["row"] == 1001


def test_result_lists_at_most_the_first_1000_warnings_with_the_total(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    rows = [[f"p{n}", "Mug", "", "123", ""] for n in range(1200)]
    body = _upload(client, headers, tsv(HEADER, *rows)).json()
    assert (body["created"], body["warnings_count"], len(body["warnings"])) == (1200, 1200, 1000)


def test_rerun_is_idempotent(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    data = tsv(HEADER, *[[f"p{n}", f"Mug {n}", "1.00 EUR", "", ""] for n in range(50)])
    first = _upload(client, headers, data).json()
    before = _stored(db)
    again = _upload(client, headers, data).json()
    assert (first["created"], again["created"], again["updated"], again["unchanged"]) == (
        50,
        0,
        0,
        50,
    )
    assert _stored(db) == before
