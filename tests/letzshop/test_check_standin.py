"""The check against an independent stand-in (plain graphql-core, its own schema with five
differences from the contract), through the app over real HTTP: each difference named exactly,
with and without introspection, and every call the stand-in recorded is a query."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import Caller
from tests.letzshop.conftest import letzshop_path
from tests.letzshop.standin import StandIn, make_standin

KEY = "standin-key-0001"


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    served = make_standin()
    yield served
    served.stop()


@pytest.fixture
def pointed(client: TestClient, caller: Caller, standin: StandIn) -> Caller:
    standin.calls.clear()
    standin.introspection = True
    response = client.put(
        letzshop_path(caller, "/credentials"),
        headers=caller.headers,
        json={"api_key": KEY, "endpoint": standin.graphql_url},
    )
    assert response.status_code == 200, response.text
    return caller


def check(client: TestClient, caller: Caller) -> dict[str, Any]:
    response = client.post(letzshop_path(caller, "/check"), headers=caller.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_each_difference_is_named_where_it_is_used(
    client: TestClient, pointed: Caller, standin: StandIn
) -> None:
    report = check(client, pointed)

    assert [(m["kind"], m["subject"], m["operations"]) for m in report["mismatches"]] == [
        ("enum_values", "InventoryUnitStateEnum", ["Shipments", "ConfirmUnits", "ShipmentUnits"]),
        ("input_type", "Mutation.confirmInventoryUnits(input:)", ["ConfirmUnits"]),
        ("missing_argument", "Query.shipments(after:)", ["Shipments"]),
        ("missing_field", "Order.locale", ["Shipments"]),
        ("required_input_field", "SetShipmentTrackingInput.carrier", ["SetShipmentTracking"]),
    ]
    enum, renamed, argument, locale, carrier = report["mismatches"]
    assert "it may answer `shipped`, which ordergate does not know" in enum["message"]
    assert renamed["offered"] == "InventoryUnitsConfirmationInput!"
    assert "ordergate declares `$input: ConfirmInventoryUnitsInput!`" in renamed["message"]
    assert "it has what ordergate does not know: `cursor`" in argument["message"]
    assert "it has what ordergate does not know: `language`" in locale["message"]
    assert locale["where"] == ["Shipments: shipments.nodes.order.locale"]
    assert "it requires `carrier`, which ordergate never sends" in carrier["message"]
    assert report["blocks_confirmation"] is True
    assert standin.operation_types() == ["query", "query"]
    assert {c["authorization"] for c in standin.calls} == {f"Bearer {KEY}"}


def test_without_introspection_the_failed_fields_are_named(
    client: TestClient, pointed: Caller, standin: StandIn
) -> None:
    standin.introspection = False

    report = check(client, pointed)

    assert report["mode"] == "probe_only"
    assert [(m["kind"], m["subject"]) for m in report["mismatches"]] == [
        ("probe_field", "shipments(after:)"),
        ("probe_field", "shipments.nodes.order.locale"),
    ]
    assert "Cannot query field 'locale' on type 'Order'" in report["mismatches"][1]["message"]
    assert report["blocks_confirmation"] is False
    assert report["confirmation_verified"] is False
    assert standin.operation_types() == ["query", "query", "query"]


def test_the_contract_itself_served_by_the_stand_in_fits(
    client: TestClient, caller: Caller
) -> None:
    from tests.letzshop.standin import CONTRACT

    served = make_standin(CONTRACT)
    try:
        response = client.put(
            letzshop_path(caller, "/credentials"),
            headers=caller.headers,
            json={"api_key": KEY, "endpoint": served.graphql_url},
        )
        assert response.status_code == 200, response.text
        report = check(client, caller)
    finally:
        served.stop()

    assert report["status"] == "ok"
    assert report["mismatches"] == []
    assert served.operation_types() == ["query", "query"]
