"""The sandbox's schema switch: introspection as a graphql server answers it, the drifted schema
with exactly its three differences, and introspection disabled."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from graphql import build_client_schema, build_schema, get_introspection_query, print_schema

from ordergate.sandbox import DRIFTS, schema_sdl

INTROSPECTION = get_introspection_query(descriptions=True)
TYPE_QUERY = '{ __type(name: "InventoryUnitConfirmationInput") { inputFields { name } } }'
SHIPMENTS = "{ shipments(first: 1) { nodes { id inventoryUnits { variant { price } } } } }"


def served_schema(gql: Callable[..., httpx.Response]) -> Any:
    response = gql(INTROSPECTION)
    assert response.status_code == 200, response.text
    return build_client_schema(response.json()["data"])


def test_the_standard_schema_is_served_by_introspection(gql: Callable[..., httpx.Response]) -> None:
    served = served_schema(gql)

    assert print_schema(served) == print_schema(build_schema(schema_sdl("standard")))


def test_the_drifted_schema_differs_in_exactly_its_three_places(
    client: httpx.Client, gql: Callable[..., httpx.Response]
) -> None:
    client.post("/control/schema", json={"variant": "drifted"}).raise_for_status()

    served = served_schema(gql)

    assert list(served.type_map["InventoryUnitConfirmationInput"].fields) == ["id", "isAvailable"]
    assert list(served.type_map["ShipmentStateEnum"].values) == ["unconfirmed"]
    assert str(served.type_map["Variant"].fields["price"].type) == "String"
    standard = Counter(print_schema(build_schema(schema_sdl("standard"))).splitlines())
    drifted = Counter(print_schema(served).splitlines())
    assert sorted((standard - drifted).elements()) == [
        "  confirmed",
        "  inventoryUnitId: ID!",
        "  price: Money",
    ]
    assert sorted((drifted - standard).elements()) == ["  id: ID!", "  price: String"]
    assert len(DRIFTS) == 3


def test_the_drifted_schema_still_confirms_with_its_own_input(
    client: httpx.Client, gql: Callable[..., httpx.Response]
) -> None:
    client.post("/control/schema", json={"variant": "drifted"}).raise_for_status()
    unit_id = gql("{ shipments(first: 1) { nodes { inventoryUnits { id } } } }").json()["data"][
        "shipments"
    ]["nodes"][0]["inventoryUnits"][0]["id"]
    mutation = """mutation($input: ConfirmInventoryUnitsInput!) {
      confirmInventoryUnits(input: $input) { inventoryUnits { id state } errors { id } } }"""

    ours = gql(
        mutation, {"input": {"inventoryUnits": [{"inventoryUnitId": unit_id, "isAvailable": True}]}}
    )
    theirs = gql(mutation, {"input": {"inventoryUnits": [{"id": unit_id, "isAvailable": True}]}})

    assert "inventoryUnitId" in ours.json()["errors"][0]["message"]
    assert theirs.json()["data"]["confirmInventoryUnits"]["inventoryUnits"] == [
        {"id": unit_id, "state": "confirmed_available"}
    ]


def test_the_drifted_price_is_a_string(
    client: httpx.Client, gql: Callable[..., httpx.Response]
) -> None:
    client.post("/control/schema", json={"variant": "drifted"}).raise_for_status()

    nodes = gql(SHIPMENTS).json()["data"]["shipments"]["nodes"]

    prices = [u["variant"]["price"] for n in nodes for u in n["inventoryUnits"] if u["variant"]]
    assert prices
    assert all(isinstance(p, str) for p in prices)


@pytest.mark.parametrize("query", [INTROSPECTION, TYPE_QUERY])
def test_introspection_can_be_disabled(
    client: httpx.Client, gql: Callable[..., httpx.Response], query: str
) -> None:
    client.post("/control/schema", json={"introspection": False}).raise_for_status()

    refused = gql(query).json()
    allowed = gql(SHIPMENTS).json()

    assert "data" not in refused or refused["data"] is None
    assert "introspection is disabled" in refused["errors"][0]["message"]
    assert "errors" not in allowed
    assert len(allowed["data"]["shipments"]["nodes"]) == 1


def test_the_switch_is_read_back_and_reset(client: httpx.Client) -> None:
    assert client.get("/control/schema").json() == {"variant": "standard", "introspection": True}
    echoed = client.post("/control/schema", json={"variant": "drifted", "introspection": False})

    assert echoed.json() == {"variant": "drifted", "introspection": False}
    assert client.get("/control/schema").json() == echoed.json()
    client.post("/control/reset").raise_for_status()
    assert client.get("/control/schema").json() == {"variant": "standard", "introspection": True}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"variant": "other"}, "variant must be one of"),
        ({"introspection": "no"}, "introspection must be true or false"),
        ({"colour": "red"}, "unknown fields"),
        ([], "body must be a JSON object"),
    ],
)
def test_a_bad_switch_is_refused_and_changes_nothing(
    client: httpx.Client, body: Any, fragment: str
) -> None:
    response = client.post("/control/schema", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_schema"
    assert fragment in response.json()["error"]["message"]
    assert client.get("/control/schema").json() == {"variant": "standard", "introspection": True}


def test_serve_refuses_an_unknown_schema() -> None:
    from typer.testing import CliRunner

    from ordergate.sandbox.cli import sandbox_app

    result = CliRunner().invoke(sandbox_app, ["serve", "--schema", "other"])

    assert result.exit_code == 2
    assert "must be one of standard, drifted" in result.output
