"""Helpers for dashboard page tests through the ASGI client: the usual two vendors and their
people, log in with the login form, read the session's form token, post forms with it, read the
one-time message, and snapshot what a refused post must leave as it was."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.catalog.models import Product
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from ordergate.vendors.models import Vendor
from tests.conftest import PASSWORD
from tests.factories import events_of, make_user, make_vendor, mappings

STAFF = "staff@shop1.test"
OTHER_STAFF = "staff@shop2.test"
ADMIN = "admin@example.test"

_META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


def login_form_token(client: TestClient) -> str:
    page = client.get("/")
    match = _LOGIN_CSRF.search(page.text)
    assert match, page.text
    return match.group(1)


def web_login(client: TestClient, email: str, *, password: str = PASSWORD) -> str:
    """Log in through the form (the client keeps the cookie); returns the form token."""
    token = login_form_token(client)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "login_csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return csrf_of(
        client.get("/queue" if "/vendor" not in response.headers["location"] else "/vendor")
    )


def csrf_of(page: httpx.Response) -> str:
    match = _META_CSRF.search(page.text)
    assert match, f"no form token on the page ({page.status_code}): {page.text[:300]}"
    return match.group(1)


def post_form(
    client: TestClient, url: str, csrf: str, data: dict[str, Any] | None = None, **kw: Any
) -> httpx.Response:
    return client.post(url, data={"csrf_token": csrf, **(data or {})}, follow_redirects=False, **kw)


def two_shops(
    db: Session, *, names: tuple[str, str] = ("Maison Verte", "Other Shop")
) -> tuple[Vendor, Vendor]:
    """shop1 and shop2 named `names`, each with one staff member (`STAFF`, `OTHER_STAFF`), and
    a platform admin (`ADMIN`); not committed yet."""
    shop1 = make_vendor(db, code="shop1", name=names[0])
    shop2 = make_vendor(db, code="shop2", name=names[1])
    make_user(db, email=STAFF, vendors=["shop1"])
    make_user(db, email=OTHER_STAFF, vendors=["shop2"])
    make_user(db, email=ADMIN, is_admin=True)
    return shop1, shop2


def commit_and_log_in(client: TestClient, db: Session, email: str = STAFF) -> str:
    """Commit the test's set-up (so the app sees it), then log in as `email` through the form;
    returns the session's form token."""
    db.commit()
    return web_login(client, email)


_FLASH = re.compile(r'<div class="flash flash-(\w+)" role="status">([^<]*)</div>')


def flash_of(page: httpx.Response) -> tuple[str, str] | None:
    """The page's one-time message: (level, text as shown)."""
    match = _FLASH.search(page.text)
    return (match.group(1), html.unescape(match.group(2))) if match else None


def flash_after(client: TestClient, response: httpx.Response) -> str:
    """The success message shown after a form post's redirect (Post/Redirect/Get)."""
    assert response.status_code == 303, response.text[:500]
    page = client.get(response.headers["location"])
    found = flash_of(page)
    assert found is not None, page.text[:2000]
    level, text = found
    assert level == "ok", text
    return text


def db_state(db: Session) -> dict[str, Any]:
    """Everything a refused form post must leave as it was: orders, lines and their product
    links, units, exceptions with their resolutions and events, products, GTIN mappings."""
    db.commit()  # a fresh snapshot (a commit, unlike a rollback, keeps loaded objects loaded)
    exceptions = db.execute(
        select(
            OrderItemException.id,
            OrderItemException.status,
            OrderItemException.resolved_product_id,
            OrderItemException.resolution_notes,
        ).order_by(OrderItemException.id)
    ).all()
    state = {
        "orders": [tuple(r) for r in db.execute(select(Order.id, Order.status).order_by(Order.id))],
        "lines": [
            tuple(r)
            for r in db.execute(
                select(OrderItem.id, OrderItem.product_id, OrderItem.needs_product_match).order_by(
                    OrderItem.id
                )
            )
        ],
        "units": sorted(
            tuple(r)
            for r in db.execute(select(OrderItemUnit.external_unit_id, OrderItemUnit.state))
        ),
        "exceptions": [tuple(r) for r in exceptions],
        "events": [tuple(e.values()) for x in exceptions for e in events_of(db, x.id)],
        "products": db.scalar(select(func.count()).select_from(Product)),
        "mappings": mappings(db),
    }
    db.commit()  # leave no transaction open (SQLite's write lock)
    return state
