"""The exception detail page `/exceptions/{id}` through the ASGI client: context, suggestions,
the product picker, resolve (one line, by GTIN, remembered), ignore, create-product, reopen,
the next pending exception, CSRF and other vendors' ids (404, nothing changed)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.catalog.models import Product
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from ordergate.orders.repository import blocking_exception_ids
from tests.factories import (
    events_of,
    exception_state,
    gtin13,
    make_item,
    make_order,
    make_product,
    make_unmatched_line,
    mappings,
    minutes,
    row_count,
)
from tests.web.pages import (
    ADMIN,
    STAFF,
    commit_and_log_in,
    csrf_of,
    db_state,
    flash_after,
    post_form,
    two_shops,
)

GTIN = gtin13("400638133393")  # 4006381333931
OTHER_GTIN = gtin13("501234567890")


@dataclass
class Shop:
    vendor_id: int
    other_vendor_id: int
    csrf: str


@pytest.fixture
def shop(client: TestClient, db: Session) -> Shop:
    """shop1 (its staff logged in through the form) and shop2."""
    vendor, other = two_shops(db)
    csrf = commit_and_log_in(client, db, STAFF)
    return Shop(vendor_id=vendor.id, other_vendor_id=other.id, csrf=csrf)


def _line_and_mug(db: Session, shop: Shop) -> tuple[OrderItemException, Product]:
    """A pending line of `GTIN` in shop1 and an active product "Mug" to resolve it to;
    committed."""
    product = make_product(db, vendor_id=shop.vendor_id, title="Mug")
    exception = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN)
    db.commit()
    return exception, product


# --- the page ---------------------------------------------------------------------------------


def test_the_page_shows_the_order_the_line_and_the_type_in_plain_words(
    client: TestClient, db: Session, shop: Shop
) -> None:
    order = make_order(db, vendor_id=shop.vendor_id, order_number="LS-1-R000000042")
    item = make_item(db, order=order, gtin=" 4006381333931", sku="MH-1", quantity=2)
    exception = OrderItemException(
        order_item_id=item.id,
        vendor_id=shop.vendor_id,
        original_gtin=item.gtin,
        original_product_name="Funko Pop! Marvel",
        original_sku="MH-1",
        exception_type="product_not_found",
        status="pending",
    )
    db.add(exception)
    db.commit()
    page = client.get(f"/exceptions/{exception.id}")
    assert page.status_code == 200
    text = page.text
    assert f'<a href="/orders/{order.id}">LS-1-R000000042</a>' in text
    assert "Product not found" in text
    assert "No active product in the catalog has this line&#39;s GTIN" in text
    assert "<code> 4006381333931</code>" in text  # as received
    assert "<code>04006381333931</code>" in text  # canonical
    assert "€19.99" in text
    assert "<dt>Quantity</dt><dd>2</dd>" in text
    assert "Raised when the order was imported" not in text  # no event was written
    assert "No events yet." in text


@pytest.mark.parametrize(
    ("gtin", "exception_type", "words"),
    [
        (gtin13("400638133393")[:-1] + "0", "gtin_mismatch", "Invalid GTIN"),
        (GTIN, "duplicate_gtin", "Several active products in the catalog share this GTIN"),
        (None, "product_not_found", "The line came without a GTIN"),
    ],
)
def test_each_type_is_explained(
    client: TestClient,
    db: Session,
    shop: Shop,
    gtin: str | None,
    exception_type: str,
    words: str,
) -> None:
    exception = make_unmatched_line(
        db, vendor_id=shop.vendor_id, gtin=gtin, exception_type=exception_type
    )
    db.commit()
    page = client.get(f"/exceptions/{exception.id}")
    assert page.status_code == 200
    assert words in page.text


def test_suggestions_show_their_reasons_and_never_another_vendors_product(
    client: TestClient, db: Session, shop: Shop
) -> None:
    same_sku = make_product(db, vendor_id=shop.vendor_id, title="Wooden train set", sku="mh-42")
    make_product(db, vendor_id=shop.other_vendor_id, title="Their twin", sku="MH-42", gtin=GTIN)
    exception = make_unmatched_line(
        db, vendor_id=shop.vendor_id, gtin=GTIN, sku="MH-42", product_name="Toy train"
    )
    db.commit()
    text = client.get(f"/exceptions/{exception.id}").text
    assert "Wooden train set" in text
    assert "<li>Same SKU</li>" in text
    assert f'name="product_id" value="{same_sku.id}">Resolve to this' in text
    assert "Their twin" not in text


def test_a_check_digit_typo_suggests_the_right_gtin(
    client: TestClient, db: Session, shop: Shop
) -> None:
    product = make_product(db, vendor_id=shop.vendor_id, title="Espresso cup", gtin=GTIN)
    typo = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
    exception = make_unmatched_line(
        db, vendor_id=shop.vendor_id, gtin=typo, sku=None, exception_type="gtin_mismatch"
    )
    db.commit()
    text = client.get(f"/exceptions/{exception.id}").text
    assert "The GTIN differs only in its check digit (a typo)" in text
    assert f'value="{product.id}">Resolve to this' in text
    assert "Score 90" in text
    # The create form asks for a corrected GTIN instead of offering the invalid one.
    assert 'id="create-gtin" name="gtin" inputmode="numeric" maxlength="50" value=""' in text


# --- the product picker -----------------------------------------------------------------------


def test_the_picker_finds_by_gtin_sku_and_title_within_the_vendor(
    client: TestClient, db: Session, shop: Shop
) -> None:
    by_gtin = make_product(db, vendor_id=shop.vendor_id, title="Blue mug", gtin=OTHER_GTIN)
    by_sku = make_product(db, vendor_id=shop.vendor_id, title="Green plate", sku="PLT-0042")
    by_title = make_product(db, vendor_id=shop.vendor_id, title="Ceramic teapot large")
    make_product(db, vendor_id=shop.vendor_id, title="Ceramic teapot old", is_active=False)
    make_product(db, vendor_id=shop.other_vendor_id, title="Ceramic teapot", sku="PLT-0042X")
    exception = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN)
    db.commit()
    htmx = {"HX-Request": "true"}
    url = f"/exceptions/{exception.id}/products"

    def found(q: str) -> list[int]:
        response = client.get(url, params={"q": q}, headers=htmx)
        assert response.status_code == 200
        assert "<html" not in response.text  # the fragment alone
        return [int(v) for v in re.findall(r'name="product_id" value="(\d+)"', response.text)]

    assert found(OTHER_GTIN) == [by_gtin.id]
    assert found("0" + OTHER_GTIN) == [by_gtin.id]  # another form of the GTIN
    assert found(OTHER_GTIN[:6]) == [by_gtin.id]  # the first digits
    assert found("plt-00") == [by_sku.id]  # SKU prefix, any case
    assert found("ceramic tea") == [by_title.id]  # words, the last one a prefix
    assert found("x") == []  # too short to search
    assert (
        "No active product of this vendor matches"
        in client.get(url, params={"q": "nothing like it"}, headers=htmx).text
    )


def test_the_picker_works_without_javascript(client: TestClient, db: Session, shop: Shop) -> None:
    product = make_product(db, vendor_id=shop.vendor_id, title="Green plate", sku="PLT-7")
    exception = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN)
    db.commit()
    plain = client.get(
        f"/exceptions/{exception.id}/products", params={"q": "PLT-7"}, follow_redirects=False
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/exceptions/{exception.id}?q=PLT-7#resolve"
    page = client.get(f"/exceptions/{exception.id}", params={"q": "PLT-7"})
    assert (
        f'form="resolve-form" name="product_id" value="{product.id}">Resolve to this' in page.text
    )


# --- resolve ----------------------------------------------------------------------------------


def test_resolve_one_line_resolves_writes_the_event_and_unblocks_the_order(
    client: TestClient, db: Session, shop: Shop
) -> None:
    product = make_product(db, vendor_id=shop.vendor_id, title="Mug", gtin=OTHER_GTIN)
    exception = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN)
    order_id = db.get_one(OrderItem, exception.order_item_id).order_id
    order_number = db.get_one(Order, order_id).order_number
    db.commit()
    response = post_form(
        client,
        f"/exceptions/{exception.id}/resolve",
        shop.csrf,
        {"product_id": str(product.id), "notes": "Same mug", "scope": "one"},
    )
    assert response.headers["location"] == f"/exceptions/{exception.id}"
    assert flash_after(client, response) == (
        f"Resolved exception {exception.id}; order {order_number} can now be confirmed"
    )
    state = exception_state(db, exception.id)
    assert state["status"] == "resolved"
    assert state["resolved_product_id"] == product.id
    assert state["item_product_id"] == product.id
    assert state["resolution_notes"] == "Same mug"
    assert [e["action"] for e in events_of(db, exception.id)] == ["resolved"]
    assert blocking_exception_ids(db, order_id=order_id) == []
    db.commit()
    page = client.get(f"/exceptions/{exception.id}").text
    assert "Mug (#" in page
    assert "staff@shop1.test" in page
    assert 'id="reopen-notes"' in page
    assert 'id="resolve-form"' not in page


def test_remember_maps_the_gtin(client: TestClient, db: Session, shop: Shop) -> None:
    exception, product = _line_and_mug(db, shop)
    response = post_form(
        client,
        f"/exceptions/{exception.id}/resolve",
        shop.csrf,
        {"product_id": str(product.id), "remember": "true"},
    )
    assert response.status_code == 303
    assert mappings(db) == [(shop.vendor_id, "04006381333931", product.id)]


def test_resolve_by_gtin_shows_the_preview_and_resolves_every_pending_line(
    client: TestClient, db: Session, shop: Shop
) -> None:
    product = make_product(db, vendor_id=shop.vendor_id, title="Mug")
    lines = [make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN) for _ in range(3)]
    shared = make_order(db, vendor_id=shop.vendor_id)
    lines.append(make_unmatched_line(db, vendor_id=shop.vendor_id, order=shared, gtin=GTIN))
    # The same order also waits on another GTIN: it stays blocked.
    blocker = make_unmatched_line(db, vendor_id=shop.vendor_id, order=shared, gtin=OTHER_GTIN)
    theirs = make_unmatched_line(db, vendor_id=shop.other_vendor_id, gtin=GTIN)
    db.commit()
    page = client.get(f"/exceptions/{lines[0].id}?scope=gtin").text
    assert 'name="scope" value="gtin" checked' in page
    assert "All 4 pending lines with GTIN" in page
    assert "4 pending lines on 4 orders; 3 orders can then be confirmed." in page
    assert 'name="scope" value="one" checked' in client.get(f"/exceptions/{lines[0].id}").text

    response = post_form(
        client,
        f"/exceptions/{lines[0].id}/resolve",
        shop.csrf,
        {"product_id": str(product.id), "scope": "gtin"},
    )
    assert flash_after(client, response) == (
        f"Resolved 4 exceptions with GTIN {GTIN}; 3 orders can now be confirmed"
    )
    assert [exception_state(db, x.id)["status"] for x in lines] == ["resolved"] * 4
    assert exception_state(db, blocker.id)["status"] == "pending"
    assert exception_state(db, theirs.id)["status"] == "pending"
    assert [e["after"]["via"] for e in events_of(db, lines[3].id)] == ["gtin"]


def test_resolve_to_another_vendors_product_is_refused_and_changes_nothing(
    client: TestClient, db: Session, shop: Shop
) -> None:
    theirs = make_product(db, vendor_id=shop.other_vendor_id, title="Theirs")
    exception = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN)
    db.commit()
    before = db_state(db)
    for scope in ("one", "gtin"):
        response = post_form(
            client,
            f"/exceptions/{exception.id}/resolve",
            shop.csrf,
            {"product_id": str(theirs.id), "scope": scope, "notes": "kept"},
        )
        assert response.status_code == 400
        assert f"Product {theirs.id} cannot resolve this exception: it does not exist" in (
            response.text
        )
        assert ">kept</textarea>" in response.text  # the user's input stays
    bad = post_form(client, f"/exceptions/{exception.id}/resolve", shop.csrf, {"product_id": "x"})
    assert bad.status_code == 422
    assert "Invalid request: check product_id" in bad.text
    assert db_state(db) == before


# --- ignore, create-product, reopen -----------------------------------------------------------


def test_ignore_needs_a_reason(client: TestClient, db: Session, shop: Shop) -> None:
    exception = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN)
    db.commit()
    before = db_state(db)
    for notes in ("", "   "):
        url = f"/exceptions/{exception.id}/ignore"
        refused = post_form(client, url, shop.csrf, {"notes": notes})
        assert refused.status_code == 422
        assert "Invalid request: check notes" in refused.text
        assert 'role="alert"' in refused.text
    assert db_state(db) == before
    done = post_form(
        client, f"/exceptions/{exception.id}/ignore", shop.csrf, {"notes": "  Discontinued "}
    )
    assert flash_after(client, done) == (
        f"Ignored exception {exception.id}; it still blocks confirmation"
    )
    state = exception_state(db, exception.id)
    assert (state["status"], state["resolution_notes"]) == ("ignored", "Discontinued")
    # Ignoring again (a stale page) shows the API's refusal.
    again = post_form(client, f"/exceptions/{exception.id}/ignore", shop.csrf, {"notes": "x"})
    assert again.status_code == 400
    assert f"Order item exception {exception.id} is ignored" in again.text


def test_create_product_shows_its_defaults_creates_and_resolves_the_siblings(
    client: TestClient, db: Session, shop: Shop
) -> None:
    first = make_unmatched_line(
        db, vendor_id=shop.vendor_id, gtin=GTIN, sku="FU-1", product_name="Funko Pop"
    )
    sibling = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN)
    db.commit()
    page = client.get(f"/exceptions/{first.id}").text
    assert 'id="create-title" name="title" maxlength="500" value="Funko Pop"' in page
    assert 'id="create-sku" name="sku" maxlength="100" value="FU-1"' in page
    assert 'value="19.99"' in page
    assert f'value="{GTIN}"' in page
    products = row_count(db, Product)
    response = post_form(
        client,
        f"/exceptions/{first.id}/create-product",
        shop.csrf,
        {"title": "Funko Pop! Iron Man", "sku": "FU-1", "price": "24,50", "gtin": GTIN},
    )
    flash = flash_after(client, response)
    assert flash.startswith("Created product 'Funko Pop! Iron Man' (#")
    assert flash.endswith("resolved 2 exceptions (this one and 1 other pending line with its GTIN)")
    assert row_count(db, Product) == products + 1
    created = db.scalars(select(Product).where(Product.title == "Funko Pop! Iron Man")).one()
    assert (created.price_cents, created.vendor_id) == (2450, shop.vendor_id)
    db.commit()
    for exception in (first, sibling):
        state = exception_state(db, exception.id)
        assert (state["status"], state["item_product_id"]) == ("resolved", created.id)


def test_create_product_for_an_invalid_gtin_without_a_correction_is_refused(
    client: TestClient, db: Session, shop: Shop
) -> None:
    bad = GTIN[:-1] + str((int(GTIN[-1]) + 1) % 10)
    exception = make_unmatched_line(
        db, vendor_id=shop.vendor_id, gtin=bad, exception_type="gtin_mismatch"
    )
    db.commit()
    before = db_state(db)
    refused = post_form(
        client,
        f"/exceptions/{exception.id}/create-product",
        shop.csrf,
        {"title": "Cup", "price": "abc"},
    )
    assert refused.status_code == 422
    assert "Invalid request: check price" in refused.text
    refused = post_form(
        client, f"/exceptions/{exception.id}/create-product", shop.csrf, {"title": "Cup"}
    )
    assert refused.status_code == 400
    assert "is not a valid GTIN" in refused.text
    assert 'value="Cup"' in refused.text
    assert db_state(db) == before


def test_reopen_restores_the_placeholder_and_needs_a_reason(
    client: TestClient, db: Session, shop: Shop
) -> None:
    exception, product = _line_and_mug(db, shop)
    post_form(
        client,
        f"/exceptions/{exception.id}/resolve",
        shop.csrf,
        {"product_id": str(product.id), "remember": "true"},
    )
    before = db_state(db)
    refused = post_form(client, f"/exceptions/{exception.id}/reopen", shop.csrf, {"notes": " "})
    assert refused.status_code == 422
    assert "Invalid request: check notes" in refused.text
    assert db_state(db) == before
    done = post_form(
        client, f"/exceptions/{exception.id}/reopen", shop.csrf, {"notes": "Wrong mug"}
    )
    assert flash_after(client, done) == (
        f"Reopened exception {exception.id}: the line waits on the placeholder again; "
        "the remembered mapping of GTIN 04006381333931 is removed"
    )
    state = exception_state(db, exception.id)
    placeholder = placeholder_product_id(db, vendor_id=shop.vendor_id)
    db.commit()
    assert state["status"] == "pending"
    assert state["item_product_id"] == placeholder
    assert state["needs_product_match"] is True
    assert mappings(db) == []
    timeline = client.get(f"/exceptions/{exception.id}").text
    assert "Resolved: Mug (#" in timeline
    assert "Reopened from resolved: back on the placeholder" in timeline
    assert "Wrong mug" in timeline


def test_reopen_after_letzshop_confirmed_shows_the_apis_409(
    client: TestClient, db: Session, shop: Shop
) -> None:
    exception, product = _line_and_mug(db, shop)
    post_form(
        client, f"/exceptions/{exception.id}/resolve", shop.csrf, {"product_id": str(product.id)}
    )
    unit = db.scalars(
        select(OrderItemUnit).where(OrderItemUnit.order_item_id == exception.order_item_id)
    ).one()
    unit.state = "confirmed_available"
    db.commit()
    before = db_state(db)
    refused = post_form(client, f"/exceptions/{exception.id}/reopen", shop.csrf, {"notes": "x"})
    assert refused.status_code == 409
    assert f"Order item exception {exception.id} cannot be reopened" in refused.text
    assert "already confirmed at the marketplace" in refused.text
    assert db_state(db) == before


# --- the next pending exception ---------------------------------------------------------------


def test_next_pending_follows_the_queues_newest_first_order(
    client: TestClient, db: Session, shop: Shop
) -> None:
    older = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN, created_at=minutes(1))
    newer = make_unmatched_line(db, vendor_id=shop.vendor_id, gtin=GTIN, created_at=minutes(5))
    make_unmatched_line(db, vendor_id=shop.other_vendor_id, gtin=GTIN, created_at=minutes(3))
    make_unmatched_line(
        db, vendor_id=shop.vendor_id, gtin=GTIN, created_at=minutes(3), status="ignored"
    )
    db.commit()

    def next_of(exception_id: int) -> str | None:
        text = client.get(f"/exceptions/{exception_id}").text
        match = re.search(r'href="/exceptions/(\d+)" id="next-pending"', text)
        return match.group(1) if match else None

    assert next_of(newer.id) == str(older.id)
    assert next_of(older.id) == str(newer.id)  # wraps round to the newest


# --- CSRF and other vendors -------------------------------------------------------------------


def _posts(exception_id: int, product_id: int) -> list[tuple[str, dict[str, str]]]:
    return [
        (f"/exceptions/{exception_id}/resolve", {"product_id": str(product_id)}),
        (f"/exceptions/{exception_id}/resolve", {"product_id": str(product_id), "scope": "gtin"}),
        (f"/exceptions/{exception_id}/ignore", {"notes": "reason"}),
        (f"/exceptions/{exception_id}/create-product", {"title": "New"}),
        (f"/exceptions/{exception_id}/reopen", {"notes": "reason"}),
    ]


def test_posts_without_the_form_token_are_refused_and_change_nothing(
    client: TestClient, db: Session, shop: Shop
) -> None:
    exception, product = _line_and_mug(db, shop)
    before = db_state(db)
    for url, data in _posts(exception.id, product.id):
        missing = client.post(url, data=data, follow_redirects=False)
        assert missing.status_code == 403, url
        assert "CSRF_TOKEN_INVALID" in missing.text
        wrong = post_form(client, url, "not-the-token", data)
        assert wrong.status_code == 403, url
    assert db_state(db) == before


def test_another_vendors_exception_is_a_404_page_for_every_route(
    client: TestClient, db: Session, shop: Shop
) -> None:
    theirs = make_unmatched_line(db, vendor_id=shop.other_vendor_id, gtin=GTIN)
    their_product = make_product(db, vendor_id=shop.other_vendor_id, title="Theirs")
    db.commit()
    before = db_state(db)
    message = f"Order item exception {theirs.id} not found"
    for url in (f"/exceptions/{theirs.id}", f"/exceptions/{theirs.id}?scope=gtin&q=The"):
        page = client.get(url)
        assert page.status_code == 404
        assert message in page.text
        assert "Theirs" not in page.text
    picker = client.get(
        f"/exceptions/{theirs.id}/products", params={"q": "Theirs"}, headers={"HX-Request": "true"}
    )
    assert picker.status_code == 404
    assert "Theirs" not in picker.text.replace(message, "")
    for url, data in _posts(theirs.id, their_product.id):
        response = post_form(client, url, shop.csrf, data)
        assert response.status_code == 404, url
        assert message in response.text
    missing = client.get("/exceptions/999999")
    assert missing.status_code == 404
    assert "Order item exception 999999 not found" in missing.text
    assert db_state(db) == before


def test_an_admin_on_all_vendors_sees_and_resolves_by_gtin(client: TestClient, db: Session) -> None:
    vendor, _ = two_shops(db)
    product = make_product(db, vendor_id=vendor.id, title="Mug")
    lines = [make_unmatched_line(db, vendor_id=vendor.id, gtin=GTIN) for _ in range(2)]
    csrf = commit_and_log_in(client, db, ADMIN)
    page = client.get(f"/exceptions/{lines[0].id}")
    assert page.status_code == 200
    assert csrf_of(page) == csrf
    response = post_form(
        client,
        f"/exceptions/{lines[0].id}/resolve",
        csrf,
        {"product_id": str(product.id), "scope": "gtin"},
    )
    assert flash_after(client, response).startswith("Resolved 2 exceptions")
    assert [exception_state(db, x.id)["status"] for x in lines] == ["resolved", "resolved"]
