"""The control endpoints tests use to steer and read the sandbox."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from ordergate.sandbox import FAULT_MODES, SandboxState, run_in_thread
from ordergate.sandbox.cli import sandbox_app

Gql = Callable[..., httpx.Response]

ODD_SHIPMENT: dict[str, Any] = {
    "id": "odd-1",
    "number": None,
    "state": "unconfirmed",
    "order": None,
    "inventoryUnits": [
        {"id": "odd-unit-1", "state": "unconfirmed", "variant": {"id": "", "price": "abc"}},
        {"id": "odd-unit-2", "state": "unconfirmed", "variant": None},
    ],
    "tracking": None,
}
ODD_QUERY = """
{ shipments(first: 100) { nodes { id number order { id } inventoryUnits { id state variant {
  id price tradeId { number } product { name { en } } } } } } }
"""


def test_injected_odd_shipment_reaches_the_client(client: httpx.Client, gql: Gql) -> None:
    response = client.post(
        "/control/shipments",
        json={"api_key": "sandbox-key-2", "shipments": [ODD_SHIPMENT], "replace": True},
    )
    assert response.json() == {"vendor_id": "sandbox-vendor-2", "added": 1}
    body = gql(ODD_QUERY, key="sandbox-key-2").json()
    assert "errors" not in body
    (node,) = body["data"]["shipments"]["nodes"]
    assert node == {
        "id": "odd-1",
        "number": None,
        "order": None,
        "inventoryUnits": [
            {
                "id": "odd-unit-1",
                "state": "unconfirmed",
                "variant": {"id": "", "price": "abc", "tradeId": None, "product": None},
            },
            {"id": "odd-unit-2", "state": "unconfirmed", "variant": None},
        ],
    }


def test_injected_shipments_are_appended_without_replace(client: httpx.Client) -> None:
    params = {"api_key": "sandbox-key-1"}
    before = client.get("/control/shipments", params=params).json()["shipments"]
    client.post("/control/shipments", json={**params, "shipments": [ODD_SHIPMENT]})
    after = client.get("/control/shipments", params=params).json()["shipments"]
    assert after[:-1] == before
    assert after[-1]["shipment"]["id"] == "odd-1"


def test_multi_key_injects_for_its_first_vendor(client: httpx.Client) -> None:
    body = {"api_key": "sandbox-key-multi", "shipments": [ODD_SHIPMENT]}
    assert client.post("/control/shipments", json=body).json()["vendor_id"] == "sandbox-vendor-1"


def test_injecting_for_unknown_key_is_404(client: httpx.Client) -> None:
    response = client.post("/control/shipments", json={"api_key": "nope", "shipments": []})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "unknown_api_key"


def test_injected_shipments_can_be_confirmed(
    client: httpx.Client, confirm: Callable[..., dict[str, Any]]
) -> None:
    body = {"api_key": "sandbox-key-1", "shipments": [ODD_SHIPMENT]}
    client.post("/control/shipments", json=body).raise_for_status()
    payload = confirm({"odd-unit-1": True, "odd-unit-2": False})
    assert payload["errors"] == []


def test_dump_without_key_covers_every_vendor(client: httpx.Client) -> None:
    dumped = client.get("/control/shipments").json()["shipments"]
    assert {item["vendor_id"] for item in dumped} == {"sandbox-vendor-1", "sandbox-vendor-2"}


def test_dump_with_unknown_key_is_404(client: httpx.Client) -> None:
    assert client.get("/control/shipments", params={"api_key": "nope"}).status_code == 404


def test_faults_endpoint_echoes_and_reports(client: httpx.Client) -> None:
    config = {"mode": "rate_limit", "count": 3, "retry_after": 0.5, "latency_ms": 0}
    response = client.post("/control/faults", json=config)
    assert response.json() == {
        **config,
        "timeout_seconds": 10.0,
        "bad_key": "http_401",
        "mutations_only": False,
    }
    assert client.get("/control/faults").json()["mode"] == "rate_limit"


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "explode"},
        {"count": 0},
        {"latency_ms": -1},
        {"surprise": 1},
        {"mutations_only": "yes"},
        [1],
    ],
)
def test_faults_endpoint_rejects_bad_input(client: httpx.Client, body: Any) -> None:
    response = client.post("/control/faults", json=body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_faults"


def test_a_mutations_only_fault_lets_queries_pass_and_strikes_the_next_mutation(
    client: httpx.Client, gql: Gql, confirm: Callable[..., dict[str, Any]]
) -> None:
    body = {"api_key": "sandbox-key-1", "shipments": [ODD_SHIPMENT]}
    client.post("/control/shipments", json=body).raise_for_status()
    faults = {"mode": "http_500", "count": 1, "mutations_only": True}
    client.post("/control/faults", json=faults).raise_for_status()

    assert gql("{ shipments { nodes { id } } }").status_code == 200
    assert client.get("/control/faults").json()["count"] == 1  # the query did not count
    with pytest.raises(httpx.HTTPStatusError):
        confirm({"odd-unit-1": True})

    last = client.get("/control/mutations").json()["mutations"][-1]
    assert (last["fault"], last["status_code"]) == ("http_500", 500)
    assert client.get("/control/faults").json()["mode"] is None


def test_reset_clears_faults(client: httpx.Client, gql: Gql) -> None:
    client.post("/control/faults", json={"mode": "http_500"}).raise_for_status()
    client.post("/control/reset").raise_for_status()
    assert gql("{ shipments { nodes { id } } }").status_code == 200


def test_invalid_request_body_is_400(client: httpx.Client) -> None:
    response = client.post(
        "/graphql", content=b"{not json", headers={"Authorization": "Bearer sandbox-key-1"}
    )
    assert response.status_code == 400


def test_run_in_thread_serves_and_stops() -> None:
    handle = run_in_thread(SandboxState(seed=1, shipments_per_vendor=2))
    query = {"query": "{ shipments { nodes { id } } }"}
    headers = {"Authorization": "Bearer sandbox-key-2"}
    response = httpx.post(handle.graphql_url, json=query, headers=headers)
    handle.stop()
    assert [n["id"] for n in response.json()["data"]["shipments"]["nodes"]] == [
        "v2-shp-00000",
        "v2-shp-00001",
    ]
    with pytest.raises(httpx.ConnectError):
        httpx.post(handle.graphql_url, json=query, headers=headers)


def test_cli_rejects_unknown_fault() -> None:
    result = CliRunner().invoke(sandbox_app, ["serve", "--fault", "explode"])
    assert result.exit_code != 0
    assert FAULT_MODES[0] in result.output
