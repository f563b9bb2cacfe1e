"""Helpers for dashboard page tests through the ASGI client: log in with the login form, read
the session's form token, post forms with it."""

from __future__ import annotations

import re
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD

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


# -- merge point: page test helpers --
