"""Reopen and create-product under concurrency: of two racing reopens, a reopen and a resolve,
or two create-products, exactly one wins; a reopen and a confirm never both go through.

The service-level tests hold transaction A open while B runs in a thread. On PostgreSQL B reads
the committed state and then waits on A's row lock, so the conditional UPDATEs (and the order
lock) decide; on SQLite B waits for A's write lock before it reads, so it runs after A."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ordergate.catalog.models import Product
from ordergate.db import make_engine, make_session_factory
from ordergate.errors import AppError
from ordergate.item_exceptions import actions, repository, service
from ordergate.orders import fulfilment
from ordergate.orders.models import Order, OrderItem, OrderItemException
from ordergate.scope import VendorScope
from tests.factories import (
    Actors,
    events_of,
    exception_state,
    make_actors,
    make_exception,
    make_item,
    make_order,
    make_product,
    make_unmatched_line,
    reload,
)

GTIN = "4006381333931"


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions with the app's engine settings (on SQLite: BEGIN IMMEDIATE)."""
    engine = make_engine(database_url)
    yield make_session_factory(engine)
    engine.dispose()


def _resolved(db: Session, actors: Actors, *, status: str = "resolved") -> OrderItemException:
    vendor_id = actors.vendor.id
    product = make_product(db, vendor_id=vendor_id, gtin=GTIN, title="Chosen")
    order = make_order(db, vendor_id=vendor_id)
    item = make_item(
        db, order=order, gtin=GTIN, product_id=None if status != "resolved" else product.id
    )
    exception = make_exception(
        db,
        item=item,
        status=status,
        resolved_product_id=product.id if status == "resolved" else None,
    )
    db.commit()
    return exception


def _scope(actors: Actors, user_id: int | None = None) -> VendorScope:
    return VendorScope(actor_user_id=user_id or actors.vendor_user_id, vendor_id=actors.vendor.id)


def _race(
    sessions: sessionmaker[Session],
    first: Callable[[Session], Any],
    second: Callable[[Session], Any],
    *,
    expect_wait: bool = True,
) -> dict[str, str]:
    """Run ``first`` in an open transaction, start ``second`` in a thread, commit ``first``;
    returns each one's outcome: "committed" or the error code."""
    session_a, session_b = sessions(), sessions()
    outcome: dict[str, str] = {}

    def run_b() -> None:
        try:
            second(session_b)
            session_b.commit()
            outcome["b"] = "committed"
        except AppError as exc:
            session_b.rollback()
            outcome["b"] = exc.code

    try:
        first(session_a)
        thread = threading.Thread(target=run_b)
        thread.start()
        time.sleep(0.5)
        if expect_wait:
            assert thread.is_alive(), "B should wait for A's lock"
        session_a.commit()
        outcome["a"] = "committed"
        thread.join(timeout=30)
        assert not thread.is_alive()
    finally:
        session_a.close()
        session_b.close()
    return outcome


def _postgres_only(is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("SQLite runs writers one after the other: there is no interleaving to test")


# --- over HTTP, both databases ---------------------------------------------------------------


def test_two_simultaneous_http_reopens_exactly_one_wins(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = _resolved(db, actors)
    barrier = threading.Barrier(4)

    def reopen(headers: dict[str, str], tree: str) -> int:
        barrier.wait()
        return client.post(
            f"/api/v1/{tree}/order-exceptions/{exception.id}/reopen",
            headers=headers,
            json={"notes": "race"},
        ).status_code

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [
            pool.submit(reopen, actors.vendor_headers, "vendor"),
            pool.submit(reopen, actors.admin, "admin"),
            pool.submit(reopen, actors.vendor_headers, "vendor"),
            pool.submit(reopen, actors.admin, "admin"),
        ]
        statuses = sorted(f.result() for f in futures)
    assert statuses == [200, 400, 400, 400]
    assert [e["action"] for e in events_of(db, exception.id)] == ["reopened"]
    assert exception_state(db, exception.id)["status"] == "pending"


def test_two_simultaneous_create_products_exactly_one_wins(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id, gtin=GTIN)
    db.commit()
    barrier = threading.Barrier(2)

    def create(headers: dict[str, str], tree: str) -> int:
        barrier.wait()
        return client.post(
            f"/api/v1/{tree}/order-exceptions/{exception.id}/create-product",
            headers=headers,
            json={},
        ).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [
            pool.submit(create, actors.vendor_headers, "vendor"),
            pool.submit(create, actors.admin, "admin"),
        ]
        statuses = sorted(f.result() for f in futures)
    # The loser is refused before writing (it read "resolved"), or its write found the
    # exception resolved and its product went with its rollback.
    assert statuses in ([201, 400], [201, 409])
    products = list(db.scalars(select(Product.id).where(Product.is_placeholder.is_(False))))
    db.commit()
    assert len(products) == 1
    state = exception_state(db, exception.id)
    assert (state["status"], state["item_product_id"], state["events"]) == (
        "resolved",
        products[0],
        1,
    )


# --- one transaction held open, both databases -----------------------------------------------


def test_a_reopen_that_read_resolved_loses_to_a_concurrent_reopen(
    client: TestClient, db: Session, sessions: sessionmaker[Session]
) -> None:
    actors = make_actors(client, db)
    exception = _resolved(db, actors)

    def reopen(session: Session) -> None:
        actions.reopen_exception(
            session, scope=_scope(actors), exception_id=exception.id, notes="race"
        )

    assert _race(sessions, reopen, reopen) == {
        "a": "committed",
        "b": "EXCEPTION_ALREADY_PENDING",
    }
    assert [e["action"] for e in events_of(db, exception.id)] == ["reopened"]


# --- PostgreSQL: the interleavings SQLite cannot have ----------------------------------------


def test_reopen_then_resolve_of_an_ignored_exception_exactly_one_wins(
    client: TestClient, db: Session, sessions: sessionmaker[Session], is_postgres: bool
) -> None:
    _postgres_only(is_postgres)
    actors = make_actors(client, db)
    exception = _resolved(db, actors, status="ignored")
    product = make_product(db, vendor_id=actors.vendor.id, title="Other")
    db.commit()

    def reopen(session: Session) -> None:
        actions.reopen_exception(
            session, scope=_scope(actors), exception_id=exception.id, notes="back to the queue"
        )

    def resolve(session: Session) -> None:
        service.resolve_exception(
            session,
            scope=_scope(actors, actors.admin_id),
            exception_id=exception.id,
            product_id=product.id,
        )

    assert _race(sessions, reopen, resolve) == {"a": "committed", "b": "EXCEPTION_CHANGED"}
    state = exception_state(db, exception.id)
    assert (state["status"], state["resolved_product_id"]) == ("pending", None)
    assert [e["action"] for e in events_of(db, exception.id)] == ["reopened"]


def test_resolve_then_reopen_of_an_ignored_exception_exactly_one_wins(
    client: TestClient, db: Session, sessions: sessionmaker[Session], is_postgres: bool
) -> None:
    _postgres_only(is_postgres)
    actors = make_actors(client, db)
    exception = _resolved(db, actors, status="ignored")
    product = make_product(db, vendor_id=actors.vendor.id, title="Other")
    db.commit()

    def resolve(session: Session) -> None:
        service.resolve_exception(
            session,
            scope=_scope(actors, actors.admin_id),
            exception_id=exception.id,
            product_id=product.id,
        )

    def reopen(session: Session) -> None:
        actions.reopen_exception(
            session, scope=_scope(actors), exception_id=exception.id, notes="back to the queue"
        )

    assert _race(sessions, resolve, reopen) == {"a": "committed", "b": "EXCEPTION_CHANGED"}
    state = exception_state(db, exception.id)
    assert (state["status"], state["item_product_id"]) == ("resolved", product.id)
    assert [e["action"] for e in events_of(db, exception.id)] == ["resolved"]


def test_a_reopen_that_read_a_resolution_never_undoes_a_newer_one(
    client: TestClient, db: Session, sessions: sessionmaker[Session]
) -> None:
    """C read the first resolution; A reopened it and B resolved it again, both committed:
    C's reopen must not undo B's resolution (the row's ``updated_at`` tells them apart)."""
    actors = make_actors(client, db)
    exception = _resolved(db, actors)
    right = make_product(db, vendor_id=actors.vendor.id, title="Right")
    db.commit()
    scope = _scope(actors)
    with sessions() as c:
        read = c.get_one(OrderItemException, exception.id)
        status, updated_at = read.status, read.updated_at
        c.rollback()
    with sessions() as a:
        actions.reopen_exception(a, scope=scope, exception_id=exception.id, notes="wrong")
        a.commit()
    with sessions() as b:
        service.resolve_exception(b, scope=scope, exception_id=exception.id, product_id=right.id)
        b.commit()
    with sessions() as c:
        assert not repository.write_reopening(
            c, exception_id=exception.id, status=status, updated_at=updated_at, at=updated_at
        )
        c.rollback()
    state = exception_state(db, exception.id)
    assert (state["status"], state["item_product_id"]) == ("resolved", right.id)


def test_a_confirm_holding_the_lease_makes_a_concurrent_reopen_409(
    client: TestClient, db: Session, sessions: sessionmaker[Session], is_postgres: bool
) -> None:
    _postgres_only(is_postgres)
    actors = make_actors(client, db)
    exception = _resolved(db, actors)
    order_id = _order_id(db, exception)

    def confirm_start(session: Session) -> None:
        fulfilment.start_decision(
            session,
            scope=_scope(actors),
            order_id=order_id,
            decision=fulfilment.UnitDecision(fulfilment.Verdict.CONFIRM),
            lease_seconds=300,
        )

    def reopen(session: Session) -> None:
        actions.reopen_exception(
            session, scope=_scope(actors), exception_id=exception.id, notes="race"
        )

    assert _race(sessions, confirm_start, reopen) == {
        "a": "committed",
        "b": "FULFILMENT_IN_PROGRESS",
    }
    state = exception_state(db, exception.id)
    assert (state["status"], state["needs_product_match"], state["events"]) == (
        "resolved",
        False,
        0,
    )
    assert reload(db, Order, order_id).fulfilment_lease_until is not None


def test_a_reopen_holding_the_order_closes_the_gate_for_a_concurrent_confirm(
    client: TestClient, db: Session, sessions: sessionmaker[Session], is_postgres: bool
) -> None:
    _postgres_only(is_postgres)
    actors = make_actors(client, db)
    exception = _resolved(db, actors)
    order_id = _order_id(db, exception)

    def reopen(session: Session) -> None:
        actions.reopen_exception(
            session, scope=_scope(actors), exception_id=exception.id, notes="race"
        )

    def confirm_start(session: Session) -> None:
        fulfilment.start_decision(
            session,
            scope=_scope(actors),
            order_id=order_id,
            decision=fulfilment.UnitDecision(fulfilment.Verdict.CONFIRM),
            lease_seconds=300,
        )

    assert _race(sessions, reopen, confirm_start) == {
        "a": "committed",
        "b": "ORDER_HAS_UNRESOLVED_EXCEPTIONS",
    }
    assert exception_state(db, exception.id)["status"] == "pending"
    assert reload(db, Order, order_id).fulfilment_lease_until is None


def _order_id(db: Session, exception: OrderItemException) -> int:
    item = reload(db, OrderItem, exception.order_item_id)
    return item.order_id
