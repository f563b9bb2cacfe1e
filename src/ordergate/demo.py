"""The idempotent demo seed used by `make run`: users, vendors, their catalogs from the sandbox's
article list, and Letzshop credentials pointing at the local sandbox."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.auth import service as auth_service
from ordergate.auth.models import User
from ordergate.catalog.models import Product
from ordergate.config import Settings
from ordergate.gtin import normalize_gtin
from ordergate.letzshop import credentials as letzshop_credentials
from ordergate.letzshop.models import LetzshopCredentials
from ordergate.sandbox import sandbox_catalog
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from ordergate.vendors import service as vendor_service
from ordergate.vendors.models import Vendor

DEMO_PASSWORD = "ordergate-demo"
DEMO_SEED = 0
# (code, name, sandbox API key)
DEMO_VENDORS = [
    ("luxtoys", "Lux Toys", "sandbox-key-1"),
    ("moselwine", "Mosel Wine House", "sandbox-key-2"),
]
# (email, admin, vendor codes, role); each vendor's owner comes first (its first member).
DEMO_USERS = [
    ("admin@ordergate.test", True, [], "staff"),
    ("owner@luxtoys.test", False, ["luxtoys"], "owner"),
    ("staff@luxtoys.test", False, ["luxtoys"], "staff"),
    ("owner@moselwine.test", False, ["moselwine"], "owner"),
    ("staff@moselwine.test", False, ["moselwine"], "staff"),
]
# Every 8th article is left out of the catalogs, so the demo shows product_not_found exceptions.
LEFT_OUT_EVERY = 8


def seed_demo(
    session: Session, *, box: SecretBox, settings: Settings, sandbox_url: str
) -> list[Vendor]:
    vendors = [_vendor(session, code, name) for code, name, _ in DEMO_VENDORS]
    for email, is_admin, codes, role in DEMO_USERS:
        if session.scalar(select(User).where(User.email == email)) is None:
            auth_service.create_user(
                session,
                email=email,
                password=DEMO_PASSWORD,
                is_admin=is_admin,
                vendor_codes=codes,
                role=role,
            )
    for vendor, (_, _, api_key) in zip(vendors, DEMO_VENDORS, strict=True):
        _catalog(session, vendor)
        if (
            session.scalar(
                select(LetzshopCredentials).where(LetzshopCredentials.vendor_id == vendor.id)
            )
            is None
        ):
            letzshop_credentials.set_credentials(
                session,
                scope=VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True),
                box=box,
                settings=settings,
                api_key=api_key,
                endpoint=sandbox_url,
                auto_sync=True,
            )
    return vendors


def login_lines() -> list[str]:
    return [
        f"  {email:<24} password: {DEMO_PASSWORD}  ({'admin' if is_admin else role})"
        for email, is_admin, _, role in DEMO_USERS
    ]


def _vendor(session: Session, code: str, name: str) -> Vendor:
    vendor = session.scalar(select(Vendor).where(Vendor.code == code))
    return vendor or vendor_service.create_vendor(session, code=code, name=name)


def _catalog(session: Session, vendor: Vendor) -> None:
    has_products = session.scalar(
        select(func.count()).select_from(Product).where(Product.vendor_id == vendor.id)
    )
    if has_products:
        return
    for index, article in enumerate(sandbox_catalog(DEMO_SEED)):
        if index % LEFT_OUT_EVERY == LEFT_OUT_EVERY - 1:
            continue
        copies = 2 if article.is_duplicate else 1
        for copy in range(copies):
            session.add(
                Product(
                    vendor_id=vendor.id,
                    sku=f"{article.sku}-{copy}" if copy else article.sku,
                    gtin=article.gtin13,
                    gtin_normalized=normalize_gtin(article.gtin13).canonical,
                    gtin_type=article.parser,
                    title=article.names["en"],
                    brand=article.brand,
                    price_cents=article.price_cents,
                    currency="EUR",
                    is_active=True,
                    is_placeholder=False,
                )
            )
    session.flush()
