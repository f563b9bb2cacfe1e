"""Letzshop down during a confirm, on a real PostgreSQL with real `ordergate worker` processes and
the sandbox over HTTP: the confirm is queued (202, `confirmation_pending`), retried with
backoff, and lands once; a lost answer never makes a unit be sent twice; an exception reopened
before the retry stops it; a second confirm meanwhile is refused; attempts run out into
`failed`."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.events.models import Event
from ordergate.letzshop.client import UNAVAILABLE_MESSAGE
from ordergate.orders.models import FulfilmentRequest, Order, OrderItemException, OrderItemUnit
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from tests.factories import admin_headers, make_product, vendor_headers
from tests.jobs.conftest import Workers, wait_for
from tests.letzshop.conftest import KEY, shipment, unit
from tests.web.pages import flash_of, post_form, web_login

KNOWN = "4006381333931"
UNKNOWN = "5901234123457"
CLIENT_TIMEOUT = 0.5
# The worker retries at once: 2, 4, 8 … seconds apart (`wait + 2 ** (attempt + 1)`).
FAST_RETRIES = {"ORDERGATE_FULFILMENT_RETRY_WAIT_SECONDS": "0"}
DOWN = {"mode": "http_503"}  # every request, until cleared


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=41, shipments_per_vendor=0))
    yield handle
    handle.stop()


@pytest.fixture
def queued_app(queue_settings: Settings) -> FastAPI:
    """The app on the queue, with a short Letzshop timeout (a stall reads as a lost answer)."""
    update = {"letzshop_timeout_seconds": CLIENT_TIMEOUT}
    return create_app(queue_settings.model_copy(update=update))


@pytest.fixture
def shop(
    client: TestClient, db: Session, sandbox: SandboxHandle, control: httpx.Client
) -> tuple[int, dict[str, str]]:
    """A vendor connected to the sandbox: (vendor id, vendor headers)."""
    vendor, vendor_auth = vendor_headers(client, db, code="luxtoys")
    admin = admin_headers(client, db)
    response = client.put(
        f"/api/v1/admin/letzshop/vendors/{vendor.id}/credentials",
        headers=admin,
        json={"api_key": KEY, "endpoint": sandbox.graphql_url},
    )
    assert response.status_code == 200, response.text
    make_product(db, vendor_id=vendor.id, gtin=KNOWN)
    db.commit()
    return vendor.id, vendor_auth


def import_order(
    client: TestClient, db: Session, control: httpx.Client, auth: dict[str, str], *units: Any
) -> Order:
    """Put one shipment in the sandbox and sync it (inline, through the test app)."""
    body = {"api_key": KEY, "shipments": [shipment("S1", list(units))], "replace": True}
    control.post("/control/shipments", json=body).raise_for_status()
    response = client.post("/api/v1/vendor/letzshop/sync", headers=auth)
    assert response.status_code == 200, response.text
    db.rollback()
    return db.scalars(select(Order).where(Order.external_shipment_id == "S1")).one()


def two_known_units() -> list[dict[str, Any]]:
    return [unit("u1", "known", KNOWN), unit("u2", "known", KNOWN)]


def applied_unit_ids(control: httpx.Client) -> list[str]:
    """Units of the mutations the sandbox executed (a 5xx fault answers before executing;
    a timeout fault executes, then stalls its answer), in order."""
    return [
        decision["inventoryUnitId"]
        for mutation in control.get("/control/mutations").json()["mutations"]
        if mutation["status_code"] == 200
        for decision in mutation["variables"]["input"]["inventoryUnits"]
    ]


def sandbox_states(control: httpx.Client) -> dict[str, str]:
    dump = control.get("/control/shipments", params={"api_key": KEY}).json()["shipments"]
    return {u["id"]: u["state"] for s in dump for u in s["shipment"]["inventoryUnits"]}


def local_states(db: Session) -> dict[str, str]:
    db.rollback()
    return {u.external_unit_id: u.state for u in db.scalars(select(OrderItemUnit))}


def request_row(db: Session) -> FulfilmentRequest:
    db.rollback()
    return db.scalars(select(FulfilmentRequest)).one()


def order_actions(db: Session, order_id: int) -> list[tuple[str, int | None]]:
    db.rollback()
    events = db.scalars(
        select(Event)
        .where(Event.subject_type == "order", Event.subject_id == order_id)
        .order_by(Event.id)
    )
    return [(event.action, event.actor_user_id) for event in events]


def confirm_while_down(
    queued_client: TestClient, control: httpx.Client, auth: dict[str, str], order: Order
) -> httpx.Response:
    control.post("/control/faults", json=DOWN).raise_for_status()
    response = queued_client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=auth
    )
    assert response.status_code == 202, response.text
    return response


def wait_until_ended(queued_client: TestClient, location: str, auth: dict[str, str]) -> Any:
    def ended() -> Any:
        body = queued_client.get(location, headers=auth).json()
        return body if body["status"] not in ("requested", "sent") else None

    return wait_for(ended)


def test_letzshop_down_queues_the_confirm_and_a_worker_lands_it_once(
    queued_client: TestClient,
    client: TestClient,
    db: Session,
    shop: tuple[int, dict[str, str]],
    control: httpx.Client,
    workers: Workers,
) -> None:
    vendor_id, auth = shop
    order = import_order(client, db, control, auth, *two_known_units())

    queued = confirm_while_down(queued_client, control, auth, order)

    body = queued.json()
    assert {k: body[k] for k in ("order_id", "vendor_id", "verdict", "item_id", "status")} == {
        "order_id": order.id,
        "vendor_id": vendor_id,
        "verdict": "confirm",
        "item_id": None,
        "status": "requested",
    }
    assert (body["attempts"], body["last_error"]) == (1, UNAVAILABLE_MESSAGE)
    assert body["job_id"] is not None
    location = queued.headers["location"]
    assert location == f"/api/v1/vendor/letzshop/fulfilment-requests/{body['request_id']}"
    shown = queued_client.get(f"/api/v1/vendor/orders/{order.id}", headers=auth).json()
    assert (shown["confirmation_pending"], shown["status"]) == (True, "pending")
    assert local_states(db) == {"u1": "unconfirmed", "u2": "unconfirmed"}
    assert applied_unit_ids(control) == []

    workers.start("--concurrency", "1", **FAST_RETRIES)
    wait_for(lambda: request_row(db).attempts >= 3)  # two retries by the worker, still down
    control.post("/control/faults", json={"mode": None}).raise_for_status()
    ended = wait_until_ended(queued_client, location, auth)

    assert ended["status"] == "succeeded", ended
    # The request's attempt and the worker's first failed while down; the third, started
    # while down, may land once the sandbox is back (the count grows when an attempt starts).
    assert ended["attempts"] >= 3
    assert sorted(applied_unit_ids(control)) == ["u1", "u2"]  # each unit sent once
    assert (
        local_states(db)
        == sandbox_states(control)
        == {
            "u1": "confirmed_available",
            "u2": "confirmed_available",
        }
    )
    shown = queued_client.get(f"/api/v1/vendor/orders/{order.id}", headers=auth).json()
    assert (shown["confirmation_pending"], shown["status"]) == (False, "processing")
    user_id = db.scalars(select(FulfilmentRequest.requested_by)).one()
    assert user_id is not None
    assert order_actions(db, order.id) == [("fulfilment_queued", user_id), ("confirmed", user_id)]


def test_a_second_confirm_while_one_is_queued_is_refused_and_changes_nothing(
    queued_client: TestClient,
    client: TestClient,
    db: Session,
    shop: tuple[int, dict[str, str]],
    control: httpx.Client,
) -> None:
    _, auth = shop
    order = import_order(client, db, control, auth, *two_known_units())
    first = confirm_while_down(queued_client, control, auth, order).json()
    control.post("/control/faults", json={"mode": None}).raise_for_status()
    requests_before = db.execute(select(FulfilmentRequest.id, FulfilmentRequest.status)).all()
    jobs_before = db.scalar(text("SELECT count(*) FROM procrastinate_jobs"))

    for path in (f"orders/{order.id}/confirm", f"orders/{order.id}/reject"):
        second = queued_client.post(f"/api/v1/vendor/letzshop/{path}", headers=auth)
        assert second.status_code == 409, second.text
        error = second.json()["error"]
        assert error["code"] == "FULFILMENT_PENDING"
        assert error["details"] == {"order_id": order.id, "request_id": first["request_id"]}

    db.rollback()
    assert db.execute(select(FulfilmentRequest.id, FulfilmentRequest.status)).all() == (
        requests_before
    )
    assert db.scalar(text("SELECT count(*) FROM procrastinate_jobs")) == jobs_before
    assert applied_unit_ids(control) == []
    assert local_states(db) == {"u1": "unconfirmed", "u2": "unconfirmed"}
    assert db.get(Order, order.id).fulfilment_lease_until is None


def test_a_lost_answer_on_the_retry_is_read_back_not_sent_again(
    queued_client: TestClient,
    client: TestClient,
    db: Session,
    shop: tuple[int, dict[str, str]],
    control: httpx.Client,
    workers: Workers,
) -> None:
    _, auth = shop
    order = import_order(client, db, control, auth, *two_known_units())
    location = confirm_while_down(queued_client, control, auth, order).headers["location"]
    # The retry's mutation is applied, then its answer never arrives in time; queries pass.
    lost = {"mode": "timeout", "count": 1, "mutations_only": True, "timeout_seconds": 3.0}
    control.post("/control/faults", json=lost).raise_for_status()

    workers.start(
        "--concurrency",
        "1",
        ORDERGATE_LETZSHOP_TIMEOUT_SECONDS=str(CLIENT_TIMEOUT),
        **FAST_RETRIES,
    )
    ended = wait_until_ended(queued_client, location, auth)

    assert ended["status"] == "succeeded", ended
    mutations = control.get("/control/mutations").json()["mutations"]
    assert [(m["fault"], m["status_code"]) for m in mutations] == [
        *[("http_503", 503)] * (len(mutations) - 1),
        ("timeout", 200),
    ]
    assert sorted(applied_unit_ids(control)) == ["u1", "u2"]
    assert (
        local_states(db)
        == sandbox_states(control)
        == {
            "u1": "confirmed_available",
            "u2": "confirmed_available",
        }
    )


def test_a_confirm_whose_answer_was_lost_in_the_request_is_read_first_by_the_job(
    queued_client: TestClient,
    client: TestClient,
    db: Session,
    shop: tuple[int, dict[str, str]],
    control: httpx.Client,
    workers: Workers,
) -> None:
    _, auth = shop
    order = import_order(client, db, control, auth, *two_known_units())
    # Every answer stalls: the request's mutation is applied, its read-backs time out.
    stall = {"mode": "timeout", "timeout_seconds": CLIENT_TIMEOUT * 3}
    control.post("/control/faults", json=stall).raise_for_status()
    queued = queued_client.post(f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=auth)
    assert queued.status_code == 202, queued.text
    assert applied_unit_ids(control) == ["u1", "u2"]  # Letzshop has decided
    assert local_states(db) == {"u1": "unconfirmed", "u2": "unconfirmed"}  # we could not tell
    control.post("/control/faults", json={"mode": None}).raise_for_status()

    workers.start("--concurrency", "1", **FAST_RETRIES)
    ended = wait_until_ended(queued_client, queued.headers["location"], auth)

    assert ended["status"] == "succeeded", ended
    assert applied_unit_ids(control) == ["u1", "u2"]  # read first: nothing sent again
    assert (
        local_states(db)
        == sandbox_states(control)
        == {
            "u1": "confirmed_available",
            "u2": "confirmed_available",
        }
    )


def test_an_exception_reopened_before_the_retry_stops_it_and_nothing_is_sent(
    queued_client: TestClient,
    client: TestClient,
    db: Session,
    shop: tuple[int, dict[str, str]],
    control: httpx.Client,
    workers: Workers,
) -> None:
    vendor_id, auth = shop
    order = import_order(
        client, db, control, auth, unit("u1", "known", KNOWN), unit("u2", "mystery", UNKNOWN)
    )
    exception = db.scalars(select(OrderItemException)).one()
    product = make_product(db, vendor_id=vendor_id, gtin=UNKNOWN)
    db.commit()
    resolved = client.post(
        f"/api/v1/vendor/order-exceptions/{exception.id}/resolve",
        headers=auth,
        json={"product_id": product.id},
    )
    assert resolved.status_code == 200, resolved.text
    location = confirm_while_down(queued_client, control, auth, order).headers["location"]
    reopened = client.post(
        f"/api/v1/vendor/order-exceptions/{exception.id}/reopen",
        headers=auth,
        json={"notes": "wrong product"},
    )
    assert reopened.status_code == 200, reopened.text
    control.post("/control/faults", json={"mode": None}).raise_for_status()

    workers.start("--concurrency", "1", **FAST_RETRIES)
    ended = wait_until_ended(queued_client, location, auth)

    assert ended["status"] == "stopped", ended
    assert "cannot be confirmed" in ended["last_error"]
    assert ended["finished_at"] is not None
    assert applied_unit_ids(control) == []
    assert local_states(db) == sandbox_states(control) == {"u1": "unconfirmed", "u2": "unconfirmed"}
    stored = db.get(Order, order.id)
    assert (stored.status, stored.fulfilment_lease_until) == ("pending", None)
    actions = order_actions(db, order.id)
    assert actions[-1] == ("fulfilment_stopped", None)
    assert "confirmed" not in [action for action, _ in actions]
    shown = queued_client.get(f"/api/v1/vendor/orders/{order.id}", headers=auth).json()
    assert shown["confirmation_pending"] is False


def test_a_request_fails_with_its_reason_when_the_attempts_run_out(
    queued_client: TestClient,
    client: TestClient,
    db: Session,
    shop: tuple[int, dict[str, str]],
    control: httpx.Client,
    workers: Workers,
) -> None:
    _, auth = shop
    order = import_order(client, db, control, auth, *two_known_units())
    location = confirm_while_down(queued_client, control, auth, order).headers["location"]

    workers.start("--concurrency", "1", ORDERGATE_FULFILMENT_RETRY_ATTEMPTS="2", **FAST_RETRIES)
    ended = wait_until_ended(queued_client, location, auth)

    assert ended["status"] == "failed", ended
    assert ended["attempts"] == 3  # the request's own, then the job's two
    assert ended["last_error"] == f"{UNAVAILABLE_MESSAGE}; gave up after the last attempt"
    assert applied_unit_ids(control) == []
    assert local_states(db) == {"u1": "unconfirmed", "u2": "unconfirmed"}
    assert order_actions(db, order.id)[-1] == ("fulfilment_failed", None)
    assert db.get(Order, order.id).fulfilment_lease_until is None
    db.rollback()
    assert db.scalar(select(func.count()).select_from(FulfilmentRequest)) == 1
    # Ended, so the order may be confirmed again (Letzshop is back).
    control.post("/control/faults", json={"mode": None}).raise_for_status()
    again = queued_client.post(f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=auth)
    assert again.status_code == 200, again.text


def test_the_dashboards_confirm_is_queued_too_and_its_page_shows_it_pending(
    queued_client: TestClient,
    client: TestClient,
    db: Session,
    shop: tuple[int, dict[str, str]],
    control: httpx.Client,
) -> None:
    _, auth = shop
    order = import_order(client, db, control, auth, *two_known_units())
    control.post("/control/faults", json=DOWN).raise_for_status()
    csrf = web_login(queued_client, "staff@luxtoys.test")

    posted = post_form(queued_client, f"/orders/{order.id}/confirm", csrf)

    assert posted.status_code == 303
    page = queued_client.get(posted.headers["location"])
    queued = request_row(db)
    assert flash_of(page) == (
        "info",
        f"Letzshop could not be reached: the confirm is queued as request {queued.id} and "
        "retried in the background",
    )
    assert 'id="confirmation-pending">confirmation pending</span>' in page.text
    assert (queued.status, queued.verdict, queued.attempts) == ("requested", "confirm", 1)
    assert applied_unit_ids(control) == []
    assert local_states(db) == {"u1": "unconfirmed", "u2": "unconfirmed"}
