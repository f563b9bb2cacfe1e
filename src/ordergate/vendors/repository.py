"""The vendors' SQL."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.db import PageRequest, paginate
from ordergate.vendors.models import Vendor


def find_vendor(session: Session, *, vendor_id: int) -> Vendor | None:
    return session.get(Vendor, vendor_id)


def find_vendor_by_code(session: Session, *, code: str) -> Vendor | None:
    return session.scalar(select(Vendor).where(Vendor.code == code))


def add_vendor(session: Session, vendor: Vendor) -> None:
    session.add(vendor)


def vendors_page(session: Session, *, page: PageRequest) -> tuple[list[Vendor], int]:
    return paginate(session, select(Vendor).order_by(Vendor.id), page)
