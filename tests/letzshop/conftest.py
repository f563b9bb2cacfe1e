"""The app talking to the Letzshop sandbox over real HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from ordergate.vendors.models import Vendor
from tests.factories import Caller, admin_headers, vendor_headers

KEY = "sandbox-key-1"
SHIPMENTS = 30


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=11, shipments_per_vendor=SHIPMENTS))
    yield handle
    handle.stop()


@pytest.fixture
def shop(
    client: TestClient, db: Session, sandbox: SandboxHandle, control: httpx.Client
) -> tuple[Vendor, dict[str, str], dict[str, str]]:
    """A vendor connected to the sandbox: (vendor, admin headers, vendor headers)."""
    vendor, vendor_auth = vendor_headers(client, db, code="luxtoys")
    admin = admin_headers(client, db)
    response = client.put(
        f"/api/v1/admin/letzshop/vendors/{vendor.id}/credentials",
        headers=admin,
        json={"api_key": KEY, "endpoint": sandbox.graphql_url},
    )
    assert response.status_code == 200, response.text
    return vendor, admin, vendor_auth


def letzshop_path(caller: Caller, path: str) -> str:
    """``path`` under the caller's Letzshop prefix (the admin tree's names the vendor)."""
    return caller.url(
        admin=f"/api/v1/admin/letzshop/vendors/{caller.vendor.id}{path}",
        vendor=f"/api/v1/vendor/letzshop{path}",
    )


@pytest.fixture
def connected(
    client: TestClient, caller: Caller, sandbox: SandboxHandle, control: httpx.Client
) -> Caller:
    """The `caller` (admin, then the vendor's owner) with its vendor connected to the sandbox,
    the credentials set through the caller's own tree."""
    response = client.put(
        letzshop_path(caller, "/credentials"),
        headers=caller.headers,
        json={"api_key": KEY, "endpoint": sandbox.graphql_url},
    )
    assert response.status_code == 200, response.text
    return caller


def unit(
    unit_id: str,
    variant_id: str,
    gtin: str | None,
    *,
    state: str = "unconfirmed",
    price: Any = "19.99",
    name: str = "Toy",
) -> dict[str, Any]:
    trade_id = {"number": gtin, "parser": "gtin13"} if gtin is not None else None
    return {
        "id": unit_id,
        "state": state,
        "variant": {
            "id": variant_id,
            "sku": f"SKU-{variant_id}",
            "mpn": None,
            "price": price,
            "tradeId": trade_id,
            "product": {
                "name": {"en": name, "fr": None, "de": None},
                "_brand": {"__typename": "Brand", "name": "Brandy"},
            },
        },
    }


def shipment(
    shipment_id: str, units: list[dict[str, Any]], *, number: str | None = None
) -> dict[str, Any]:
    address = {
        "firstName": "Ana",
        "lastName": "Muller",
        "company": None,
        "streetName": "Rue",
        "streetNumber": "1",
        "city": "Luxembourg",
        "zipCode": "1234",
        "phone": None,
        "country": {"name": "Luxembourg", "iso": "LU"},
    }
    return {
        "id": shipment_id,
        "number": f"H{shipment_id}",
        "state": "unconfirmed",
        "order": {
            "id": f"O{shipment_id}",
            "number": number or f"R{shipment_id}",
            "email": "ana@example.lu",
            "total": 39.98,
            "completedAt": "2026-11-01T10:00:00Z",
            "locale": "en",
            "shipAddress": address,
            "billAddress": address,
        },
        "inventoryUnits": units,
        "tracking": None,
    }


@pytest.fixture
def put_shipments(control: httpx.Client) -> Callable[..., None]:
    def put(*shipments: dict[str, Any]) -> None:
        response = control.post(
            "/control/shipments",
            json={"api_key": KEY, "shipments": list(shipments), "replace": True},
        )
        assert response.status_code == 200, response.text

    return put
