"""The KPI page shows `exception_kpis`, the API's figures: each figure on the page equals the
one `GET …/order-exceptions/kpis` answers for the same window, for a vendor and for an admin
(with its per-vendor table)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from tests.factories import (
    gtin13,
    login,
    make_marketplace_product,
    make_pending_exception,
    make_user,
    make_vendor,
)
from tests.web.pages import web_login

_FIGURE = re.compile(r'data-kpi="([\w.]+)"(?: data-raw="([^"]*)")?>([^<]*)<')


def _figures(html: str) -> dict[str, str]:
    """The first occurrence of each figure (the totals come before the vendor table)."""
    found: dict[str, str] = {}
    for key, raw, shown in _FIGURE.findall(html):
        found.setdefault(key, raw if raw else shown)
    return found


def _api_value(figures: dict[str, Any], key: str) -> str:
    value: Any = figures
    for part in key.split("."):
        value = value[part]
    return "None" if value is None else str(value)


def _scenario(client: TestClient, db: Session) -> None:
    shop1 = make_vendor(db, code="shop1")
    make_vendor(db, code="shop2")
    make_user(db, email="admin@example.test", is_admin=True)
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    gtin = gtin13("540000000011")
    product = make_marketplace_product(db, gtin=gtin)
    make_pending_exception(db, vendor_id=shop1.id, gtin=gtin)
    make_pending_exception(db, vendor_id=shop1.id, gtin=gtin)
    make_pending_exception(db, vendor_id=shop1.id, gtin=None)
    make_pending_exception(db, vendor_id=shop1.id, gtin="1234", exception_type="gtin_mismatch")
    db.commit()
    copied = client.post(
        f"/api/v1/admin/vendors/{shop1.id}/marketplace-products/copy-to-catalog",
        headers=login(client, "admin@example.test"),
        json={"marketplace_product_ids": [product.id]},
    )
    assert copied.status_code == 200, copied.text
    assert copied.json()["auto_matched"] == 2


def _window() -> dict[str, str]:
    today = utcnow().date()
    return {"from": str(today - timedelta(days=2)), "to": str(today + timedelta(days=1))}


def test_a_vendors_kpi_page_shows_the_apis_figures(client: TestClient, db: Session) -> None:
    _scenario(client, db)
    window = _window()
    api = client.get(
        "/api/v1/vendor/order-exceptions/kpis",
        params=window,
        headers=login(client, "staff@shop1.test"),
    )
    assert api.status_code == 200, api.text
    web_login(client, "staff@shop1.test")
    page = client.get("/kpis", params=window)
    assert page.status_code == 200
    shown = _figures(page.text)
    totals = api.json()["totals"]
    assert len(shown) >= 20
    for key, value in shown.items():
        assert value == _api_value(totals, key), key
    assert shown["resolved.auto_matched"] == "2"
    assert shown["exceptions_by_type.gtin_mismatch"] == "1"
    assert "Per vendor" not in page.text


def test_an_admin_sees_each_vendor_as_the_api_does(client: TestClient, db: Session) -> None:
    _scenario(client, db)
    window = _window()
    api = client.get(
        "/api/v1/admin/order-exceptions/kpis",
        params=window,
        headers=login(client, "admin@example.test"),
    ).json()
    web_login(client, "admin@example.test")
    page = client.get("/kpis", params=window).text
    assert "Per vendor" in page
    for vendor in api["vendors"]:
        row = re.search(rf'<tr data-vendor="{vendor["vendor_code"]}">(.*?)</tr>', page, re.S)
        assert row, vendor["vendor_code"]
        for key, value in _figures(row.group(1)).items():
            assert value == _api_value(vendor, key), (vendor["vendor_code"], key)


def test_presets_and_a_bad_window(client: TestClient, db: Session) -> None:
    make_vendor(db, code="shop1")
    make_user(db, email="staff@shop1.test", vendors=["shop1"])
    db.commit()
    web_login(client, "staff@shop1.test")
    seven = client.get("/kpis?days=7")
    assert seven.status_code == 200
    assert 'aria-current="page">Last 7 days' in seven.text
    reversed_window = client.get("/kpis?from=2026-02-01&to=2026-01-01")
    assert reversed_window.status_code == 400
    assert "must be before to" in reversed_window.text
    garbage = client.get("/kpis?from=yesterday")
    assert garbage.status_code == 422
    assert "from must be an ISO 8601 date" in garbage.text
