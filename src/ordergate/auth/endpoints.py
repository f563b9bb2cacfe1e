from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from ordergate.auth import members, service
from ordergate.auth.models import User, VendorMembership
from ordergate.auth.schemas import (
    LoginRequest,
    MemberCreate,
    MemberList,
    MemberOut,
    MembershipIn,
    MembershipOut,
    MeResponse,
    PasswordChange,
    PasswordReset,
    TokenResponse,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from ordergate.auth.service import IssuedToken, TokenSettings
from ordergate.auth.throttle import LoginThrottle
from ordergate.deps import AdminDep, OwnerDep, PrincipalDep, SessionDep, VendorDep
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES, ErrorResponse, IdParam, Limit, Skip

router = APIRouter(route_class=CommittingRoute, responses=ERROR_RESPONSES)
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorResponse, "description": "Too many failures; see Retry-After"}
}
USER = "/api/v1/admin/users/{user_id}"
MEMBER = "/api/v1/vendor/members/{user_id}"


def membership_out(membership: VendorMembership) -> MembershipOut:
    return MembershipOut(
        vendor_id=membership.vendor_id,
        vendor_code=membership.vendor.code,
        vendor_name=membership.vendor.name,
        role=membership.role,
    )


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        is_active=user.is_active,
        is_admin=user.is_admin,
        created_at=user.created_at,
        memberships=[membership_out(m) for m in user.memberships],
    )


def member_out(membership: VendorMembership) -> MemberOut:
    return MemberOut(
        user_id=membership.user_id,
        email=membership.user.email,
        role=membership.role,
        is_active=membership.user.is_active,
        created_at=membership.created_at,
    )


def _tokens(request: Request) -> TokenSettings:
    return TokenSettings(
        secret=request.app.state.secret_key,
        lifetime_minutes=request.app.state.settings.token_lifetime_minutes,
    )


def _throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def _address(request: Request) -> str:
    # The peer address; behind a proxy, run uvicorn with --proxy-headers so it is the client's.
    return request.client.host if request.client else "unknown"


def _token_response(issued: IssuedToken) -> TokenResponse:
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post("/api/v1/auth/login", response_model=TokenResponse, tags=["auth"], responses=THROTTLED)
def login(body: LoginRequest, request: Request, session: SessionDep) -> TokenResponse:
    """Exchange email and password for a bearer token; name `vendor_code` to act for a vendor.
    Repeated failures answer 429 `TOO_MANY_LOGIN_ATTEMPTS` with `Retry-After`."""
    issued = service.login(
        session,
        email=body.email,
        password=body.password,
        vendor_code=body.vendor_code,
        tokens=_tokens(request),
        throttle=_throttle(request),
        address=_address(request),
    )
    return _token_response(issued)


@router.get("/api/v1/me", response_model=MeResponse, tags=["auth"])
def me(principal: PrincipalDep) -> MeResponse:
    """The logged-in user and the vendor the token acts for."""
    vendor = None
    if principal.vendor is not None:
        membership = service.active_membership(principal.user, principal.vendor.id)
        vendor = membership_out(membership) if membership else None
    return MeResponse(user=user_out(principal.user), vendor=vendor)


@router.post(
    "/api/v1/me/password", response_model=TokenResponse, tags=["auth"], responses=THROTTLED
)
def change_password(
    body: PasswordChange, request: Request, session: SessionDep, principal: PrincipalDep
) -> TokenResponse:
    """Change your password. Every earlier token of yours is refused from now on; the answer
    carries a fresh one for the same vendor."""
    issued = service.change_own_password(
        session,
        user=principal.user,
        vendor=principal.vendor,
        current_password=body.current_password,
        new_password=body.new_password,
        tokens=_tokens(request),
        throttle=_throttle(request),
        address=_address(request),
    )
    return _token_response(issued)


@router.post("/api/v1/me/logout-all", status_code=204, tags=["auth"])
def logout_all(session: SessionDep, principal: PrincipalDep) -> Response:
    """Log out everywhere: every token issued to you so far is refused."""
    service.log_out_everywhere(session, user=principal.user)
    return Response(status_code=204)


@router.post("/api/v1/admin/users", response_model=UserOut, status_code=201, tags=["admin"])
def create_user(body: UserCreate, session: SessionDep, _: AdminDep) -> UserOut:
    """Create a user, optionally an admin, with memberships in the named vendors (the first
    member of a vendor becomes its owner)."""
    user = service.create_user(
        session,
        email=body.email,
        password=body.password,
        is_admin=body.is_admin,
        vendor_codes=body.vendor_codes,
        role=body.role,
    )
    return user_out(user)


@router.get("/api/v1/admin/users", response_model=UserList, tags=["admin"])
def list_users(session: SessionDep, _: AdminDep, skip: Skip = 0, limit: Limit = 50) -> UserList:
    """All users with their vendor memberships."""
    users, total = service.list_users(session, skip=skip, limit=limit)
    return UserList(users=[user_out(u) for u in users], total=total, skip=skip, limit=limit)


@router.patch(USER, response_model=UserOut, tags=["admin"])
def update_user(user_id: IdParam, body: UserUpdate, session: SessionDep, _: AdminDep) -> UserOut:
    """Deactivate or reactivate a user, or change the admin flag. Deactivating or removing the
    admin flag refuses the user's earlier tokens; the last active admin is kept (409)."""
    user = service.update_user(
        session, user_id=user_id, is_active=body.is_active, is_admin=body.is_admin
    )
    return user_out(user)


@router.post(f"{USER}/password", status_code=204, tags=["admin"])
def reset_password(
    user_id: IdParam, body: PasswordReset, session: SessionDep, _: AdminDep
) -> Response:
    """Set a user's password; the user's earlier tokens are refused."""
    user = service.get_user(session, user_id=user_id)
    service.set_password(session, user=user, new_password=body.new_password, field="new_password")
    return Response(status_code=204)


@router.put(f"{USER}/memberships/{{vendor_id}}", response_model=UserOut, tags=["admin"])
def set_membership(
    user_id: IdParam, vendor_id: IdParam, body: MembershipIn, session: SessionDep, _: AdminDep
) -> UserOut:
    """Add the user to the vendor with that role, or change their role there."""
    user = service.set_membership(session, user_id=user_id, vendor_id=vendor_id, role=body.role)
    return user_out(user)


@router.delete(f"{USER}/memberships/{{vendor_id}}", status_code=204, tags=["admin"])
def remove_membership(
    user_id: IdParam, vendor_id: IdParam, session: SessionDep, _: AdminDep
) -> Response:
    """Remove the user from the vendor; the user's earlier tokens are refused."""
    service.remove_user_membership(session, user_id=user_id, vendor_id=vendor_id)
    return Response(status_code=204)


@router.get("/api/v1/vendor/members", response_model=MemberList, tags=["vendor"])
def list_members(
    session: SessionDep, principal: VendorDep, skip: Skip = 0, limit: Limit = 50
) -> MemberList:
    """Your vendor's members and their roles."""
    assert principal.vendor is not None
    found, total = members.list_members(
        session, vendor_id=principal.vendor.id, skip=skip, limit=limit
    )
    return MemberList(members=[member_out(m) for m in found], total=total, skip=skip, limit=limit)


@router.post("/api/v1/vendor/members", response_model=MemberOut, status_code=201, tags=["vendor"])
def add_member(body: MemberCreate, session: SessionDep, principal: OwnerDep) -> MemberOut:
    """Owners: add an existing user by email, or create one by also giving a password."""
    assert principal.vendor is not None
    membership = service.add_member(
        session, vendor=principal.vendor, email=body.email, role=body.role, password=body.password
    )
    return member_out(membership)


@router.patch(MEMBER, response_model=MemberOut, tags=["vendor"])
def change_member_role(
    user_id: IdParam, body: MembershipIn, session: SessionDep, principal: OwnerDep
) -> MemberOut:
    """Owners: change a member's role; the vendor keeps at least one owner (409 `LAST_OWNER`)."""
    assert principal.vendor is not None
    membership = service.change_member_role(
        session, vendor=principal.vendor, user_id=user_id, role=body.role
    )
    return member_out(membership)


@router.delete(MEMBER, status_code=204, tags=["vendor"])
def remove_member(user_id: IdParam, session: SessionDep, principal: OwnerDep) -> Response:
    """Owners: remove a member (their earlier tokens are refused); never the last owner."""
    assert principal.vendor is not None
    service.remove_member(session, vendor=principal.vendor, user_id=user_id)
    return Response(status_code=204)
