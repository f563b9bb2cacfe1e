from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from ordergate.auth import members, service
from ordergate.auth.schemas import (
    LoginRequest,
    MemberCreate,
    MemberList,
    MemberOut,
    MembershipIn,
    MeResponse,
    PasswordChange,
    PasswordReset,
    TokenResponse,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from ordergate.auth.service import IssuedToken
from ordergate.deps import (
    VENDOR_TREE,
    AdminDep,
    PageQuery,
    PrincipalDep,
    SessionDep,
    ThrottleDep,
    TokensDep,
)
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES, ErrorResponse, IdParam
from ordergate.scope import VendorScope

router = APIRouter(route_class=CommittingRoute, responses=ERROR_RESPONSES)
THROTTLED: dict[int | str, dict[str, Any]] = {
    429: {"model": ErrorResponse, "description": "Too many failures; see Retry-After"}
}
USER = "/api/v1/admin/users/{user_id}"
MEMBER = "/api/v1/vendor/members/{user_id}"


def _address(request: Request) -> str:
    # The peer address; behind a proxy, run uvicorn with --proxy-headers so it is the client's.
    return request.client.host if request.client else "unknown"


AddressDep = Annotated[str, Depends(_address)]
OwnVendor = VENDOR_TREE.all
OwnVendorAsOwner = VENDOR_TREE.owner_in_path


def _token_response(issued: IssuedToken) -> TokenResponse:
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post("/api/v1/auth/login", response_model=TokenResponse, tags=["auth"], responses=THROTTLED)
def login(
    body: LoginRequest,
    session: SessionDep,
    tokens: TokensDep,
    throttle: ThrottleDep,
    address: AddressDep,
) -> TokenResponse:
    """Exchange email and password for a bearer token; name `vendor_code` to act for a vendor.
    Repeated failures answer 429 `TOO_MANY_LOGIN_ATTEMPTS` with `Retry-After`."""
    issued = service.login(
        session,
        email=body.email,
        password=body.password,
        vendor_code=body.vendor_code,
        tokens=tokens,
        throttle=throttle,
        address=address,
    )
    return _token_response(issued)


@router.get("/api/v1/me", response_model=MeResponse, tags=["auth"])
def me(principal: PrincipalDep) -> MeResponse:
    """The logged-in user and the vendor the token acts for."""
    vendor = principal.vendor
    membership = service.active_membership(principal.user, vendor.id) if vendor else None
    return MeResponse.model_validate({"user": principal.user, "vendor": membership})


@router.post(
    "/api/v1/me/password", response_model=TokenResponse, tags=["auth"], responses=THROTTLED
)
def change_password(
    body: PasswordChange,
    session: SessionDep,
    principal: PrincipalDep,
    tokens: TokensDep,
    throttle: ThrottleDep,
    address: AddressDep,
) -> TokenResponse:
    """Change your password. Every earlier token of yours is refused from now on; the answer
    carries a fresh one for the same vendor."""
    issued = service.change_own_password(
        session,
        user=principal.user,
        vendor=principal.vendor,
        current_password=body.current_password,
        new_password=body.new_password,
        tokens=tokens,
        throttle=throttle,
        address=address,
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
    return UserOut.model_validate(user)


@router.get("/api/v1/admin/users", response_model=UserList, tags=["admin"])
def list_users(session: SessionDep, _: AdminDep, page: PageQuery) -> UserList:
    """All users with their vendor memberships."""
    users, total = service.list_users(session, page=page)
    return UserList.of(users, total, page)


@router.patch(USER, response_model=UserOut, tags=["admin"])
def update_user(user_id: IdParam, body: UserUpdate, session: SessionDep, _: AdminDep) -> UserOut:
    """Deactivate or reactivate a user, or change the admin flag. Deactivating or removing the
    admin flag refuses the user's earlier tokens; the last active admin is kept (409)."""
    user = service.update_user(
        session, user_id=user_id, is_active=body.is_active, is_admin=body.is_admin
    )
    return UserOut.model_validate(user)


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
    return UserOut.model_validate(user)


@router.delete(f"{USER}/memberships/{{vendor_id}}", status_code=204, tags=["admin"])
def remove_membership(
    user_id: IdParam, vendor_id: IdParam, session: SessionDep, _: AdminDep
) -> Response:
    """Remove the user from the vendor; the user's earlier tokens are refused."""
    service.remove_user_membership(session, user_id=user_id, vendor_id=vendor_id)
    return Response(status_code=204)


@router.get("/api/v1/vendor/members", response_model=MemberList, tags=["vendor"])
def list_members(
    session: SessionDep, page: PageQuery, scope: VendorScope = OwnVendor
) -> MemberList:
    """Your vendor's members and their roles."""
    found, total = members.list_members(session, scope=scope, page=page)
    return MemberList.of(found, total, page)


@router.post("/api/v1/vendor/members", response_model=MemberOut, status_code=201, tags=["vendor"])
def add_member(
    body: MemberCreate, session: SessionDep, scope: VendorScope = OwnVendorAsOwner
) -> MemberOut:
    """Owners: add an existing user by email, or create one by also giving a password."""
    membership = service.add_member(
        session, scope=scope, email=body.email, role=body.role, password=body.password
    )
    return MemberOut.model_validate(membership)


@router.patch(MEMBER, response_model=MemberOut, tags=["vendor"])
def change_member_role(
    user_id: IdParam,
    body: MembershipIn,
    session: SessionDep,
    scope: VendorScope = OwnVendorAsOwner,
) -> MemberOut:
    """Owners: change a member's role; the vendor keeps at least one owner (409 `LAST_OWNER`)."""
    membership = service.change_member_role(session, scope=scope, user_id=user_id, role=body.role)
    return MemberOut.model_validate(membership)


@router.delete(MEMBER, status_code=204, tags=["vendor"])
def remove_member(
    user_id: IdParam, session: SessionDep, scope: VendorScope = OwnVendorAsOwner
) -> Response:
    """Owners: remove a member (their earlier tokens are refused); never the last owner."""
    service.remove_member(session, scope=scope, user_id=user_id)
    return Response(status_code=204)
