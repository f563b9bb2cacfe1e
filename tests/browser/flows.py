"""Helpers of the browser flows: log in through the login form, read the queue's cards."""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.conftest import PASSWORD


def log_in(page: Page, email: str, target: str | None = None) -> None:
    """Log in at `/` as `email` (the factories' password), then open `target` if given."""
    page.goto("/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    if target is not None:
        page.goto(target)


def card(page: Page, label: str) -> Locator:
    """The value of the queue's count card `label` (Pending, Ignored, Resolved today, …)."""
    return page.locator("#cards .card", has=page.locator(".label", has_text=label)).locator(
        ".value"
    )
