"""Vendor rules at the service level, on the real database."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordergate.db import PageRequest
from ordergate.errors import conflict_as
from ordergate.vendors import service
from ordergate.vendors.errors import VendorCodeTakenError, VendorNotFoundError
from ordergate.vendors.models import Vendor


def test_a_taken_code_is_refused_by_the_constraint_and_the_transaction_goes_on(
    db: Session,
) -> None:
    service.create_vendor(db, code="luxtoys", name="A")
    with pytest.raises(VendorCodeTakenError) as refused:
        service.create_vendor(db, code="luxtoys", name="B")
    assert (refused.value.code, refused.value.message) == (
        "VENDOR_CODE_TAKEN",
        "Vendor code 'luxtoys' is already taken",
    )
    service.create_vendor(db, code="other", name="C")  # only the savepoint was rolled back
    db.commit()
    assert db.scalars(select(Vendor.name).order_by(Vendor.id)).all() == ["A", "C"]


def test_conflict_as_leaves_other_integrity_errors_alone(db: Session) -> None:
    with (
        pytest.raises(IntegrityError),
        conflict_as(db, VendorCodeTakenError("x")),
    ):
        db.add(Vendor(code="nameless", name=None))
    assert db.scalars(select(Vendor)).all() == []


def test_unknown_vendors_are_404_by_id_and_by_code(db: Session) -> None:
    with pytest.raises(VendorNotFoundError) as by_id:
        service.get_vendor(db, vendor_id=4242)
    with pytest.raises(VendorNotFoundError) as by_code:
        service.get_vendor_by_code(db, code="nope")
    assert (by_id.value.message, by_id.value.details) == (
        "Vendor 4242 not found",
        {"vendor_id": 4242},
    )
    assert (by_code.value.message, by_code.value.details) == (
        "Vendor 'nope' not found",
        {"vendor_code": "nope"},
    )
    assert service.find_vendor_by_code(db, code="nope") is None


def test_vendors_are_listed_by_id_a_page_at_a_time(db: Session) -> None:
    for code in ("c-3", "a-1", "b-2"):
        service.create_vendor(db, code=code, name=code)
    vendors, total = service.list_vendors(db, page=PageRequest(skip=1, limit=1))
    assert ([v.code for v in vendors], total) == (["a-1"], 3)
