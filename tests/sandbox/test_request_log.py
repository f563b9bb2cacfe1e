"""The sandbox's request log and the order of its lists, which the sync's resume and
reconciliation tests read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Gql = Callable[..., httpx.Response]

IDS_QUERY = """
query Ids($state: ShipmentStateEnum, $first: Int, $after: String) {
  shipments(state: $state, first: $first, after: $after) {
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def _walk(gql: Gql, **variables: Any) -> list[str]:
    ids: list[str] = []
    after = None
    while True:
        connection = gql(IDS_QUERY, {**variables, "after": after}).json()["data"]["shipments"]
        ids.extend(node["id"] for node in connection["nodes"])
        if not connection["pageInfo"]["hasNextPage"]:
            return ids
        after = connection["pageInfo"]["endCursor"]


def _generated_order(client: httpx.Client, state: str) -> list[str]:
    dumped = client.get("/control/shipments", params={"api_key": "sandbox-key-1"}).json()
    return [s["shipment"]["id"] for s in dumped["shipments"] if s["shipment"]["state"] == state]


def test_unconfirmed_list_is_oldest_first_and_confirmed_newest_first(
    client: httpx.Client, gql: Gql
) -> None:
    unconfirmed = _generated_order(client, "unconfirmed")
    confirmed = _generated_order(client, "confirmed")
    assert len(confirmed) >= 3
    assert _walk(gql, state="unconfirmed", first=4) == unconfirmed
    assert _walk(gql, state="confirmed", first=2) == confirmed[::-1]


def test_request_log_names_every_query_and_what_it_served(client: httpx.Client, gql: Gql) -> None:
    confirmed = _walk(gql, state="confirmed", first=2)
    log = client.get("/control/requests").json()["requests"]
    assert [entry["variables"]["after"] for entry in log][0] is None
    assert all(entry["status_code"] == 200 for entry in log)
    assert [i for entry in log for i in entry["shipment_ids"]] == confirmed
    cursors = [entry["variables"]["after"] for entry in log[1:]]
    assert all(cursors)
    client.post("/control/reset").raise_for_status()
    assert client.get("/control/requests").json()["requests"] == []


def test_request_log_records_refused_requests_without_shipments(
    client: httpx.Client, gql: Gql
) -> None:
    assert gql(IDS_QUERY, {}, key="no-such-key").status_code == 401
    (entry,) = client.get("/control/requests").json()["requests"]
    assert (entry["status_code"], entry["shipment_ids"]) == (401, [])
