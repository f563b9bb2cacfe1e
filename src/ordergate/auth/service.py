"""Users, memberships and login."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordergate.auth.models import User, VendorMembership
from ordergate.errors import AppError, AuthenticationError, ConflictError, PermissionDeniedError
from ordergate.security import create_access_token, hash_password, verify_password
from ordergate.vendors.models import Vendor
from ordergate.vendors.service import get_vendor_by_code


class EmailTakenError(ConflictError):
    code = "EMAIL_TAKEN"


class VendorChoiceRequiredError(AppError):
    status_code = 400
    code = "VENDOR_CODE_REQUIRED"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    vendor: Vendor | None


def normalize_email(email: str) -> str:
    return email.strip().lower()


def active_membership(user: User, vendor_id: int) -> VendorMembership | None:
    for membership in user.memberships:
        if membership.vendor_id == vendor_id and membership.vendor.is_active:
            return membership
    return None


def login(
    session: Session,
    *,
    email: str,
    password: str,
    vendor_code: str | None,
    secret: str,
    lifetime_minutes: int,
) -> IssuedToken:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    # Same answer whether the email is unknown, the password wrong or the user inactive.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        raise AuthenticationError("Incorrect email or password")
    if not user.is_active:
        raise AuthenticationError("Incorrect email or password")
    vendor = _vendor_for_login(user, vendor_code)
    token = create_access_token(
        secret,
        user_id=user.id,
        vendor_id=vendor.id if vendor else None,
        lifetime_minutes=lifetime_minutes,
    )
    return IssuedToken(access_token=token, expires_in=lifetime_minutes * 60, vendor=vendor)


def _vendor_for_login(user: User, vendor_code: str | None) -> Vendor | None:
    active = [m for m in user.memberships if m.vendor.is_active]
    if vendor_code is not None:
        chosen = next((m for m in active if m.vendor.code == vendor_code), None)
        if chosen is None:
            raise PermissionDeniedError(f"You are not a member of vendor '{vendor_code}'")
        return chosen.vendor
    if len(active) == 1:
        return active[0].vendor
    if len(active) > 1 and not user.is_admin:
        codes = sorted(m.vendor.code for m in active)
        raise VendorChoiceRequiredError(
            "You belong to several vendors; name one with vendor_code",
            details={"vendor_codes": codes},
        )
    return None


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    is_admin: bool,
    vendor_codes: list[str],
    role: str = "staff",
) -> User:
    email = normalize_email(email)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise EmailTakenError(f"A user with email '{email}' already exists")
    vendors = [get_vendor_by_code(session, code=code) for code in dict.fromkeys(vendor_codes)]
    user = User(
        email=email, password_hash=hash_password(password), is_admin=is_admin, is_active=True
    )
    user.memberships = [VendorMembership(vendor=v, vendor_id=v.id, role=role) for v in vendors]
    session.add(user)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:  # a concurrent create with the same email won the race
        raise EmailTakenError(f"A user with email '{email}' already exists") from exc
    return user


def list_users(session: Session, *, skip: int, limit: int) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    users = session.scalars(select(User).order_by(User.id).offset(skip).limit(limit)).all()
    return list(users), total
