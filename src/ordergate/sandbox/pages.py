"""GraphQL response pages built in-process, through the same schema the server runs.

A benchmark can feed the production parser exactly what the server would send, without HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from ariadne import graphql_sync

from ordergate.sandbox.schema import SandboxContext, sandbox_schema
from ordergate.sandbox.state import SandboxState

# The documented listing query (docs/letzshop-api.md), as a client sends it.
SHIPMENTS_QUERY = """
query Shipments($state: ShipmentStateEnum, $first: Int, $after: String) {
  shipments(state: $state, first: $first, after: $after) {
    nodes {
      id number state
      order {
        id number email total completedAt locale
        shipAddress { ...AddressFields }
        billAddress { ...AddressFields }
      }
      inventoryUnits {
        id state
        variant {
          id sku mpn price
          tradeId { number parser }
          product { name { en fr de } _brand { ... on Brand { name } } }
        }
      }
      tracking { code provider }
    }
    pageInfo { hasNextPage endCursor }
  }
}

fragment AddressFields on Address {
  firstName lastName company streetName streetNumber city zipCode phone country { name iso }
}
"""

_IN_PROCESS_KEY = "in-process"
_IN_PROCESS_VENDOR = "in-process-vendor"


def execute(
    state: SandboxState,
    vendor_ids: Sequence[str],
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run one GraphQL operation against ``state`` as the server would; the JSON-ready body."""
    _, result = graphql_sync(
        sandbox_schema(),
        {"query": query, "variables": variables or {}},
        context_value=SandboxContext(state=state, vendor_ids=tuple(vendor_ids)),
    )
    return result


def shipments_page_json(
    shipments: Sequence[dict[str, Any]],
    *,
    state: str | None = None,
    first: int | None = None,
    after: str | None = None,
    query: str = SHIPMENTS_QUERY,
) -> dict[str, Any]:
    """The ``{"data": {"shipments": {...}}}`` body the server sends for these shipments."""
    sandbox = _in_process_state(shipments)
    variables = {"state": state, "first": first, "after": after}
    return execute(sandbox, (_IN_PROCESS_VENDOR,), query, variables)


def iter_shipment_pages(
    shipments: Sequence[dict[str, Any]],
    *,
    state: str | None = None,
    first: int | None = None,
    query: str = SHIPMENTS_QUERY,
) -> Iterator[dict[str, Any]]:
    """Every page of a full walk over ``shipments``, following ``endCursor``."""
    sandbox = _in_process_state(shipments)
    after: str | None = None
    while True:
        variables = {"state": state, "first": first, "after": after}
        body = execute(sandbox, (_IN_PROCESS_VENDOR,), query, variables)
        yield body
        page_info = body["data"]["shipments"]["pageInfo"]
        if not page_info["hasNextPage"]:
            return
        after = page_info["endCursor"]


def _in_process_state(shipments: Sequence[dict[str, Any]]) -> SandboxState:
    sandbox = SandboxState(
        shipments_per_vendor=0, api_keys={_IN_PROCESS_KEY: (_IN_PROCESS_VENDOR,)}
    )
    sandbox.add_shipments(_IN_PROCESS_VENDOR, shipments)
    return sandbox
