"""The exception detail page in a real browser: resolve from a suggestion; resolve every
pending line with the GTIN after reading the preview's count."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.browser.flows import log_in
from tests.factories import (
    exception_state,
    gtin13,
    make_product,
    make_unmatched_line,
    make_user,
    make_vendor,
)

GTIN = gtin13("400638133393")


def _login(page: Page, target: str) -> None:
    log_in(page, "staff@shop1.test", target)


def test_resolve_from_a_suggestion(page: Page, db: Session) -> None:
    vendor = make_vendor(db, code="shop1", name="Maison Verte")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    make_product(db, vendor_id=vendor.id, title="Wooden train set", sku="mh-42")
    exception = make_unmatched_line(db, vendor_id=vendor.id, gtin=GTIN, sku="MH-42")
    db.commit()
    _login(page, f"/exceptions/{exception.id}#resolve")
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Exception {exception.id}")
    expect(page.get_by_text("Same SKU")).to_be_visible()
    resolve = page.get_by_role("button", name=re.compile(r"Resolve to this\W+Wooden train set"))
    expect(resolve).to_be_focused()  # #resolve focuses the form
    resolve.click()
    expect(page.get_by_role("status")).to_contain_text(f"Resolved exception {exception.id}")
    expect(page.locator("h1 .badge")).to_have_text("resolved")
    assert exception_state(db, exception.id)["status"] == "resolved"


def test_bulk_resolve_by_gtin_with_the_preview_count(page: Page, db: Session) -> None:
    vendor = make_vendor(db, code="shop1", name="Maison Verte")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    make_product(db, vendor_id=vendor.id, title="Blue ceramic mug", sku="MUG-9")
    lines = [make_unmatched_line(db, vendor_id=vendor.id, gtin=GTIN, sku=None) for _ in range(3)]
    db.commit()
    _login(page, f"/exceptions/{lines[0].id}?scope=gtin")
    expect(page.get_by_label("All 3 pending lines with GTIN", exact=False)).to_be_checked()
    expect(page.locator("#gtin-preview")).to_have_text(
        "3 pending lines on 3 orders; 3 orders can then be confirmed."
    )
    page.get_by_label("GTIN, SKU or title").fill("ceramic mu")
    pick = page.get_by_role("button", name=re.compile(r"Resolve to this\W+Blue ceramic mug"))
    expect(pick).to_be_visible()  # the type-ahead's results
    pick.click()
    expect(page.get_by_role("status")).to_have_text(
        f"Resolved 3 exceptions with GTIN {GTIN}; 3 orders can now be confirmed"
    )
    assert [exception_state(db, x.id)["status"] for x in lines] == ["resolved"] * 3
