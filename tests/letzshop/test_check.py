"""`POST …/letzshop/check` over real HTTP against the sandbox in each of its schema modes: exactly
the expected mismatches, read-only requests only (the sandbox records every call), the last check
on the credentials answer, and nothing recorded when Letzshop cannot be asked."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.letzshop.models import LetzshopCredentials
from tests.factories import Caller, staff_headers
from tests.letzshop.conftest import letzshop_path

READ_ONLY_OPERATIONS = {"IntrospectionQuery", "Shipments"}


def set_schema(control: httpx.Client, **switch: Any) -> None:
    control.post("/control/schema", json=switch).raise_for_status()


def run_check(client: TestClient, caller: Caller) -> dict[str, Any]:
    response = client.post(letzshop_path(caller, "/check"), headers=caller.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def assert_read_only(control: httpx.Client, *, requests: int) -> None:
    """The sandbox saw no mutation, and only the check's queries."""
    assert control.get("/control/mutations").json()["mutations"] == []
    seen = control.get("/control/requests").json()["requests"]
    assert len(seen) == requests
    assert {r["operation_name"] for r in seen} <= READ_ONLY_OPERATIONS


def brief(report: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    return [(m["kind"], m["subject"], m["operations"]) for m in report["mismatches"]]


def stored_check(db: Session, vendor_id: int) -> tuple[Any, ...]:
    db.rollback()
    row = db.scalars(
        select(LetzshopCredentials).where(LetzshopCredentials.vendor_id == vendor_id)
    ).one()
    return (row.last_check_at, row.last_check_status, row.last_check_blocks_confirmation)


def test_the_standard_schema_fits(
    client: TestClient, connected: Caller, control: httpx.Client
) -> None:
    report = run_check(client, connected)

    assert report["status"] == "ok"
    assert report["mode"] == "introspection"
    assert report["mismatches"] == []
    assert report["blocks_confirmation"] is False
    assert report["confirmation_verified"] is True
    assert report["summary"] == [
        "OK: every field, argument, input and enum value ordergate uses fits the service"
    ]
    assert report["probe"]["ok"] is True
    assert report["probe"]["shipments_returned"] == 1
    assert_read_only(control, requests=2)


def test_the_scalar_types_of_the_amounts_and_the_page_size_are_reported(
    client: TestClient, connected: Caller, control: httpx.Client
) -> None:
    report = run_check(client, connected)

    scalars = {s["field"]: s for s in report["scalars"]}
    assert scalars["Order.total"]["service"] == "Money"
    assert scalars["Variant.price"]["service"] == "Money"
    assert scalars["Variant.price"]["where"] == "shipments.nodes.inventoryUnits.variant.price"
    assert scalars["TradeId.number"]["service"] == "String!"
    assert {s["field"] for s in report["scalars"]} >= {"Shipment.id", "Order.completedAt"}
    assert report["page_size"]["max_declared"] == 100
    assert report["page_size"]["configured"] == 50
    assert report["page_size"]["hint"] is None


def test_the_drifted_schema_is_named_exactly(
    client: TestClient, connected: Caller, control: httpx.Client
) -> None:
    set_schema(control, variant="drifted")

    report = run_check(client, connected)

    assert report["status"] == "mismatch"
    assert brief(report) == [
        ("enum_values", "ShipmentStateEnum", ["Shipments"]),
        ("input_field", "InventoryUnitConfirmationInput.inventoryUnitId", ["ConfirmUnits"]),
        ("output_type", "Variant.price", ["Shipments"]),
    ]
    enum, renamed, price = report["mismatches"]
    assert enum["expected"] == "unconfirmed, confirmed"
    assert enum["offered"] == "unconfirmed"
    assert "the service has no `confirmed`" in enum["message"]
    assert renamed["message"] == (
        "mutation `confirmInventoryUnits` exists, "
        "`confirmInventoryUnits(input:).inventoryUnits[]` is `InventoryUnitConfirmationInput` "
        "with fields `id: ID!`, `isAvailable: Boolean!`; we send `inventoryUnitId`, the service "
        "calls it `id`"
    )
    assert renamed["offered"] == "id: ID!"
    assert renamed["where"] == [
        "ConfirmUnits: confirmInventoryUnits(input:).inventoryUnits[].inventoryUnitId"
    ]
    assert price["expected"] == "Money"
    assert price["offered"] == "String"
    assert report["blocks_confirmation"] is True
    assert report["summary"][-1].startswith("Confirmations (confirm and decline) are refused")
    assert_read_only(control, requests=2)


def test_without_introspection_the_shipments_query_is_the_check(
    client: TestClient, connected: Caller, control: httpx.Client
) -> None:
    set_schema(control, introspection=False)

    report = run_check(client, connected)

    assert report["status"] == "ok"
    assert report["mode"] == "probe_only"
    assert report["introspection"]["available"] is False
    assert "introspection is disabled" in report["introspection"]["error"]
    assert report["confirmation_verified"] is False
    assert report["blocks_confirmation"] is False
    assert report["summary"][0].startswith("Introspection is disabled by the service")
    observed = {s["where"]: s["observed"] for s in report["scalars"]}
    assert set(observed) == {
        "shipments.nodes.order.total",
        "shipments.nodes.inventoryUnits.variant.price",
    }
    # introspection, then the shipments query for both states the import sends
    assert_read_only(control, requests=3)


def test_without_introspection_the_drift_the_shipments_query_meets_is_reported(
    client: TestClient, connected: Caller, control: httpx.Client
) -> None:
    set_schema(control, variant="drifted", introspection=False)

    report = run_check(client, connected)

    assert report["status"] == "mismatch"
    assert brief(report) == [("probe_field", "$state", ["Shipments"])]
    (state,) = report["mismatches"]
    assert state["message"].startswith(
        "the harmless `shipments(state: confirmed, first: 1)` failed at `$state`: "
    )
    assert "'confirmed' does not exist in 'ShipmentStateEnum'" in state["message"]
    # the mutation could not be verified, so it is not reported as unfit
    assert report["blocks_confirmation"] is False
    assert_read_only(control, requests=3)


def test_the_last_check_is_on_the_credentials_answer(
    client: TestClient, db: Session, connected: Caller, control: httpx.Client
) -> None:
    before = client.get(letzshop_path(connected, "/credentials"), headers=connected.headers)
    assert before.json()["last_check"] is None
    set_schema(control, variant="drifted")
    report = run_check(client, connected)

    answer = client.get(letzshop_path(connected, "/credentials"), headers=connected.headers)

    last = answer.json()["last_check"]
    assert last["status"] == "mismatch"
    assert last["blocks_confirmation"] is True
    assert last["checked_at"] == report["checked_at"]
    assert last["result"] == report
    set_schema(control, variant="standard")
    run_check(client, connected)
    again = client.get(letzshop_path(connected, "/credentials"), headers=connected.headers)
    assert again.json()["last_check"]["status"] == "ok"
    assert again.json()["last_check"]["blocks_confirmation"] is False
    assert stored_check(db, connected.vendor.id)[1:] == ("ok", False)


@pytest.mark.parametrize("bad_key", ["http_401", "graphql_errors"])
def test_a_refused_key_records_nothing(
    client: TestClient,
    db: Session,
    connected: Caller,
    control: httpx.Client,
    bad_key: str,
) -> None:
    set_schema(control, variant="drifted")
    run_check(client, connected)
    before = stored_check(db, connected.vendor.id)
    mode = "auth_401" if bad_key == "http_401" else "auth_errors"
    control.post("/control/faults", json={"mode": mode}).raise_for_status()

    response = client.post(letzshop_path(connected, "/check"), headers=connected.headers)

    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "LETZSHOP_AUTH_FAILED"
    assert stored_check(db, connected.vendor.id) == before
    assert control.get("/control/mutations").json()["mutations"] == []


def test_an_unreachable_letzshop_records_nothing(
    client: TestClient, db: Session, connected: Caller, control: httpx.Client
) -> None:
    control.post("/control/faults", json={"mode": "http_503"}).raise_for_status()

    response = client.post(letzshop_path(connected, "/check"), headers=connected.headers)

    assert response.status_code == 502, response.text
    assert response.json()["error"]["code"] == "LETZSHOP_UNAVAILABLE"
    assert stored_check(db, connected.vendor.id) == (None, None, False)


def test_a_vendor_without_credentials_is_told_so(client: TestClient, caller: Caller) -> None:
    response = client.post(letzshop_path(caller, "/check"), headers=caller.headers)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "LETZSHOP_NOT_CONFIGURED"


def test_staff_may_not_run_the_check(
    client: TestClient, db: Session, control: httpx.Client, sandbox: Any
) -> None:
    _, staff = staff_headers(client, db, code="staffshop")

    response = client.post("/api/v1/vendor/letzshop/check", headers=staff)

    assert response.status_code == 403, response.text
    assert control.get("/control/requests").json()["requests"] == []


def test_an_admin_naming_an_unknown_vendor_gets_404(
    client: TestClient, shop: Any, control: httpx.Client
) -> None:
    vendor, admin, _ = shop

    response = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id + 999}/check", headers=admin)

    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "VENDOR_NOT_FOUND"
    assert control.get("/control/requests").json()["requests"] == []
