"""The queue in a real browser: a vendor sees only its own exceptions; keyboard triage
(j/k move, x selects, r resolves from a suggestion) and the cards follow; rows checked, the
sticky bar's count, bulk ignore with one reason and the per-row results."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.vendors.models import Vendor
from tests.browser.conftest import PHONE
from tests.browser.flows import card, log_in
from tests.factories import exception_state, make_product, make_unmatched_line, make_user
from tests.factories import make_vendor as make_shop


def _two_shops(db: Session) -> tuple[Vendor, Vendor]:
    shop1 = make_shop(db, code="shop1", name="Maison Verte")
    shop2 = make_shop(db, code="shop2", name="Autre Boutique")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    return shop1, shop2


def _lines(db: Session, vendor: Vendor, *names: str) -> list[int]:
    """Pending exceptions named `names`, newest first (the queue's order)."""
    now = utcnow()
    ids = []
    for n, name in enumerate(names):
        exception = make_unmatched_line(
            db,
            vendor_id=vendor.id,
            product_name=name,
            sku=f"SKU-{n}",
            gtin=None,
            created_at=now - timedelta(minutes=n + 1),
        )
        ids.append(exception.id)
    return ids


def _row_ids(page: Page) -> list[int]:
    rows = page.locator("#queue-table tbody tr[data-exception-id]")
    return [int(value) for value in rows.evaluate_all("rs => rs.map(r => r.dataset.exceptionId)")]


def test_keyboard_triage_resolves_a_row_from_its_suggestion_and_the_cards_follow(
    page: Page, db: Session
) -> None:
    shop1, shop2 = _two_shops(db)
    first, second, third = _lines(db, shop1, "Wooden train", "Red kite", "Tin drum")
    (foreign,) = _lines(db, shop2, "Riesling 2019")
    train = make_product(db, vendor_id=shop1.id, title="Wooden train set", sku="SKU-0")
    db.commit()
    log_in(page, "staff@shop1.test", "/queue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Exception queue · Maison Verte")
    assert _row_ids(page) == [first, second, third]  # only the vendor's own
    expect(page.get_by_text("Riesling 2019")).to_have_count(0)
    expect(card(page, "Pending")).to_have_text("3")
    expect(card(page, "Resolved today")).to_have_text("0")

    focused = page.locator("#queue-table tr.focused")
    page.keyboard.press("j")
    expect(focused).to_have_attribute("data-exception-id", str(first))
    page.keyboard.press("j")
    expect(focused).to_have_attribute("data-exception-id", str(second))
    page.keyboard.press("x")
    expect(page.locator(f"#sel-{second}")).to_be_checked()
    expect(page.locator("#bulk-bar [data-selected-count]")).to_have_text("1")
    page.keyboard.press("x")
    expect(page.locator("#bulk-bar [data-selected-count]")).to_have_text("0")
    page.keyboard.press("k")
    expect(focused).to_have_attribute("data-exception-id", str(first))

    page.keyboard.press("r")
    dialog = page.locator("#triage-resolve")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading")).to_have_text("Resolve Wooden train")
    dialog.locator("[data-top-suggestion]").click()  # the suggestion: same SKU
    expect(dialog.locator("[data-product-chosen]")).to_have_text("Chosen: Wooden train set")
    dialog.get_by_role("button", name="Resolve", exact=True).click()

    expect(page.locator("#bulk-results h2")).to_have_text("Done: 1 resolved, 0 ignored, 0 skipped")
    expect(dialog).to_be_hidden()
    expect(card(page, "Pending")).to_have_text("2")
    expect(card(page, "Resolved today")).to_have_text("1")
    assert _row_ids(page) == [second, third]
    state = exception_state(db, first)
    assert (state["status"], state["resolved_product_id"]) == ("resolved", train.id)
    assert [exception_state(db, x)["status"] for x in (second, third, foreign)] == ["pending"] * 3


def test_checked_rows_are_ignored_with_one_reason_and_each_rows_result_is_shown(
    page: Page, db: Session
) -> None:
    shop1, _ = _two_shops(db)
    first, second, third = _lines(db, shop1, "Wooden train", "Red kite", "Tin drum")
    db.commit()
    log_in(page, "staff@shop1.test", "/queue")
    count = page.locator("#bulk-bar [data-selected-count]")
    expect(count).to_have_text("0")
    page.get_by_label("Select Red kite").check()
    page.get_by_label("Select Tin drum").check()
    expect(count).to_have_text("2")
    expect(page.locator("#bulk-bar")).to_be_in_viewport()  # sticky: the bar stays in sight

    page.get_by_label("Reason (required to ignore)").fill("Samples, not for sale")
    page.get_by_role("button", name="Ignore selected").click()

    results = page.locator("#bulk-results")
    expect(results.locator("h2")).to_have_text("Done: 0 resolved, 2 ignored, 0 skipped")
    for exception_id in (second, third):
        expect(results.locator(f'li[data-result-id="{exception_id}"] .badge')).to_have_text(
            "ignored"
        )
    expect(results.locator("li")).to_have_count(2)
    expect(card(page, "Pending")).to_have_text("1")
    expect(card(page, "Ignored")).to_have_text("2")
    assert _row_ids(page) == [first]
    for exception_id in (second, third):
        state = exception_state(db, exception_id)
        assert (state["status"], state["resolution_notes"]) == ("ignored", "Samples, not for sale")
    assert exception_state(db, first)["status"] == "pending"


def test_on_a_phone_each_row_is_a_card_and_the_page_does_not_scroll_sideways(
    page: Page, db: Session
) -> None:
    shop1, _ = _two_shops(db)
    _lines(db, shop1, "Wooden train set with a rather long name for a phone", "Red kite")
    db.commit()
    page.set_viewport_size(PHONE)
    log_in(page, "staff@shop1.test", "/queue")
    expect(page.locator("#queue-table tbody tr")).to_have_count(2)
    widths = page.evaluate(
        """() => [document.documentElement, document.querySelector('.table-wrap')]
            .map(el => el.scrollWidth - el.clientWidth)"""
    )
    assert widths == [0, 0]  # nothing wider than the screen, the table included
    first = page.locator("#queue-table tbody tr").first
    assert first.evaluate("row => getComputedStyle(row).display") == "flex"
    for cell in ("td.lead", 'td[data-label="Order"]', 'td[data-label="Deadline"]'):
        box = first.locator(cell).bounding_box()
        assert box is not None, cell
        assert box["x"] >= 0, cell
        assert box["x"] + box["width"] <= PHONE["width"], cell
    expect(first.locator('td[data-label="Order"]')).to_be_visible()
    expect(page.get_by_text("Select all on this page")).to_be_visible()
