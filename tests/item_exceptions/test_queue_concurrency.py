"""The grouped queue under concurrent writers, on SQLite and PostgreSQL: group totals stay
exact when transactions change the same groups at once, and two bulk resolves by selection over
overlapping ids resolve each exception exactly once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.db import make_engine, make_session_factory
from ordergate.item_exceptions import queue
from ordergate.scope import VendorScope
from tests.factories import (
    event_count,
    exception_state,
    make_actors,
    make_product,
    make_unmatched_line,
)
from tests.item_exceptions.test_queue_groups import G1, oracle, stored


def test_concurrent_writers_of_one_group_keep_its_totals_exact(
    client: TestClient, db: Session, database_url: str
) -> None:
    """Four transactions add lines of one GTIN and resolve others of it at the same time;
    on PostgreSQL each waits for the group row the previous one locked, then recomputes from
    the members committed by then."""
    actors = make_actors(client, db)
    vendor_id = actors.vendor.id
    existing = [make_unmatched_line(db, vendor_id=vendor_id, gtin=G1) for _ in range(8)]
    product = make_product(db, vendor_id=vendor_id, gtin="5702016618891")
    db.commit()
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    barrier = threading.Barrier(4)
    scope = VendorScope(actor_user_id=None, vendor_id=vendor_id)

    def work(n: int) -> None:
        with sessions() as session:
            barrier.wait()
            if n % 2:
                make_unmatched_line(session, vendor_id=vendor_id, gtin=G1)
                make_unmatched_line(session, vendor_id=vendor_id, gtin=G1)
            else:
                queue.bulk_resolve_selection(
                    session,
                    scope=scope,
                    exception_ids=[existing[n].id, existing[n + 1].id],
                    product_id=product.id,
                )
            session.commit()

    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            for future in [pool.submit(work, n) for n in range(4)]:
                future.result()
    finally:
        engine.dispose()
    assert stored(db) == oracle(db)
    totals = {key[1]: value[0] for key, value in stored(db).items()}
    assert totals == {"pending": 8, "resolved": 4}


def test_two_overlapping_selections_resolve_each_exception_once(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    vendor_id = actors.vendor.id
    made = [make_unmatched_line(db, vendor_id=vendor_id, gtin=G1) for _ in range(6)]
    first = make_product(db, vendor_id=vendor_id, title="First")
    second = make_product(db, vendor_id=vendor_id, title="Second")
    db.commit()
    barrier = threading.Barrier(2)

    def resolve(ids: list[int], product_id: int, headers: dict[str, str], admin: bool) -> Any:
        barrier.wait()
        response = client.post(
            ("/api/v1/admin" if admin else "/api/v1/vendor") + "/order-exceptions/bulk/resolve",
            headers=headers,
            params={"vendor_id": vendor_id} if admin else {},
            json={"exception_ids": ids, "product_id": product_id},
        )
        assert response.status_code == 200, response.text
        return response.json()

    ids = [e.id for e in made]
    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(resolve, ids[:4], first.id, actors.vendor_headers, False)
        b = pool.submit(resolve, ids[2:], second.id, actors.admin, True)
        results = [a.result(), b.result()]
    # The overlap (ids 2 and 3) is resolved by whichever came first, skipped by the other.
    assert sum(r["resolved_count"] for r in results) == 6
    assert sum(r["skipped_count"] for r in results) == 2
    for exception in made:
        state = exception_state(db, exception.id)
        assert state["status"] == "resolved"
        assert state["item_product_id"] == state["resolved_product_id"]
    assert event_count(db) == 6
    assert stored(db) == oracle(db)
