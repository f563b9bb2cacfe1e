"""The idempotent demo seed used by `make run`: an admin and three vendors that sell different
things (toys, wine, books), their staff, their catalogs, Letzshop credentials pointing at the
local sandbox, and the marketplace feed a user uploads to watch auto-matching work
(docs/dashboard.md, "Demo data").

The sandbox serves each vendor a few hundred orders drawn from its own shop's articles
(``sandbox/shops.py``), dated up to about now so that some orders are near their confirmation
deadline and some past it. The order lines cover every exception type:

- ``product_not_found``: articles the vendor sells on Letzshop but left out of its catalog here
  (every 8th), articles it never entered ("unknown GTIN"), and gift vouchers without a GTIN;
- ``gtin_mismatch``: a GTIN with a wrong check digit;
- ``duplicate_gtin``: articles the catalog holds twice (two products, one GTIN: the candidates).

The marketplace feed lists the three shops' Letzshop listings and the unknown articles, so
copying the products the exceptions wait for into a catalog auto-matches them; it also has two
bad rows and an invalid GTIN, to show row errors and warnings with their row numbers.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm import Session

from ordergate.auth import service as auth_service
from ordergate.auth.models import MemberRole
from ordergate.catalog import service as catalog_service
from ordergate.catalog.service import NewProduct
from ordergate.config import Settings
from ordergate.db import UTCDateTime
from ordergate.events.models import Event, EventAction, EventSubject
from ordergate.item_exceptions.matching import auto_match_products
from ordergate.letzshop import credentials as letzshop_credentials
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from ordergate.sandbox import Article, DirtMix, SandboxState, generate_dataset
from ordergate.sandbox.shops import Theme, shop_catalog
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from ordergate.vendors import service as vendor_service
from ordergate.vendors.models import Vendor

DEMO_PASSWORD = "ordergate-demo"
DEMO_SEED = 0


@dataclass(frozen=True, slots=True)
class DemoVendor:
    code: str
    name: str
    api_key: str  # the vendor's key on the sandbox
    sandbox_vendor: str  # the sandbox's id of the vendor the key opens
    theme: Theme  # what the shop sells


DEMO_VENDORS = [
    DemoVendor("luxtoys", "Lux Toys", "sandbox-key-1", "sandbox-vendor-1", "toys"),
    DemoVendor("moselwine", "Mosel Wine House", "sandbox-key-2", "sandbox-vendor-2", "wine"),
    DemoVendor("kirchbooks", "Kirchberg Books", "sandbox-key-3", "sandbox-vendor-3", "books"),
]
DEMO_API_KEYS = {v.api_key: (v.sandbox_vendor,) for v in DEMO_VENDORS}
# (email, admin, vendor codes, role); each vendor's owner comes first (its first member).
DEMO_USERS = [
    ("admin@ordergate.test", True, [], MemberRole.STAFF),
    ("owner@luxtoys.test", False, ["luxtoys"], MemberRole.OWNER),
    ("staff@luxtoys.test", False, ["luxtoys"], MemberRole.STAFF),
    ("owner@moselwine.test", False, ["moselwine"], MemberRole.OWNER),
    ("staff@moselwine.test", False, ["moselwine"], MemberRole.STAFF),
    ("owner@kirchbooks.test", False, ["kirchbooks"], MemberRole.OWNER),
    ("staff@kirchbooks.test", False, ["kirchbooks"], MemberRole.STAFF),
]
# Letzshop's confirmation window is in its seller terms, not public: the demo assumes 48 hours
# (a vendor's owner changes it with PATCH /api/v1/vendor/settings).
DEMO_CONFIRMATION_DEADLINE_HOURS = 48
# Every 8th article (never one meant to be there twice) is left out of the catalogs, so its
# orders raise product_not_found; the marketplace feed has it.
LEFT_OUT_EVERY = 8
# About 100 orders per vendor, 1.5 hours apart on average: six days of orders, the newest
# DEMO_NEWEST_ORDER_AGO before the sandbox starts, so with a 48-hour window the blocked ones
# spread over on track (< 24 h old), at risk (24-48 h) and overdue (> 48 h).
DEMO_SHIPMENTS_PER_VENDOR = 100
DEMO_NEWEST_ORDER_AGO = timedelta(minutes=20)
# How long after an order was placed a continuously importing shop would have imported it
# (date_imports_as_if_live).
IMPORT_LAG = timedelta(minutes=3)
# Fewer unknown articles than the sandbox's default (10%): the left-out ones already raise
# product_not_found, under their real names.
DEMO_MIX = DirtMix(
    unknown_gtin=0.04, invalid_check_digit=0.04, duplicate_gtin=0.05, no_trade_id=0.03
)
FEED_COLUMNS = (
    "id",
    "title",
    "description",
    "brand",
    "gtin",
    "mpn",
    "sku",
    "price",
    "availability",
)


def shop_articles(vendor: DemoVendor) -> list[Article]:
    return shop_catalog(vendor.theme, seed=DEMO_SEED)


def demo_sandbox_state(now: datetime) -> SandboxState:
    """The sandbox the demo imports from (and `ordergate serve --with-sandbox` serves): each
    vendor's orders from its own shop, the newest completed shortly before ``now``."""
    return SandboxState(
        seed=DEMO_SEED,
        shipments_per_vendor=DEMO_SHIPMENTS_PER_VENDOR,
        mix=DEMO_MIX,
        api_keys=DEMO_API_KEYS,
        catalogs={v.sandbox_vendor: shop_articles(v) for v in DEMO_VENDORS},
        end_at=now - DEMO_NEWEST_ORDER_AGO,
    )


def seed_demo(
    session: Session, *, box: SecretBox, settings: Settings, sandbox_url: str
) -> list[Vendor]:
    vendors = [_vendor(session, v.code, v.name) for v in DEMO_VENDORS]
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
    for vendor, demo in zip(vendors, DEMO_VENDORS, strict=True):
        _catalog(session, vendor, shop_articles(demo))
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
                api_key=demo.api_key,
                endpoint=sandbox_url,
                auto_sync=True,
            )
    return vendors


def date_imports_as_if_live(
    session: Session, *, vendor_ids: list[int], imported_since: datetime
) -> int:
    """Date the demo vendors' imported rows (orders, lines, units, exceptions and the import's
    events) IMPORT_LAG after each order was placed, as a shop that imports continuously would
    have them: the demo imports six days of orders at once, which would make every age "0 min"
    and every open exception younger than a day. Only rows written since ``imported_since``
    (this demo run's import) are dated, so a second run, or rows a later sync or a person wrote,
    are left alone. Returns the number of orders dated."""
    orders = session.execute(
        select(Order.id, Order.order_date).where(
            Order.vendor_id.in_(vendor_ids), Order.order_date.is_not(None)
        )
    ).all()
    params = [{"oid": oid, "at": placed + IMPORT_LAG} for oid, placed in orders if placed]
    if not params:
        return 0
    conn = session.connection()
    items = select(OrderItem.id).where(OrderItem.order_id == bindparam("oid"))
    exceptions = select(OrderItemException.id).where(OrderItemException.order_item_id.in_(items))
    later = bindparam("at", type_=UTCDateTime)
    since = bindparam("since", type_=UTCDateTime)
    params = [{**p, "since": imported_since} for p in params]
    for stmt in (
        update(Order).where(Order.id == bindparam("oid")),
        update(OrderItem).where(OrderItem.order_id == bindparam("oid")),
        update(OrderItemUnit).where(OrderItemUnit.order_item_id.in_(items)),
        update(OrderItemException).where(OrderItemException.id.in_(exceptions)),
    ):
        table = stmt.table
        conn.execute(stmt.where(table.c.created_at >= since).values(created_at=later), params)
    import_events = and_(Event.actor_user_id.is_(None), Event.at >= since)
    conn.execute(
        update(Event)
        .where(
            import_events,
            Event.subject_type == EventSubject.ORDER,
            Event.subject_id == bindparam("oid"),
            Event.action == EventAction.STATUS_CHANGED,
        )
        .values(at=later),
        params,
    )
    conn.execute(
        update(Event)
        .where(
            import_events,
            Event.subject_type == EventSubject.EXCEPTION,
            Event.subject_id.in_(exceptions),
            Event.action == EventAction.CREATED,
        )
        .values(at=later),
        params,
    )
    return len(params)


def login_lines() -> list[str]:
    return [
        f"  {email:<24} password: {DEMO_PASSWORD}  ({'admin' if is_admin else role})"
        for email, is_admin, _, role in DEMO_USERS
    ]


def _vendor(session: Session, code: str, name: str) -> Vendor:
    vendor = vendor_service.find_vendor_by_code(session, code=code)
    return vendor or vendor_service.create_vendor(session, code=code, name=name)


def left_out(index: int, article: Article) -> bool:
    """Whether the demo leaves the article out of its vendor's catalog."""
    return not article.is_duplicate and index % LEFT_OUT_EVERY == LEFT_OUT_EVERY - 1


def _catalog(session: Session, vendor: Vendor, articles: list[Article]) -> None:
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
        for index, article in enumerate(articles)
        if not left_out(index, article)
        for copy in range(2 if article.is_duplicate else 1)
    ]
    catalog_service.add_products(
        session, scope=scope, products=products, after_products_added=auto_match_products
    )


# --- The marketplace feed ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DemoFeed:
    path: Path
    rows: int  # data rows, the bad ones included
    bad_rows: list[int]  # their row numbers (header = row 1)
    warning_rows: list[int]


def write_marketplace_feed(path: Path) -> DemoFeed:
    """Write the demo's marketplace feed (tab-separated, as Letzshop exports it) to ``path``:
    every shop's Letzshop listings, then the articles the vendors sell but never entered, with
    two bad rows and an invalid GTIN among them. Same content on every run."""
    rows: list[dict[str, str]] = []
    bad: list[int] = []
    warned: list[int] = []
    for number, vendor in enumerate(DEMO_VENDORS, start=1):
        for article in shop_articles(vendor):
            rows.append(_listing(vendor, article))
        rows.extend(_unlisted(vendor, f"v{number}"))
        if number == 1:
            # After the toys, rows a hand-edited feed might have: the import skips them and
            # names their row numbers, and stores the third with a warning.
            bad.append(len(rows) + 2)
            rows.append({"id": "luxtoys-draft-1", "title": "", "price": "9.99 EUR"})
            bad.append(len(rows) + 2)
            rows.append({"id": "luxtoys-draft-2", "title": "Toy box", "price": "nine euros"})
            warned.append(len(rows) + 2)
            rows.append({"id": "luxtoys-draft-3", "title": "Toy chest", "gtin": "5471000000001"})
    buffer = io.StringIO()
    writer = csv.DictWriter(
        buffer, fieldnames=FEED_COLUMNS, delimiter="\t", lineterminator="\n", restval=""
    )
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return DemoFeed(path=path, rows=len(rows), bad_rows=bad, warning_rows=warned)


def _listing(vendor: DemoVendor, article: Article) -> dict[str, str]:
    return {
        "id": f"{vendor.code}-{article.sku}",
        "title": article.names["en"],
        "description": f"{article.names['en']}, sold by {vendor.name}",
        "brand": article.brand or "",
        "gtin": article.gtin13,
        "mpn": article.mpn or "",
        "sku": article.sku,
        "price": _price(article.price_cents),
        "availability": "in stock",
    }


def _unlisted(vendor: DemoVendor, id_prefix: str) -> list[dict[str, str]]:
    """The "unknown GTIN" articles of the vendor's orders (the sandbox's own generator, same
    seed and mix, so the same variants), one row per GTIN."""
    dataset = generate_dataset(
        DEMO_SEED,
        DEMO_SHIPMENTS_PER_VENDOR,
        mix=DEMO_MIX,
        catalog=shop_articles(vendor),
        id_prefix=id_prefix,
    )
    found: dict[str, dict[str, str]] = {}
    for shipment in dataset.shipments:
        for unit in shipment["inventoryUnits"]:
            variant: dict[str, Any] = unit["variant"]
            if dataset.variant_kinds.get(variant["id"]) != "unknown_gtin":
                continue
            gtin = variant["tradeId"]["number"]
            names = variant["product"]["name"]
            title = names.get("en") or names.get("fr") or names.get("de") or f"Article {gtin}"
            found.setdefault(
                gtin,
                {
                    "id": f"{vendor.code}-ext-{gtin}",
                    "title": title,
                    "brand": "Grossiste SA",
                    "gtin": gtin,
                    "sku": variant.get("sku") or "",
                    "price": _price(_cents(variant["price"])),
                    "availability": "in stock",
                },
            )
    return [found[gtin] for gtin in sorted(found)]


def _cents(price: int | float | str) -> int:
    return round(float(price) * 100)


def _price(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d} EUR"
