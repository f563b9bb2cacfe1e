"""The import's content hash: an order stored from the same shipment (the same
``content_hash``) is skipped without a read or write of its rows; any other takes the full
comparison and stores the new hash."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from ordergate.events.models import Event
from ordergate.orders.importer import import_orders
from ordergate.orders.intake import DeferredOrder, IncomingOrder
from ordergate.orders.models import Order, OrderItem, OrderItemUnit
from tests.factories import make_vendor
from tests.orders.test_importer import count, line, order


def _shipment(digest: str | None, *, state: str = "unconfirmed", units: int = 2) -> IncomingOrder:
    incoming = order("S1", line("v1", gtin=None, units=units, state=state, prefix="S1"))
    return dataclasses.replace(incoming, content_hash=digest)


def _run(db: Session, vendor_id: int, incoming: IncomingOrder) -> Any:
    result = import_orders(db, vendor_id=vendor_id, channel="letzshop", orders=[incoming])
    db.commit()
    return result


@contextmanager
def _statements(db: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = db.get_bind()

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _snapshot(db: Session) -> list[tuple[Any, ...]]:
    db.expire_all()
    orders = db.execute(select(Order.id, Order.status, Order.content_hash, Order.updated_at))
    units = db.execute(select(OrderItemUnit.id, OrderItemUnit.state, OrderItemUnit.updated_at))
    items = db.execute(select(OrderItem.id, OrderItem.quantity, OrderItem.updated_at))
    return [*orders, *units, *items, ("events", count(db, Event))]


def test_new_order_stores_its_hash(db: Session) -> None:
    vendor = make_vendor(db)
    _run(db, vendor.id, _shipment("h1"))
    assert db.scalars(select(Order.content_hash)).one() == "h1"


def test_unchanged_shipment_is_skipped_and_nothing_written(db: Session) -> None:
    vendor_id = make_vendor(db).id
    _run(db, vendor_id, _shipment("h1"))
    before = _snapshot(db)
    # The same hash with other content: proof that the rows are not even compared.
    with _statements(db) as statements:
        result = _run(db, vendor_id, _shipment("h1", state="confirmed_available", units=3))
    assert (result.orders_created, result.orders_updated, result.failed) == (0, 0, [])
    assert _snapshot(db) == before
    # One read of the stored hashes; not even a savepoint.
    assert len(statements) == 1
    assert statements[0].lstrip().upper().startswith("SELECT")


def test_changed_shipment_updates_its_unit_states_and_hash(db: Session) -> None:
    vendor = make_vendor(db)
    _run(db, vendor.id, _shipment("h1"))
    result = _run(db, vendor.id, _shipment("h2", state="confirmed_available"))
    assert result.orders_updated == 1
    db.expire_all()
    assert set(db.scalars(select(OrderItemUnit.state))) == {"confirmed_available"}
    stored = db.scalars(select(Order)).one()
    assert (stored.status, stored.content_hash) == ("processing", "h2")


def test_changed_hash_without_a_change_of_rows_stores_the_hash_only(db: Session) -> None:
    vendor_id = make_vendor(db).id
    _run(db, vendor_id, _shipment("h1"))
    before = _snapshot(db)
    result = _run(db, vendor_id, _shipment("h2"))
    assert result.orders_updated == 0
    after = _snapshot(db)
    assert after[0][2] == "h2"
    assert [after[0][:2], after[0][3], *after[1:]] == [before[0][:2], before[0][3], *before[1:]]


def test_stored_null_hash_takes_the_full_path(db: Session) -> None:
    vendor = make_vendor(db)
    _run(db, vendor.id, _shipment(None))
    assert db.scalars(select(Order.content_hash)).one() is None
    result = _run(db, vendor.id, _shipment("h1", state="confirmed_available"))
    assert result.orders_updated == 1
    db.expire_all()
    assert set(db.scalars(select(OrderItemUnit.state))) == {"confirmed_available"}
    assert db.scalars(select(Order.content_hash)).one() == "h1"


def test_incoming_without_hash_is_always_compared(db: Session) -> None:
    vendor = make_vendor(db)
    _run(db, vendor.id, _shipment("h1"))
    result = _run(db, vendor.id, _shipment(None, state="confirmed_available"))
    assert result.orders_updated == 1
    db.expire_all()
    assert set(db.scalars(select(OrderItemUnit.state))) == {"confirmed_available"}
    assert db.scalars(select(Order.content_hash)).one() is None


def test_new_unit_on_a_changed_shipment_is_added(db: Session) -> None:
    vendor = make_vendor(db)
    _run(db, vendor.id, _shipment("h1"))
    result = _run(db, vendor.id, _shipment("h2", units=3))
    assert result.orders_updated == 1
    db.expire_all()
    assert count(db, OrderItemUnit) == 3
    assert db.scalars(select(OrderItem.quantity)).one() == 3


def _deferred(incoming: IncomingOrder, built: list[str]) -> DeferredOrder:
    def build() -> IncomingOrder:
        built.append(incoming.external_shipment_id)
        return incoming

    return DeferredOrder(incoming.external_shipment_id, incoming.content_hash, build)


def test_deferred_orders_are_built_only_when_new_or_changed(db: Session) -> None:
    vendor_id = make_vendor(db).id
    first = order("S1", line("v1", gtin=None, units=1, prefix="S1"))
    second = order("S2", line("v2", gtin=None, units=1, prefix="S2"))
    built: list[str] = []
    orders = [dataclasses.replace(o, content_hash="h1") for o in (first, second)]
    import_orders(
        db, vendor_id=vendor_id, channel="letzshop", orders=[_deferred(o, built) for o in orders]
    )
    db.commit()
    assert built == ["S1", "S2"]

    built.clear()
    changed = dataclasses.replace(orders[1], content_hash="h2")
    result = import_orders(
        db,
        vendor_id=vendor_id,
        channel="letzshop",
        orders=[_deferred(orders[0], built), _deferred(changed, built)],
    )
    db.commit()
    assert built == ["S2"]
    assert (result.shipments_seen, result.orders_created, result.failed) == (2, 0, [])
    assert db.scalars(select(Order.content_hash).order_by(Order.id)).all() == ["h1", "h2"]


def test_a_repeated_deferred_shipment_is_refused_unbuilt(db: Session) -> None:
    vendor_id = make_vendor(db).id
    incoming = dataclasses.replace(order("S1", line("v1", gtin=None, units=1)), content_hash="h1")
    built: list[str] = []
    result = import_orders(
        db,
        vendor_id=vendor_id,
        channel="letzshop",
        orders=[_deferred(incoming, built), _deferred(incoming, built)],
    )
    db.commit()
    assert built == ["S1"]
    assert [(f.external_id, f.reason) for f in result.failed] == [
        ("S1", "shipment appears twice in the same page")
    ]
    assert count(db, Order) == 1
