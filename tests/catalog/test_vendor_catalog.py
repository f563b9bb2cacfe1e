"""Copy to vendor catalog, direct product creation and product lists, over HTTP."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.catalog.models import Product
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.events.models import Event
from ordergate.orders.models import OrderItem, OrderItemException
from tests.factories import (
    Caller,
    admin_headers,
    make_marketplace_product,
    make_pending_exception,
    make_product,
    make_vendor,
    reload,
    row_count,
    vendor_headers,
)

GTIN = "4006381333931"
OTHER_GTIN = "5901234123457"
VENDOR_COPY = "/api/v1/vendor/marketplace-products/copy-to-catalog"
VENDOR_PRODUCTS = "/api/v1/vendor/products"


def admin_copy(vendor_id: int) -> str:
    return f"/api/v1/admin/vendors/{vendor_id}/marketplace-products/copy-to-catalog"


def admin_products(vendor_id: int) -> str:
    return f"/api/v1/admin/vendors/{vendor_id}/products"


def copy_url(caller: Caller) -> str:
    return caller.url(admin=admin_copy(caller.vendor.id), vendor=VENDOR_COPY)


def products_url(caller: Caller) -> str:
    return caller.url(admin=admin_products(caller.vendor.id), vendor=VENDOR_PRODUCTS)


# --- copy to catalog ----------------------------------------------------------------------


def test_copy_creates_products_from_marketplace_rows(
    client: TestClient, db: Session, caller: Caller
) -> None:
    other = make_vendor(db, code="shop2")
    source = make_marketplace_product(db, title="Mug", gtin=GTIN, sku="S-1", price_cents=1250)
    db.commit()
    response = client.post(
        copy_url(caller), headers=caller.headers, json={"marketplace_product_ids": [source.id]}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"created": 1, "skipped": 0, "auto_matched": 0}
    product = db.scalars(select(Product).where(Product.is_placeholder.is_(False))).one()
    assert (
        product.vendor_id,
        product.marketplace_product_id,
        product.title,
        product.sku,
        product.gtin,
        product.gtin_normalized,
        product.price_cents,
        product.currency,
        product.is_active,
    ) == (caller.vendor.id, source.id, "Mug", "S-1", GTIN, "0" + GTIN, 1250, "EUR", True)
    assert row_count(db, Product, Product.vendor_id == other.id) == 0


def test_copy_again_skips_already_copied(client: TestClient, db: Session, caller: Caller) -> None:
    first = make_marketplace_product(db)
    second = make_marketplace_product(db)
    db.commit()
    client.post(
        copy_url(caller), headers=caller.headers, json={"marketplace_product_ids": [first.id]}
    )
    again = client.post(
        copy_url(caller),
        headers=caller.headers,
        json={"marketplace_product_ids": [first.id, second.id, first.id]},
    )
    assert again.json() == {"created": 1, "skipped": 1, "auto_matched": 0}
    assert row_count(db, Product) == 2


def test_copy_auto_matches_pending_exceptions(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_pending_exception(db, vendor_id=caller.vendor.id, gtin=GTIN)
    make_pending_exception(db, vendor_id=caller.vendor.id, gtin=GTIN)
    unrelated = make_pending_exception(db, vendor_id=caller.vendor.id, gtin=OTHER_GTIN)
    source = make_marketplace_product(db, gtin=GTIN)
    db.commit()
    response = client.post(
        copy_url(caller), headers=caller.headers, json={"marketplace_product_ids": [source.id]}
    )
    assert response.json() == {"created": 1, "skipped": 0, "auto_matched": 2}
    product_id = db.scalar(select(Product.id).where(Product.marketplace_product_id == source.id))
    item = reload(db, OrderItem, exception.order_item_id)
    assert (item.product_id, item.needs_product_match) == (product_id, False)
    assert row_count(db, OrderItemException, OrderItemException.status == "resolved") == 2
    assert reload(db, OrderItemException, unrelated.id).status == "pending"
    assert row_count(db, Event, Event.action == "auto_matched") == 2


def test_copy_of_two_rows_sharing_a_gtin_marks_duplicate(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_pending_exception(db, vendor_id=caller.vendor.id, gtin=GTIN)
    ids = [make_marketplace_product(db, gtin=GTIN).id, make_marketplace_product(db, gtin=GTIN).id]
    db.commit()
    response = client.post(
        copy_url(caller), headers=caller.headers, json={"marketplace_product_ids": ids}
    )
    assert response.json() == {"created": 2, "skipped": 0, "auto_matched": 0}
    row = reload(db, OrderItemException, exception.id)
    assert (row.status, row.exception_type, row.resolved_product_id) == (
        "pending",
        "duplicate_gtin",
        None,
    )


def test_copy_with_unknown_ids_is_404_naming_them_and_writes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    make_pending_exception(db, vendor_id=caller.vendor.id, gtin=GTIN)
    known = make_marketplace_product(db, gtin=GTIN)
    db.commit()
    products_before = row_count(db, Product)
    response = client.post(
        copy_url(caller),
        headers=caller.headers,
        json={"marketplace_product_ids": [known.id, 99998, 99999]},
    )
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "MARKETPLACE_PRODUCTS_NOT_FOUND"
    assert error["message"] == "2 marketplace product(s) not found: 99998, 99999"
    assert error["details"] == {"missing_ids": [99998, 99999], "missing_count": 2}
    assert row_count(db, Product) == products_before
    assert row_count(db, OrderItemException, OrderItemException.status == "pending") == 1


def test_copy_with_empty_list_is_422(client: TestClient, db: Session, caller: Caller) -> None:
    response = client.post(
        copy_url(caller), headers=caller.headers, json={"marketplace_product_ids": []}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"][0]["field"] == "body.marketplace_product_ids"


def test_admin_copy_for_unknown_vendor_is_404_and_writes_nothing(
    client: TestClient, db: Session
) -> None:
    headers = admin_headers(client, db)
    source = make_marketplace_product(db)
    db.commit()
    response = client.post(
        admin_copy(4242), headers=headers, json={"marketplace_product_ids": [source.id]}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "VENDOR_NOT_FOUND"
    assert "4242" in response.json()["error"]["message"]
    assert row_count(db, Product) == 0


def test_vendor_cannot_use_the_admin_copy_for_another_vendor(
    client: TestClient, db: Session
) -> None:
    _, headers = vendor_headers(client, db, code="shop1")
    other, _ = vendor_headers(client, db, code="shop2")
    source = make_marketplace_product(db)
    db.commit()
    response = client.post(
        admin_copy(other.id), headers=headers, json={"marketplace_product_ids": [source.id]}
    )
    assert response.status_code == 403
    assert row_count(db, Product) == 0


# --- direct creation -----------------------------------------------------------------------


def test_creates_a_product(client: TestClient, db: Session, caller: Caller) -> None:
    other = make_vendor(db, code="shop2")
    db.commit()
    body = {
        "title": "Mug",
        "gtin": " 4006381333931 ",
        "sku": "S-1",
        "brand": "Acme",
        "price_cents": 990,
    }
    response = client.post(products_url(caller), headers=caller.headers, json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["auto_matched"] == 0
    product = created["product"]
    assert {
        k: product[k] for k in ("vendor_id", "title", "gtin", "gtin_normalized", "gtin_type")
    } == {
        "vendor_id": caller.vendor.id,
        "title": "Mug",
        "gtin": GTIN,
        "gtin_normalized": "0" + GTIN,
        "gtin_type": "gtin13",
    }
    assert (product["sku"], product["brand"], product["price_cents"], product["currency"]) == (
        "S-1",
        "Acme",
        990,
        "EUR",
    )
    assert product["is_active"] is True
    assert row_count(db, Product, Product.vendor_id == other.id) == 0


def test_created_product_auto_matches(client: TestClient, db: Session, caller: Caller) -> None:
    exception = make_pending_exception(db, vendor_id=caller.vendor.id, gtin="0" + GTIN)
    db.commit()
    response = client.post(
        products_url(caller), headers=caller.headers, json={"title": "Mug", "gtin": GTIN}
    )
    assert response.json()["auto_matched"] == 1
    row = reload(db, OrderItemException, exception.id)
    assert (row.status, row.resolved_product_id) == ("resolved", response.json()["product"]["id"])


def test_created_product_with_a_gtin_already_in_catalog_marks_duplicate(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_pending_exception(db, vendor_id=caller.vendor.id, gtin=GTIN)
    make_product(db, vendor_id=caller.vendor.id, gtin=GTIN)
    db.commit()
    response = client.post(
        products_url(caller), headers=caller.headers, json={"title": "Mug 2", "gtin": GTIN}
    )
    assert response.json()["auto_matched"] == 0
    row = reload(db, OrderItemException, exception.id)
    assert (row.status, row.exception_type) == ("pending", "duplicate_gtin")


def test_invalid_gtin_is_422_naming_the_field_and_writes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    response = client.post(
        products_url(caller), headers=caller.headers, json={"title": "Mug", "gtin": "4006381333932"}
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "INVALID_GTIN"
    assert error["details"] == {"field": "gtin", "value": "4006381333932"}
    assert "gtin '4006381333932'" in error["message"]
    assert row_count(db, Product) == 0


def test_placeholder_gtin_is_not_a_valid_product_gtin(
    client: TestClient, db: Session, caller: Caller
) -> None:
    response = client.post(
        products_url(caller), headers=caller.headers, json={"title": "X", "gtin": "0000000000000"}
    )
    assert response.status_code == 422
    assert row_count(db, Product) == 0


def test_admin_create_for_unknown_vendor_is_404(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.post(admin_products(4242), headers=headers, json={"title": "Mug"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "VENDOR_NOT_FOUND"
    assert row_count(db, Product) == 0


# --- lists ---------------------------------------------------------------------------------


def test_placeholder_never_appears_in_product_lists(
    client: TestClient, db: Session, caller: Caller
) -> None:
    placeholder_product_id(db, vendor_id=caller.vendor.id)
    make_product(db, vendor_id=caller.vendor.id, title="Mug")
    db.commit()
    body = client.get(products_url(caller), headers=caller.headers).json()
    assert (body["total"], [p["title"] for p in body["products"]]) == (1, ["Mug"])
    assert row_count(db, Product) == 2


def test_lists_only_the_vendors_own_products(
    client: TestClient, db: Session, caller: Caller
) -> None:
    other = make_vendor(db, code="shop2")
    make_product(db, vendor_id=caller.vendor.id, title="Mine")
    make_product(db, vendor_id=other.id, title="Theirs")
    db.commit()
    body = client.get(products_url(caller), headers=caller.headers).json()
    assert (body["total"], [p["title"] for p in body["products"]]) == (1, ["Mine"])


def test_search_finds_canonical_gtin_sku_and_title(
    client: TestClient, db: Session, caller: Caller
) -> None:
    make_product(db, vendor_id=caller.vendor.id, title="Blue mug", gtin=GTIN, sku="MUG-1")
    make_product(db, vendor_id=caller.vendor.id, title="Tea towel", gtin=OTHER_GTIN, sku="TT-9")
    db.commit()

    def titles(search: str) -> list[str]:
        body = client.get(
            products_url(caller), headers=caller.headers, params={"search": search}
        ).json()
        return [p["title"] for p in body["products"]]

    assert titles("04006381333931") == ["Blue mug"]
    assert titles(GTIN) == ["Blue mug"]
    assert titles("tt-9") == ["Tea towel"]
    assert titles("TOWEL") == ["Tea towel"]


def test_product_list_paginates(client: TestClient, db: Session, caller: Caller) -> None:
    for n in range(4):
        make_product(db, vendor_id=caller.vendor.id, title=f"P{n}")
    db.commit()
    body = client.get(
        products_url(caller), headers=caller.headers, params={"skip": 2, "limit": 5}
    ).json()
    assert (body["total"], body["skip"], body["limit"]) == (4, 2, 5)
    assert [p["title"] for p in body["products"]] == ["P2", "P3"]


def test_admin_list_for_unknown_vendor_is_404(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    response = client.get(admin_products(4242), headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "VENDOR_NOT_FOUND"


def test_vendor_cannot_list_another_vendors_products_via_admin_route(
    client: TestClient, db: Session
) -> None:
    _, headers = vendor_headers(client, db, code="shop1")
    other, _ = vendor_headers(client, db, code="shop2")
    make_product(db, vendor_id=other.id, title="Theirs")
    db.commit()
    response = client.get(admin_products(other.id), headers=headers)
    assert response.status_code == 403
