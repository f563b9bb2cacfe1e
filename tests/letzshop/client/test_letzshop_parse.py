"""Pure parser tests: crafted Letzshop JSON in, typed objects (or failures) out."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from ordergate.letzshop.errors import LetzshopProtocolError
from ordergate.letzshop.parse import (
    GraphQLErrorItem,
    ParseError,
    parse_confirm_payload,
    parse_shipment,
    parse_shipment_page,
    parse_tracking_payload,
    to_cents,
    to_utc_datetime,
)
from ordergate.letzshop.types import (
    Address,
    Shipment,
    ShipmentParseFailure,
    Tracking,
    UnitError,
    UnitResult,
)


def _parsed(node: object) -> Shipment:
    result = parse_shipment(node)
    assert isinstance(result, Shipment), result
    return result


def _failure(node: object) -> ShipmentParseFailure:
    result = parse_shipment(node)
    assert isinstance(result, ShipmentParseFailure), result
    return result


# --- money ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (12.5, 1250),
        (37.45, 3745),
        (0.1, 10),
        (19, 1900),
        ("19", 1900),
        ("10.50", 1050),
        (" 10.50 ", 1050),
        ("10.005", 1001),
        ("10.004", 1000),
        (10.005, 1001),
        (1.005, 101),
        ("0", 0),
        ("-0", 0),
        ("21474836.47", 2_147_483_647),
        (None, None),
    ],
)
def test_to_cents_converts_numbers_and_strings_half_up(value: object, cents: int | None) -> None:
    assert to_cents(value) == cents


@pytest.mark.parametrize(
    "value",
    ["", "abc", "10,50", "NaN", "Infinity", "1_000", "٣", True, [1], {"a": 1}, "-2.345", -1],
)
def test_to_cents_rejects_non_amounts(value: object) -> None:
    with pytest.raises(ParseError):
        to_cents(value)


# --- timestamps ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-03-01T09:00:00+01:00", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("2024-03-02T10:30:00Z", datetime(2024, 3, 2, 10, 30, tzinfo=UTC)),
        ("2024-03-02T10:30:00.250Z", datetime(2024, 3, 2, 10, 30, 0, 250000, tzinfo=UTC)),
        ("2024-03-02T10:30:00", datetime(2024, 3, 2, 10, 30, tzinfo=UTC)),
        (None, None),
    ],
)
def test_to_utc_datetime_returns_aware_utc(value: str | None, expected: datetime | None) -> None:
    parsed = to_utc_datetime(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.tzinfo is UTC


@pytest.mark.parametrize("value", ["yesterday", "2024-13-45T00:00:00Z", 1709280000])
def test_to_utc_datetime_rejects_garbage(value: object) -> None:
    with pytest.raises(ParseError):
        to_utc_datetime(value)


# --- clean shipments -----------------------------------------------------------------------------


def test_clean_shipment_is_parsed_field_by_field(clean_node: dict[str, Any]) -> None:
    shipment = _parsed(clean_node)

    assert shipment.id == "U2hpcG1lbnQtMTAx"
    assert shipment.number == "H100001"
    assert shipment.state == "unconfirmed"
    assert shipment.tracking is None
    assert shipment.raw is clean_node
    order = shipment.order
    assert order.id == "T3JkZXItMQ=="
    assert order.number == "R100001"
    assert order.email == "anne.muller@example.lu"
    assert order.total_cents == 3745
    assert order.completed_at == datetime(2024, 3, 1, 8, 0, tzinfo=UTC)
    assert order.locale == "fr"
    assert order.ship_address == Address(
        first_name="Anne",
        last_name="Muller",
        company="Muller Sàrl",
        street_name="Rue de Hollerich",
        street_number="12A",
        city="Luxembourg",
        zip_code="1740",
        phone="+352 621 000 000",
        country_name="Luxembourg",
        country_iso="LU",
    )
    assert order.bill_address == order.ship_address


def test_units_sharing_a_variant_stay_separate_pieces(clean_node: dict[str, Any]) -> None:
    units = _parsed(clean_node).inventory_units

    assert [unit.id for unit in units] == ["SW52VW5pdC0x", "SW52VW5pdC0y"]
    assert units[0].variant == units[1].variant
    variant = units[0].variant
    assert variant.id == "VmFyaWFudC03"
    assert variant.sku == "MUG-RED"
    assert variant.mpn == "MR-01"
    assert variant.price_cents == 1250
    assert variant.trade_id_number == "0012345678905"  # leading zeros kept
    assert variant.trade_id_parser == "gtin13"
    assert variant.product_names == {"en": "Red mug", "fr": "Tasse rouge", "de": "Rote Tasse"}
    assert variant.brand_name == "Villeroy & Boch"


def test_a_variant_id_seen_before_with_other_content_is_parsed_again(
    clean_node: dict[str, Any],
) -> None:
    # The page reuses a parsed variant only for the same node: same id, other price -> read
    # again; a bad price on the second unit still fails the shipment.
    first, second = copy.deepcopy(clean_node), copy.deepcopy(clean_node)
    first["id"], second["id"] = "S-1", "S-2"
    for unit in second["inventoryUnits"]:
        unit["id"] += "-b"
    second["inventoryUnits"][1]["variant"]["price"] = "3.00"
    third = copy.deepcopy(second)
    third["id"] = "S-3"
    third["inventoryUnits"][1]["variant"]["price"] = "not money"
    # True equals 1 in Python; the SKU 1 is read as text "1", True is refused.
    fourth, fifth = copy.deepcopy(first), copy.deepcopy(first)
    fourth["id"], fifth["id"] = "S-4", "S-5"
    for unit in fourth["inventoryUnits"]:
        unit["variant"]["sku"] = 1
    for unit in fifth["inventoryUnits"]:
        unit["variant"]["sku"] = True
    page = parse_shipment_page(
        {
            "nodes": [first, second, third, fourth, fifth],
            "pageInfo": {"hasNextPage": False, "endCursor": None},
        }
    )

    prices = [[u.variant.price_cents for u in s.inventory_units] for s in page.shipments]
    assert prices == [[1250, 1250], [1250, 300], [1250, 1250]]
    assert [u.variant.sku for u in page.shipments[2].inventory_units] == ["1", "1"]
    assert [(f.external_id, f.reason.split(":")[0]) for f in page.failures] == [
        ("S-3", "inventoryUnits[1].variant.price"),
        ("S-5", "inventoryUnits[0].variant.sku"),
    ]


def test_dirty_shipment_keeps_its_nulls(page_response: dict[str, Any]) -> None:
    shipment = _parsed(page_response["data"]["shipments"]["nodes"][1])

    assert shipment.order.total_cents == 1001
    assert shipment.order.completed_at == datetime(2024, 3, 2, 10, 30, tzinfo=UTC)
    assert shipment.order.bill_address is None
    address = shipment.order.ship_address
    assert address is not None
    assert address.company is None
    assert address.phone is None
    assert shipment.tracking == Tracking(code="LU123456789", provider="post_lu")
    variant = shipment.inventory_units[0].variant
    assert variant.price_cents == 1001
    assert variant.trade_id_number is None
    assert variant.trade_id_parser is None
    assert variant.brand_name is None
    assert variant.mpn is None
    assert variant.product_names == {"en": None, "fr": "Bon cadeau", "de": None}
    assert variant.name_for("en") == "Bon cadeau"


def _variant(node: dict[str, Any]) -> dict[str, Any]:
    variant: dict[str, Any] = node["inventoryUnits"][0]["variant"]
    return variant


def test_missing_product_gives_empty_names_and_no_brand(clean_node: dict[str, Any]) -> None:
    _variant(clean_node)["product"] = None

    variant = _parsed(clean_node).inventory_units[0].variant

    assert variant.product_names == {"en": None, "fr": None, "de": None}
    assert variant.brand_name is None


def test_null_name_object_gives_empty_names(clean_node: dict[str, Any]) -> None:
    _variant(clean_node)["product"]["name"] = None

    variant = _parsed(clean_node).inventory_units[0].variant

    assert variant.product_names == {"en": None, "fr": None, "de": None}


@pytest.mark.parametrize(
    ("brand", "expected"),
    [
        ({"__typename": "Brand", "name": "Bosch"}, "Bosch"),
        ({"__typename": "BrandUnknown"}, None),
        ({"__typename": "BrandUnknown", "id": "b-9"}, None),
        ({"__typename": "SomeFutureBrand", "name": "ignored"}, None),
        ({"name": "No typename"}, "No typename"),
        (None, None),
    ],
)
def test_brand_union_is_told_apart_by_typename(
    clean_node: dict[str, Any], brand: object, expected: str | None
) -> None:
    _variant(clean_node)["product"]["_brand"] = brand

    assert _parsed(clean_node).inventory_units[0].variant.brand_name == expected


def test_empty_tracking_object_means_no_tracking(clean_node: dict[str, Any]) -> None:
    clean_node["tracking"] = {"code": None, "provider": None}

    assert _parsed(clean_node).tracking is None


def test_numeric_ids_are_read_as_text(clean_node: dict[str, Any]) -> None:
    clean_node["id"] = 101
    clean_node["order"]["number"] = 100001

    shipment = _parsed(clean_node)

    assert shipment.id == "101"
    assert shipment.order.number == "100001"


# --- malformed nodes -----------------------------------------------------------------------------


def _drop_unit_variant_id(node: dict[str, Any]) -> None:
    del node["inventoryUnits"][1]["variant"]["id"]


def _bad_price(node: dict[str, Any]) -> None:
    node["inventoryUnits"][0]["variant"]["price"] = "12,50"


@pytest.mark.parametrize(
    ("break_node", "reason"),
    [
        (lambda node: node.pop("id"), "id: missing"),
        (lambda node: node.update(id=""), "id: missing"),
        (lambda node: node.update(state=None), "state: missing"),
        (lambda node: node.update(order=None), "order: expected an object, got null"),
        (lambda node: node["order"].pop("id"), "order.id: missing"),
        (lambda node: node["order"].update(total="lots"), 'order.total: not an amount: "lots"'),
        (
            lambda node: node["order"].update(completedAt="soon"),
            'order.completedAt: not a timestamp: "soon"',
        ),
        (lambda node: node.update(inventoryUnits=None), "inventoryUnits: expected a list"),
        (lambda node: node["inventoryUnits"].append(None), "inventoryUnits[2]: expected an object"),
        (_drop_unit_variant_id, "inventoryUnits[1].variant.id: missing"),
        (_bad_price, 'inventoryUnits[0].variant.price: not an amount: "12,50"'),
        (lambda node: node["order"].update(email=["a"]), "order.email: expected text, got list"),
    ],
)
def test_malformed_node_becomes_a_failure_with_reason(
    clean_node: dict[str, Any], break_node: Any, reason: str
) -> None:
    break_node(clean_node)

    failure = _failure(clean_node)

    assert reason in failure.reason
    assert failure.raw is clean_node
    assert failure.external_id == (clean_node.get("id") or None)


@pytest.mark.parametrize("node", [None, "U2hpcG1lbnQ=", 42, []])
def test_node_that_is_not_an_object_fails_without_id(node: object) -> None:
    failure = _failure(node)

    assert failure.external_id is None
    assert failure.raw == node


# --- pages ---------------------------------------------------------------------------------------


def test_page_keeps_good_nodes_next_to_failures(page_response: dict[str, Any]) -> None:
    page = parse_shipment_page(page_response["data"]["shipments"])

    assert [shipment.id for shipment in page.shipments] == ["U2hpcG1lbnQtMTAx", "U2hpcG1lbnQtMTAy"]
    assert [(f.external_id, f.reason) for f in page.failures] == [
        ("U2hpcG1lbnQtMTAz", "order: expected an object, got null"),
        ("U2hpcG1lbnQtMTA0", "inventoryUnits[0].variant.id: missing"),
    ]
    assert page.has_next_page is True
    assert page.end_cursor == "Y3Vyc29yOjQ="
    assert page.graphql_errors == []


def test_partial_errors_explain_the_node_they_point_at(page_response: dict[str, Any]) -> None:
    errors = [
        GraphQLErrorItem(
            message="order lookup failed", path=("shipments", "nodes", 2, "order"), code=None
        ),
        GraphQLErrorItem(message="tracking service down", path=("shipments",), code=None),
    ]

    page = parse_shipment_page(page_response["data"]["shipments"], errors=errors)

    assert len(page.shipments) == 2
    assert page.failures[0].reason == (
        "order: expected an object, got null (GraphQL: order lookup failed)"
    )
    assert page.failures[1].reason == "inventoryUnits[0].variant.id: missing"
    assert page.graphql_errors == ["order lookup failed", "tracking service down"]


@pytest.mark.parametrize(
    "connection",
    [
        None,
        {"nodes": None, "pageInfo": {"hasNextPage": False, "endCursor": None}},
        {"nodes": []},
        {"nodes": [], "pageInfo": {"hasNextPage": "no", "endCursor": None}},
        {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": 7}},
    ],
)
def test_unwalkable_page_is_a_protocol_error(connection: object) -> None:
    with pytest.raises(LetzshopProtocolError):
        parse_shipment_page(connection)


# --- mutation payloads ---------------------------------------------------------------------------


def test_confirm_payload_has_units_and_per_unit_errors() -> None:
    payload = {
        "inventoryUnits": [{"id": "u1", "state": "confirmed_available"}],
        "errors": [
            {"id": "u2", "code": "already_decided", "message": "Unit u2 is already confirmed"},
            {"id": None, "code": "unknown", "message": "Unknown unit"},
        ],
    }

    result = parse_confirm_payload(payload)

    assert result.units == [UnitResult(id="u1", state="confirmed_available")]
    assert result.errors == [
        UnitError(id="u2", code="already_decided", message="Unit u2 is already confirmed"),
        UnitError(id=None, code="unknown", message="Unknown unit"),
    ]


@pytest.mark.parametrize(
    "payload",
    [None, {"inventoryUnits": "u1"}, {"inventoryUnits": [{"id": "u1"}]}, {"errors": "boom"}],
)
def test_confirm_payload_of_wrong_shape_is_a_protocol_error(payload: object) -> None:
    with pytest.raises(LetzshopProtocolError):
        parse_confirm_payload(payload)


def test_tracking_payload_reads_echo_and_errors() -> None:
    payload = {
        "shipment": {"id": "s1", "tracking": {"code": "LU1", "provider": "post_lu"}},
        "errors": [],
    }

    result = parse_tracking_payload(payload)

    assert result.tracking == Tracking(code="LU1", provider="post_lu")
    assert result.errors == []


def test_tracking_payload_without_shipment_still_reports_errors() -> None:
    payload = {"shipment": None, "errors": [{"id": "s9", "code": "not_found", "message": "No"}]}

    result = parse_tracking_payload(payload)

    assert result.tracking is None
    assert result.errors == [UnitError(id="s9", code="not_found", message="No")]
