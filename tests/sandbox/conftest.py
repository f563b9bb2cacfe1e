"""One sandbox server over real HTTP for the whole session, reset before every test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread

SEED = 7
SHIPMENTS_PER_VENDOR = 30

CONFIRM = """
mutation ConfirmUnits($input: ConfirmInventoryUnitsInput!) {
  confirmInventoryUnits(input: $input) { inventoryUnits { id state } errors { id code message } }
}
"""


@pytest.fixture(scope="session")
def seed() -> int:
    return SEED


@pytest.fixture(scope="session")
def shipments_per_vendor() -> int:
    return SHIPMENTS_PER_VENDOR


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=SEED, shipments_per_vendor=SHIPMENTS_PER_VENDOR))
    yield handle
    handle.stop()


@pytest.fixture
def client(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=5.0) as http:
        http.post("/control/reset").raise_for_status()
        yield http


@pytest.fixture
def gql(client: httpx.Client) -> Callable[..., httpx.Response]:
    """Post one GraphQL operation with a sandbox key; returns the raw response."""

    def post(
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        key: str | None = "sandbox-key-1",
        timeout: float | None = None,
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
        body = {"query": query, "variables": variables or {}}
        extra: dict[str, Any] = {"timeout": timeout} if timeout is not None else {}
        return client.post("/graphql", json=body, headers=headers, **extra)

    return post


@pytest.fixture
def set_faults(client: httpx.Client) -> Callable[..., None]:
    def configure(**faults: Any) -> None:
        client.post("/control/faults", json=faults).raise_for_status()

    return configure


@pytest.fixture
def confirm(gql: Callable[..., httpx.Response]) -> Callable[..., dict[str, Any]]:
    """Decide units ``{unit_id: is_available}``; returns the mutation payload."""

    def decide(decisions: dict[str, bool], *, key: str = "sandbox-key-1") -> dict[str, Any]:
        units = [{"inventoryUnitId": i, "isAvailable": ok} for i, ok in decisions.items()]
        response = gql(CONFIRM, {"input": {"inventoryUnits": units}}, key=key)
        response.raise_for_status()
        payload: dict[str, Any] = response.json()["data"]["confirmInventoryUnits"]
        return payload

    return decide
