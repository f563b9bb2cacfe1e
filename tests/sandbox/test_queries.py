"""Listing shipments over real HTTP: filters, validation, pagination, key scoping."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ordergate.sandbox import SHIPMENTS_QUERY, generate_shipments, shipments_page_json

Gql = Callable[..., httpx.Response]

IDS_QUERY = """
query Ids($state: ShipmentStateEnum, $first: Int, $after: String) {
  shipments(state: $state, first: $first, after: $after) {
    nodes { id state inventoryUnits { id state } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _walk(gql: Gql, *, key: str = "sandbox-key-1", **variables: Any) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after = None
    while True:
        body = gql(IDS_QUERY, {**variables, "after": after}, key=key).json()
        connection = body["data"]["shipments"]
        nodes.extend(connection["nodes"])
        if not connection["pageInfo"]["hasNextPage"]:
            return nodes
        after = connection["pageInfo"]["endCursor"]


def test_full_query_returns_the_generated_shipments(
    gql: Gql, seed: int, shipments_per_vendor: int
) -> None:
    body = gql(SHIPMENTS_QUERY, {"first": 100}).json()
    expected = shipments_page_json(generate_shipments(seed, shipments_per_vendor), first=100)
    assert body == expected


def test_same_seed_same_answer(client: httpx.Client, gql: Gql) -> None:
    first = gql(SHIPMENTS_QUERY).json()
    client.post("/control/reset").raise_for_status()
    assert gql(SHIPMENTS_QUERY).json() == first


def test_state_filter_splits_shipments(gql: Gql, shipments_per_vendor: int) -> None:
    everything = _walk(gql)
    unconfirmed = _walk(gql, state="unconfirmed")
    confirmed = _walk(gql, state="confirmed")
    assert len(everything) == shipments_per_vendor
    assert unconfirmed
    assert confirmed
    assert {s["id"] for s in unconfirmed} | {s["id"] for s in confirmed} == {
        s["id"] for s in everything
    }
    assert all(any(u["state"] == "unconfirmed" for u in s["inventoryUnits"]) for s in unconfirmed)
    assert all(all(u["state"] != "unconfirmed" for u in s["inventoryUnits"]) for s in confirmed)
    assert {s["state"] for s in unconfirmed} == {"unconfirmed"}
    assert {s["state"] for s in confirmed} == {"confirmed"}


def test_declined_filter_is_a_validation_error(gql: Gql) -> None:
    response = gql("{ shipments(state: declined) { nodes { id } } }")
    body = response.json()
    assert response.status_code == 200
    assert "data" not in body or body["data"] is None
    assert "declined" in body["errors"][0]["message"]


def test_declined_variable_is_rejected_too(gql: Gql) -> None:
    body = gql(IDS_QUERY, {"state": "declined"}).json()
    assert body.get("data") is None
    assert body["errors"]


def test_unknown_field_is_a_validation_error(gql: Gql) -> None:
    body = gql("{ shipments { nodes { quantity } } }").json()
    assert "quantity" in body["errors"][0]["message"]


def test_pagination_walks_every_shipment_once(gql: Gql, shipments_per_vendor: int) -> None:
    walked = _walk(gql, first=7)
    ids = [s["id"] for s in walked]
    assert len(ids) == shipments_per_vendor
    assert len(set(ids)) == len(ids)


def test_page_size_defaults_to_50_and_clamps_to_100(client: httpx.Client, gql: Gql) -> None:
    many = generate_shipments(99, 120, id_prefix="extra")
    client.post("/control/shipments", json={"api_key": "sandbox-key-1", "shipments": many})
    default_page = gql(IDS_QUERY).json()["data"]["shipments"]
    clamped_page = gql(IDS_QUERY, {"first": 500}).json()["data"]["shipments"]
    assert len(default_page["nodes"]) == 50
    assert len(clamped_page["nodes"]) == 100
    assert clamped_page["pageInfo"]["hasNextPage"] is True


def test_negative_first_is_an_error(gql: Gql) -> None:
    body = gql(IDS_QUERY, {"first": -1}).json()
    assert body["data"] is None
    assert "first" in body["errors"][0]["message"]


def test_garbage_cursor_is_an_error(gql: Gql) -> None:
    body = gql(IDS_QUERY, {"after": "not-a-cursor"}).json()
    assert body["data"] is None
    assert "cursor" in body["errors"][0]["message"].lower()


def test_cursor_survives_shipments_leaving_the_filter(
    gql: Gql, confirm: Callable[..., dict[str, Any]]
) -> None:
    first_page = gql(IDS_QUERY, {"state": "unconfirmed", "first": 5}).json()["data"]["shipments"]
    confirm({u["id"]: True for s in first_page["nodes"] for u in s["inventoryUnits"]})
    rest = _walk(gql, state="unconfirmed")
    after_rest = gql(
        IDS_QUERY, {"state": "unconfirmed", "after": first_page["pageInfo"]["endCursor"]}
    ).json()["data"]["shipments"]["nodes"]
    assert [s["id"] for s in after_rest] == [s["id"] for s in rest]


def test_each_key_sees_only_its_vendors(gql: Gql) -> None:
    one = {s["id"] for s in _walk(gql, key="sandbox-key-1")}
    two = {s["id"] for s in _walk(gql, key="sandbox-key-2")}
    multi = {s["id"] for s in _walk(gql, key="sandbox-key-multi")}
    assert one.isdisjoint(two)
    assert multi == one | two


def test_brand_union_and_dirt_reach_the_client(gql: Gql) -> None:
    query = "{ shipments(first: 100) { nodes { inventoryUnits { variant { tradeId { number } "
    query += "product { _brand { __typename ... on Brand { name } } } } } } } }"
    nodes = gql(query, key="sandbox-key-multi").json()["data"]["shipments"]["nodes"]
    variants = [u["variant"] for s in nodes for u in s["inventoryUnits"]]
    brands = {v["product"]["_brand"]["__typename"] for v in variants}
    assert brands == {"Brand", "BrandUnknown"}
    assert any(v["tradeId"] is None for v in variants)
