"""Log in at `/`, log out, and choose the vendor worked in."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from ordergate.auth import web_sessions
from ordergate.auth.endpoints import AddressDep
from ordergate.auth.service import authenticate
from ordergate.deps import SessionDep, ThrottleDep
from ordergate.errors import AppError
from ordergate.routing import CommittingRoute
from ordergate.web.deps import SESSION_COOKIE, FormDep, OptionalWebDep, WebDep
from ordergate.web.templating import delete_cookie, redirect, render, safe_next, set_cookie

router = APIRouter(route_class=CommittingRoute, include_in_schema=False)
LOGIN_CSRF_COOKIE = "ordergate_login_csrf"
LOGIN_FORM_SECONDS = 3600  # how long a login page's form token is good for


def _login_form(
    request: Request, *, next_path: str, error: AppError | None = None, email: str = ""
) -> Response:
    """The login page with a fresh form token, also set as a cookie (double submit: a site
    that cannot read our cookies cannot post a login in the user's browser)."""
    token = secrets.token_urlsafe(24)
    context = {"login_csrf": token, "next": next_path, "error": error, "email": email}
    status = error.status_code if error else 200
    response = render(request, "login.html", context, status_code=status)
    if error is not None and error.headers:
        response.headers.update(error.headers)
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=LOGIN_FORM_SECONDS)
    return response


@router.get("/")
def login_page(request: Request, web: OptionalWebDep, next: str | None = None) -> Response:
    if web is not None:
        return redirect(request, safe_next(next))
    return _login_form(request, next_path=safe_next(next))


class LoginFormError(AppError):
    status_code = 403
    code = "CSRF_TOKEN_INVALID"


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    throttle: ThrottleDep,
    address: AddressDep,
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=1024)],
    login_csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/queue",
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(login_csrf, expected):
        error = LoginFormError("The login form expired; please try again")
        return _login_form(request, next_path=safe_next(next), error=error, email=email)
    try:
        user = authenticate(
            session, email=email, password=password, throttle=throttle, address=address
        )
    except AppError as error:
        return _login_form(request, next_path=safe_next(next), error=error, email=email)
    settings = request.app.state.settings
    started = web_sessions.start(
        session, user=user, lifetime=timedelta(hours=settings.web_session_hours)
    )
    target = safe_next(next)
    if started.record.vendor_id is None and not user.is_admin:
        target = f"/vendor?next={target}"
    response = redirect(request, target)
    set_cookie(
        request,
        response,
        SESSION_COOKIE,
        started.token,
        max_age=int(settings.web_session_hours * 3600),
    )
    delete_cookie(request, response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, web: FormDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    web_sessions.end(session, token=token)
    response = redirect(request, "/", flash="You are logged out.")
    delete_cookie(request, response, SESSION_COOKIE)
    return response


@router.get("/vendor")
def vendor_page(request: Request, web: WebDep, next: str | None = None) -> Response:
    return render(request, "vendor.html", {"web": web, "next": safe_next(next)})


@router.post("/vendor")
def choose_vendor(
    request: Request,
    session: SessionDep,
    web: FormDep,
    vendor_id: Annotated[str, Form(max_length=12)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/queue",
) -> Response:
    chosen = int(vendor_id) if vendor_id.isdigit() else None
    web_sessions.choose_vendor(session, record=web.record, vendor_id=chosen)
    return redirect(request, safe_next(next))
