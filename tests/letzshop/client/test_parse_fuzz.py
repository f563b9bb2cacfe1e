"""Fuzzing the shipment parser over the sandbox schema: real generated nodes, mutated (strings for
numbers, huge, negative, NaN and infinite numbers, exponent strings, nulls, wrong types,
over-long and NUL strings, duplicate ids, missing keys).

Properties: parsing a page never raises; a mutated shipment is parsed to storable values or is a
failure naming a mutated field; an untouched one always parses; and the parsed page, imported
for real, never raises and stores every untouched shipment. Derandomized: CI sees the same
examples on every run.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import InstrumentedAttribute, Session

from ordergate.letzshop.adapter import CHANNEL, to_incoming_order
from ordergate.letzshop.parse import parse_shipment_page
from ordergate.letzshop.types import Shipment, ShipmentPage
from ordergate.orders.importer import import_orders
from ordergate.orders.models import Order, OrderItem, OrderItemUnit
from ordergate.sandbox.generator import generate_shipments
from tests.factories import make_vendor

from .node_paths import Path, names_path, render, walk

# As JSON, the way the client reads them: the generator shares one variant object between units.
POOL = [orjson.dumps(node) for node in generate_shipments(3, 24, id_prefix="fz")]
MAX_CENTS = 2**31 - 1  # INTEGER columns: 32 bits on PostgreSQL
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

BAD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([2**31, 2**63, 2**64, 10**30, -1, 0]),
    st.floats(),
    st.sampled_from(["1e30", "NaN", "Infinity", "-Infinity", "-5", "1E+400", "0x10", "12,50"]),
    st.builds(lambda m, e: f"{m}e{e}", st.integers(-99, 99), st.integers(-(10**20), 10**20)),
    st.text(max_size=12),
    st.builds(lambda ch, n: ch * n, st.sampled_from("xé€😀"), st.integers(9, 700)),
    st.builds(lambda a, b: f"{a}\x00{b}", st.text(max_size=4), st.text(max_size=4)),
    st.sampled_from(["\ud800", "a\udfffb"]),
    st.sampled_from([{}, [], {"a": 1}, [1, "x"], {"id": None}]),
)


@dataclass
class FuzzPage:
    nodes: list[dict[str, Any]]
    mutated: dict[int, list[Path]] = field(default_factory=dict)  # node index -> paths touched

    def untouched(self) -> list[dict[str, Any]]:
        return [node for index, node in enumerate(self.nodes) if index not in self.mutated]


def _mutate(data: st.DataObject, page: FuzzPage, index: int) -> None:
    node = page.nodes[index]
    kind = data.draw(st.sampled_from(["set", "set", "set", "delete", "dup_unit", "dup_shipment"]))
    units = node.get("inventoryUnits")
    if kind == "dup_unit" and isinstance(units, list) and len(units) > 1:
        if isinstance(units[-1], dict) and isinstance(units[0], dict):
            units[-1]["id"] = units[0].get("id")
        path: Path = ("inventoryUnits", len(units) - 1, "id")
    elif kind == "dup_shipment" and index > 0:
        node["id"] = page.nodes[data.draw(st.integers(0, index - 1))].get("id")  # an earlier one's
        path = ("id",)
    else:
        path = data.draw(st.sampled_from(list(walk(node))))
        parent: Any = node
        for step in path[:-1]:
            parent = parent[step]
        if kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = data.draw(BAD_VALUES)
    page.mutated.setdefault(index, []).append(path)


def _draw_page(data: st.DataObject) -> FuzzPage:
    chosen = data.draw(st.lists(st.sampled_from(range(len(POOL))), min_size=2, max_size=8))
    page = FuzzPage(nodes=[orjson.loads(POOL[i]) for i in dict.fromkeys(chosen)])
    for index in data.draw(st.sets(st.sampled_from(range(len(page.nodes))), max_size=4)):
        for _ in range(data.draw(st.integers(1, 3))):
            _mutate(data, page, index)
    return page


def _parse(page: FuzzPage) -> ShipmentPage:
    connection = {"nodes": page.nodes, "pageInfo": {"hasNextPage": False, "endCursor": None}}
    return parse_shipment_page(connection)


# --- what a parsed shipment must hold, checked against the columns, not the parser's limits ------


def _fits(value: object, column: InstrumentedAttribute[Any], *, required: bool = False) -> None:
    if value is None:
        assert not required
        return
    assert isinstance(value, str)
    assert len(value) <= column.type.length
    assert not _UNSTORABLE.search(value)
    assert value or not required


def _cents(value: int | None) -> None:
    assert value is None or 0 <= value <= MAX_CENTS


def _assert_storable(shipment: Shipment) -> None:
    order = shipment.order
    _fits(shipment.id, Order.external_shipment_id, required=True)
    _fits(shipment.number, Order.external_order_number)
    _fits(order.id, Order.external_order_id, required=True)
    _fits(order.number, Order.external_order_number)
    _fits(order.email, Order.customer_email)
    _fits(order.locale, Order.customer_locale)
    _cents(order.total_cents)
    assert order.completed_at is None or (
        isinstance(order.completed_at, datetime) and order.completed_at.utcoffset() is not None
    )
    for address in (order.ship_address, order.bill_address):
        if address is not None:
            _fits(address.first_name, Order.customer_name)
            _fits(address.last_name, Order.customer_name)
    if shipment.tracking is not None:
        _fits(shipment.tracking.code, Order.tracking_code)
        _fits(shipment.tracking.provider, Order.tracking_provider)
    for unit in shipment.inventory_units:
        _fits(unit.id, OrderItemUnit.external_unit_id, required=True)
        _fits(unit.state, OrderItemUnit.state, required=True)
        variant = unit.variant
        _fits(variant.id, OrderItem.external_item_id, required=True)
        _fits(variant.sku, OrderItem.product_sku)
        _fits(variant.trade_id_number, OrderItem.gtin)
        _fits(variant.trade_id_parser, OrderItem.gtin_type)
        for name in variant.product_names.values():
            _fits(name, OrderItem.product_name)
        _cents(variant.price_cents)
    # The node is stored whole: the JSON columns' serializer takes it, and without NUL.
    assert b"\\u0000" not in orjson.dumps(shipment.raw)


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.data())
def test_parser_never_raises_and_names_the_field_it_refuses(data: st.DataObject) -> None:
    page = _draw_page(data)

    parsed = _parse(page)

    outcome = {id(s.raw): s for s in parsed.shipments} | {id(f.raw): f for f in parsed.failures}
    assert len(outcome) == len(page.nodes) == len(parsed.shipments) + len(parsed.failures)
    for index, node in enumerate(page.nodes):
        result = outcome[id(node)]
        if isinstance(result, Shipment):
            _assert_storable(result)
        else:
            assert index in page.mutated, result.reason
            assert any(names_path(result.reason, p) for p in page.mutated[index]), (
                result.reason,
                [render(p) for p in page.mutated[index]],
            )


_vendor_codes = (f"fuzz-{n}" for n in itertools.count())


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    # One database for every example; each example imports for its own new vendor.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.data())
def test_imported_page_never_raises_and_stores_every_good_shipment(
    db: Session, data: st.DataObject
) -> None:
    vendor = make_vendor(db, code=next(_vendor_codes))
    page = _draw_page(data)
    parsed = _parse(page)
    orders = [to_incoming_order(vendor.id, shipment) for shipment in parsed.shipments]

    result = import_orders(db, vendor_id=vendor.id, channel=CHANNEL, orders=orders)
    db.commit()

    stored = set(db.scalars(select(Order.external_shipment_id).where(Order.vendor_id == vendor.id)))
    assert {node["id"] for node in page.untouched()} <= stored
    assert result.orders_created == len(stored) == len(parsed.shipments) - len(result.failed)
    assert not [f.reason for f in result.failed if f.reason.startswith("database rejected")]
