"""Every switchable fault, as a client over real HTTP sees it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

Gql = Callable[..., httpx.Response]
SetFaults = Callable[..., None]
QUERY = "{ shipments(first: 3) { nodes { id } pageInfo { hasNextPage endCursor } } }"


@pytest.mark.parametrize(
    ("mode", "status"), [("http_500", 500), ("http_502", 502), ("http_503", 503)]
)
def test_server_errors(gql: Gql, set_faults: SetFaults, mode: str, status: int) -> None:
    set_faults(mode=mode, count=1)
    assert gql(QUERY).status_code == status
    assert gql(QUERY).status_code == 200


def test_gateway_errors_answer_html(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="http_502")
    response = gql(QUERY)
    assert response.headers["content-type"].startswith("text/html")


def test_fault_without_count_lasts_until_cleared(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="http_503")
    assert [gql(QUERY).status_code for _ in range(3)] == [503, 503, 503]
    set_faults(mode=None)
    assert gql(QUERY).status_code == 200


def test_count_limits_the_fault(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="http_500", count=2)
    assert [gql(QUERY).status_code for _ in range(3)] == [500, 500, 200]


def test_rate_limit_sends_retry_after(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="rate_limit", count=1, retry_after=2)
    response = gql(QUERY)
    assert response.status_code == 429
    assert response.headers["retry-after"] == "2"


def test_rate_limit_passes_fractional_retry_after(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="rate_limit", count=1, retry_after=0.25)
    assert gql(QUERY).headers["retry-after"] == "0.25"


def test_latency_delays_every_request(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(latency_ms=200)
    started = time.monotonic()
    response = gql(QUERY)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


def test_timeout_fault_outlasts_the_client(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="timeout", count=1, timeout_seconds=0.6)
    with pytest.raises(httpx.ReadTimeout):
        gql(QUERY, timeout=0.2)
    assert gql(QUERY, timeout=2).status_code == 200


def test_timeout_still_applies_the_mutation(
    client: httpx.Client, set_faults: SetFaults, confirm: Callable[..., Any]
) -> None:
    shipments = client.get("/control/shipments", params={"api_key": "sandbox-key-1"}).json()
    unit_id = next(
        u["id"]
        for item in shipments["shipments"]
        for u in item["shipment"]["inventoryUnits"]
        if u["state"] == "unconfirmed"
    )
    set_faults(mode="timeout", count=1, timeout_seconds=0.4)
    with pytest.raises(httpx.ReadTimeout):
        client.post(
            "/graphql",
            json={"query": CONFIRM_ONE, "variables": {"id": unit_id}},
            headers={"Authorization": "Bearer sandbox-key-1"},
            timeout=0.1,
        )
    time.sleep(0.4)
    assert confirm({unit_id: True})["errors"][0]["code"] == "already_decided"


def test_malformed_json(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="malformed_json", count=1)
    response = gql(QUERY)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.text)


def test_graphql_errors_with_null_data(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="graphql_errors", count=1)
    body = gql(QUERY).json()
    assert body["data"] is None
    assert body["errors"][0]["message"]


def test_partial_errors_null_one_node(gql: Gql, set_faults: SetFaults) -> None:
    clean = gql(QUERY).json()["data"]["shipments"]["nodes"]
    set_faults(mode="partial_errors", count=1)
    body = gql(QUERY).json()
    assert body["data"]["shipments"]["nodes"] == [None, *clean[1:]]
    assert body["errors"][0]["path"] == ["shipments", "nodes", 0]


def test_partial_errors_on_a_mutation_null_the_payload(
    client: httpx.Client, gql: Gql, set_faults: SetFaults
) -> None:
    set_faults(mode="partial_errors", count=1)
    body = gql(CONFIRM_ONE, {"id": "ghost"}).json()
    assert body["data"] == {"confirmInventoryUnits": None}
    assert body["errors"][0]["path"] == ["confirmInventoryUnits"]
    (entry,) = client.get("/control/mutations").json()["mutations"]
    assert entry["fault"] == "partial_errors"


def test_auth_401_fault_rejects_good_keys(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="auth_401", count=1)
    assert gql(QUERY).status_code == 401
    assert gql(QUERY).status_code == 200


def test_auth_errors_fault_answers_200_with_errors(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(mode="auth_errors", count=1)
    response = gql(QUERY)
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_bad_key_is_401_by_default(gql: Gql, key: str | None) -> None:
    response = gql(QUERY, key=key)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_bad_key_style_can_be_graphql_errors(gql: Gql, set_faults: SetFaults) -> None:
    set_faults(bad_key="graphql_errors")
    response = gql(QUERY, key="wrong-key")
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert gql(QUERY).status_code == 200


def test_faulted_mutations_are_logged(
    client: httpx.Client, gql: Gql, set_faults: SetFaults
) -> None:
    set_faults(mode="http_503", count=1)
    gql(CONFIRM_ONE, {"id": "ghost"})
    (entry,) = client.get("/control/mutations").json()["mutations"]
    assert (entry["fault"], entry["status_code"], entry["result"]) == ("http_503", 503, None)


CONFIRM_ONE = """
mutation ConfirmOne($id: ID!) {
  confirmInventoryUnits(input: {inventoryUnits: [{inventoryUnitId: $id, isAvailable: true}]}) {
    inventoryUnits { id state }
    errors { id code message }
  }
}
"""
