# ruff: noqa: F811  (fixtures imported from tests/web/letzshop_shop.py)
"""The Letzshop sync page through the ASGI client, with the sandbox over real HTTP: Import now
starts the sync job in the background and its run's page shows the counts as they are
committed; recent runs, health lines, vendor isolation and CSRF."""

from __future__ import annotations

import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.letzshop.models import SyncRun
from ordergate.orders.models import Order
from tests.factories import make_product, make_user
from tests.letzshop.conftest import KEY
from tests.web.letzshop_shop import (  # noqa: F401  (fixtures)
    Shop,
    sandbox,
    shop,
    wait_for_run,
)
from tests.web.pages import flash_of, post_form, web_login


def _runs(db: Session) -> list[SyncRun]:
    db.rollback()
    return list(db.scalars(select(SyncRun).order_by(SyncRun.id)))


def _count(fragment: httpx.Response, name: str) -> int:
    match = re.search(rf'<dd id="count-{name}">(\d+)</dd>', fragment.text)
    assert match, fragment.text
    return int(match.group(1))


def test_import_now_creates_a_run_and_its_page_shows_the_counts(
    client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    csrf = web_login(client, shop.staff_email)
    started = post_form(client, "/sync/import", csrf)
    assert started.status_code == 303
    [run] = _runs(db)
    assert started.headers["location"] == f"/sync/runs/{run.id}"
    assert run.vendor_id == shop.vendor.id

    page = client.get(f"/sync/runs/{run.id}")
    assert page.status_code == 200
    assert flash_of(page) == ("ok", "Import for Maison Verte started")
    fragment = wait_for_run(client, run.id)
    assert fragment.text.lstrip().startswith('<section id="run-progress"')
    [run] = _runs(db)
    assert run.status in ("succeeded", "partial")
    db.rollback()
    orders = db.scalar(select(func.count()).select_from(Order))
    dump = control.get("/control/shipments", params={"api_key": KEY}).json()["shipments"]
    unconfirmed = [s for s in dump if s["shipment"]["state"] == "unconfirmed"]
    assert _count(fragment, "shipments") == run.shipments_seen == len(unconfirmed) > 0
    assert _count(fragment, "created") == run.orders_created == orders > 0
    # the sandbox's generator puts in a few malformed shipments: each is named with its reason
    for failure in run.failures:
        assert f"{failure['reason']}</li>" in fragment.text.replace("&#39;", "'")
    if run.failures:
        assert f"Finished, but {len(run.failures)} shipment" in fragment.text
    assert _count(fragment, "pages") == run.pages_done >= 1
    assert _count(fragment, "exceptions") == run.exceptions_created

    listing = client.get("/sync")
    assert f'<a href="/sync/runs/{run.id}">#{run.id}</a>' in listing.text
    assert ("Finished: every shipment imported" in listing.text) == (not run.failures)


def test_a_running_runs_fragment_polls_every_second(
    client: TestClient, db: Session, shop: Shop
) -> None:
    run = SyncRun(
        vendor_id=shop.vendor.id,
        trigger="api",
        state_filter="unconfirmed",
        status="running",
        failures=[],
        heartbeat_at=utcnow(),
        pages_done=3,
        shipments_seen=150,
    )
    db.add(run)
    db.commit()
    csrf = web_login(client, shop.staff_email)
    fragment = client.get(f"/sync/runs/{run.id}", headers={"HX-Request": "true"})
    assert f'hx-get="/sync/runs/{run.id}" hx-trigger="every 1s"' in fragment.text
    assert "Importing… 3 pages done so far" in fragment.text
    assert _count(fragment, "shipments") == 150

    # A second import while this one is live goes to it, with the API's message.
    again = post_form(client, "/sync/import", csrf)
    assert again.status_code == 303
    assert again.headers["location"] == f"/sync/runs/{run.id}"
    level, text = flash_of(client.get(f"/sync/runs/{run.id}")) or ("", "")
    assert level == "warn"
    assert text.startswith(f"Vendor {shop.vendor.id} already has sync run {run.id} in progress")
    assert [r.id for r in _runs(db)] == [run.id]


def test_a_failed_run_says_why_in_plain_words(
    client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    control.post("/control/faults", json={"mode": "http_502"}).raise_for_status()
    csrf = web_login(client, shop.staff_email)
    started = post_form(client, "/sync/import", csrf)
    [run] = _runs(db)
    assert started.headers["location"] == f"/sync/runs/{run.id}"
    fragment = wait_for_run(client, run.id)
    [run] = _runs(db)
    assert run.status == "failed"
    assert run.error
    assert f"Failed: {run.error}" in fragment.text.replace("&#39;", "'")
    health = client.get("/sync")
    assert f"Last import (run {run.id}) failed: " in health.text


def test_health_lines_say_what_is_missing(client: TestClient, db: Session, shop: Shop) -> None:
    web_login(client, shop.other_email)  # shop2: no credentials, no catalog, no runs
    page = client.get("/sync")
    assert "No Letzshop credentials: an owner must set the API key first" in page.text
    assert "No catalog yet: every imported line becomes an exception" in page.text
    disabled = r'class="primary" disabled aria-describedby="health-\d+"'
    assert re.search(disabled, page.text)
    assert "No imports yet." in page.text

    client.cookies.clear()
    make_product(db, vendor_id=shop.vendor.id)
    db.commit()
    web_login(client, shop.staff_email)  # shop1: connected, auto-sync off, never imported
    page = client.get("/sync")
    assert "Auto-sync is off: orders arrive only when someone imports them" in page.text
    assert "Never imported: no sync run yet" in page.text
    assert "No catalog yet" not in page.text
    assert "No Letzshop credentials" not in page.text


def test_import_for_another_vendor_is_404_and_starts_nothing(
    client: TestClient, db: Session, shop: Shop
) -> None:
    csrf = web_login(client, shop.other_email)
    response = post_form(client, "/sync/import", csrf, {"vendor_id": str(shop.vendor.id)})
    assert response.status_code == 404
    assert "VENDOR_NOT_FOUND" in response.text
    assert _runs(db) == []
    other_run = client.get("/sync/runs/1")
    assert other_run.status_code == 404


def test_another_vendors_run_is_404(
    client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    csrf = web_login(client, shop.staff_email)
    post_form(client, "/sync/import", csrf)
    [run] = _runs(db)
    wait_for_run(client, run.id)
    client.cookies.clear()
    web_login(client, shop.other_email)
    page = client.get(f"/sync/runs/{run.id}")
    assert page.status_code == 404
    assert f"Sync run {run.id} not found for vendor {shop.other.id}" in page.text
    assert f"#{run.id}" not in client.get("/sync").text


def test_import_without_the_form_token_is_403_and_starts_nothing(
    client: TestClient, db: Session, shop: Shop
) -> None:
    web_login(client, shop.staff_email)
    response = client.post("/sync/import", data={}, follow_redirects=False)
    assert response.status_code == 403
    assert "CSRF_TOKEN_INVALID" in response.text
    assert _runs(db) == []


def test_import_of_a_vendor_without_credentials_shows_the_apis_message(
    client: TestClient, db: Session, shop: Shop
) -> None:
    csrf = web_login(client, shop.other_email)
    response = post_form(client, "/sync/import", csrf)
    assert response.status_code == 303
    level, text = flash_of(client.get("/sync")) or ("", "")
    assert level == "error"
    assert str(shop.other.id) in text
    assert _runs(db) == []


def test_an_admin_imports_for_each_vendor(
    client: TestClient, db: Session, shop: Shop, control: httpx.Client
) -> None:
    make_user(db, email="root@ordergate.test", is_admin=True)
    db.commit()
    csrf = web_login(client, "root@ordergate.test")
    page = client.get("/sync")
    assert "Maison Verte" in page.text
    assert "Autre Boutique" in page.text
    assert "Import now for each vendor" in page.text
    response = post_form(client, "/sync/import-all", csrf)
    assert response.status_code == 303
    level, text = flash_of(client.get("/sync")) or ("", "")
    assert level == "warn"
    assert text.startswith("Imports started: Maison Verte. Not started — Autre Boutique: ")
    [run] = _runs(db)
    assert run.vendor_id == shop.vendor.id
    wait_for_run(client, run.id)
    listing = client.get("/sync")
    assert "<td>Maison Verte</td>" in listing.text  # the vendor column on "all vendors"
