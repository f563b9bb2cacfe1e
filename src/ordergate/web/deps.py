"""Who is using the dashboard: the cookie session, the vendor worked in, the scope, the form
token. Pages ask for `WebDep` (logged in), `FormDep` (a state-changing form with a valid form
token) or build a `VendorScope` with `vendor_scope()`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from ordergate.auth import web_sessions
from ordergate.auth.models import User, WebSession
from ordergate.deps import SessionDep
from ordergate.errors import AppError
from ordergate.scope import Scope, VendorScope
from ordergate.vendors.models import Vendor

SESSION_COOKIE = "ordergate_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequiredError(AppError):
    """No live dashboard session: pages redirect to the login page (see templating)."""

    status_code = 401
    code = "LOGIN_REQUIRED"

    def __init__(self, next_path: str) -> None:
        super().__init__("Log in to continue", details={"next": next_path})


class CsrfRejectedError(AppError):
    status_code = 403
    code = "CSRF_TOKEN_INVALID"

    def __init__(self) -> None:
        super().__init__(
            "This form has expired or did not come from this site; reload the page and try again"
        )


class VendorChoiceNeededError(AppError):
    status_code = 409
    code = "VENDOR_CHOICE_REQUIRED"

    def __init__(self) -> None:
        super().__init__("Choose a vendor first: this page works on one vendor's data")


@dataclass(frozen=True, slots=True)
class WebContext:
    record: WebSession
    user: User
    vendor: Vendor | None  # the vendor worked in; None: an admin's "all vendors"
    vendors: list[Vendor]  # what the vendor switcher offers

    @property
    def csrf_token(self) -> str:
        return self.record.csrf_token

    @property
    def is_admin(self) -> bool:
        return self.user.is_admin

    @property
    def role(self) -> str | None:
        if self.vendor is None:
            return None
        membership = next((m for m in self.user.memberships if m.vendor_id == self.vendor.id), None)
        return membership.role if membership else None

    @property
    def scope(self) -> Scope:
        """The API's scope: an admin over the chosen vendor (or all), staff over their own."""
        vendor_id = self.vendor.id if self.vendor else None
        if self.is_admin:
            return Scope(actor_user_id=self.user.id, vendor_id=vendor_id, is_admin=True)
        assert vendor_id is not None  # staff always work in a vendor (web_context)
        return VendorScope(actor_user_id=self.user.id, vendor_id=vendor_id, role=self.role)


def vendor_scope(web: WebContext) -> VendorScope:
    """The scope of one vendor's data; 409 VENDOR_CHOICE_REQUIRED on an admin's "all"."""
    scope = web.scope
    if not isinstance(scope, VendorScope):
        raise VendorChoiceNeededError()
    return scope


def _next_path(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return quote(f"{request.url.path}{query}", safe="/?=&")


def optional_web_context(request: Request, session: SessionDep) -> WebContext | None:
    token = request.cookies.get(SESSION_COOKIE)
    record = web_sessions.find(session, token=token) if token else None
    if record is None:
        return None
    user = record.user
    vendors = web_sessions.vendor_choices(session, user=user)
    vendor = next((v for v in vendors if v.id == record.vendor_id), None)
    return WebContext(record=record, user=user, vendor=vendor, vendors=vendors)


OptionalWebDep = Annotated[WebContext | None, Depends(optional_web_context)]


def web_context(request: Request, web: OptionalWebDep) -> WebContext:
    if web is None:
        raise LoginRequiredError(_next_path(request))
    if web.vendor is None and not web.is_admin and request.url.path != "/vendor":
        raise VendorChoiceNeededError()
    return web


WebDep = Annotated[WebContext, Depends(web_context)]


async def _submitted_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = await request.form()
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


async def checked_form(request: Request, web: WebDep) -> WebContext:
    """A state-changing request of a logged-in user carrying the session's form token."""
    if not secrets.compare_digest(await _submitted_token(request), web.csrf_token):
        raise CsrfRejectedError()
    return web


FormDep = Annotated[WebContext, Depends(checked_form)]
