# ruff: noqa: F811  (fixtures imported from tests/web/letzshop_shop.py)
"""Orders pages through the ASGI client, with the Letzshop sandbox over real HTTP: the list's
badges and filters, a blocked order's page, inline resolve/ignore, confirm/decline/reject
through the fulfilment job, vendor isolation and CSRF."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.orders.models import FulfilmentRequest, Order, OrderItem, OrderItemException
from ordergate.web import order_pages
from tests.factories import (
    BASE_TIME,
    exception_state,
    make_order,
    make_product,
    make_user,
    set_deadline_hours,
)
from tests.web.letzshop_shop import (  # noqa: F401  (fixtures)
    KNOWN,
    UNKNOWN,
    Shop,
    exception_of,
    line,
    mixed_shipment,
    mutations,
    order_of,
    put_and_sync,
    sandbox,
    sandbox_unit_states,
    shop,
)
from tests.web.pages import commit_and_log_in, csrf_of, db_state, flash_of, post_form, web_login

CONFIRM_BUTTON = re.compile(r'<button type="submit" class="primary" id="confirm-order"\s*([^>]*)>')


@dataclass
class Blocked:
    order: Order
    mystery: OrderItem  # the line of the unknown GTIN
    exception: OrderItemException  # its exception, which blocks confirmation


@pytest.fixture
def blocked(client: TestClient, db: Session, shop: Shop, control: httpx.Client) -> Blocked:
    """shop1's order S1 imported from the sandbox: two units of "Known toy" (in the catalog)
    and one of an unknown GTIN (line "mystery"), whose pending exception blocks the order."""
    make_product(db, vendor_id=shop.vendor.id, title="Known toy", gtin=KNOWN)
    db.commit()
    put_and_sync(client, shop, control, mixed_shipment())
    order = order_of(db, "S1")
    mystery = line(db, order, "mystery")
    return Blocked(order=order, mystery=mystery, exception=exception_of(db, mystery))


def _confirm_button(page: httpx.Response) -> str:
    match = CONFIRM_BUTTON.search(page.text)
    assert match, page.text
    return match.group(1)


def test_the_list_shows_status_exception_and_deadline_badges_and_filters_in_the_url(
    client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    make_product(db, vendor_id=shop.vendor.id, gtin=KNOWN)
    set_deadline_hours(db, shop.vendor, 48)
    db.commit()
    clean = mixed_shipment("S2")
    clean["inventoryUnits"] = clean["inventoryUnits"][:2]
    put_and_sync(client, shop, control, mixed_shipment("S1"), clean)
    blocked, fine = order_of(db, "S1"), order_of(db, "S2")
    web_login(client, shop.staff_email)

    page = client.get("/orders")
    assert page.status_code == 200
    assert "2 orders" in page.text
    assert f'href="/orders/{blocked.id}">{blocked.order_number}</a>' in page.text
    assert '<span class="badge blocked">1 blocking</span>' in page.text
    assert '<span class="badge status-pending">pending</span>' in page.text
    # ordered 2026-11-01 10:00 (the shipment helper), 48 h to confirm
    assert (
        '<span class="badge overdue" title="Confirm by 2026-11-03 10:00 UTC">'
        "overdue · 2026-11-03 10:00</span>" in page.text
    )
    assert page.text.count("badge overdue") == 1  # the clean order has no deadline

    only_blocked = client.get("/orders?has_exceptions=true")
    assert blocked.order_number in only_blocked.text
    assert fine.order_number not in only_blocked.text
    assert '<option value="true" selected>' in only_blocked.text  # the filter is kept
    searched = client.get(f"/orders?search={fine.order_number}")
    assert "1 order match" in searched.text
    assert fine.order_number in searched.text
    assert blocked.order_number not in searched.text

    empty = client.get("/orders?status=delivered")
    assert "No orders match these filters" in empty.text
    bad = client.get("/orders?status=lost")
    assert bad.status_code == 422
    assert "status: &#39;lost&#39; is not one of" in bad.text


def test_htmx_filters_get_only_the_results(
    client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    web_login(client, shop.staff_email)
    part = client.get("/orders?status=pending", headers={"HX-Request": "true"})
    assert part.status_code == 200
    assert part.text.lstrip().startswith('<section id="results"')
    assert "No orders match these filters" in part.text


def test_a_blocked_orders_confirm_is_disabled_with_the_gates_reason(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order, mystery, exception = blocked.order, blocked.mystery, blocked.exception
    web_login(client, shop.staff_email)

    page = client.get(f"/orders/{order.id}")
    assert page.status_code == 200
    reason = (
        f"Order cannot be confirmed: 1 unresolved product exception(s) on order {order.id} "
        "(resolve them, or decline the lines)"
    )
    assert f'<p id="blocked-reason">{reason}</p>' in page.text
    assert "disabled" in _confirm_button(page)
    assert 'aria-describedby="confirm-why blocked-reason"' in _confirm_button(page)
    assert f'<tr id="line-{mystery.id}" class="line-blocked">' in page.text
    assert f'href="/exceptions/{exception.id}#resolve"' in page.text
    assert f'action="/orders/{order.id}/exceptions/{exception.id}/ignore"' in page.text
    # the clean line can be confirmed alone; the blocked one cannot
    known = line(db, order, "known")
    assert f'<tr id="line-{known.id}" class="">' in page.text
    assert f'aria-describedby="why-{mystery.id}"' in page.text
    assert "2 × unconfirmed" in page.text
    assert "1 × unconfirmed" in page.text
    assert "Known toy" in page.text  # the matched line's product
    assert "not matched" in page.text  # the placeholder's


def test_ignore_needs_a_reason_and_an_ignored_exception_still_blocks(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order, exception = blocked.order, blocked.exception
    csrf = web_login(client, shop.staff_email)
    url = f"/orders/{order.id}/exceptions/{exception.id}/ignore"
    before = db_state(db)

    blank = post_form(client, url, csrf, {"notes": "   "})
    assert blank.status_code == 422
    assert f"a reason is required to ignore exception {exception.id}" in blank.text
    assert 'aria-invalid="true"' in blank.text
    assert db_state(db) == before

    done = post_form(client, url, csrf, {"notes": "supplier is checking the GTIN"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/orders/{order.id}"
    assert exception_state(db, exception.id)["status"] == "ignored"
    page = client.get(f"/orders/{order.id}")
    assert flash_of(page) == (
        "ok",
        f"Exception {exception.id} ignored; it still blocks confirmation until it is "
        "resolved or its line declined",
    )
    # The gate's rule (orders/guard.py): an ignored exception blocks like a pending one.
    assert "disabled" in _confirm_button(page)
    assert "supplier is checking the GTIN — it still blocks" in page.text
    again = post_form(client, url, csrf, {"notes": "twice"})
    assert again.status_code == 400
    assert "EXCEPTION_NOT_PENDING" in again.text


def test_resolve_to_the_top_suggestion_then_confirm_and_the_sandbox_shows_the_units_confirmed(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order, exception = blocked.order, blocked.exception
    product = make_product(db, vendor_id=shop.vendor.id, title="Mystery box", gtin=UNKNOWN)
    db.commit()
    csrf = web_login(client, shop.staff_email)
    page = client.get(f"/orders/{order.id}")
    assert "Resolve to “Mystery box”" in page.text
    assert f'name="product_id" value="{product.id}"' in page.text

    resolved = post_form(
        client,
        f"/orders/{order.id}/exceptions/{exception.id}/resolve",
        csrf,
        {"product_id": str(product.id)},
    )
    assert resolved.status_code == 303
    page = client.get(f"/orders/{order.id}")
    assert "Confirmation is blocked" not in page.text
    assert "disabled" not in _confirm_button(page)
    assert mutations(control) == []

    confirmed = post_form(client, f"/orders/{order.id}/confirm", csrf)
    assert confirmed.status_code == 303
    page = client.get(f"/orders/{order.id}")
    assert flash_of(page) == ("ok", "Letzshop confirmed 3 unit(s); the order is now processing")
    assert sandbox_unit_states(control) == {
        "u1": "confirmed_available",
        "u2": "confirmed_available",
        "u3": "confirmed_available",
    }
    assert order_of(db, "S1").status == "processing"
    assert "2 × confirmed available" in page.text
    assert "1 × confirmed available" in page.text
    assert "Order confirmed" in page.text  # the history


def test_declining_the_blocked_line_unblocks_and_confirming_the_rest_succeeds(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order, mystery = blocked.order, blocked.mystery
    csrf = web_login(client, shop.staff_email)

    declined = post_form(client, f"/orders/{order.id}/items/{mystery.id}/decline", csrf)
    assert declined.status_code == 303
    page = client.get(f"/orders/{order.id}")
    assert flash_of(page) == ("ok", "Letzshop declined 1 unit(s); the order is now pending")
    assert "Confirmation is blocked" not in page.text
    post_form(client, f"/orders/{order.id}/confirm", csrf)
    assert flash_of(client.get(f"/orders/{order.id}")) == (
        "ok",
        "Letzshop confirmed 2 unit(s); the order is now processing",
    )
    assert sandbox_unit_states(control) == {
        "u1": "confirmed_available",
        "u2": "confirmed_available",
        "u3": "confirmed_unavailable",
    }
    assert order_of(db, "S1").status == "processing"


def test_confirming_a_blocked_order_by_a_crafted_post_is_refused_by_the_gate(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order = blocked.order
    csrf = web_login(client, shop.staff_email)
    before = db_state(db)
    response = post_form(client, f"/orders/{order.id}/confirm", csrf)
    assert response.status_code == 303
    page = client.get(f"/orders/{order.id}")
    level, text = flash_of(page) or ("", "")
    assert level == "error"
    assert text.startswith("Order cannot be confirmed: 1 unresolved product exception(s)")
    assert mutations(control) == []
    assert db_state(db) == before


def test_letzshop_failures_are_shown_in_the_apis_words(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order = blocked.order
    csrf = web_login(client, shop.staff_email)
    before = db_state(db)
    control.post("/control/faults", json={"mode": "http_502"}).raise_for_status()
    response = post_form(client, f"/orders/{order.id}/reject", csrf)
    assert response.status_code == 303
    level, text = flash_of(client.get(f"/orders/{order.id}")) or ("", "")
    assert level == "error"
    assert text.startswith(f"Letzshop request for vendor {shop.vendor.id} failed: ")
    assert db_state(db) == before


def test_another_vendors_order_is_404_and_every_post_is_refused(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order, mystery, exception = blocked.order, blocked.mystery, blocked.exception
    product = make_product(db, vendor_id=shop.vendor.id, gtin=UNKNOWN)
    db.commit()
    before = db_state(db)
    csrf = web_login(client, shop.other_email)

    page = client.get(f"/orders/{order.id}")
    assert page.status_code == 404
    assert f"Order {order.id} not found" in page.text
    assert page.text == client.get("/orders/999999").text.replace("999999", str(order.id))
    assert order.order_number not in client.get("/orders").text
    posts = {
        f"/orders/{order.id}/confirm": {},
        f"/orders/{order.id}/reject": {},
        f"/orders/{order.id}/items/{mystery.id}/confirm": {},
        f"/orders/{order.id}/items/{mystery.id}/decline": {},
        f"/orders/{order.id}/exceptions/{exception.id}/ignore": {"notes": "not mine"},
        f"/orders/{order.id}/exceptions/{exception.id}/resolve": {"product_id": product.id},
    }
    for url, data in posts.items():
        response = post_form(client, url, csrf, data)
        assert response.status_code == 404, (url, response.text)
        assert "ORDER_NOT_FOUND" in response.text
    assert mutations(control) == []
    assert db_state(db) == before


def test_an_exception_of_another_order_is_404(
    client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    make_product(db, vendor_id=shop.vendor.id, gtin=KNOWN)
    db.commit()
    clean = mixed_shipment("S2")
    clean["inventoryUnits"] = clean["inventoryUnits"][:2]
    put_and_sync(client, shop, control, mixed_shipment("S1"), clean)
    blocked, other = order_of(db, "S1"), order_of(db, "S2")
    exception = exception_of(db, line(db, blocked, "mystery"))
    before = db_state(db)
    csrf = web_login(client, shop.staff_email)
    response = post_form(
        client, f"/orders/{other.id}/exceptions/{exception.id}/ignore", csrf, {"notes": "x"}
    )
    assert response.status_code == 404
    assert "ORDER_ITEM_EXCEPTION_NOT_FOUND" in response.text
    assert db_state(db) == before


def test_a_post_without_the_form_token_is_403_and_changes_nothing(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order, mystery = blocked.order, blocked.mystery
    web_login(client, shop.staff_email)
    before = db_state(db)
    for url in (f"/orders/{order.id}/reject", f"/orders/{order.id}/items/{mystery.id}/decline"):
        response = client.post(url, data={}, follow_redirects=False)
        assert response.status_code == 403, url
        assert "CSRF_TOKEN_INVALID" in response.text
    assert mutations(control) == []
    assert db_state(db) == before


def test_an_admin_sees_every_vendors_orders_and_filters_by_vendor(
    client: TestClient,
    db: Session,
    shop: Shop,
    control: httpx.Client,
    blocked: Blocked,
) -> None:
    order = blocked.order
    make_user(db, email="root@ordergate.test", is_admin=True)
    commit_and_log_in(client, db, "root@ordergate.test")
    page = client.get("/orders")
    assert '<label for="f-vendor">Vendor</label>' in page.text
    assert '<td class="optional">Maison Verte</td>' in page.text
    assert order.order_number not in client.get(f"/orders?vendor_id={shop.other.id}").text
    assert order.order_number in client.get(f"/orders?vendor_id={shop.vendor.id}").text
    assert client.get("/orders?vendor_id=999999").status_code == 404
    assert client.get(f"/orders/{order.id}").status_code == 200
    csrf = csrf_of(page)
    mystery = blocked.mystery
    declined = post_form(client, f"/orders/{order.id}/items/{mystery.id}/decline", csrf)
    assert declined.status_code == 303
    assert sandbox_unit_states(control)["u3"] == "confirmed_unavailable"


def test_a_queued_confirm_shows_as_pending_then_its_end_on_the_order_page(
    client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    make_product(db, vendor_id=shop.vendor.id, title="Known toy", gtin=KNOWN)
    db.commit()
    clean = mixed_shipment("S1")
    clean["inventoryUnits"] = clean["inventoryUnits"][:2]
    put_and_sync(client, shop, control, clean)
    order = order_of(db, "S1")
    queued = FulfilmentRequest(
        order_id=order.id,
        vendor_id=shop.vendor.id,
        verdict="confirm",
        status="requested",
        attempts=2,
        last_error="Letzshop could not be reached",
    )
    db.add(queued)
    commit_and_log_in(client, db, shop.staff_email)

    page = client.get(f"/orders/{order.id}")
    assert page.status_code == 200
    assert 'id="confirmation-pending">confirmation pending</span>' in page.text
    assert "Confirm queued" in page.text
    assert f"request {queued.id} (requested, 2 attempt(s))" in page.text

    queued.status = "stopped"
    queued.last_error = "Order cannot be confirmed"
    db.commit()
    page = client.get(f"/orders/{order.id}")
    assert 'id="confirmation-pending"' not in page.text
    assert f"Request {queued.id} ended stopped after 2 attempt(s): Order cannot be" in page.text


def test_a_long_list_counts_up_to_its_limit_and_pages_on_past_it(
    client: TestClient, db: Session, shop: Shop, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past `COUNTED_UP_TO` the list says "more than" and still pages, newest first, to the
    last order; the API's total stays exact."""
    monkeypatch.setattr(order_pages, "PER_PAGE", 2)
    monkeypatch.setattr(order_pages, "COUNTED_UP_TO", 3)
    orders = [
        make_order(db, vendor_id=shop.vendor.id, order_date=BASE_TIME + timedelta(hours=hour))
        for hour in range(5)
    ]
    db.commit()
    newest_first = [o.order_number for o in reversed(orders)]
    web_login(client, shop.staff_email)

    seen: list[str] = []
    for number in (1, 2, 3):
        page = client.get(f"/orders?page={number}")
        assert page.status_code == 200
        assert "More than 3 orders" in page.text
        seen += re.findall(r'href="/orders/\d+">([^<]+)</a>', page.text)
        assert f"Page {number} of more than 2" in page.text
        assert ('rel="next"' in page.text) == (number < 3)
    assert seen == newest_first

    exact = client.get("/api/v1/admin/orders", headers=shop.admin, params={"limit": 2})
    assert exact.json()["total"] == 5
