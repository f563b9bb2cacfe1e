"""Helpers shared by the sync-run tests: settings swapped on the running app, the sandbox's
request log, and shipments dated relative to now."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from tests.letzshop.conftest import KEY, shipment, unit

CONFIRM = """
mutation ConfirmUnits($input: ConfirmInventoryUnitsInput!) {
  confirmInventoryUnits(input: $input) { inventoryUnits { id state } errors { id code message } }
}
"""


@contextmanager
def tuned(app: FastAPI, **overrides: Any) -> Iterator[None]:
    """The app with some settings changed for the duration (the app fixture is shared)."""
    original = app.state.settings
    app.state.settings = original.model_copy(update=overrides)
    try:
        yield
    finally:
        app.state.settings = original


def dated(shipment_id: str, unit_ids: list[str], *, days_ago: float) -> dict[str, Any]:
    """An unconfirmed shipment whose order was completed ``days_ago`` days before now."""
    node = shipment(shipment_id, [unit(u, f"var-{u}", None) for u in unit_ids])
    completed = datetime.now(UTC) - timedelta(days=days_ago)
    node["order"]["completedAt"] = completed.strftime("%Y-%m-%dT%H:%M:%SZ")
    return node


def decide_in_sandbox(control: httpx.Client, decisions: dict[str, bool]) -> None:
    """Decide units at 'Letzshop' directly, as if ordergate's confirm landed but its answer was
    lost (or a person decided them in Letzshop's own back office)."""
    units = [{"inventoryUnitId": i, "isAvailable": ok} for i, ok in decisions.items()]
    response = control.post(
        "/graphql",
        json={"query": CONFIRM, "variables": {"input": {"inventoryUnits": units}}},
        headers={"Authorization": f"Bearer {KEY}"},
    )
    response.raise_for_status()
    assert response.json()["data"]["confirmInventoryUnits"]["errors"] == []


def served(control: httpx.Client, *, state: str | None = None) -> list[dict[str, Any]]:
    """The sandbox's /graphql requests so far (only those listing ``state`` when given)."""
    requests: list[dict[str, Any]] = control.get("/control/requests").json()["requests"]
    if state is None:
        return requests
    return [r for r in requests if (r["variables"] or {}).get("state") == state]
