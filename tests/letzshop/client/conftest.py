from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ordergate.letzshop.client import LetzshopClient
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread

from .helpers import FAST_RETRIES, SANDBOX_POLICY, SHIPMENTS_PER_VENDOR, VENDOR_KEY, ClientFactory

DATA = Path(__file__).parent / "data"


@pytest.fixture
def page_response() -> dict[str, Any]:
    """A full GraphQL response: two clean shipments, then two malformed ones."""
    return json.loads((DATA / "shipments_page.json").read_text())


@pytest.fixture
def clean_node(page_response: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(page_response["data"]["shipments"]["nodes"][0])


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=7, shipments_per_vendor=SHIPMENTS_PER_VENDOR))
    yield handle
    handle.stop()


@pytest.fixture
def make_client(sandbox: SandboxHandle, control: httpx.Client) -> Iterator[ClientFactory]:
    clients: list[LetzshopClient] = []

    def make(
        api_key: str = VENDOR_KEY, *, endpoint: str | None = None, **overrides: Any
    ) -> LetzshopClient:
        settings = {"policy": SANDBOX_POLICY, **FAST_RETRIES, **overrides}
        client = LetzshopClient(endpoint or sandbox.graphql_url, api_key, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def set_faults(control: httpx.Client) -> Callable[..., None]:
    """Switch sandbox faults on, e.g. ``set_faults(mode="http_503", count=2)``."""

    def switch(**faults: Any) -> None:
        control.post("/control/faults", json=faults).raise_for_status()

    return switch
