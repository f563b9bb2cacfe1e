"""Vendors (shops)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.db import PageRequest
from ordergate.errors import conflict_as
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
