"""Confirming, declining and tracking over real HTTP, and the log of mutations received."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

Gql = Callable[..., httpx.Response]
Confirm = Callable[..., dict[str, Any]]

TRACKING = """
mutation Track($input: SetShipmentTrackingInput!) {
  setShipmentTracking(input: $input) {
    shipment { id tracking { code provider } }
    errors { id code message }
  }
}
"""


def _dump(client: httpx.Client, key: str = "sandbox-key-1") -> dict[str, dict[str, Any]]:
    body = client.get("/control/shipments", params={"api_key": key}).json()
    return {item["shipment"]["id"]: item["shipment"] for item in body["shipments"]}


def _open_shipment(client: httpx.Client, *, min_units: int = 1, key: str = "sandbox-key-1") -> Any:
    return next(
        s
        for s in _dump(client, key).values()
        if s["state"] == "unconfirmed" and len(s["inventoryUnits"]) >= min_units
    )


def _decided_unit(client: httpx.Client) -> dict[str, Any]:
    units = (u for s in _dump(client).values() for u in s["inventoryUnits"])
    return next(u for u in units if u["state"] != "unconfirmed")


def test_confirm_marks_unit_available(client: httpx.Client, confirm: Confirm) -> None:
    unit_id = _open_shipment(client)["inventoryUnits"][0]["id"]
    payload = confirm({unit_id: True})
    assert payload == {
        "inventoryUnits": [{"id": unit_id, "state": "confirmed_available"}],
        "errors": [],
    }


def test_decline_marks_unit_unavailable(client: httpx.Client, confirm: Confirm) -> None:
    unit_id = _open_shipment(client)["inventoryUnits"][0]["id"]
    payload = confirm({unit_id: False})
    assert payload["inventoryUnits"] == [{"id": unit_id, "state": "confirmed_unavailable"}]


def test_shipment_moves_to_confirmed_once_all_units_decided(
    client: httpx.Client, confirm: Confirm
) -> None:
    shipment = _open_shipment(client, min_units=2)
    units = [u["id"] for u in shipment["inventoryUnits"]]
    confirm({units[0]: True})
    assert _dump(client)[shipment["id"]]["state"] == "unconfirmed"
    confirm(dict.fromkeys(units[1:], False))
    assert _dump(client)[shipment["id"]]["state"] == "confirmed"


def test_already_decided_unit_gives_error_and_stays(client: httpx.Client, confirm: Confirm) -> None:
    unit = _decided_unit(client)
    before = _dump(client)
    payload = confirm({unit["id"]: unit["state"] != "confirmed_available"})
    assert payload["inventoryUnits"] == []
    assert [(e["id"], e["code"]) for e in payload["errors"]] == [(unit["id"], "already_decided")]
    assert _dump(client) == before


def test_unknown_unit_gives_not_found(client: httpx.Client, confirm: Confirm) -> None:
    before = _dump(client)
    payload = confirm({"no-such-unit": True})
    assert [(e["id"], e["code"]) for e in payload["errors"]] == [("no-such-unit", "not_found")]
    assert _dump(client) == before


def test_other_vendors_unit_gives_not_found(client: httpx.Client, confirm: Confirm) -> None:
    foreign = _open_shipment(client, key="sandbox-key-2")["inventoryUnits"][0]["id"]
    before = _dump(client, "sandbox-key-multi")
    payload = confirm({foreign: True}, key="sandbox-key-1")
    assert [(e["id"], e["code"]) for e in payload["errors"]] == [(foreign, "not_found")]
    assert _dump(client, "sandbox-key-multi") == before


def test_multi_key_may_decide_either_vendors_units(client: httpx.Client, confirm: Confirm) -> None:
    one = _open_shipment(client, key="sandbox-key-1")["inventoryUnits"][0]["id"]
    two = _open_shipment(client, key="sandbox-key-2")["inventoryUnits"][0]["id"]
    payload = confirm({one: True, two: False}, key="sandbox-key-multi")
    assert payload["errors"] == []
    assert [u["state"] for u in payload["inventoryUnits"]] == [
        "confirmed_available",
        "confirmed_unavailable",
    ]


def test_mixed_batch_applies_only_valid_units(client: httpx.Client, confirm: Confirm) -> None:
    open_unit = _open_shipment(client)["inventoryUnits"][0]["id"]
    decided = _decided_unit(client)
    payload = confirm({open_unit: True, decided["id"]: True, "ghost": False})
    assert [u["id"] for u in payload["inventoryUnits"]] == [open_unit]
    assert {e["id"]: e["code"] for e in payload["errors"]} == {
        decided["id"]: "already_decided",
        "ghost": "not_found",
    }
    units = {u["id"]: u for s in _dump(client).values() for u in s["inventoryUnits"]}
    assert units[decided["id"]]["state"] == decided["state"]


def test_missing_is_available_is_a_validation_error(client: httpx.Client, gql: Gql) -> None:
    unit_id = _open_shipment(client)["inventoryUnits"][0]["id"]
    mutation = "mutation { confirmInventoryUnits(input: {inventoryUnits: [{inventoryUnitId: "
    body = gql(mutation + f'"{unit_id}"' + "}]}) { errors { code } } }").json()
    assert body.get("data") is None
    assert "isAvailable" in body["errors"][0]["message"]


def test_tracking_is_stored_and_read_back(client: httpx.Client, gql: Gql) -> None:
    shipment_id = next(iter(_dump(client)))
    variables = {"input": {"shipmentId": shipment_id, "code": "LU123", "provider": "post_lu"}}
    payload = gql(TRACKING, variables).json()["data"]["setShipmentTracking"]
    assert payload == {
        "shipment": {"id": shipment_id, "tracking": {"code": "LU123", "provider": "post_lu"}},
        "errors": [],
    }
    assert _dump(client)[shipment_id]["tracking"] == {"code": "LU123", "provider": "post_lu"}


def test_tracking_on_unknown_shipment_gives_not_found(gql: Gql) -> None:
    variables = {"input": {"shipmentId": "nope", "code": "LU1"}}
    payload = gql(TRACKING, variables).json()["data"]["setShipmentTracking"]
    assert payload["shipment"] is None
    assert [(e["id"], e["code"]) for e in payload["errors"]] == [("nope", "not_found")]


def test_mutation_log_records_what_was_received(client: httpx.Client, confirm: Confirm) -> None:
    unit_id = _open_shipment(client)["inventoryUnits"][0]["id"]
    confirm({unit_id: True})
    (entry,) = client.get("/control/mutations").json()["mutations"]
    assert entry["fields"] == ["confirmInventoryUnits"]
    assert entry["api_key"] == "sandbox-key-1"
    assert entry["variables"] == {
        "input": {"inventoryUnits": [{"inventoryUnitId": unit_id, "isAvailable": True}]}
    }
    assert entry["result"]["data"]["confirmInventoryUnits"]["errors"] == []
    assert entry["fault"] is None
    assert entry["status_code"] == 200


def test_queries_are_not_logged(client: httpx.Client, gql: Gql) -> None:
    gql("{ shipments { nodes { id } } }").raise_for_status()
    assert client.get("/control/mutations").json() == {"mutations": []}


def test_reset_clears_log_and_decisions(client: httpx.Client, confirm: Confirm) -> None:
    before = _dump(client)
    confirm({_open_shipment(client)["inventoryUnits"][0]["id"]: True})
    client.post("/control/reset").raise_for_status()
    assert _dump(client) == before
    assert client.get("/control/mutations").json() == {"mutations": []}


@pytest.mark.parametrize("key", ["sandbox-key-1", "sandbox-key-multi"])
def test_confirming_everything_empties_the_unconfirmed_list(
    client: httpx.Client, gql: Gql, confirm: Confirm, key: str
) -> None:
    units = {u["id"]: True for s in _dump(client, key).values() for u in s["inventoryUnits"]}
    confirm({i: ok for i, ok in units.items()}, key=key)
    query = "{ shipments(state: unconfirmed) { nodes { id } } }"
    assert gql(query, key=key).json()["data"]["shipments"]["nodes"] == []
