"""Vendors (shops)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.db import PageRequest
from ordergate.errors import conflict_as
from ordergate.scope import VendorScope
from ordergate.vendors import repository
from ordergate.vendors.errors import VendorCodeTakenError, VendorNotFoundError
from ordergate.vendors.models import Vendor


def get_vendor(session: Session, *, vendor_id: int) -> Vendor:
    vendor = repository.find_vendor(session, vendor_id=vendor_id)
    if vendor is None:
        raise VendorNotFoundError.for_id(vendor_id)
    return vendor


def find_vendor_by_code(session: Session, *, code: str) -> Vendor | None:
    return repository.find_vendor_by_code(session, code=code)


def get_vendor_by_code(session: Session, *, code: str) -> Vendor:
    vendor = repository.find_vendor_by_code(session, code=code)
    if vendor is None:
        raise VendorNotFoundError.for_code(code)
    return vendor


def create_vendor(session: Session, *, code: str, name: str) -> Vendor:
    """A new active vendor; its code is unique (409 VENDOR_CODE_TAKEN)."""
    vendor = Vendor(code=code, name=name, is_active=True)
    with conflict_as(session, VendorCodeTakenError(code)):
        repository.add_vendor(session, vendor)
    return vendor


def list_vendors(session: Session, *, page: PageRequest) -> tuple[list[Vendor], int]:
    """Vendors by id, and their total."""
    return repository.vendors_page(session, page=page)


# The settings (confirmation_deadline_hours), read by the vendor's members and admins, changed by
# its owners and admins (the endpoints choose the scope).

_UNCHANGED = object()


def get_settings(session: Session, *, scope: VendorScope) -> Vendor:
    return get_vendor(session, vendor_id=scope.vendor_id)


def update_settings(
    session: Session, *, scope: VendorScope, confirmation_deadline_hours: object = _UNCHANGED
) -> Vendor:
    """Set what is given (``None`` clears the deadline); what is omitted stays."""
    vendor = get_vendor(session, vendor_id=scope.vendor_id)
    if confirmation_deadline_hours is not _UNCHANGED:
        assert confirmation_deadline_hours is None or isinstance(confirmation_deadline_hours, int)
        vendor.confirmation_deadline_hours = confirmation_deadline_hours
        session.flush()
    return vendor
