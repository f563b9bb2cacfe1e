from __future__ import annotations

from fastapi import APIRouter, Request

from ordergate.auth import service
from ordergate.auth.models import User, VendorMembership
from ordergate.auth.schemas import (
    LoginRequest,
    MembershipOut,
    MeResponse,
    TokenResponse,
    UserCreate,
    UserList,
    UserOut,
)
from ordergate.deps import AdminDep, PrincipalDep, SessionDep
from ordergate.routing import CommittingRoute
from ordergate.schemas import ERROR_RESPONSES, Limit, Skip

router = APIRouter(route_class=CommittingRoute, responses=ERROR_RESPONSES)


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


@router.post("/api/v1/auth/login", response_model=TokenResponse, tags=["auth"])
def login(body: LoginRequest, request: Request, session: SessionDep) -> TokenResponse:
    """Exchange email and password for a bearer token; name `vendor_code` to act for a vendor."""
    settings = request.app.state.settings
    issued = service.login(
        session,
        email=body.email,
        password=body.password,
        vendor_code=body.vendor_code,
        secret=request.app.state.secret_key,
        lifetime_minutes=settings.token_lifetime_minutes,
    )
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.get("/api/v1/me", response_model=MeResponse, tags=["auth"])
def me(principal: PrincipalDep) -> MeResponse:
    """The logged-in user and the vendor the token acts for."""
    vendor = None
    if principal.vendor is not None:
        membership = service.active_membership(principal.user, principal.vendor.id)
        vendor = membership_out(membership) if membership else None
    return MeResponse(user=user_out(principal.user), vendor=vendor)


@router.post("/api/v1/admin/users", response_model=UserOut, status_code=201, tags=["admin"])
def create_user(body: UserCreate, session: SessionDep, _: AdminDep) -> UserOut:
    """Create a user, optionally an admin, with memberships in the named vendors."""
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
