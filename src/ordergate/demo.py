"""The idempotent demo seed used by `make run`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.auth import service as auth_service
from ordergate.auth.models import User
from ordergate.vendors import service as vendor_service
from ordergate.vendors.models import Vendor

DEMO_PASSWORD = "ordergate-demo"
DEMO_VENDORS = [("luxtoys", "Lux Toys"), ("moselwine", "Mosel Wine House")]
DEMO_USERS = [
    ("admin@ordergate.test", True, []),
    ("staff@luxtoys.test", False, ["luxtoys"]),
    ("staff@moselwine.test", False, ["moselwine"]),
]


def seed_demo(session: Session) -> list[str]:
    for code, name in DEMO_VENDORS:
        if session.scalar(select(Vendor).where(Vendor.code == code)) is None:
            vendor_service.create_vendor(session, code=code, name=name)
    for email, is_admin, vendors in DEMO_USERS:
        if session.scalar(select(User).where(User.email == email)) is None:
            auth_service.create_user(
                session,
                email=email,
                password=DEMO_PASSWORD,
                is_admin=is_admin,
                vendor_codes=vendors,
            )
    return [f"log in as {email} / {DEMO_PASSWORD}" for email, _, _ in DEMO_USERS]
