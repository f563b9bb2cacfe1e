"""A vendor's `confirmation_deadline_hours` through the vendor API: read by its members and
admins, changed by its owners and admins; bad values refused with nothing changed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.demo import seed_demo
from ordergate.security import SecretBox
from ordergate.vendors.models import Vendor
from tests.conftest import TEST_SECRET
from tests.factories import (
    Caller,
    admin_headers,
    login,
    make_exception,
    make_item,
    make_order,
    reload,
    set_deadline_hours,
    staff_headers,
)

SANDBOX = "http://127.0.0.1:1/graphql"  # never called: the seed only stores it


def _url(caller: Caller) -> str:
    return caller.url(
        admin=f"/api/v1/admin/vendors/{caller.vendor.id}/settings", vendor="/api/v1/vendor/settings"
    )


def _hours(db: Session, vendor: Vendor) -> int | None:
    return reload(db, Vendor, vendor.id).confirmation_deadline_hours


def test_settings_start_without_a_deadline(client: TestClient, caller: Caller) -> None:
    response = client.get(_url(caller), headers=caller.headers)
    assert response.status_code == 200
    assert response.json() == {"vendor_id": caller.vendor.id, "confirmation_deadline_hours": None}


def test_owner_or_admin_sets_and_clears_the_deadline(
    client: TestClient, db: Session, caller: Caller
) -> None:
    response = client.patch(
        _url(caller), headers=caller.headers, json={"confirmation_deadline_hours": 48}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"vendor_id": caller.vendor.id, "confirmation_deadline_hours": 48}
    assert _hours(db, caller.vendor) == 48
    assert (
        client.get(_url(caller), headers=caller.headers).json()["confirmation_deadline_hours"] == 48
    )
    # Omitted: unchanged.
    assert (
        client.patch(_url(caller), headers=caller.headers, json={}).json()[
            "confirmation_deadline_hours"
        ]
        == 48
    )
    cleared = client.patch(
        _url(caller), headers=caller.headers, json={"confirmation_deadline_hours": None}
    )
    assert cleared.json()["confirmation_deadline_hours"] is None
    assert _hours(db, caller.vendor) is None


def test_the_setting_gives_blocked_orders_a_deadline(
    client: TestClient, db: Session, caller: Caller
) -> None:
    order = make_order(db, vendor_id=caller.vendor.id)
    make_exception(db, item=make_item(db, order=order))
    db.commit()
    orders_url = caller.url(admin="/api/v1/admin/orders", vendor="/api/v1/vendor/orders")
    before = client.get(f"{orders_url}/{order.id}", headers=caller.headers).json()
    assert (before["confirm_by"], before["deadline_state"]) == (None, None)
    client.patch(_url(caller), headers=caller.headers, json={"confirmation_deadline_hours": 72})
    after = client.get(f"{orders_url}/{order.id}", headers=caller.headers).json()
    # Ordered 2025-12-19 10:30 (the factory's date): long overdue.
    assert (after["confirm_by"], after["deadline_state"]) == ("2025-12-22T10:30:00Z", "overdue")


def test_admin_vendor_list_shows_the_setting(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    vendor, _ = staff_headers(client, db)
    set_deadline_hours(db, vendor, 24)
    db.commit()
    listed = client.get("/api/v1/admin/vendors", headers=headers).json()["vendors"]
    assert [(v["code"], v["confirmation_deadline_hours"]) for v in listed] == [("shop1", 24)]


def test_staff_reads_but_cannot_change(client: TestClient, db: Session) -> None:
    vendor, staff = staff_headers(client, db)
    set_deadline_hours(db, vendor, 24)
    db.commit()
    assert client.get("/api/v1/vendor/settings", headers=staff).json() == {
        "vendor_id": vendor.id,
        "confirmation_deadline_hours": 24,
    }
    response = client.patch(
        "/api/v1/vendor/settings", headers=staff, json={"confirmation_deadline_hours": 1}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (403, "OWNER_REQUIRED")
    assert _hours(db, vendor) == 24
    owner = login(client, "owner@shop1.test")
    response = client.patch(
        "/api/v1/vendor/settings", headers=owner, json={"confirmation_deadline_hours": 1}
    )
    assert response.status_code == 200
    assert _hours(db, vendor) == 1


@pytest.mark.parametrize("value", [0, -1, 8_761, 2**31, "48", 4.5, True, [48], {"h": 1}])
def test_bad_hours_are_422_naming_the_field_and_change_nothing(
    client: TestClient, db: Session, caller: Caller, value: Any
) -> None:
    set_deadline_hours(db, caller.vendor, 12)
    db.commit()
    response = client.patch(
        _url(caller), headers=caller.headers, json={"confirmation_deadline_hours": value}
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "confirmation_deadline_hours" in response.text
    assert _hours(db, caller.vendor) == 12


def test_the_bounds_are_accepted(client: TestClient, db: Session, caller: Caller) -> None:
    for hours in (1, 8_760):
        response = client.patch(
            _url(caller), headers=caller.headers, json={"confirmation_deadline_hours": hours}
        )
        assert response.status_code == 200
        assert _hours(db, caller.vendor) == hours


def test_admin_unknown_vendor_is_404_and_changes_nothing(client: TestClient, db: Session) -> None:
    headers = admin_headers(client, db)
    vendor, _ = staff_headers(client, db)
    for method in ("GET", "PATCH"):
        response = client.request(
            method,
            "/api/v1/admin/vendors/999999/settings",
            headers=headers,
            json={"confirmation_deadline_hours": 5} if method == "PATCH" else None,
        )
        assert (response.status_code, response.json()["error"]["code"]) == (
            404,
            "VENDOR_NOT_FOUND",
        )
    assert _hours(db, vendor) is None


def test_vendor_tree_changes_only_its_own_vendor(client: TestClient, db: Session) -> None:
    first, _ = staff_headers(client, db, code="shop1")
    second, _ = staff_headers(client, db, code="shop2")
    owner = login(client, "owner@shop1.test")
    client.patch("/api/v1/vendor/settings", headers=owner, json={"confirmation_deadline_hours": 6})
    assert (_hours(db, first), _hours(db, second)) == (6, None)


def test_settings_need_a_token(client: TestClient, db: Session) -> None:
    vendor, _ = staff_headers(client, db)
    for url in ("/api/v1/vendor/settings", f"/api/v1/admin/vendors/{vendor.id}/settings"):
        assert client.patch(url, json={"confirmation_deadline_hours": 5}).status_code == 401
    assert _hours(db, vendor) is None


def test_the_demo_sets_a_deadline_and_keeps_a_changed_one(db: Session, settings: Settings) -> None:
    seed = {"box": SecretBox(TEST_SECRET), "settings": settings, "sandbox_url": SANDBOX}
    vendors = seed_demo(db, **seed)  # type: ignore[arg-type]
    db.commit()
    assert [v.confirmation_deadline_hours for v in vendors] == [48, 48, 48]
    set_deadline_hours(db, vendors[0], 12)
    db.commit()
    again = seed_demo(db, **seed)  # type: ignore[arg-type]
    db.commit()
    assert [v.confirmation_deadline_hours for v in again] == [12, 48, 48]
