"""The marketplace-neutral order import: matching rules, placeholders, idempotency, isolation."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ordergate.catalog.models import GtinMapping, Product
from ordergate.db import make_session_factory
from ordergate.events.models import Event
from ordergate.orders.importer import import_orders
from ordergate.orders.intake import IncomingLine, IncomingOrder, IncomingUnit
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from tests.factories import make_product, make_vendor

KNOWN = "4006381333931"


def line(
    variant: str,
    *,
    gtin: str | None = KNOWN,
    units: int = 1,
    state: str = "unconfirmed",
    name: str = "Funko Pop",
    prefix: str = "",
) -> IncomingLine:
    return IncomingLine(
        external_item_id=variant,
        product_name=name,
        sku=f"SKU-{variant}",
        gtin=gtin,
        gtin_type="gtin13" if gtin else None,
        unit_price_cents=1999,
        units=[IncomingUnit(f"{prefix}{variant}-u{i}", state) for i in range(units)],
    )


def order(shipment: str, *lines: IncomingLine, number: str | None = None) -> IncomingOrder:
    return IncomingOrder(
        external_shipment_id=shipment,
        external_order_id=f"O-{shipment}",
        external_order_number=number or f"R{shipment}",
        order_number=f"LS-1-{number or 'R' + shipment}",
        customer_email="c@example.test",
        customer_name="Ana Customer",
        customer_locale="fr",
        shipping_address={"city": "Luxembourg"},
        billing_address=None,
        total_cents=3998,
        currency="EUR",
        order_date=datetime(2026, 11, 1, 10, 30, tzinfo=UTC),
        lines=list(lines) or [line("v1", prefix=shipment)],
        raw_payload={"id": shipment},
    )


def count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


def run(db: Session, vendor_id: int, *orders: IncomingOrder):
    result = import_orders(db, vendor_id=vendor_id, channel="letzshop", orders=list(orders))
    db.commit()
    return result


def test_known_gtin_becomes_a_normal_item(db: Session) -> None:
    vendor = make_vendor(db)
    known = make_product(db, vendor_id=vendor.id, gtin=KNOWN)
    result = run(db, vendor.id, order("S1", line("v1", units=3, prefix="S1")))
    assert (result.orders_created, result.exceptions_created, result.failed) == (1, 0, [])
    item = db.scalars(select(OrderItem)).one()
    assert (item.product_id, item.quantity, item.needs_product_match) == (known.id, 3, False)
    assert sorted(u.external_unit_id for u in item.units) == ["S1v1-u0", "S1v1-u1", "S1v1-u2"]
    assert count(db, OrderItemException) == 0
    assert count(db, Product) == 1  # no placeholder needed


@pytest.mark.parametrize("raw", ["04006381333931", "4006381333931", "004006381333931"[1:]])
def test_gtin_forms_match_one_canonical_product(db: Session, raw: str) -> None:
    vendor = make_vendor(db)
    known = make_product(db, vendor_id=vendor.id, gtin="04006381333931")
    run(db, vendor.id, order("S1", line("v1", gtin=raw, prefix="S1")))
    assert db.scalars(select(OrderItem.product_id)).one() == known.id


@pytest.mark.parametrize(
    ("gtin", "expected_type"),
    [
        ("5901234123457", "product_not_found"),
        ("4006381333932", "gtin_mismatch"),
        ("ABC-123", "gtin_mismatch"),
        (None, "product_not_found"),
    ],
)
def test_unmatched_lines_get_placeholder_and_exception(
    db: Session, gtin: str | None, expected_type: str
) -> None:
    vendor = make_vendor(db)
    make_product(db, vendor_id=vendor.id, gtin=KNOWN)
    result = run(db, vendor.id, order("S1", line("v1", gtin=gtin, name="Mystery", prefix="S1")))
    assert result.exceptions_created == 1
    item = db.scalars(select(OrderItem)).one()
    placeholder = db.scalars(select(Product).where(Product.is_placeholder.is_(True))).one()
    assert (placeholder.gtin, placeholder.gtin_type, placeholder.is_active) == (
        "0000000000000",
        "placeholder",
        False,
    )
    assert item.product_id == placeholder.id
    assert item.needs_product_match is True
    exc = db.scalars(select(OrderItemException)).one()
    assert (exc.exception_type, exc.status, exc.vendor_id) == (expected_type, "pending", vendor.id)
    assert (exc.original_gtin, exc.original_product_name, exc.original_sku) == (
        gtin,
        "Mystery",
        "SKU-v1",
    )


def test_duplicate_gtin_never_guesses_and_records_candidates(db: Session) -> None:
    vendor = make_vendor(db)
    first, second = (
        make_product(db, vendor_id=vendor.id, gtin=KNOWN),
        make_product(db, vendor_id=vendor.id, gtin="0" + KNOWN),
    )
    run(db, vendor.id, order("S1", line("v1", prefix="S1")))
    exc = db.scalars(select(OrderItemException)).one()
    assert exc.exception_type == "duplicate_gtin"
    event = db.scalars(select(Event).where(Event.subject_type == "order_item_exception")).one()
    assert event.after["candidate_product_ids"] == [first.id, second.id]


def test_inactive_placeholder_and_other_vendor_products_do_not_match(db: Session) -> None:
    vendor, other = make_vendor(db), make_vendor(db, code="other")
    make_product(db, vendor_id=vendor.id, gtin=KNOWN, is_active=False)
    make_product(db, vendor_id=other.id, gtin=KNOWN)
    run(db, vendor.id, order("S1", line("v1", prefix="S1")))
    assert db.scalars(select(OrderItemException.exception_type)).one() == "product_not_found"


def test_remembered_mapping_wins(db: Session) -> None:
    vendor = make_vendor(db)
    target = make_product(db, vendor_id=vendor.id, gtin=None, title="Gift card")
    db.add(GtinMapping(vendor_id=vendor.id, gtin_key="BAD-GTIN", product_id=target.id))
    db.commit()
    run(db, vendor.id, order("S1", line("v1", gtin=" BAD-GTIN ", prefix="S1")))
    assert db.scalars(select(OrderItem.product_id)).one() == target.id
    assert count(db, OrderItemException) == 0


def test_reimport_is_idempotent_and_updates_unit_states(db: Session) -> None:
    vendor = make_vendor(db)
    first = order("S1", line("v1", gtin=None, units=2, prefix="S1"))
    run(db, vendor.id, first)
    again = run(db, vendor.id, first)
    assert (again.orders_created, again.orders_updated, again.exceptions_created) == (0, 0, 0)
    confirmed = order(
        "S1", line("v1", gtin=None, units=2, state="confirmed_available", prefix="S1")
    )
    changed = run(db, vendor.id, confirmed)
    assert changed.orders_updated == 1
    assert [count(db, m) for m in (Order, OrderItem, OrderItemUnit, OrderItemException)] == [
        1,
        1,
        2,
        1,
    ]
    stored = db.scalars(select(Order)).one()
    db.refresh(stored)
    assert stored.status == "processing"
    assert stored.confirmed_at is not None
    assert set(db.scalars(select(OrderItemUnit.state))) == {"confirmed_available"}


def test_all_units_declined_is_cancelled(db: Session) -> None:
    vendor = make_vendor(db)
    run(db, vendor.id, order("S1", line("v1", state="confirmed_unavailable", prefix="S1")))
    assert db.scalars(select(Order.status)).one() == "cancelled"


def test_malformed_order_is_reported_and_the_rest_import(db: Session) -> None:
    vendor = make_vendor(db)
    broken = order("S2", line("v1", prefix="S2"), line("v2", prefix="S2"))
    broken.lines[1].units[0] = IncomingUnit("S2v1-u0", "unconfirmed")  # duplicate unit id
    result = run(db, vendor.id, order("S1"), broken, order("S3"))
    assert result.orders_created == 2
    assert [(f.external_id, f.reason) for f in result.failed] == [
        ("S2", "an inventory unit id appears twice")
    ]
    assert set(db.scalars(select(Order.external_shipment_id))) == {"S1", "S3"}


def test_a_database_refusal_isolates_one_order(db: Session) -> None:
    vendor = make_vendor(db)
    # A naive datetime is refused when bound (datetimes must be aware UTC): a stand-in for any
    # row the database refuses that validation did not foresee.
    refused = dataclasses.replace(order("S2"), order_date=datetime(2026, 11, 1))  # noqa: DTZ001
    result = run(db, vendor.id, order("S1"), refused, order("S3"))
    assert result.orders_created == 2
    assert [f.external_id for f in result.failed] == ["S2"]
    assert result.failed[0].reason.startswith("database rejected the order")
    assert set(db.scalars(select(Order.external_shipment_id))) == {"S1", "S3"}
    assert count(db, OrderItem) == 2


def test_split_order_numbers_stay_unique(db: Session) -> None:
    vendor = make_vendor(db)
    run(db, vendor.id, order("S1", number="R9"), order("S2", number="R9"))
    assert sorted(db.scalars(select(Order.order_number))) == ["LS-1-R9-S1", "LS-1-R9-S2"]


def test_one_placeholder_per_vendor(db: Session) -> None:
    vendor = make_vendor(db)
    run(db, vendor.id, order("S1", line("v1", gtin=None, prefix="S1")))
    run(db, vendor.id, order("S2", line("v1", gtin=None, prefix="S2")))
    assert count(db, Product) == 1


def test_concurrent_imports_create_no_duplicates(engine: Engine, db: Session) -> None:
    vendor = make_vendor(db)
    db.commit()
    orders = [order(f"S{i}", line("v1", gtin=None, units=2, prefix=f"S{i}")) for i in range(40)]
    factory = make_session_factory(engine)
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def worker() -> None:
        try:
            with factory() as session:
                barrier.wait()
                import_orders(session, vendor_id=vendor.id, channel="letzshop", orders=orders)
                session.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert [count(db, m) for m in (Order, OrderItem, OrderItemUnit, OrderItemException)] == [
        40,
        40,
        80,
        40,
    ]
    assert count(db, Product) == 1
