"""Who sees what, in a real browser: an admin sees every vendor and narrows with the vendor
switcher; vendor staff reach another vendor's exception or order by URL only as a 404; a form
posted without its token is refused (403 CSRF_TOKEN_INVALID) and changes nothing."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ordergate.orders.models import OrderItem, OrderItemException
from tests.browser.flows import card, log_in
from tests.conftest import PASSWORD
from tests.factories import exception_state, make_unmatched_line, make_user, make_vendor


def _two_shops(db: Session) -> tuple[OrderItemException, OrderItemException]:
    shop1 = make_vendor(db, code="shop1", name="Maison Verte")
    shop2 = make_vendor(db, code="shop2", name="Autre Boutique")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    make_user(db, email="admin@ordergate.test", is_admin=True)
    own = make_unmatched_line(db, vendor_id=shop1.id, product_name="Wooden train", gtin=None)
    foreign = make_unmatched_line(db, vendor_id=shop2.id, product_name="Riesling 2019", gtin=None)
    db.commit()
    return own, foreign


def _order_id(db: Session, exception: OrderItemException) -> int:
    item = db.get(OrderItem, exception.order_item_id)
    assert item is not None
    return item.order_id


def _status(page: Page, url: str) -> int:
    response = page.goto(url)
    assert response is not None, url
    return response.status


def test_an_admin_sees_every_vendor_and_switches_to_one(page: Page, db: Session) -> None:
    _two_shops(db)
    log_in(page, "admin@ordergate.test", "/queue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Exception queue · All vendors")
    table = page.locator("#queue-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.get_by_role("columnheader", name="Vendor")).to_be_visible()
    expect(table.get_by_role("row", name="Wooden train")).to_contain_text("Maison Verte")
    expect(table.get_by_role("row", name="Riesling 2019")).to_contain_text("Autre Boutique")
    expect(card(page, "Pending")).to_have_text("2")

    page.get_by_label("Vendor", exact=True).first.select_option(label="Autre Boutique")
    expect(page.get_by_role("heading", level=1)).to_have_text("Exception queue · Autre Boutique")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("Riesling 2019")
    expect(card(page, "Pending")).to_have_text("1")


def test_staff_reach_another_vendors_pages_by_url_only_as_404(page: Page, db: Session) -> None:
    own, foreign = _two_shops(db)
    own_order, foreign_order = _order_id(db, own), _order_id(db, foreign)
    log_in(page, "staff@shop1.test")
    for url in (f"/exceptions/{own.id}", f"/orders/{own_order}"):
        assert _status(page, url) == 200, url
    for url, message in (
        (f"/exceptions/{foreign.id}", f"Order item exception {foreign.id} not found"),
        (f"/orders/{foreign_order}", f"Order {foreign_order} not found"),
    ):
        assert _status(page, url) == 404, url
        expect(page.get_by_role("main")).to_contain_text(message)
        expect(page.get_by_text("Riesling 2019")).to_have_count(0)


def test_a_form_posted_without_its_token_is_refused_and_changes_nothing(
    page: Page, db: Session
) -> None:
    own, _ = _two_shops(db)
    before = exception_state(db, own.id)
    log_in(page, "staff@shop1.test", f"/exceptions/{own.id}")
    form = page.locator("#ignore form")
    form.locator('input[name="csrf_token"]').evaluate("input => input.remove()")
    page.get_by_label("Reason").fill("Posted without the token")
    with page.expect_response(f"**/exceptions/{own.id}/ignore") as answer:
        form.get_by_role("button", name="Ignore").click()
    assert answer.value.status == 403
    expect(page.get_by_role("main")).to_contain_text("CSRF_TOKEN_INVALID")
    assert exception_state(db, own.id) == before
    # The API over the same live server agrees: still pending, no resolution notes.
    token = page.request.post(
        "/api/v1/auth/login", data={"email": "staff@shop1.test", "password": PASSWORD}
    ).json()["access_token"]
    api = page.request.get(
        f"/api/v1/vendor/order-exceptions/{own.id}", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status == 200, api.text()
    assert (api.json()["status"], api.json()["resolution_notes"]) == ("pending", None)
    page.goto(f"/exceptions/{own.id}")
    expect(page.locator("h1 .badge")).to_have_text("pending")
