"""Vendor memberships: the first member of a vendor is its owner, a vendor always keeps an
owner, and any change to a user's access refuses the tokens issued before it."""

from __future__ import annotations

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordergate.auth.models import User, VendorMembership
from ordergate.errors import ConflictError, NotFoundError, PermissionDeniedError
from ordergate.vendors.models import Vendor


class OwnerRequiredError(PermissionDeniedError):
    code = "OWNER_REQUIRED"


class MemberNotFoundError(NotFoundError):
    code = "MEMBER_NOT_FOUND"


class AlreadyMemberError(ConflictError):
    code = "ALREADY_MEMBER"


class LastOwnerError(ConflictError):
    code = "LAST_OWNER"


def revoke_tokens(session: Session, user: User) -> None:
    """Refuse every token issued to the user so far (they carry the older version)."""
    user.token_version = User.token_version + 1
    session.flush()


def role_for_new_member(session: Session, *, vendor_id: int, role: str) -> str:
    has_members = session.scalar(select(exists().where(VendorMembership.vendor_id == vendor_id)))
    return role if has_members else "owner"


def add_membership(session: Session, *, user: User, vendor: Vendor, role: str) -> VendorMembership:
    already = AlreadyMemberError(
        f"User {user.id} is already a member of vendor '{vendor.code}'",
        details={"user_id": user.id, "vendor_id": vendor.id},
    )
    if any(m.vendor_id == vendor.id for m in user.memberships):
        raise already
    membership = VendorMembership(
        user_id=user.id,
        vendor_id=vendor.id,
        role=role_for_new_member(session, vendor_id=vendor.id, role=role),
    )
    try:
        with session.begin_nested():  # a concurrent add of the same member won the race
            session.add(membership)
            session.flush()
    except IntegrityError as exc:
        raise already from exc
    session.refresh(user, ["memberships"])
    return membership


def get_membership(session: Session, *, vendor: Vendor, user_id: int) -> VendorMembership:
    membership = session.scalar(
        select(VendorMembership).where(
            VendorMembership.vendor_id == vendor.id, VendorMembership.user_id == user_id
        )
    )
    if membership is None:
        raise MemberNotFoundError(
            f"User {user_id} is not a member of vendor '{vendor.code}'",
            details={"user_id": user_id, "vendor_id": vendor.id},
        )
    return membership


def change_role(session: Session, *, membership: VendorMembership, role: str) -> VendorMembership:
    if membership.role == role:
        return membership
    if membership.role == "owner":
        _ensure_another_owner(session, membership)
    membership.role = role
    revoke_tokens(session, membership.user)
    return membership


def remove_membership(session: Session, *, membership: VendorMembership) -> None:
    if membership.role == "owner":
        _ensure_another_owner(session, membership)
    user = membership.user
    user.memberships.remove(membership)
    revoke_tokens(session, user)


def list_members(
    session: Session, *, vendor_id: int, skip: int, limit: int
) -> tuple[list[VendorMembership], int]:
    scope = VendorMembership.vendor_id == vendor_id
    total = session.scalar(select(func.count()).select_from(VendorMembership).where(scope)) or 0
    members = session.scalars(
        select(VendorMembership)
        .where(scope)
        .order_by(VendorMembership.user_id)
        .offset(skip)
        .limit(limit)
    ).all()
    return list(members), total


def _ensure_another_owner(session: Session, membership: VendorMembership) -> None:
    # Locking every owner row serialises concurrent demotions: the second waits, then sees the
    # first one's change (PostgreSQL re-checks the condition of a row it waited for).
    owners = session.scalars(
        select(VendorMembership.user_id)
        .where(VendorMembership.vendor_id == membership.vendor_id, VendorMembership.role == "owner")
        .with_for_update()
    ).all()
    if not set(owners) - {membership.user_id}:
        code = membership.vendor.code
        raise LastOwnerError(
            f"Vendor '{code}' needs another owner before user {membership.user_id} stops being one",
            details={"vendor_id": membership.vendor_id, "user_id": membership.user_id},
        )
