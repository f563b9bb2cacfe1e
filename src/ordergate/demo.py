"""The idempotent demo seed used by `make run`: users, vendors, their catalogs from the sandbox's
article list, and Letzshop credentials pointing at the local sandbox."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ordergate.auth import service as auth_service
from ordergate.auth.models import MemberRole
from ordergate.catalog import service as catalog_service
from ordergate.catalog.service import NewProduct
from ordergate.config import Settings
from ordergate.item_exceptions.matching import auto_match_products
from ordergate.letzshop import credentials as letzshop_credentials
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
    ("admin@ordergate.test", True, [], MemberRole.STAFF),
    ("owner@luxtoys.test", False, ["luxtoys"], MemberRole.OWNER),
    ("staff@luxtoys.test", False, ["luxtoys"], MemberRole.STAFF),
    ("owner@moselwine.test", False, ["moselwine"], MemberRole.OWNER),
    ("staff@moselwine.test", False, ["moselwine"], MemberRole.STAFF),
]
# Letzshop's confirmation window is in its seller terms, not public: the demo assumes 48 hours
# (a vendor's owner changes it with PATCH /api/v1/vendor/settings).
DEMO_CONFIRMATION_DEADLINE_HOURS = 48
# Every 8th article is left out of the catalogs, so the demo shows product_not_found exceptions.
LEFT_OUT_EVERY = 8


def seed_demo(
    session: Session, *, box: SecretBox, settings: Settings, sandbox_url: str
) -> list[Vendor]:
    vendors = [_vendor(session, code, name) for code, name, _ in DEMO_VENDORS]
    for email, is_admin, codes, role in DEMO_USERS:
        if auth_service.find_user_by_email(session, email=email) is None:
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
        scope = VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True)
        if vendor.confirmation_deadline_hours is None:
            vendor_service.update_settings(
                session,
                scope=scope,
                confirmation_deadline_hours=DEMO_CONFIRMATION_DEADLINE_HOURS,
            )
        if letzshop_credentials.find_credentials(session, scope=scope) is None:
            letzshop_credentials.set_credentials(
                session,
                scope=scope,
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
    vendor = vendor_service.find_vendor_by_code(session, code=code)
    return vendor or vendor_service.create_vendor(session, code=code, name=name)


def _catalog(session: Session, vendor: Vendor) -> None:
    scope = VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True)
    if catalog_service.has_products(session, scope=scope):
        return
    products = [
        NewProduct(
            title=article.names["en"],
            gtin=article.gtin13,
            gtin_type=article.parser,
            sku=f"{article.sku}-{copy}" if copy else article.sku,
            brand=article.brand,
            price_cents=article.price_cents,
        )
        for index, article in enumerate(sandbox_catalog(DEMO_SEED))
        if index % LEFT_OUT_EVERY != LEFT_OUT_EVERY - 1
        for copy in range(2 if article.is_duplicate else 1)
    ]
    catalog_service.add_products(
        session, scope=scope, products=products, after_products_added=auto_match_products
    )
