"""Users, login, passwords and the accounts admins and owners manage."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ordergate.auth import repository
from ordergate.auth.errors import (
    EmailTakenError,
    LastAdminError,
    NotAMemberError,
    PasswordRequiredError,
    UserNotFoundError,
    VendorChoiceRequiredError,
    WrongCurrentPasswordError,
)
from ordergate.auth.members import (
    add_membership,
    change_role,
    get_membership,
    remove_membership,
    revoke_tokens,
    role_for_new_member,
)
from ordergate.auth.models import MemberRole, User, VendorMembership
from ordergate.auth.policy import check_new_password, checked_email
from ordergate.auth.throttle import LoginThrottle
from ordergate.db import PageRequest
from ordergate.errors import AuthenticationError, conflict_as
from ordergate.scope import VendorScope
from ordergate.security import create_access_token, hash_password, verify_password
from ordergate.vendors.models import Vendor
from ordergate.vendors.service import get_vendor, get_vendor_by_code


@dataclass(frozen=True, slots=True)
class IssuedToken:
    access_token: str
    expires_in: int
    vendor: Vendor | None


@dataclass(frozen=True, slots=True)
class TokenSettings:
    secret: str
    lifetime_minutes: int


def normalize_email(email: str) -> str:
    return email.strip().lower()


def active_membership(user: User, vendor_id: int) -> VendorMembership | None:
    for membership in user.memberships:
        if membership.vendor_id == vendor_id and membership.vendor.is_active:
            return membership
    return None


def issue_token(user: User, vendor: Vendor | None, tokens: TokenSettings) -> IssuedToken:
    token = create_access_token(
        tokens.secret,
        user_id=user.id,
        vendor_id=vendor.id if vendor else None,
        token_version=user.token_version,
        lifetime_minutes=tokens.lifetime_minutes,
    )
    return IssuedToken(access_token=token, expires_in=tokens.lifetime_minutes * 60, vendor=vendor)


def login(
    session: Session,
    *,
    email: str,
    password: str,
    vendor_code: str | None,
    tokens: TokenSettings,
    throttle: LoginThrottle,
    address: str,
) -> IssuedToken:
    user = authenticate(session, email=email, password=password, throttle=throttle, address=address)
    return issue_token(user, _vendor_for_login(user, vendor_code), tokens)


def authenticate(
    session: Session, *, email: str, password: str, throttle: LoginThrottle, address: str
) -> User:
    """The active user with this email and password; failures are throttled and answer alike."""
    account = f"email:{normalize_email(email)}"
    throttle.check(account=account, address=address)
    user = repository.find_user_by_email(session, email=normalize_email(email))
    # Same answer whether the email is unknown, the password wrong or the user inactive.
    if not verify_password(user.password_hash if user else None, password) or user is None:
        throttle.record_failure(account=account, address=address)
        raise AuthenticationError("Incorrect email or password")
    if not user.is_active:
        throttle.record_failure(account=account, address=address)
        raise AuthenticationError("Incorrect email or password")
    throttle.record_success(account=account)
    return user


def _vendor_for_login(user: User, vendor_code: str | None) -> Vendor | None:
    active = [m for m in user.memberships if m.vendor.is_active]
    if vendor_code is not None:
        chosen = next((m for m in active if m.vendor.code == vendor_code), None)
        if chosen is None:
            raise NotAMemberError(vendor_code)
        return chosen.vendor
    if len(active) == 1:
        return active[0].vendor
    if len(active) > 1 and not user.is_admin:
        raise VendorChoiceRequiredError(sorted(m.vendor.code for m in active))
    return None


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    is_admin: bool,
    vendor_codes: list[str],
    role: str = MemberRole.STAFF,
) -> User:
    """A new user; in a vendor without members they become its owner whatever `role` says.
    The email is unique (409 EMAIL_TAKEN, checked before the vendors are looked up)."""
    email = checked_email(email)
    check_new_password(password, email=email, field="password")
    user = User(
        email=email, password_hash=hash_password(password), is_admin=is_admin, is_active=True
    )
    user.memberships = []
    with conflict_as(session, EmailTakenError(email)):
        repository.add(session, user)
    for code in dict.fromkeys(vendor_codes):
        vendor = get_vendor_by_code(session, code=code)
        first_role = role_for_new_member(session, vendor_id=vendor.id, role=role)
        user.memberships.append(
            VendorMembership(vendor=vendor, vendor_id=vendor.id, role=first_role)
        )
    session.flush()
    return user


def add_member(
    session: Session, *, scope: VendorScope, email: str, role: str, password: str | None
) -> VendorMembership:
    """Add a user to the vendor: an existing one by email (no password), or a new one."""
    vendor = get_vendor(session, vendor_id=scope.vendor_id)
    email = checked_email(email)
    user = repository.find_user_by_email(session, email=email)
    if user is None:
        if password is None:
            raise PasswordRequiredError(email)
        user = create_user(session, email=email, password=password, is_admin=False, vendor_codes=[])
    elif password is not None:
        raise EmailTakenError(user.email, adding_member=True)
    return add_membership(session, user=user, vendor=vendor, role=role)


def get_user(session: Session, *, user_id: int) -> User:
    user = repository.find_user(session, user_id=user_id)
    if user is None:
        raise UserNotFoundError.for_id(user_id)
    return user


def find_user_by_email(session: Session, *, email: str) -> User | None:
    return repository.find_user_by_email(session, email=normalize_email(email))


def get_user_by_email(session: Session, *, email: str) -> User:
    user = repository.find_user_by_email(session, email=normalize_email(email))
    if user is None:
        raise UserNotFoundError.for_email(normalize_email(email))
    return user


def set_password(session: Session, *, user: User, new_password: str, field: str) -> None:
    """Set a new password (policy checked) and refuse the tokens issued before."""
    check_new_password(new_password, email=user.email, field=field)
    user.password_hash = hash_password(new_password)
    revoke_tokens(session, user)


def change_own_password(
    session: Session,
    *,
    user: User,
    vendor: Vendor | None,
    current_password: str,
    new_password: str,
    tokens: TokenSettings,
    throttle: LoginThrottle,
    address: str,
) -> IssuedToken:
    """Change the caller's password; every earlier token is refused, a fresh one returned."""
    account = f"user:{user.id}"
    throttle.check(account=account, address=address)
    if not verify_password(user.password_hash, current_password):
        throttle.record_failure(account=account, address=address)
        raise WrongCurrentPasswordError()
    set_password(session, user=user, new_password=new_password, field="new_password")
    return issue_token(user, vendor, tokens)


def update_user(
    session: Session, *, user_id: int, is_active: bool | None, is_admin: bool | None
) -> User:
    """Deactivate/reactivate a user or change the admin flag; losing access refuses the user's
    earlier tokens, and the last active admin is kept."""
    user = get_user(session, user_id=user_id)
    loses_admin = user.is_admin and user.is_active and False in (is_active, is_admin)
    if loses_admin:
        _ensure_another_admin(session, user)
    loses_access = (is_active is False and user.is_active) or (is_admin is False and user.is_admin)
    if is_active is not None:
        user.is_active = is_active
    if is_admin is not None:
        user.is_admin = is_admin
    if loses_access:
        revoke_tokens(session, user)
    return user


def _ensure_another_admin(session: Session, user: User) -> None:
    # Locks every active admin's row so two admins revoking each other cannot both succeed.
    admins = repository.lock_active_admin_ids(session)
    if not set(admins) - {user.id}:
        raise LastAdminError(user.id)


def list_users(session: Session, *, page: PageRequest) -> tuple[list[User], int]:
    """Users by id, and their total."""
    return repository.users_page(session, page=page)


def log_out_everywhere(session: Session, *, user: User) -> None:
    revoke_tokens(session, user)


def set_membership(session: Session, *, user_id: int, vendor_id: int, role: str) -> User:
    """Make the user a member of the vendor with that role (added, or the role changed)."""
    user = get_user(session, user_id=user_id)
    vendor = get_vendor(session, vendor_id=vendor_id)
    existing = next((m for m in user.memberships if m.vendor_id == vendor.id), None)
    if existing is None:
        add_membership(session, user=user, vendor=vendor, role=role)
    else:
        change_role(session, membership=existing, role=role)
    return user


def remove_user_membership(session: Session, *, user_id: int, vendor_id: int) -> None:
    user = get_user(session, user_id=user_id)
    vendor = get_vendor(session, vendor_id=vendor_id)
    remove_membership(session, membership=get_membership(session, vendor=vendor, user_id=user.id))


def change_member_role(
    session: Session, *, scope: VendorScope, user_id: int, role: str
) -> VendorMembership:
    vendor = get_vendor(session, vendor_id=scope.vendor_id)
    membership = get_membership(session, vendor=vendor, user_id=user_id)
    return change_role(session, membership=membership, role=role)


def remove_member(session: Session, *, scope: VendorScope, user_id: int) -> None:
    vendor = get_vendor(session, vendor_id=scope.vendor_id)
    remove_membership(session, membership=get_membership(session, vendor=vendor, user_id=user_id))
