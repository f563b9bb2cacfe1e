"""What the parser refuses: values no database column here stores, and values the two databases
would treat differently (SQLite keeps a 10^14-cent price or a 400-character email, PostgreSQL
refuses the row). Each is a failure naming the field; nothing raises."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from sqlalchemy.orm import InstrumentedAttribute

from ordergate.letzshop.errors import LetzshopProtocolError
from ordergate.letzshop.parse import (
    ParseError,
    parse_confirm_payload,
    parse_graphql_errors,
    parse_shipment,
    parse_shipment_page,
    to_cents,
)
from ordergate.letzshop.types import Shipment, ShipmentParseFailure
from ordergate.orders.models import Order, OrderItem, OrderItemUnit

from .node_paths import put

PRICE = "inventoryUnits[0].variant.price"
MAX_CENTS = 2**31 - 1  # the cents columns are INTEGER: 32 bits on PostgreSQL


def _failure(node: dict[str, Any]) -> ShipmentParseFailure:
    result = parse_shipment(node)
    assert isinstance(result, ShipmentParseFailure), result
    return result


def _parsed(node: dict[str, Any]) -> Shipment:
    result = parse_shipment(node)
    assert isinstance(result, Shipment), result
    return result


# --- text longer than its column ----------------------------------------------------------------

TEXT_COLUMNS: list[tuple[str, InstrumentedAttribute[Any]]] = [
    ("id", Order.external_shipment_id),
    ("number", Order.external_order_number),
    ("order.id", Order.external_order_id),
    ("order.number", Order.external_order_number),
    ("order.email", Order.customer_email),
    ("order.locale", Order.customer_locale),
    ("order.shipAddress.firstName", Order.customer_name),
    ("order.billAddress.lastName", Order.customer_name),
    ("tracking.code", Order.tracking_code),
    ("tracking.provider", Order.tracking_provider),
    ("inventoryUnits[0].id", OrderItemUnit.external_unit_id),
    ("inventoryUnits[0].state", OrderItemUnit.state),
    ("inventoryUnits[0].variant.id", OrderItem.external_item_id),
    ("inventoryUnits[0].variant.sku", OrderItem.product_sku),
    ("inventoryUnits[0].variant.tradeId.number", OrderItem.gtin),
    ("inventoryUnits[0].variant.tradeId.parser", OrderItem.gtin_type),
    ("inventoryUnits[1].variant.product.name.de", OrderItem.product_name),
]


@pytest.mark.parametrize(("field", "column"), TEXT_COLUMNS)
def test_text_as_long_as_its_column_is_kept(
    clean_node: dict[str, Any], field: str, column: InstrumentedAttribute[Any]
) -> None:
    put(clean_node, field, "x" * column.type.length)

    assert isinstance(parse_shipment(clean_node), Shipment)


@pytest.mark.parametrize(("field", "column"), TEXT_COLUMNS)
def test_text_longer_than_its_column_is_refused_naming_the_field(
    clean_node: dict[str, Any], field: str, column: InstrumentedAttribute[Any]
) -> None:
    length = column.type.length
    put(clean_node, field, "x" * (length + 1))

    failure = _failure(clean_node)

    assert failure.reason == f"{field}: {length + 1:,} characters, longer than {length}"


def test_long_text_kept_only_in_the_order_json_is_accepted(clean_node: dict[str, Any]) -> None:
    put(clean_node, "order.shipAddress.streetName", "Rue " * 500)

    address = _parsed(clean_node).order.ship_address

    assert address is not None
    assert address.street_name == "Rue " * 500


def test_numeric_id_beyond_64_bits_is_refused(clean_node: dict[str, Any]) -> None:
    clean_node["order"]["id"] = 2**70

    assert _failure(clean_node).reason == "order.id: expected text, got an integer beyond 64 bits"


# --- characters no database stores --------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("order.email", "ana\x00@example.lu", "a NUL character"),
        ("inventoryUnits[0].variant.product.name.en", "Mug\x00", "a NUL character"),
        ("order.shipAddress.city", "\ud800Luxembourg", "a lone surrogate"),
        # Not read by the parser, but stored with the order (raw_payload).
        ("inventoryUnits[0].variant.product.extra", "\x00", "a NUL character"),
        ("order.shipAddress.notes", ["ok", "bad\x00"], "a NUL character"),
    ],
)
def test_unstorable_character_is_refused_naming_the_field(
    clean_node: dict[str, Any], field: str, value: Any, what: str
) -> None:
    put(clean_node, field, value)

    reason = _failure(clean_node).reason

    suffix = "[1]" if isinstance(value, list) else ""
    assert reason == f"{field}{suffix}: contains {what}, which cannot be stored"


def test_unstorable_key_is_refused_naming_its_object(clean_node: dict[str, Any]) -> None:
    clean_node["order"]["a\x00b"] = 1

    assert _failure(clean_node).reason == r'order: a key that cannot be stored: "a\u0000b"'


def test_integer_beyond_64_bits_anywhere_is_refused(clean_node: dict[str, Any]) -> None:
    put(clean_node, "order.shipAddress.floor", 2**64)

    assert _failure(clean_node).reason == "order.shipAddress.floor: an integer beyond 64 bits"


def test_value_nested_deeper_than_json_columns_take_is_refused(clean_node: dict[str, Any]) -> None:
    deep: Any = "bottom"
    for _ in range(253):  # with the node and its order: 255 levels, one more than JSON columns take
        deep = [deep]
    clean_node["order"]["deep"] = deep

    assert _failure(clean_node).reason.endswith(": nested deeper than 254 levels")


def test_nesting_the_json_columns_take_is_kept(clean_node: dict[str, Any]) -> None:
    deep: Any = "bottom"
    for _ in range(252):
        deep = [deep]
    clean_node["order"]["deep"] = deep

    assert _parsed(clean_node).raw["order"]["deep"] == deep


@pytest.mark.parametrize("shipment_id", ["S\x00", "S" * 101])
def test_failure_keeps_no_unstorable_shipment_id(
    clean_node: dict[str, Any], shipment_id: str
) -> None:
    clean_node["id"] = shipment_id

    assert _failure(clean_node).external_id is None


def test_graphql_messages_with_nul_are_escaped_not_refused() -> None:
    errors = parse_graphql_errors([{"message": "bad\x00node"}, "plain", {"message": 5}])

    assert [e.message for e in errors] == [r"bad\u0000node", "plain", "5"]


def test_confirm_payload_with_nul_state_is_a_protocol_error() -> None:
    with pytest.raises(LetzshopProtocolError, match="unit.state: contains a NUL"):
        parse_confirm_payload({"inventoryUnits": [{"id": "u1", "state": "confirmed\x00"}]})


def test_cursor_longer_than_the_run_keeps_is_a_protocol_error() -> None:
    page = {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": "c" * 501}}

    with pytest.raises(LetzshopProtocolError, match="endCursor"):
        parse_shipment_page(page)


# --- amounts ------------------------------------------------------------------------------------


def test_largest_storable_amounts_are_kept(clean_node: dict[str, Any]) -> None:
    put(clean_node, PRICE, "21474836.47")
    put(clean_node, "order.total", 21474836.47)

    shipment = _parsed(clean_node)

    assert shipment.order.total_cents == MAX_CENTS
    assert shipment.inventory_units[0].variant.price_cents == MAX_CENTS


@pytest.mark.parametrize("field", [PRICE, "order.total"])
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("1e30", '"1e30" is beyond 21,474,836.47'),
        (1e30, "1e+30 is beyond 21,474,836.47"),
        (10**30, "1000000000000000000000000000000 is beyond 21,474,836.47"),
        ("21474836.48", '"21474836.48" is beyond 21,474,836.47'),
        (21474836.48, "21474836.48 is beyond 21,474,836.47"),
        ("1E+999999999", '"1E+999999999" is beyond 21,474,836.47'),
        ("9" * 99, f'"{"9" * 36}... is beyond 21,474,836.47'),
        (-5, "-5 is negative"),
        ("-0.01", '"-0.01" is negative'),
        (-1e-300, "-1e-300 is negative"),
        ("NaN", 'not an amount: "NaN"'),
        ("Infinity", 'not an amount: "Infinity"'),
        (float("nan"), "not an amount: NaN"),
        (float("-inf"), "not an amount: -Infinity"),
        ("0x10", 'not an amount: "0x10"'),
        ("9" * 101, f'not an amount: "{"9" * 36}...'),
        (True, "not an amount: true"),
        ({}, "not an amount: {}"),
        ([1], "not an amount: [1]"),
    ],
)
def test_amount_outside_the_storable_range_is_refused_naming_the_field(
    clean_node: dict[str, Any], field: str, value: Any, reason: str
) -> None:
    put(clean_node, field, value)

    assert _failure(clean_node).reason == f"{field}: {reason}"


@pytest.mark.parametrize(
    ("value", "cents"),
    [("1e-999999999", 0), ("0.000000000000000000000000000000001", 0), ("1e-2", 1), (".5", 50)],
)
def test_tiny_and_short_amounts_are_read(value: str, cents: int) -> None:
    assert to_cents(value) == cents


@pytest.mark.parametrize("value", ["1e30", "-1e30", "1e-99999999999999999999", 10**400, {}])
def test_to_cents_raises_only_parse_errors(value: object) -> None:
    with contextlib.suppress(ParseError):
        to_cents(value)


# --- timestamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00", "2024-03-01T09:00\x00"]
)
def test_timestamp_beyond_the_calendar_is_refused(clean_node: dict[str, Any], value: str) -> None:
    clean_node["order"]["completedAt"] = value

    assert _failure(clean_node).reason.startswith("order.completedAt: ")
