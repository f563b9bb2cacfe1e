# ruff: noqa: F811  (fixtures imported from tests/web/letzshop_shop.py)
"""A blocked order in a real browser, with the Letzshop sandbox over real HTTP: Confirm is
disabled with the gate's reason; ignoring the line with a reason keeps it blocked; resolving
the rest enables Confirm, and the sandbox shows the units confirmed."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.browser.flows import log_in
from tests.factories import exception_state, make_product
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


def test_a_blocked_order_is_ignored_then_resolved_and_confirmed_at_letzshop(
    page: Page, client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    make_product(db, vendor_id=shop.vendor.id, title="Known toy", gtin=KNOWN)
    db.commit()
    put_and_sync(client, shop, control, mixed_shipment())
    order = order_of(db, "S1")
    exception = exception_of(db, line(db, order, "mystery"))
    make_product(db, vendor_id=shop.vendor.id, title="Mystery box", gtin=UNKNOWN)
    db.commit()
    log_in(page, shop.staff_email, f"/orders/{order.id}")

    confirm = page.get_by_role("button", name="Confirm order")
    expect(confirm).to_be_disabled()
    expect(confirm).to_have_accessible_description(
        f"Confirm is disabled until the highlighted lines are resolved or declined. "
        f"Order cannot be confirmed: 1 unresolved product exception(s) on order {order.id} "
        "(resolve them, or decline the lines)"
    )
    expect(page.locator("tr.line-blocked")).to_have_count(1)
    expect(page.locator("tr.line-blocked")).to_contain_text("mystery")

    page.get_by_label("Reason to ignore").fill("Supplier is checking the GTIN")
    page.get_by_role("button", name="Ignore", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        f"Exception {exception.id} ignored; it still blocks confirmation until it is "
        "resolved or its line declined"
    )
    expect(confirm).to_be_disabled()  # an ignored exception blocks like a pending one
    expect(page.locator(".line-fix")).to_contain_text("Supplier is checking the GTIN")
    assert exception_state(db, exception.id)["status"] == "ignored"

    page.get_by_role("button", name="Resolve to “Mystery box”").click()
    expect(page.get_by_role("heading", name="Confirmation is blocked")).to_have_count(0)
    expect(confirm).to_be_enabled()
    assert mutations(control) == []  # nothing sent to Letzshop before Confirm

    confirm.click()
    expect(page.get_by_role("status")).to_have_text(
        "Letzshop confirmed 3 unit(s); the order is now processing"
    )
    expect(page.locator("h1 .badge")).to_have_text("processing")
    assert sandbox_unit_states(control) == {
        "u1": "confirmed_available",
        "u2": "confirmed_available",
        "u3": "confirmed_available",
    }
    assert order_of(db, "S1").status == "processing"
