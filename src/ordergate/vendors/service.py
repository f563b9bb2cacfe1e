"""Vendors (shops)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ordergate.errors import ConflictError, NotFoundError
from ordergate.vendors.models import Vendor


class VendorNotFoundError(NotFoundError):
    code = "VENDOR_NOT_FOUND"


class VendorCodeTakenError(ConflictError):
    code = "VENDOR_CODE_TAKEN"


def get_vendor(session: Session, *, vendor_id: int) -> Vendor:
    vendor = session.get(Vendor, vendor_id)
    if vendor is None:
        raise VendorNotFoundError(f"Vendor {vendor_id} not found", details={"vendor_id": vendor_id})
    return vendor


def get_vendor_by_code(session: Session, *, code: str) -> Vendor:
    vendor = session.scalar(select(Vendor).where(Vendor.code == code))
    if vendor is None:
        raise VendorNotFoundError(f"Vendor '{code}' not found", details={"vendor_code": code})
    return vendor


def create_vendor(session: Session, *, code: str, name: str) -> Vendor:
    if session.scalar(select(func.count()).select_from(Vendor).where(Vendor.code == code)):
        raise VendorCodeTakenError(f"Vendor code '{code}' is already taken")
    vendor = Vendor(code=code, name=name, is_active=True)
    session.add(vendor)
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise VendorCodeTakenError(f"Vendor code '{code}' is already taken") from exc
    return vendor


def list_vendors(session: Session, *, skip: int, limit: int) -> tuple[list[Vendor], int]:
    total = session.scalar(select(func.count()).select_from(Vendor)) or 0
    vendors = session.scalars(select(Vendor).order_by(Vendor.id).offset(skip).limit(limit)).all()
    return list(vendors), total
