"""Two resolves of one exception at once: exactly one wins, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.db import make_engine, make_session_factory
from ordergate.item_exceptions import service
from ordergate.item_exceptions.errors import ExceptionAlreadyResolvedError
from ordergate.scope import VendorScope
from tests.factories import (
    exception_state,
    make_actors,
    make_product,
    make_unmatched_line,
)


def test_two_simultaneous_http_resolves_one_succeeds(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    first = make_product(db, vendor_id=actors.vendor.id, title="First")
    second = make_product(db, vendor_id=actors.vendor.id, title="Second")
    db.commit()
    barrier = threading.Barrier(2)

    def resolve(product_id: int, headers: dict[str, str]) -> tuple[int, dict]:
        barrier.wait()
        response = client.post(
            f"/api/v1/vendor/order-exceptions/{exception.id}/resolve"
            if headers is actors.vendor_headers
            else f"/api/v1/admin/order-exceptions/{exception.id}/resolve",
            headers=headers,
            json={"product_id": product_id},
        )
        return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(resolve, first.id, actors.vendor_headers),
            pool.submit(resolve, second.id, actors.admin),
        ]
        results = [f.result() for f in futures]

    assert sorted(status for status, _ in results) == [200, 400]
    winner = next(body for status, body in results if status == 200)
    loser = next(body for status, body in results if status == 400)
    assert loser["error"]["code"] == "EXCEPTION_ALREADY_RESOLVED"
    state = exception_state(db, exception.id)
    assert state["events"] == 1
    assert state["status"] == "resolved"
    assert state["resolved_product_id"] == winner["resolved_product_id"]
    assert state["item_product_id"] == winner["resolved_product_id"]


def test_resolve_that_read_pending_loses_to_a_concurrent_commit(
    client: TestClient, db: Session, database_url: str
) -> None:
    """B starts while A's resolve is uncommitted. On PostgreSQL B reads "pending" and then
    waits on A's row lock in its UPDATE; the UPDATE's own condition makes B lose (a check-then-
    write would overwrite A). On SQLite B waits for A's write lock before it reads."""
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    exception_id = exception.id
    winner = make_product(db, vendor_id=actors.vendor.id, title="Winner")
    loser = make_product(db, vendor_id=actors.vendor.id, title="Loser")
    db.commit()
    # The app's engine settings (on SQLite: transactions take the write lock when they begin).
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    session_a, session_b = sessions(), sessions()
    outcome: dict[str, object] = {}

    def resolve_b() -> None:
        try:
            service.resolve_exception(
                session_b,
                scope=VendorScope(actor_user_id=actors.vendor_user_id, vendor_id=actors.vendor.id),
                exception_id=exception_id,
                product_id=loser.id,
            )
            session_b.commit()
            outcome["b"] = "committed"
        except ExceptionAlreadyResolvedError as exc:
            session_b.rollback()
            outcome["b"] = exc.code

    try:
        service.resolve_exception(
            session_a,
            scope=VendorScope(actor_user_id=actors.admin_id, vendor_id=actors.vendor.id),
            exception_id=exception_id,
            product_id=winner.id,
        )
        thread = threading.Thread(target=resolve_b)
        thread.start()
        time.sleep(0.5)
        assert thread.is_alive(), "B should wait for A's lock"
        session_a.commit()
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        session_a.close()
        session_b.close()
        engine.dispose()

    assert outcome == {"b": "EXCEPTION_ALREADY_RESOLVED"}
    state = exception_state(db, exception_id)
    assert (state["resolved_product_id"], state["item_product_id"], state["events"]) == (
        winner.id,
        winner.id,
        1,
    )
    assert state["resolved_by"] == actors.admin_id


@pytest.mark.parametrize("attempts", [4])
def test_many_simultaneous_resolves_exactly_one_wins(
    client: TestClient, db: Session, attempts: int
) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    product = make_product(db, vendor_id=actors.vendor.id)
    db.commit()
    barrier = threading.Barrier(attempts)

    def resolve() -> int:
        barrier.wait()
        return client.post(
            f"/api/v1/admin/order-exceptions/{exception.id}/resolve",
            headers=actors.admin,
            json={"product_id": product.id},
        ).status_code

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        statuses = sorted(pool.map(lambda _: resolve(), range(attempts)))
    assert statuses == [200] + [400] * (attempts - 1)
    assert exception_state(db, exception.id)["events"] == 1
