"""Rendering: one Jinja2 environment (with jinja2-fragments, so a page's block doubles as the
partial an htmx request asks for), the filters pages share, flash messages and error pages."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from jinja2_fragments.fastapi import Jinja2Blocks

from ordergate import __version__
from ordergate.web.assets import HTMX, asset_url

templates = Jinja2Blocks(directory=Path(__file__).parent / "templates")
FLASH_COOKIE = "ordergate_flash"
FLASH_SECONDS = 60


def is_htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _datetime(value: datetime | None) -> str:
    if value is None:
        return "—"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _date(value: date | datetime | None) -> str:
    return "—" if value is None else value.strftime("%Y-%m-%d")


def _money(cents: int | None, currency: str = "EUR") -> str:
    if cents is None:
        return "—"
    symbol = "€" if currency == "EUR" else f"{currency} "
    return f"{symbol}{cents / 100:,.2f}"


def _age(seconds: int | float | None) -> str:
    """A duration the way people say it: 45 min, 5 h, 3 d."""
    if seconds is None:
        return "—"
    minutes = int(seconds) // 60
    if abs(minutes) < 60:
        return f"{minutes} min"
    hours = minutes // 60
    return f"{hours} h" if abs(hours) < 48 else f"{hours // 24} d"


templates.env.filters.update(datetime=_datetime, date=_date, money=_money, age=_age)
templates.env.globals.update(asset_url=asset_url, htmx_url=lambda: asset_url(HTMX))
templates.env.globals["version"] = __version__


def _cookie_settings(request: Request) -> dict[str, Any]:
    """The dashboard's cookie attributes, the one place they are spelled: the whole site,
    HttpOnly, SameSite=Lax, Secure over HTTPS (behind a proxy: uvicorn `--proxy-headers`) or
    when `web_secure_cookies` says so. Deleting a cookie repeats them, so that the browser
    matches the cookie it holds."""
    secure = request.url.scheme == "https" or request.app.state.settings.web_secure_cookies
    return {"path": "/", "httponly": True, "samesite": "lax", "secure": secure}


def set_cookie(
    request: Request, response: Response, name: str, value: str, *, max_age: int
) -> None:
    response.set_cookie(name, value, max_age=max_age, **_cookie_settings(request))


def delete_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(name, **_cookie_settings(request))


def _flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        value = json.loads(unquote(raw))
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {"level": str(value.get("level", "info")), "text": str(value.get("text", ""))}


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    block: str | None = None,
    status_code: int = 200,
) -> Response:
    """The page `name`; only its `block` for htmx requests that ask for a part of the page.
    Shows (and clears) a pending flash message."""
    context = {"flash": _flash(request), **context}
    if block is not None and is_htmx(request):
        response = templates.TemplateResponse(
            request, name, context, status_code=status_code, block_name=block
        )
    else:
        response = templates.TemplateResponse(request, name, context, status_code=status_code)
    if FLASH_COOKIE in request.cookies and context["flash"] is not None:
        delete_cookie(request, response, FLASH_COOKIE)
    return response


def redirect(
    request: Request, url: str, *, flash: str | None = None, level: str = "ok"
) -> Response:
    """After a successful form post: 303 to `url` (htmx follows it with HX-Redirect), with an
    optional message shown once on the next page."""
    if is_htmx(request):
        response: Response = Response(status_code=204, headers={"HX-Redirect": url})
    else:
        response = RedirectResponse(url, status_code=303)
    if flash:
        value = quote(json.dumps({"level": level, "text": flash}))
        set_cookie(request, response, FLASH_COOKIE, value, max_age=FLASH_SECONDS)
    return response


def safe_next(value: str | None, default: str = "/queue") -> str:
    """A local path to go on to after login; anything else (other sites, `//host`) → default."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    return value


def error_page(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any,
    headers: dict[str, str] | None,
) -> Response:
    """Errors outside the API: login and vendor choice redirect; the rest is a page with the
    API's own message and code."""
    if code == "LOGIN_REQUIRED":
        next_path = (details or {}).get("next", "/queue")
        return redirect(request, f"/?next={quote(next_path, safe='')}")
    if code == "VENDOR_CHOICE_REQUIRED" and request.method == "GET":
        return redirect(request, f"/vendor?next={quote(str(request.url.path), safe='')}")
    context = {"status": status, "code": code, "message": message, "details": details}
    kept = {k: v for k, v in (headers or {}).items() if k.lower() == "retry-after"}
    response = render(request, "error.html", context, status_code=status)
    response.headers.update(kept)
    return response
