"""Vendor memberships: the first member of a vendor is its owner, a vendor always keeps an
owner, and any change to a user's access refuses the tokens issued before it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.auth import repository
from ordergate.auth.errors import AlreadyMemberError, LastOwnerError, MemberNotFoundError
from ordergate.auth.models import MemberRole, User, VendorMembership
from ordergate.db import PageRequest
from ordergate.errors import conflict_as
from ordergate.scope import VendorScope
from ordergate.vendors.models import Vendor


def revoke_tokens(session: Session, user: User) -> None:
    """Refuse every token issued to the user so far (they carry the older version)."""
    user.token_version = User.token_version + 1
    session.flush()


def role_for_new_member(session: Session, *, vendor_id: int, role: str) -> str:
    """`role`, or "owner" for a vendor's first member."""
    has_members = repository.vendor_has_members(session, vendor_id=vendor_id)
    return role if has_members else MemberRole.OWNER


def add_membership(session: Session, *, user: User, vendor: Vendor, role: str) -> VendorMembership:
    """Make the user a member; a member already (or a concurrent add that won) is 409."""
    membership = VendorMembership(
        user_id=user.id,
        vendor_id=vendor.id,
        role=role_for_new_member(session, vendor_id=vendor.id, role=role),
    )
    already = AlreadyMemberError(user_id=user.id, vendor_id=vendor.id, vendor_code=vendor.code)
    with conflict_as(session, already):
        repository.add(session, membership)
    session.refresh(user, ["memberships"])
    return membership


def get_membership(session: Session, *, vendor: Vendor, user_id: int) -> VendorMembership:
    membership = repository.find_membership(session, vendor_id=vendor.id, user_id=user_id)
    if membership is None:
        raise MemberNotFoundError(user_id=user_id, vendor_id=vendor.id, vendor_code=vendor.code)
    return membership


def change_role(session: Session, *, membership: VendorMembership, role: str) -> VendorMembership:
    if membership.role == role:
        return membership
    if membership.role == MemberRole.OWNER:
        _ensure_another_owner(session, membership)
    membership.role = role
    revoke_tokens(session, membership.user)
    return membership


def remove_membership(session: Session, *, membership: VendorMembership) -> None:
    if membership.role == MemberRole.OWNER:
        _ensure_another_owner(session, membership)
    user = membership.user
    user.memberships.remove(membership)
    revoke_tokens(session, user)


def list_members(
    session: Session, *, scope: VendorScope, page: PageRequest
) -> tuple[list[VendorMembership], int]:
    """The vendor's memberships by user id, and their total."""
    return repository.members_page(session, scope=scope, page=page)


def _ensure_another_owner(session: Session, membership: VendorMembership) -> None:
    # Locking every owner row serialises concurrent demotions: the second waits, then sees the
    # first one's change (PostgreSQL re-checks the condition of a row it waited for).
    owners = repository.lock_owner_ids(session, vendor_id=membership.vendor_id)
    if not set(owners) - {membership.user_id}:
        raise LastOwnerError(
            user_id=membership.user_id,
            vendor_id=membership.vendor_id,
            vendor_code=membership.vendor.code,
        )
