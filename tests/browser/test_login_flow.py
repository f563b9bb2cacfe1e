"""Log in and out in a real browser."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD
from tests.factories import make_user, make_vendor


def test_a_vendor_user_logs_in_sees_their_vendor_and_logs_out(page: Page, db: Session) -> None:
    make_vendor(db, code="shop1", name="Maison Verte")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    db.commit()
    page.goto("/queue")
    expect(page).to_have_url("/?next=%2Fqueue")
    page.get_by_label("Email").fill("staff@shop1.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Maison Verte")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("You are logged out.")
