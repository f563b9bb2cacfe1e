"""Catalog pages through the ASGI client: the upload runs the API's import job, the copy the
API's copy job (with its auto-matching), each vendor sees and changes only its own catalog, and
a form without its token changes nothing."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.catalog.models import CatalogImportRun, MarketplaceProduct, Product
from ordergate.orders.models import OrderItemException
from tests.factories import (
    gtin13,
    make_marketplace_product,
    make_pending_exception,
    make_user,
    make_vendor,
    row_count,
    tsv,
)
from tests.web.pages import post_form, web_login

GOOD = gtin13("540000000001")
FEED = tsv(
    ["id", "title", "gtin", "price"],
    ["mp-1", "Wooden train", GOOD, "19.99 EUR"],
    ["mp-2", "", "", "5.00 EUR"],
    ["mp-3", "Kite", "", "twelve"],
    ["mp-4", "Plush fox", "", "9.50 EUR"],
)


def _flash(page_text: str) -> str:
    match = re.search(r'class="flash flash-\w+"[^>]*>([^<]+)<', page_text)
    assert match, page_text[:500]
    return match.group(1).replace("&#39;", "'")


def test_upload_lists_bad_rows_by_number_and_imports_the_good_ones_as_the_api_does(
    client: TestClient, db: Session
) -> None:
    make_user(db, email="admin@example.test", is_admin=True)
    db.commit()
    csrf = web_login(client, "admin@example.test")
    response = client.post(
        "/catalog/import",
        data={"csrf_token": csrf},
        files={"file": ("feed.tsv", FEED)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    run_page = client.get(response.headers["location"])
    assert run_page.status_code == 200
    rows = re.findall(r"<tr><td>(\d+)</td><td>([^<]+)</td></tr>", run_page.text)
    assert [row for row, _ in rows] == ["3", "4"]  # header = row 1
    assert "title is missing" in rows[0][1]
    assert "twelve" in rows[1][1]
    assert re.search(r'data-total="rows_created">2<', run_page.text)
    assert re.search(r'data-total="rows_failed">2<', run_page.text)
    assert "4 rows read: created 2" in _flash(run_page.text)
    assert row_count(db, MarketplaceProduct) == 2
    # The API's upload of the same file: the same run shape, nothing new created.
    api = client.post(
        "/api/v1/admin/marketplace-products/import",
        headers=_admin_headers(client),
        files={"file": ("feed.tsv", FEED)},
    )
    assert api.status_code == 200, api.text
    assert [e["row"] for e in api.json()["failed"]] == [3, 4]
    assert api.json()["created"] == 0
    assert api.json()["unchanged"] == 2


def _admin_headers(client: TestClient) -> dict[str, str]:
    from tests.factories import login

    return login(client, "admin@example.test")


def test_vendor_staff_cannot_upload_and_nothing_is_recorded(
    client: TestClient, db: Session
) -> None:
    make_vendor(db, code="shop1")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    db.commit()
    csrf = web_login(client, "staff@shop1.test")
    assert "Upload a marketplace feed" not in client.get("/catalog").text
    response = post_form(client, "/catalog/import", csrf, files={"file": ("f.tsv", FEED)})
    assert response.status_code == 403
    assert row_count(db, MarketplaceProduct) == 0
    assert row_count(db, CatalogImportRun) == 0


def test_copy_auto_matches_and_the_page_says_how_many(client: TestClient, db: Session) -> None:
    vendor = make_vendor(db, code="shop1")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    product = make_marketplace_product(db, title="Wooden train", gtin=GOOD)
    make_marketplace_product(db, title="Unrelated", gtin=gtin13("540000000002"))
    for _ in range(3):
        make_pending_exception(db, vendor_id=vendor.id, gtin=GOOD)
    db.commit()
    csrf = web_login(client, "staff@shop1.test")
    awaited = client.get("/catalog?awaited=1")
    assert awaited.status_code == 200
    assert "Wooden train" in awaited.text
    assert "Unrelated" not in awaited.text
    response = post_form(client, "/catalog/copy", csrf, {"ids": [str(product.id)]})
    assert response.status_code == 303
    message = _flash(client.get(response.headers["location"]).text)
    assert message == (
        "Copied 1 product(s) into Shop shop1's catalog (0 already there); "
        "3 pending exception(s) auto-matched."
    )
    assert row_count(db, OrderItemException, OrderItemException.status == "resolved") == 3
    assert "in catalog" in client.get("/catalog").text
    assert "Wooden train" in client.get("/catalog/products").text


def test_copy_all_matching_copies_only_what_the_search_finds(
    client: TestClient, db: Session
) -> None:
    vendor = make_vendor(db, code="shop1")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    make_marketplace_product(db, title="Kite, red", gtin=gtin13("540000000003"))
    make_marketplace_product(db, title="Kite, blue", gtin=gtin13("540000000004"))
    make_marketplace_product(db, title="Riesling 75cl", gtin=gtin13("540000000005"))
    db.commit()
    csrf = web_login(client, "staff@shop1.test")
    response = post_form(client, "/catalog/copy", csrf, {"copy_all": "true", "search": "kite"})
    assert response.status_code == 303
    assert "Copied 2 product(s)" in _flash(client.get(response.headers["location"]).text)
    assert (
        row_count(db, Product, Product.vendor_id == vendor.id, Product.is_placeholder.is_(False))
        == 2
    )


def test_vendors_see_and_change_only_their_own_catalog(client: TestClient, db: Session) -> None:
    shop1 = make_vendor(db, code="shop1")
    shop2 = make_vendor(db, code="shop2")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    make_user(db, email="staff@shop2.test", vendors=["shop2"])
    product = make_marketplace_product(db, title="Wooden train", gtin=GOOD)
    make_pending_exception(db, vendor_id=shop1.id, gtin=GOOD)
    db.commit()
    csrf = web_login(client, "staff@shop2.test")
    # shop1's exception is not shop2's: nothing is awaited here, and the copy goes to shop2.
    assert "Wooden train" not in client.get("/catalog?awaited=1").text
    response = post_form(
        client, "/catalog/copy", csrf, {"ids": [str(product.id)], "vendor_id": str(shop1.id)}
    )
    assert response.status_code == 303
    assert "0 pending exception(s) auto-matched" in _flash(
        client.get(response.headers["location"]).text
    )
    assert (
        row_count(db, Product, Product.vendor_id == shop1.id, Product.is_placeholder.is_(False))
        == 0
    )
    assert (
        row_count(db, Product, Product.vendor_id == shop2.id, Product.is_placeholder.is_(False))
        == 1
    )
    assert row_count(db, OrderItemException, OrderItemException.status == "pending") == 1
    client.cookies.clear()
    web_login(client, "staff@shop1.test")
    assert "Wooden train" not in client.get("/catalog/products").text


def test_a_copy_without_the_form_token_is_refused_and_changes_nothing(
    client: TestClient, db: Session
) -> None:
    vendor = make_vendor(db, code="shop1")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    product = make_marketplace_product(db, title="Wooden train", gtin=GOOD)
    make_pending_exception(db, vendor_id=vendor.id, gtin=GOOD)
    db.commit()
    web_login(client, "staff@shop1.test")
    response = client.post("/catalog/copy", data={"ids": [str(product.id)]})
    assert response.status_code == 403
    assert "CSRF_TOKEN_INVALID" in response.text
    upload = client.post("/catalog/import", files={"file": ("f.tsv", FEED)})
    assert upload.status_code == 403
    assert row_count(db, Product, Product.is_placeholder.is_(False)) == 0
    assert row_count(db, OrderItemException, OrderItemException.status == "pending") == 1
    assert row_count(db, CatalogImportRun) == 0


def test_an_unknown_id_shows_the_apis_message_and_copies_nothing(
    client: TestClient, db: Session
) -> None:
    make_vendor(db, code="shop1")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    product = make_marketplace_product(db, title="Wooden train", gtin=GOOD)
    db.commit()
    csrf = web_login(client, "staff@shop1.test")
    response = post_form(client, "/catalog/copy", csrf, {"ids": [str(product.id), "999999"]})
    assert response.status_code == 404
    assert "1 marketplace product(s) not found: 999999" in response.text
    assert row_count(db, Product, Product.is_placeholder.is_(False)) == 0


def test_an_admin_on_all_vendors_is_asked_to_choose_one(client: TestClient, db: Session) -> None:
    make_vendor(db, code="shop1")
    make_user(db, email="admin@example.test", is_admin=True)
    product = make_marketplace_product(db, title="Wooden train", gtin=GOOD)
    db.commit()
    csrf = web_login(client, "admin@example.test")
    assert "Choose a vendor" in client.get("/catalog").text
    products = client.get("/catalog/products", follow_redirects=False)
    assert products.status_code == 303
    assert products.headers["location"].startswith("/vendor")
    response = post_form(client, "/catalog/copy", csrf, {"ids": [str(product.id)]})
    assert response.status_code == 409
    assert row_count(db, Product, Product.is_placeholder.is_(False)) == 0
