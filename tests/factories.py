"""Small keyword-only factories; each flushes so ids are set, and the caller commits."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from stdnum import ean

from ordergate.auth.models import User
from ordergate.auth.service import create_user
from ordergate.catalog.models import GtinMapping, MarketplaceProduct, Product
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.events.models import Event
from ordergate.gtin import canonical_gtin, normalize_gtin
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from ordergate.vendors.models import Vendor
from ordergate.vendors.service import create_vendor
from tests.conftest import PASSWORD


def make_vendor(db: Session, *, code: str = "shop1", name: str | None = None) -> Vendor:
    return create_vendor(db, code=code, name=name or f"Shop {code}")


def make_product(
    db: Session,
    *,
    vendor_id: int,
    title: str = "Product",
    gtin: str | None = None,
    sku: str | None = None,
    is_active: bool = True,
) -> Product:
    """A catalog row written directly, without auto-matching."""
    canonical = canonical_gtin(gtin)
    product = Product(
        vendor_id=vendor_id,
        title=title,
        gtin=gtin,
        gtin_normalized=canonical,
        gtin_type="gtin13" if canonical else None,
        sku=sku,
        currency="EUR",
        is_active=is_active,
        is_placeholder=False,
    )
    db.add(product)
    db.flush()
    return product


def make_user(
    db: Session,
    *,
    email: str = "user@example.test",
    is_admin: bool = False,
    vendors: list[str] | None = None,
    password: str = PASSWORD,
    role: str = "staff",
) -> User:
    """A user; the first member of a vendor becomes its owner whatever `role` says."""
    return create_user(
        db,
        email=email,
        password=password,
        is_admin=is_admin,
        vendor_codes=vendors or [],
        role=role,
    )


def login(
    client: TestClient, email: str, *, vendor_code: str | None = None, password: str = PASSWORD
) -> dict[str, str]:
    body = {"email": email, "password": password}
    if vendor_code:
        body["vendor_code"] = vendor_code
    response = client.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def admin_headers(
    client: TestClient, db: Session, *, email: str = "admin@example.test"
) -> dict[str, str]:
    make_user(db, email=email, is_admin=True)
    db.commit()
    return login(client, email)


def vendor_headers(
    client: TestClient, db: Session, *, code: str = "shop1", email: str | None = None
) -> tuple[Vendor, dict[str, str]]:
    vendor = make_vendor(db, code=code)
    email = email or f"staff@{code}.test"
    make_user(db, email=email, vendors=[code])
    db.commit()
    return vendor, login(client, email)


def staff_headers(
    client: TestClient, db: Session, *, code: str = "shop1"
) -> tuple[Vendor, dict[str, str]]:
    """A vendor with an owner (owner@CODE.test) and a staff member's headers (staff@CODE.test)."""
    vendor = make_vendor(db, code=code)
    make_user(db, email=f"owner@{code}.test", vendors=[code], role="owner")
    make_user(db, email=f"staff@{code}.test", vendors=[code], role="staff")
    db.commit()
    return vendor, login(client, f"staff@{code}.test")


@dataclass(frozen=True)
class Caller:
    """One API caller of a test parametrised over the two trees (the `caller` fixture): an admin
    acting on `vendor`, or `vendor`'s own member."""

    tree: str  # "admin" or "vendor"
    vendor: Vendor
    headers: dict[str, str]

    @property
    def is_admin(self) -> bool:
        return self.tree == "admin"

    def url(self, *, admin: str, vendor: str) -> str:
        """The tree's spelling of a path, e.g. `admin="/api/v1/admin/order-exceptions"`."""
        return admin if self.is_admin else vendor

    def vendor_query(self) -> dict[str, int]:
        """`?vendor_id=` for the admin tree; the vendor tree takes it from the token."""
        return {"vendor_id": self.vendor.id} if self.is_admin else {}


def make_caller(client: TestClient, db: Session, tree: str, *, code: str = "shop1") -> Caller:
    if tree == "admin":
        vendor = make_vendor(db, code=code)
        return Caller(tree, vendor, admin_headers(client, db))
    vendor, headers = vendor_headers(client, db, code=code)
    return Caller(tree, vendor, headers)


_sequence = itertools.count(1)
M = TypeVar("M")


def gtin13(body: str) -> str:
    """A valid GTIN-13 from 12 digits of body."""
    return body + ean.calc_check_digit(body)


def tsv(header: list[str], *rows: list[str], newline: str = "\n", bom: bool = False) -> bytes:
    lines = ["\t".join(header), *("\t".join(row) for row in rows)]
    text = newline.join(lines) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode()


def make_marketplace_product(
    db: Session,
    *,
    marketplace_product_id: str | None = None,
    title: str = "Coffee mug",
    gtin: str | None = None,
    sku: str | None = None,
    price_cents: int | None = 1999,
    marketplace: str = "letzshop",
) -> MarketplaceProduct:
    row = MarketplaceProduct(
        marketplace=marketplace,
        marketplace_product_id=marketplace_product_id or f"mp-{next(_sequence)}",
        title=title,
        gtin=gtin,
        gtin_normalized=canonical_gtin(gtin),
        gtin_type="gtin13" if canonical_gtin(gtin) else None,
        sku=sku,
        price_cents=price_cents,
        currency="EUR",
        attributes={},
    )
    db.add(row)
    db.flush()
    return row


def make_pending_exception(
    db: Session,
    *,
    vendor_id: int,
    gtin: str | None,
    exception_type: str = "product_not_found",
    status: str = "pending",
) -> OrderItemException:
    """An order with one unmatched line on the placeholder, and its exception."""
    n = next(_sequence)
    placeholder = placeholder_product_id(db, vendor_id=vendor_id)
    order = Order(
        vendor_id=vendor_id,
        channel="letzshop",
        external_shipment_id=f"shp-{n}",
        order_number=f"LS-{vendor_id}-{n}",
        status="pending",
        currency="EUR",
    )
    db.add(order)
    db.flush()
    item = OrderItem(
        order_id=order.id,
        product_id=placeholder,
        external_item_id=f"var-{n}",
        product_name=f"Item {n}",
        gtin=gtin,
        gtin_normalized=canonical_gtin(gtin),
        quantity=1,
        needs_product_match=True,
    )
    db.add(item)
    db.flush()
    exception = OrderItemException(
        order_item_id=item.id,
        vendor_id=vendor_id,
        original_gtin=gtin,
        original_product_name=item.product_name,
        exception_type=exception_type,
        status=status,
    )
    db.add(exception)
    db.flush()
    return exception


def row_count(db: Session, model: type, *where: Any) -> int:
    """Rows in the database now. Ends the read transaction: on SQLite every transaction takes
    the write lock, and an open one would make the app's next request wait."""
    count = db.scalar(select(func.count()).select_from(model).where(*where)) or 0
    db.commit()
    return count


def reload(db: Session, model: type[M], row_id: int) -> M:
    """The row as the database holds it now (not the session's cached copy)."""
    db.expire_all()
    row = db.get(model, row_id)
    assert row is not None
    db.commit()
    return row


_seq = itertools.count(1)
BASE_TIME = datetime(2025, 12, 19, 10, 30, tzinfo=UTC)


def make_order(
    db: Session,
    *,
    vendor_id: int,
    order_number: str | None = None,
    status: str = "pending",
    customer_name: str | None = "Marie Schmit",
    customer_email: str | None = "marie@example.test",
    order_date: datetime | None = BASE_TIME,
    **fields: Any,
) -> Order:
    n = next(_seq)
    order = Order(
        vendor_id=vendor_id,
        channel="letzshop",
        external_order_id=f"ext-order-{n}",
        external_shipment_id=f"ext-ship-{n}",
        external_order_number=f"R{n:09d}",
        order_number=order_number or f"LS-{vendor_id}-R{n:09d}",
        status=status,
        customer_name=customer_name,
        customer_email=customer_email,
        currency="EUR",
        order_date=order_date,
        **fields,
    )
    db.add(order)
    db.flush()
    return order


def make_item(
    db: Session,
    *,
    order: Order,
    gtin: str | None = "4006381333931",
    product_name: str | None = "Funko Pop! Marvel",
    sku: str | None = "MH-FU-56757",
    product_id: int | None = None,
    needs_product_match: bool | None = None,
    quantity: int = 1,
    unit_price_cents: int | None = 1999,
    unit_states: tuple[str, ...] = ("unconfirmed",),
) -> OrderItem:
    n = next(_seq)
    unmatched = product_id is None
    item = OrderItem(
        order_id=order.id,
        product_id=product_id or placeholder_product_id(db, vendor_id=order.vendor_id),
        external_item_id=f"variant-{n}",
        product_name=product_name,
        product_sku=sku,
        gtin=gtin,
        gtin_type="ean13" if gtin else None,
        gtin_normalized=normalize_gtin(gtin).canonical,
        quantity=quantity,
        unit_price_cents=unit_price_cents,
        needs_product_match=unmatched if needs_product_match is None else needs_product_match,
    )
    db.add(item)
    db.flush()
    for index, state in enumerate(unit_states):
        db.add(
            OrderItemUnit(order_item_id=item.id, external_unit_id=f"unit-{n}-{index}", state=state)
        )
    db.flush()
    return item


def make_exception(
    db: Session,
    *,
    item: OrderItem,
    exception_type: str = "product_not_found",
    status: str = "pending",
    created_at: datetime | None = None,
    resolved_product_id: int | None = None,
) -> OrderItemException:
    order = db.get(Order, item.order_id)
    assert order is not None
    exception = OrderItemException(
        order_item_id=item.id,
        vendor_id=order.vendor_id,
        original_gtin=item.gtin,
        original_product_name=item.product_name,
        original_sku=item.product_sku,
        exception_type=exception_type,
        status=status,
        resolved_product_id=resolved_product_id,
        created_at=created_at or BASE_TIME,
        updated_at=created_at or BASE_TIME,
    )
    db.add(exception)
    db.flush()
    return exception


def make_unmatched_line(
    db: Session,
    *,
    vendor_id: int,
    order: Order | None = None,
    gtin: str | None = "4006381333931",
    product_name: str | None = "Funko Pop! Marvel",
    sku: str | None = "MH-FU-56757",
    exception_type: str = "product_not_found",
    status: str = "pending",
    created_at: datetime | None = None,
) -> OrderItemException:
    """An order line on the placeholder with its exception (a new order unless given)."""
    order = order or make_order(db, vendor_id=vendor_id)
    item = make_item(db, order=order, gtin=gtin, product_name=product_name, sku=sku)
    return make_exception(
        db, item=item, exception_type=exception_type, status=status, created_at=created_at
    )


def minutes(n: int) -> datetime:
    return BASE_TIME + timedelta(minutes=n)


def exception_state(db: Session, exception_id: int) -> dict[str, Any]:
    """The exception's status, resolution and its line's product link, as committed; leaves
    no transaction open (SQLite takes the write lock when one begins)."""
    exception = db.get(OrderItemException, exception_id, populate_existing=True)
    assert exception is not None
    item = db.get(OrderItem, exception.order_item_id, populate_existing=True)
    assert item is not None
    state = {
        "status": exception.status,
        "resolved_product_id": exception.resolved_product_id,
        "resolved_by": exception.resolved_by,
        "resolution_notes": exception.resolution_notes,
        "item_product_id": item.product_id,
        "needs_product_match": item.needs_product_match,
        "events": event_count(db, exception_id),
    }
    db.commit()  # ends the read transaction without expiring loaded objects
    return state


def event_count(db: Session, exception_id: int | None = None) -> int:
    statement = (
        select(func.count()).select_from(Event).where(Event.subject_type == "order_item_exception")
    )
    if exception_id is not None:
        statement = statement.where(Event.subject_id == exception_id)
    count = db.scalar(statement) or 0
    db.commit()  # ends the read transaction without expiring loaded objects
    return count


def events_of(db: Session, exception_id: int) -> list[dict[str, Any]]:
    events = [
        {
            "vendor_id": e.vendor_id,
            "actor_user_id": e.actor_user_id,
            "action": e.action,
            "before": e.before,
            "after": e.after,
        }
        for e in db.scalars(
            select(Event)
            .where(Event.subject_type == "order_item_exception", Event.subject_id == exception_id)
            .order_by(Event.id)
        )
    ]
    db.commit()  # ends the read transaction without expiring loaded objects
    return events


def mappings(db: Session) -> list[tuple[int, str, int]]:
    rows = db.execute(
        select(GtinMapping.vendor_id, GtinMapping.gtin_key, GtinMapping.product_id).order_by(
            GtinMapping.id
        )
    ).all()
    db.commit()  # ends the read transaction without expiring loaded objects
    return [tuple(r) for r in rows]  # type: ignore[misc]


@dataclass
class Actors:
    """An admin, and two vendors each with one staff user; all logged in."""

    admin_id: int
    admin: dict[str, str]
    vendor: Vendor
    vendor_user_id: int
    vendor_headers: dict[str, str]
    other: Vendor
    other_headers: dict[str, str]


def make_actors(client: TestClient, db: Session) -> Actors:
    admin = make_user(db, email="admin@example.test", is_admin=True)
    vendor = make_vendor(db, code="shop1")
    other = make_vendor(db, code="shop2")
    staff = make_user(db, email="staff@shop1.test", vendors=["shop1"])
    make_user(db, email="staff@shop2.test", vendors=["shop2"])
    db.commit()
    return Actors(
        admin_id=admin.id,
        admin=login(client, "admin@example.test"),
        vendor=vendor,
        vendor_user_id=staff.id,
        vendor_headers=login(client, "staff@shop1.test", vendor_code="shop1"),
        other=other,
        other_headers=login(client, "staff@shop2.test", vendor_code="shop2"),
    )


def caller_user_id(db: Session, caller: Caller) -> int:
    """The id of the user behind the `caller` fixture's token (admin or shop staff)."""
    email = "admin@example.test" if caller.is_admin else f"staff@{caller.vendor.code}.test"
    user_id = db.scalar(select(User.id).where(User.email == email))
    db.commit()  # ends the read transaction without expiring loaded objects
    assert user_id is not None
    return user_id


def make_listing_copy(
    db: Session,
    *,
    vendor_id: int,
    title: str,
    gtin: str | None,
    mpn: str | None = None,
    sku: str | None = None,
) -> tuple[MarketplaceProduct, Product]:
    """A marketplace listing (with its MPN) and the vendor's product copied from it."""
    listing = make_marketplace_product(db, title=title, gtin=gtin, sku=sku)
    listing.mpn = mpn
    product = make_product(db, vendor_id=vendor_id, title=title, gtin=gtin, sku=sku)
    product.marketplace_product_id = listing.id
    db.flush()
    return listing, product


def set_deadline_hours(db: Session, vendor: Vendor, hours: int | None) -> None:
    """The vendor's confirmation_deadline_hours (flushed; the caller commits)."""
    vendor.confirmation_deadline_hours = hours
    db.flush()


def make_exception_event(
    db: Session,
    *,
    exception: OrderItemException,
    action: str,
    at: datetime,
    after: dict[str, Any] | None = None,
    actor_user_id: int | None = None,
) -> Event:
    """An event of the exception at a chosen time (the KPIs count events by `at`)."""
    event = Event(
        vendor_id=exception.vendor_id,
        actor_user_id=actor_user_id,
        subject_type="order_item_exception",
        subject_id=exception.id,
        action=action,
        before={"status": "pending"},
        after=after,
        at=at,
    )
    db.add(event)
    db.flush()
    return event
