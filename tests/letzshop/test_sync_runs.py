"""Sync runs hold a lease (heartbeat) while they run: a run whose process died reads as
abandoned, a live run keeps a second sync of the vendor out (409), and a new run resumes from
the last committed page of an abandoned or failed one."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ordergate.db import make_engine, make_session_factory, utcnow
from ordergate.letzshop.errors import SyncInProgressError, SyncRunAbandonedError
from ordergate.letzshop.models import SyncRun, SyncState, SyncTrigger
from ordergate.letzshop.runs import claim_run
from ordergate.letzshop.sync import SyncSummary, run_sync
from ordergate.orders.models import Order, OrderItemUnit
from ordergate.scope import VendorScope
from tests.factories import Caller, make_vendor
from tests.letzshop.conftest import KEY, letzshop_path
from tests.letzshop.tuning import dated, decide_in_sandbox, served, tuned

STALE = timedelta(minutes=10)


def _runs_path(vendor_id: int) -> str:
    return f"/api/v1/admin/letzshop/vendors/{vendor_id}/sync-runs"


def _add_run(db: Session, vendor_id: int, *, age: timedelta, **values: Any) -> SyncRun:
    """A run row as another process would have left it, its last heartbeat ``age`` ago."""
    row: dict[str, Any] = {
        "trigger": "cli",
        "state_filter": "unconfirmed",
        "status": "running",
        "started_at": utcnow() - age - timedelta(seconds=5),
        "heartbeat_at": utcnow() - age,
        "failures": [],
        **values,
    }
    run = SyncRun(vendor_id=vendor_id, **row)
    db.add(run)
    db.commit()
    return run


def _run_count(db: Session) -> int:
    db.rollback()
    return db.scalar(select(func.count()).select_from(SyncRun)) or 0


def _orders(db: Session) -> list[str]:
    db.rollback()
    return sorted(db.scalars(select(Order.external_shipment_id)))


def test_run_answers_show_the_heartbeat_pages_and_cursor(
    app: FastAPI, client: TestClient, connected: Caller, control: httpx.Client
) -> None:
    headers = connected.headers
    with tuned(app, letzshop_page_size=10):
        body = client.post(letzshop_path(connected, "/sync"), headers=headers).json()
    pages = served(control, state="unconfirmed")
    assert len(pages) >= 2
    assert body["pages_done"] == len(pages)
    listed = client.get(letzshop_path(connected, "/sync-runs"), headers=headers).json()
    one = client.get(letzshop_path(connected, f"/sync-runs/{body['run_id']}"), headers=headers)
    assert listed["sync_runs"] == [one.json()]
    one = one.json()
    assert (one["id"], one["vendor_id"]) == (body["run_id"], connected.vendor.id)
    assert one["status"] == "succeeded"
    assert one["pages_done"] == len(pages)
    assert one["heartbeat_at"] >= one["started_at"]
    assert one["last_cursor"]


def test_unknown_sync_run_is_404_naming_it(client: TestClient, caller: Caller) -> None:
    response = client.get(letzshop_path(caller, "/sync-runs/4242"), headers=caller.headers)
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "SYNC_RUN_NOT_FOUND"
    assert error["message"] == f"Sync run 4242 not found for vendor {caller.vendor.id}"
    assert error["details"] == {"vendor_id": caller.vendor.id, "run_id": 4242}


def test_another_vendors_sync_run_is_404(client: TestClient, db: Session, caller: Caller) -> None:
    other = make_vendor(db, code="other")
    run = _add_run(db, other.id, age=STALE)  # stale: reading must not mark it abandoned either
    response = client.get(letzshop_path(caller, f"/sync-runs/{run.id}"), headers=caller.headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "SYNC_RUN_NOT_FOUND"
    db.expire_all()
    assert db.get(SyncRun, run.id).status == "running"  # type: ignore[union-attr]


def test_a_run_without_a_recent_heartbeat_reads_as_abandoned(
    client: TestClient, db: Session, shop
) -> None:
    vendor, admin, _ = shop
    stale = _add_run(db, vendor.id, age=STALE)
    legacy = _add_run(db, vendor.id, age=timedelta(hours=1), heartbeat_at=None)  # before leases
    live = _add_run(db, vendor.id, age=timedelta(seconds=1))
    runs = {
        r["id"]: r for r in client.get(_runs_path(vendor.id), headers=admin).json()["sync_runs"]
    }
    assert runs[stale.id]["status"] == runs[legacy.id]["status"] == "abandoned"
    assert runs[stale.id]["finished_at"] is not None
    assert "heartbeat" in runs[stale.id]["error"]
    assert runs[live.id]["status"] == "running"
    db.expire_all()
    assert [db.get(SyncRun, r.id).status for r in (stale, legacy, live)] == [  # type: ignore[union-attr]
        "abandoned",
        "abandoned",
        "running",
    ]


def test_reading_one_stale_run_marks_it_abandoned(client: TestClient, db: Session, shop) -> None:
    vendor, _, vendor_auth = shop
    stale = _add_run(db, vendor.id, age=STALE)
    body = client.get(f"/api/v1/vendor/letzshop/sync-runs/{stale.id}", headers=vendor_auth).json()
    assert body["status"] == "abandoned"


def test_a_live_run_keeps_a_second_sync_out_with_409(
    client: TestClient, db: Session, shop, control: httpx.Client
) -> None:
    vendor, admin, _ = shop
    live = _add_run(db, vendor.id, age=timedelta(seconds=2))
    response = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "SYNC_IN_PROGRESS"
    assert error["details"] == {"vendor_id": vendor.id, "run_id": live.id}
    assert str(live.id) in error["message"]
    assert _run_count(db) == 1
    assert _orders(db) == []
    assert served(control) == []


def test_a_stale_run_does_not_block_and_is_marked_abandoned(
    client: TestClient, db: Session, shop
) -> None:
    vendor, admin, _ = shop
    stale = _add_run(db, vendor.id, age=STALE)
    response = client.post(f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync", headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded"
    db.expire_all()
    assert db.get(SyncRun, stale.id).status == "abandoned"  # type: ignore[union-attr]


def test_two_syncs_of_one_vendor_at_once_one_runs_the_other_gets_409(
    client: TestClient, db: Session, shop, control: httpx.Client
) -> None:
    vendor, admin, _ = shop
    control.post("/control/faults", json={"latency_ms": 400}).raise_for_status()
    path = f"/api/v1/admin/letzshop/vendors/{vendor.id}/sync"

    def sync(barrier: threading.Barrier, answers: list[httpx.Response]) -> None:
        barrier.wait()
        answers.append(client.post(path, headers=admin))

    for _ in range(3):
        barrier = threading.Barrier(2)
        answers: list[httpx.Response] = []
        threads = [threading.Thread(target=sync, args=(barrier, answers)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        ok, refused = sorted(answers, key=lambda r: r.status_code)
        assert (ok.status_code, refused.status_code) == (200, 409), refused.text
        assert refused.json()["error"]["code"] == "SYNC_IN_PROGRESS"
        assert refused.json()["error"]["details"]["run_id"] == ok.json()["run_id"]
    assert _run_count(db) == 3
    assert (
        db.scalar(select(func.count()).select_from(SyncRun).where(SyncRun.status == "running")) == 0
    )


def _job(app: FastAPI, vendor_id: int, **overrides: Any) -> Callable[..., SyncSummary]:
    settings = app.state.settings.model_copy(update=overrides)

    def run(on_page: Callable[[SyncSummary], None] | None = None) -> SyncSummary:
        return run_sync(
            app.state.session_factory,
            settings=settings,
            box=app.state.secret_box,
            scope=VendorScope(actor_user_id=None, vendor_id=vendor_id, is_admin=True),
            trigger=SyncTrigger.CLI,
            on_page=on_page,
        )

    return run


def _crash_after(pages: int) -> Callable[[SyncSummary], None]:
    def on_page(summary: SyncSummary) -> None:
        if summary.pages_done == pages:
            raise RuntimeError("process died")

    return on_page


def test_resume_continues_from_the_cursor_then_walks_the_pages_before_it(
    app: FastAPI, db: Session, shop, control: httpx.Client, put_shipments: Callable
) -> None:
    vendor, _, _ = shop
    ids = [f"S{n:02d}" for n in range(1, 13)]
    put_shipments(*(dated(s, [f"{s}a", f"{s}b"], days_ago=1) for s in ids))
    job = _job(app, vendor.id, letzshop_page_size=3)
    with pytest.raises(RuntimeError):
        job(_crash_after(2))
    crashed = db.scalars(select(SyncRun)).one()
    assert (crashed.status, crashed.pages_done, _orders(db)) == ("failed", 2, ids[:6])
    # Meanwhile at Letzshop: S02 (imported) confirmed, S03 (imported) half decided, S08 (not
    # yet imported) confirmed, S13 new.
    decide_in_sandbox(
        control, {"S02a": True, "S02b": True, "S03a": False, "S08a": True, "S08b": True}
    )
    control.post(
        "/control/shipments",
        json={"api_key": KEY, "shipments": [dated("S13", ["S13a"], days_ago=0.5)]},
    ).raise_for_status()
    before = len(served(control))

    summary = job()

    walk = served(control)[before:]
    assert walk[0]["variables"]["after"] == crashed.last_cursor
    assert [r["shipment_ids"] for r in walk] == [
        ["S07", "S09", "S10"],
        ["S11", "S12", "S13"],
        ["S01", "S03", "S04"],  # the pages before the cursor, until one already seen
        ["S05", "S06", "S07"],
        ["S08", "S02"],  # reconciliation: the confirmed list, newest first
    ]
    assert summary.resumed_from_run_id == crashed.id
    assert (summary.status, summary.orders_created, summary.orders_reconciled) == (
        "succeeded",
        6,
        1,
    )
    assert _orders(db) == sorted([*ids[:7], *ids[8:], "S13"])
    states = dict(db.execute(select(OrderItemUnit.external_unit_id, OrderItemUnit.state)).all())
    assert (states["S02a"], states["S03a"], states["S03b"]) == (
        "confirmed_available",
        "confirmed_unavailable",
        "unconfirmed",
    )


def test_a_run_after_a_successful_one_starts_at_page_one(
    app: FastAPI, shop, control: httpx.Client, put_shipments: Callable
) -> None:
    vendor, _, _ = shop
    put_shipments(*(dated(f"S{n}", [f"u{n}"], days_ago=1) for n in range(5)))
    job = _job(app, vendor.id, letzshop_page_size=2)
    job()
    before = len(served(control))
    assert job().resumed_from_run_id is None
    assert served(control)[before]["variables"]["after"] is None


def test_a_refused_resume_cursor_falls_back_to_a_full_walk(
    app: FastAPI, db: Session, shop, control: httpx.Client, put_shipments: Callable
) -> None:
    vendor, _, _ = shop
    put_shipments(*(dated(f"S{n}", [f"u{n}"], days_ago=1) for n in range(5)))
    _add_run(db, vendor.id, age=STALE, status="failed", last_cursor="not-a-cursor")
    summary = _job(app, vendor.id, letzshop_page_size=2)()
    walk = served(control)
    assert [r["variables"]["after"] for r in walk][:2] == ["not-a-cursor", None]
    assert (summary.status, summary.orders_created) == ("succeeded", 5)


def test_a_run_whose_lease_was_taken_stops_at_its_next_page(
    app: FastAPI, db: Session, shop, put_shipments: Callable
) -> None:
    vendor, _, _ = shop
    put_shipments(*(dated(f"S{n}", [f"u{n}"], days_ago=1) for n in range(6)))

    def swept(summary: SyncSummary) -> None:
        # Another process judged this run dead (say, a page took longer than the lease).
        with app.state.session_factory() as session:
            session.execute(
                update(SyncRun).where(SyncRun.id == summary.run_id).values(status="abandoned")
            )
            session.commit()

    with pytest.raises(SyncRunAbandonedError) as raised:
        _job(app, vendor.id, letzshop_page_size=2)(swept)
    assert raised.value.code == "SYNC_RUN_ABANDONED"
    run = db.scalars(select(SyncRun)).one()
    assert (run.status, run.pages_done) == ("abandoned", 1)
    assert _orders(db) == ["S0", "S1"]


def test_claims_are_race_safe_even_without_begin_immediate(
    database_url: str, db: Session, shop
) -> None:
    """Two claims inside overlapping transactions on an engine with plain BEGIN (SQLite's
    deferred mode, where a read does not take the write lock): one run, one 409."""
    vendor, _, _ = shop
    engine = make_engine(database_url, sqlite_immediate=False)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def claim() -> None:
        with make_session_factory(engine)() as session:
            barrier.wait()
            try:
                claim_run(
                    session,
                    scope=VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True),
                    state=SyncState.UNCONFIRMED,
                    trigger=SyncTrigger.CLI,
                    lease_seconds=300,
                )
                time.sleep(0.3)  # hold the transaction open while the other one tries
                session.commit()
                outcomes.append("claimed")
            except SyncInProgressError:
                outcomes.append("in progress")

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()
    assert sorted(outcomes) == ["claimed", "in progress"]
    assert _run_count(db) == 1
