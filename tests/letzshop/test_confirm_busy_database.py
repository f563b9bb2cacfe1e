"""Letzshop decided, then the database is busy when its answer is recorded: the answer is
recorded once the lock is gone, never dropped with a 503 (PostgreSQL's lock_timeout)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, select, text
from sqlalchemy.orm import Session

from ordergate.app import create_app
from ordergate.config import Settings
from ordergate.orders.models import Order
from tests.letzshop import test_confirm
from tests.letzshop.conftest import shipment, unit
from tests.letzshop.test_confirm import KNOWN, mutations, sandbox_unit_states
from tests.letzshop.test_confirm_lost_answer import local_unit_states, order_events

imported = test_confirm.imported
pytestmark = pytest.mark.postgres_only


@pytest.fixture(scope="module")
def quick_to_give_up_app(settings: Settings) -> FastAPI:
    return create_app(settings.model_copy(update={"db_lock_timeout": 0.3}))


@pytest.fixture
def client(quick_to_give_up_app: FastAPI, engine: object) -> Iterator[TestClient]:
    with TestClient(quick_to_give_up_app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def locking_engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url)
    yield engine
    engine.dispose()


def wait_until(condition: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def lease_taken(db: Session, order_id: int) -> bool:
    db.rollback()
    return db.scalar(select(Order.fulfilment_lease_until).where(Order.id == order_id)) is not None


def test_the_answer_is_recorded_after_the_lock_is_released(
    client: TestClient,
    db: Session,
    shop,
    imported,
    control: httpx.Client,
    locking_engine: Engine,
    is_postgres: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL's lock_timeout")
    _, _, vendor_auth = shop
    order = imported(shipment("S1", [unit("u1", "known", KNOWN)]))
    control.post("/control/faults", json={"latency_ms": 800}).raise_for_status()
    caplog.set_level(logging.WARNING, logger="ordergate.letzshop.fulfilment")

    with ThreadPoolExecutor(max_workers=1) as pool:
        confirm = pool.submit(
            client.post, f"/api/v1/vendor/letzshop/orders/{order.id}/confirm", headers=vendor_auth
        )
        wait_until(lambda: lease_taken(db, order.id), "the confirm never took its lease")
        with locking_engine.begin() as holder:
            holder.execute(
                text("SELECT id FROM orders WHERE id = :id FOR UPDATE"), {"id": order.id}
            )
            wait_until(lambda: mutations(control), "the confirm never reached Letzshop")
            time.sleep(0.6)  # the first attempt to record the answer runs into lock_timeout
        response = confirm.result()

    assert response.status_code == 200, response.text
    assert "met a busy database" in caplog.text
    assert local_unit_states(db) == sandbox_unit_states(control) == {"u1": "confirmed_available"}
    assert db.get(Order, order.id).fulfilment_lease_until is None
    assert [action for action, _ in order_events(db, order.id)] == ["confirmed"]
