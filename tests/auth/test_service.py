"""Account and membership rules at the service level, on the real database."""

from __future__ import annotations

from typing import get_args

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.auth import members, service
from ordergate.auth.errors import AlreadyMemberError, EmailTakenError, MemberNotFoundError
from ordergate.auth.models import MemberRole, User, VendorMembership
from ordergate.auth.schemas import Role
from ordergate.db import PageRequest
from ordergate.scope import VendorScope
from tests.factories import PASSWORD, make_user, make_vendor


def test_the_request_roles_are_the_member_roles() -> None:
    assert set(get_args(Role)) == {r.value for r in MemberRole}


def test_a_taken_email_is_refused_by_the_constraint_before_vendors_are_looked_up(
    db: Session,
) -> None:
    make_user(db, email="a@shop.test")
    with pytest.raises(EmailTakenError) as refused:
        service.create_user(
            db,
            email="A@Shop.test",
            password=PASSWORD,
            is_admin=False,
            vendor_codes=["no-such-vendor"],
        )
    assert refused.value.message == "A user with email 'a@shop.test' already exists"
    assert db.scalar(select(func.count()).select_from(User)) == 1


def test_the_first_member_of_a_vendor_becomes_its_owner(db: Session) -> None:
    make_vendor(db, code="shop1")
    make_vendor(db, code="shop2")
    make_user(db, email="first@shop.test", vendors=["shop2"])
    user = service.create_user(
        db,
        email="new@shop.test",
        password=PASSWORD,
        is_admin=False,
        vendor_codes=["shop1", "shop2", "shop1"],
        role="staff",
    )
    roles = {m.vendor.code: m.role for m in user.memberships}
    assert roles == {"shop1": "owner", "shop2": "staff"}


def test_adding_a_member_twice_is_refused_and_keeps_one_membership(db: Session) -> None:
    vendor = make_vendor(db, code="shop1")
    user = make_user(db, email="a@shop.test", vendors=["shop1"])
    with pytest.raises(AlreadyMemberError) as refused:
        members.add_membership(db, user=user, vendor=vendor, role="staff")
    assert refused.value.details == {"user_id": user.id, "vendor_id": vendor.id}
    count = select(func.count()).select_from(VendorMembership)
    assert db.scalar(count) == 1


def test_members_are_listed_for_the_scope_only(db: Session) -> None:
    shop1 = make_vendor(db, code="shop1")
    make_vendor(db, code="shop2")
    make_user(db, email="a@shop.test", vendors=["shop1"])
    make_user(db, email="b@shop.test", vendors=["shop2"])
    make_user(db, email="c@shop.test", vendors=["shop1"])
    scope = VendorScope(actor_user_id=None, vendor_id=shop1.id)
    found, total = members.list_members(db, scope=scope, page=PageRequest(limit=1))
    assert ([m.user.email for m in found], total) == (["a@shop.test"], 2)


def test_changing_the_role_of_a_non_member_is_404(db: Session) -> None:
    shop1 = make_vendor(db, code="shop1")
    outsider = make_user(db, email="x@shop.test")
    scope = VendorScope(actor_user_id=None, vendor_id=shop1.id)
    with pytest.raises(MemberNotFoundError) as refused:
        service.change_member_role(db, scope=scope, user_id=outsider.id, role="owner")
    assert refused.value.message == f"User {outsider.id} is not a member of vendor 'shop1'"
