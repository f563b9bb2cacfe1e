"""A confirm Letzshop applied but whose answer was lost is read back, never resent, and recorded
locally as what Letzshop says; and the order's fulfilment lease keeps two senders apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.db import utcnow
from ordergate.events.models import Event
from ordergate.orders.models import Order, OrderItemUnit
from tests.letzshop import test_confirm
from tests.letzshop.conftest import shipment, unit
from tests.letzshop.test_confirm import KNOWN, mutations, sandbox_unit_states

imported = test_confirm.imported

CLIENT_TIMEOUT = 0.5


@pytest.fixture(scope="module")
def impatient_app(settings: Settings) -> FastAPI:
    """The app with a short Letzshop timeout, so the sandbox's stall reads as a lost answer."""
    return create_app(settings.model_copy(update={"letzshop_timeout_seconds": CLIENT_TIMEOUT}))


@pytest.fixture
def client(impatient_app: FastAPI, engine: object) -> Iterator[TestClient]:
    with TestClient(impatient_app, raise_server_exceptions=False) as test_client:
        yield test_client


def local_unit_states(db: Session) -> dict[str, str]:
    db.rollback()  # end the read snapshot
    db.expire_all()  # and reload what this session set up itself
    return {u.external_unit_id: u.state for u in db.scalars(select(OrderItemUnit))}


def sent_unit_ids(control: httpx.Client) -> list[str]:
    return [
        decision["inventoryUnitId"]
        for mutation in mutations(control)
        for decision in mutation["variables"]["input"]["inventoryUnits"]
    ]


def order_events(db: Session, order_id: int) -> list[tuple[str, dict]]:
    events = db.scalars(
        select(Event).where(Event.subject_type == "order", Event.subject_id == order_id)
    )
    return [(event.action, event.after) for event in events]


def test_a_lost_confirm_answer_is_read_back_and_recorded_once(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN), unit("u2", "known", KNOWN)]))
    # Letzshop applies the confirm, then its answer never arrives in time.
    faults = {"mode": "timeout", "count": 1, "timeout_seconds": CLIENT_TIMEOUT * 4}
    control.post("/control/faults", json=faults).raise_for_status()

    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == {"u1": "confirmed_available", "u2": "confirmed_available"}
    assert sorted(body["reconciled"]) == ["u1", "u2"]
    assert body["status"] == "processing"
    assert local_unit_states(db) == sandbox_unit_states(control)
    assert sorted(sent_unit_ids(control)) == ["u1", "u2"]  # one mutation, each unit once
    stored = db.get(Order, order.id)
    assert (stored.status, stored.fulfilment_lease_until) == ("processing", None)
    assert stored.confirmed_at is not None
    [(action, after)] = order_events(db, order.id)
    assert action == "confirmed"
    assert after["units"] == {"u1": "confirmed_available", "u2": "confirmed_available"}


def test_a_lost_answer_for_a_request_letzshop_never_ran_is_resent_once(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    control.post("/control/faults", json={"mode": "http_503", "count": 1}).raise_for_status()

    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )

    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == {"u1": "confirmed_available"}
    assert response.json()["reconciled"] == []
    assert [m["status_code"] for m in mutations(control)] == [503, 200]
    assert local_unit_states(db) == sandbox_unit_states(control) == {"u1": "confirmed_available"}


def test_a_second_sender_gets_409_while_the_lease_is_held(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    held_until = utcnow() + timedelta(minutes=5)
    db.get(Order, order.id).fulfilment_lease_until = held_until
    db.commit()

    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "FULFILMENT_IN_PROGRESS"
    assert response.json()["error"]["details"] == {"order_id": order.id}
    assert mutations(control) == []
    assert local_unit_states(db) == {"u1": "unconfirmed"}
    assert db.get(Order, order.id).fulfilment_lease_until == held_until
    assert order_events(db, order.id) == []


def test_an_expired_lease_is_taken_over(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    db.get(Order, order.id).fulfilment_lease_until = utcnow() - timedelta(seconds=1)
    db.commit()

    response = client.post(
        f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
    )

    assert response.status_code == 200, response.text
    assert local_unit_states(db) == {"u1": "confirmed_available"}
    assert db.get(Order, order.id).fulfilment_lease_until is None


def test_the_lease_is_released_when_letzshop_cannot_be_reached(
    client: TestClient, db: Session, shop, imported, control: httpx.Client
) -> None:
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    control.post("/control/faults", json={"mode": "http_502"}).raise_for_status()

    failed = client.post(f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth)

    assert failed.status_code == 502
    assert local_unit_states(db) == {"u1": "unconfirmed"}
    assert db.get(Order, order.id).fulfilment_lease_until is None
    control.post("/control/faults", json={"mode": None}).raise_for_status()
    again = client.post(f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth)
    assert again.status_code == 200, again.text
