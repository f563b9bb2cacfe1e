"""The generator: deterministic, dirty in the documented ways, and steerable by DirtMix."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from stdnum import ean

from ordergate.sandbox import (
    DirtMix,
    duplicate_gtins,
    generate_dataset,
    generate_shipments,
    sandbox_catalog,
)

CLEAN = DirtMix(
    unknown_gtin=0,
    invalid_check_digit=0,
    duplicate_gtin=0,
    no_trade_id=0,
    alternate_gtin_form=0,
)


def _units(shipments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [unit for shipment in shipments for unit in shipment["inventoryUnits"]]


def _variants(shipments: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [unit["variant"] for unit in _units(shipments)]


@pytest.fixture(scope="module")
def shipments() -> list[dict[str, Any]]:
    return generate_shipments(3, 400)


def test_same_seed_gives_same_shipments() -> None:
    assert generate_shipments(11, 50) == generate_shipments(11, 50)
    assert sandbox_catalog(11) == sandbox_catalog(11)


def test_different_seed_gives_different_shipments() -> None:
    assert generate_shipments(11, 50) != generate_shipments(12, 50)


def test_catalog_gtins_are_valid_and_unique() -> None:
    catalog = sandbox_catalog(0)
    gtins = [article.gtin13 for article in catalog]
    assert len(catalog) == 200
    assert len(set(gtins)) == len(gtins)
    assert all(len(gtin) == 13 and ean.is_valid(gtin) for gtin in gtins)


def test_duplicate_gtins_are_catalog_articles_marked_duplicate() -> None:
    catalog = sandbox_catalog(0)
    duplicates = duplicate_gtins(catalog)
    assert duplicates == [a.gtin13 for a in catalog if a.is_duplicate]
    assert len(duplicates) == 10


def test_shipments_hold_one_to_many_units(shipments: list[dict[str, Any]]) -> None:
    sizes = Counter(len(shipment["inventoryUnits"]) for shipment in shipments)
    assert min(sizes) == 1
    assert max(sizes) > 1


def test_units_may_share_a_variant(shipments: list[dict[str, Any]]) -> None:
    per_shipment = [
        Counter(unit["variant"]["id"] for unit in shipment["inventoryUnits"])
        for shipment in shipments
    ]
    assert any(max(counts.values()) > 1 for counts in per_shipment)


def test_gtins_come_in_12_13_and_14_digit_forms(shipments: list[dict[str, Any]]) -> None:
    trade_ids = [v["tradeId"] for v in _variants(shipments) if v["tradeId"]]
    parsers = Counter(trade_id["parser"] for trade_id in trade_ids)
    assert {"gtin12", "gtin13", "gtin14", "isbn13"} <= set(parsers)
    for trade_id in trade_ids:
        expected_length = {"gtin12": 12, "gtin13": 13, "gtin14": 14, "isbn13": 13}
        assert len(trade_id["number"]) == expected_length[trade_id["parser"]]
    assert any(t["number"].startswith("0") for t in trade_ids)


def test_alternate_forms_name_catalog_articles(shipments: list[dict[str, Any]]) -> None:
    known = {article.gtin13 for article in sandbox_catalog(3)}
    for variant in _variants(shipments):
        trade_id = variant["tradeId"]
        if trade_id and trade_id["parser"] == "gtin12":
            assert "0" + trade_id["number"] in known
        if trade_id and trade_id["parser"] == "gtin14":
            assert trade_id["number"][1:] in known


def test_dirt_is_present(shipments: list[dict[str, Any]]) -> None:
    variants = _variants(shipments)
    numbers = [v["tradeId"]["number"] for v in variants if v["tradeId"]]
    assert any(not ean.is_valid(number) for number in numbers)
    assert any(v["tradeId"] is None for v in variants)
    assert any(v["product"]["_brand"]["__typename"] == "BrandUnknown" for v in variants)
    assert any(None in v["product"]["name"].values() for v in variants)
    assert {type(v["price"]) for v in variants} >= {str, float}
    orders = [shipment["order"] for shipment in shipments]
    assert any(order["shipAddress"]["company"] is None for order in orders)
    assert any(order["shipAddress"]["phone"] is None for order in orders)
    assert {order["locale"] for order in orders} == {"en", "fr", "de"}
    assert {type(order["total"]) for order in orders} >= {str, float}


def test_string_prices_are_two_decimal_strings(shipments: list[dict[str, Any]]) -> None:
    prices = [v["price"] for v in _variants(shipments) if isinstance(v["price"], str)]
    assert all(price.count(".") == 1 and len(price.split(".")[1]) == 2 for price in prices)


def test_states_cover_undecided_and_decided_shipments(shipments: list[dict[str, Any]]) -> None:
    states = Counter(unit["state"] for unit in _units(shipments))
    assert set(states) == {"unconfirmed", "confirmed_available", "confirmed_unavailable"}
    for shipment in shipments:
        unit_states = {unit["state"] for unit in shipment["inventoryUnits"]}
        assert unit_states == {"unconfirmed"} or "unconfirmed" not in unit_states


def test_clean_mix_uses_only_known_catalog_gtins() -> None:
    regular = {a.gtin13 for a in sandbox_catalog(5) if not a.is_duplicate}
    variants = _variants(generate_shipments(5, 200, mix=CLEAN))
    assert {v["tradeId"]["number"] for v in variants} <= regular


def test_mix_fractions_steer_line_kinds() -> None:
    mix = DirtMix(
        unknown_gtin=0.15, invalid_check_digit=0.03, duplicate_gtin=0.02, no_trade_id=0.02
    )
    dataset = generate_dataset(5, 2000, mix=mix)
    kinds = Counter(
        dataset.variant_kinds[unit["variant"]["id"]]
        for shipment in dataset.shipments
        for unit in shipment["inventoryUnits"]
    )
    total = sum(kinds.values())
    assert kinds["unknown_gtin"] / total == pytest.approx(0.15, abs=0.03)
    assert kinds["invalid_check_digit"] / total == pytest.approx(0.03, abs=0.015)
    assert kinds["duplicate_gtin"] / total == pytest.approx(0.02, abs=0.015)
    assert kinds["no_trade_id"] / total == pytest.approx(0.02, abs=0.015)


def test_variant_kinds_match_the_catalog() -> None:
    catalog = sandbox_catalog(5)
    known = {a.gtin13 for a in catalog}
    duplicates = set(duplicate_gtins(catalog))
    dataset = generate_dataset(5, 300, catalog=catalog)
    for variant in _variants(dataset.shipments):
        kind = dataset.variant_kinds[variant["id"]]
        number: str | None = (variant["tradeId"] or {}).get("number")
        if kind == "unknown_gtin":
            assert number not in known
            assert ean.is_valid(number or "")
        elif kind == "invalid_check_digit":
            assert number
            assert not ean.is_valid(number)
        elif kind == "duplicate_gtin":
            assert number in duplicates
        elif kind == "no_trade_id":
            assert number is None


def test_mix_rejects_fractions_above_one() -> None:
    with pytest.raises(ValueError, match="more than 1"):
        DirtMix(unknown_gtin=0.6, invalid_check_digit=0.5)
