"""Scheduled syncs: `sync_interval_minutes` on the credentials (`auto_sync` is its on/off view)
and which vendors are due; on both databases (the queue that acts on it: tests/jobs/)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ordergate import migrate
from ordergate.db import make_engine, utcnow
from ordergate.letzshop.models import LetzshopCredentials, SyncRun
from ordergate.letzshop.queueing import due_vendor_ids
from ordergate.security import SecretBox
from ordergate.vendors.models import Vendor
from tests.conftest import TEST_SECRET
from tests.factories import admin_headers, make_vendor

SANDBOX = "http://127.0.0.1:8765/graphql"


def _connected(db: Session, code: str, interval: int | None, *, active: bool = True) -> Vendor:
    vendor = make_vendor(db, code=code)
    vendor.is_active = active
    db.add(
        LetzshopCredentials(
            vendor_id=vendor.id,
            endpoint_url=SANDBOX,
            api_key_encrypted=SecretBox(TEST_SECRET).encrypt("key-123456789"),
            sync_interval_minutes=interval,
        )
    )
    db.flush()
    return vendor


def _run(db: Session, vendor: Vendor, *, minutes_ago: float, status: str) -> None:
    db.add(
        SyncRun(
            vendor_id=vendor.id,
            trigger="schedule",
            state_filter="unconfirmed",
            status=status,
            started_at=utcnow() - timedelta(minutes=minutes_ago),
            heartbeat_at=utcnow(),
            failures=[],
        )
    )


def test_due_vendors_are_those_whose_interval_passed_since_their_latest_run(db: Session) -> None:
    overdue = _connected(db, "overdue", 10)
    _run(db, overdue, minutes_ago=30, status="succeeded")
    _run(db, overdue, minutes_ago=11, status="failed")
    recent = _connected(db, "recent", 10)
    _run(db, recent, minutes_ago=30, status="succeeded")
    _run(db, recent, minutes_ago=5, status="succeeded")
    never = _connected(db, "never", 60)
    live = _connected(db, "live", 10)
    _run(db, live, minutes_ago=20, status="running")
    waiting = _connected(db, "waiting", 10)
    _run(db, waiting, minutes_ago=20, status="queued")
    _connected(db, "off", None)
    _connected(db, "inactive", 1, active=False)
    db.commit()

    assert due_vendor_ids(db, now=utcnow()) == [overdue.id, never.id]


CREDENTIALS = "/api/v1/admin/letzshop/vendors/{}/credentials"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"sync_interval_minutes": 15}, (15, True)),
        ({"auto_sync": True}, (10, True)),
        ({"auto_sync": False}, (None, False)),
        ({"sync_interval_minutes": None}, (None, False)),
        ({"sync_interval_minutes": 15, "auto_sync": True}, (15, True)),
        # Both sent: the interval wins over the older on/off flag.
        ({"sync_interval_minutes": 15, "auto_sync": False}, (15, True)),
        ({"sync_interval_minutes": None, "auto_sync": True}, (None, False)),
        ({"endpoint": SANDBOX}, (None, False)),  # left out: unchanged
    ],
)
def test_the_interval_is_set_directly_or_through_auto_sync(
    client: TestClient, db: Session, body: dict[str, Any], expected: tuple[Any, bool]
) -> None:
    vendor = make_vendor(db, code="luxtoys")
    db.commit()
    admin = admin_headers(client, db)
    path = CREDENTIALS.format(vendor.id)
    created = client.put(
        path, headers=admin, json={"api_key": "key-123456789", "endpoint": SANDBOX}
    )
    assert created.json()["sync_interval_minutes"] is None

    answer = client.put(path, headers=admin, json=body)

    assert answer.status_code == 200, answer.text
    out = answer.json()
    assert (out["sync_interval_minutes"], out["auto_sync"]) == expected
    db.rollback()
    stored = db.scalars(select(LetzshopCredentials.sync_interval_minutes)).one()
    assert stored == expected[0]


def test_auto_sync_on_keeps_an_interval_already_set(client: TestClient, db: Session) -> None:
    vendor = make_vendor(db, code="luxtoys")
    db.commit()
    admin = admin_headers(client, db)
    path = CREDENTIALS.format(vendor.id)
    body = {"api_key": "key-123456789", "endpoint": SANDBOX, "sync_interval_minutes": 45}
    assert client.put(path, headers=admin, json=body).status_code == 200

    again = client.put(path, headers=admin, json={"auto_sync": True})

    assert (again.json()["sync_interval_minutes"], again.json()["auto_sync"]) == (45, True)


@pytest.mark.parametrize(
    "body",
    [
        {"sync_interval_minutes": 0},
        {"sync_interval_minutes": 10081},
        {"sync_interval_minutes": "often"},
    ],
)
def test_a_bad_interval_is_refused_and_changes_nothing(
    client: TestClient, db: Session, body: dict[str, Any]
) -> None:
    vendor = make_vendor(db, code="luxtoys")
    db.commit()
    admin = admin_headers(client, db)
    path = CREDENTIALS.format(vendor.id)
    first = {"api_key": "key-123456789", "endpoint": SANDBOX, "sync_interval_minutes": 30}
    assert client.put(path, headers=admin, json=first).status_code == 200

    refused = client.put(path, headers=admin, json=body)

    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "VALIDATION_ERROR"
    db.rollback()
    assert db.scalars(select(LetzshopCredentials.sync_interval_minutes)).one() == 30


def test_migration_0013_keeps_auto_sync_as_an_interval_and_back(scratch_url: str) -> None:
    migrate.upgrade(scratch_url, "0012")
    engine = make_engine(scratch_url)
    now = utcnow()
    with engine.begin() as conn:
        for code in ("on", "off"):
            conn.execute(
                text(
                    "INSERT INTO vendors (code, name, is_active, created_at, updated_at) "
                    "VALUES (:code, :code, true, :now, :now)"
                ),
                {"code": code, "now": now},
            )
            conn.execute(
                text(
                    "INSERT INTO letzshop_credentials (vendor_id, endpoint_url, "
                    "api_key_encrypted, api_key_last4, auto_sync, created_at, updated_at, "
                    "last_check_blocks_confirmation) SELECT id, 'http://x/graphql', 'k', NULL, "
                    ":on, :now, :now, false FROM vendors WHERE code = :code"
                ),
                {"on": code == "on", "now": now, "code": code},
            )
    query = (
        "SELECT v.code, c.{} FROM letzshop_credentials c JOIN vendors v ON v.id = c.vendor_id "
        "ORDER BY v.code"
    )
    try:
        migrate.upgrade(scratch_url)
        with engine.connect() as conn:
            assert conn.execute(text(query.format("sync_interval_minutes"))).all() == [
                ("off", None),
                ("on", 10),
            ]
        migrate.downgrade(scratch_url, "0012")
        with engine.connect() as conn:
            rows = conn.execute(text(query.format("auto_sync"))).all()
        assert [(code, bool(on)) for code, on in rows] == [("off", False), ("on", True)]
    finally:
        engine.dispose()
