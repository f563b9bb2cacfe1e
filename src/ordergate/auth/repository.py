"""The SQL of users and vendor memberships."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from ordergate.auth.models import MemberRole, User, VendorMembership
from ordergate.db import PageRequest, in_list, in_list_batches, paginate
from ordergate.scope import VendorScope, scoped


def find_user(session: Session, *, user_id: int) -> User | None:
    return session.get(User, user_id)


def find_user_by_email(session: Session, *, email: str) -> User | None:
    """The user with this (stored, lower-case) email."""
    return session.scalar(select(User).where(User.email == email))


def add(session: Session, row: User | VendorMembership) -> None:
    session.add(row)


def users_page(session: Session, *, page: PageRequest) -> tuple[list[User], int]:
    return paginate(session, select(User).order_by(User.id), page)


def lock_active_admin_ids(session: Session) -> list[int]:
    """The active admins' ids, their rows locked to the transaction's end."""
    statement = (
        select(User.id).where(User.is_admin.is_(True), User.is_active.is_(True)).with_for_update()
    )
    return list(session.scalars(statement))


def vendor_has_members(session: Session, *, vendor_id: int) -> bool:
    return bool(session.scalar(select(exists().where(VendorMembership.vendor_id == vendor_id))))


def find_membership(session: Session, *, vendor_id: int, user_id: int) -> VendorMembership | None:
    return session.scalar(
        select(VendorMembership).where(
            VendorMembership.vendor_id == vendor_id, VendorMembership.user_id == user_id
        )
    )


def members_page(
    session: Session, *, scope: VendorScope, page: PageRequest
) -> tuple[list[VendorMembership], int]:
    statement = scoped(select(VendorMembership), scope, VendorMembership.vendor_id)
    return paginate(session, statement.order_by(VendorMembership.user_id), page)


def lock_owner_ids(session: Session, *, vendor_id: int) -> list[int]:
    """The vendor's owners' user ids, their membership rows locked to the transaction's end."""
    statement = (
        select(VendorMembership.user_id)
        .where(VendorMembership.vendor_id == vendor_id, VendorMembership.role == MemberRole.OWNER)
        .with_for_update()
    )
    return list(session.scalars(statement))


def emails_of(session: Session, *, user_ids: Collection[int]) -> dict[int, str]:
    """Users' emails by id (the actors of timelines and exports); unknown ids are left out."""
    found: dict[int, str] = {}
    for chunk in in_list_batches(session, sorted(set(user_ids))):
        rows = session.execute(select(User.id, User.email).where(in_list(session, User.id, chunk)))
        found.update({row.id: row.email for row in rows})
    return found
