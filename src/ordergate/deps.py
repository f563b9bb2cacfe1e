"""Request dependencies: session, current user, admin, vendor and vendor-owner contexts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from ordergate.auth.members import OwnerRequiredError
from ordergate.auth.models import User
from ordergate.auth.service import active_membership
from ordergate.errors import AuthenticationError, PermissionDeniedError
from ordergate.routing import request_session
from ordergate.security import decode_access_token
from ordergate.vendors.models import Vendor

SessionDep = Annotated[Session, Depends(request_session)]

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/v1/auth/login")


@dataclass(frozen=True, slots=True)
class Principal:
    user: User
    vendor: Vendor | None
    role: str | None = None  # the user's role in `vendor`


def current_principal(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        raise AuthenticationError("Missing bearer token")
    claims = decode_access_token(request.app.state.secret_key, credentials.credentials)
    if claims is None:
        raise AuthenticationError("Invalid or expired token")
    user = session.get(User, claims.user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("Invalid or expired token")
    if claims.token_version != user.token_version:
        raise AuthenticationError("The token was revoked; log in again")
    if claims.vendor_id is None:
        return Principal(user=user, vendor=None)
    membership = active_membership(user, claims.vendor_id)
    if membership is None:
        raise AuthenticationError("The token's vendor access was revoked; log in again")
    return Principal(user=user, vendor=membership.vendor, role=membership.role)


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_admin(principal: PrincipalDep) -> User:
    if not principal.user.is_admin:
        raise PermissionDeniedError("Admin access required")
    return principal.user


def require_vendor(principal: PrincipalDep) -> Principal:
    if principal.vendor is None:
        raise PermissionDeniedError(
            "This token acts for no vendor; log in with vendor_code to use vendor endpoints"
        )
    return principal


VendorDep = Annotated[Principal, Depends(require_vendor)]


def require_owner(principal: VendorDep) -> Principal:
    """The vendor's owners (and platform admins) change its settings and members."""
    if principal.role != "owner" and not principal.user.is_admin:
        raise OwnerRequiredError("Only the vendor's owners can do this; you are staff")
    return principal


AdminDep = Annotated[User, Depends(require_admin)]
OwnerDep = Annotated[Principal, Depends(require_owner)]
