"""The demo's data as a new user meets it: seeded, imported from the demo sandbox, then the
marketplace feed uploaded and copied. Every exception type is there, some orders are at risk
and some overdue, and copying what the exceptions wait for auto-matches them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.db import make_session_factory, utcnow
from ordergate.demo import (
    DEMO_VENDORS,
    IMPORT_LAG,
    date_imports_as_if_live,
    demo_sandbox_state,
    seed_demo,
    write_marketplace_feed,
)
from ordergate.events.models import Event
from ordergate.item_exceptions import service
from ordergate.letzshop.models import SyncState, SyncTrigger
from ordergate.letzshop.sync import run_sync
from ordergate.orders.models import Order, OrderItem, OrderItemException
from ordergate.sandbox import SandboxHandle, run_in_thread
from ordergate.scope import Scope, VendorScope
from ordergate.security import SecretBox
from tests.conftest import TEST_SECRET
from tests.factories import login


@pytest.fixture
def demo_sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(demo_sandbox_state(utcnow()))
    yield handle
    handle.stop()


def _seed_and_import(db: Session, engine: Engine, settings: Settings, url: str) -> None:
    box = SecretBox(TEST_SECRET)
    vendors = seed_demo(db, box=box, settings=settings, sandbox_url=url)
    db.commit()
    factory = make_session_factory(engine)
    started = utcnow()
    for vendor in vendors:
        scope = VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True)
        run_sync(
            factory,
            settings=settings,
            box=box,
            scope=scope,
            trigger=SyncTrigger.DEMO,
            state=SyncState.ALL,
        )
    date_imports_as_if_live(db, vendor_ids=[v.id for v in vendors], imported_since=started)
    db.commit()


def test_the_demo_covers_every_exception_type_and_deadline_state(
    client: TestClient,
    db: Session,
    engine: Engine,
    settings: Settings,
    demo_sandbox: SandboxHandle,
    tmp_path: Path,
) -> None:
    _seed_and_import(db, engine, settings, demo_sandbox.graphql_url)
    db.rollback()
    rows = db.execute(
        select(
            OrderItemException.vendor_id,
            OrderItemException.exception_type,
            OrderItemException.original_gtin.is_(None),
        )
    ).all()
    for vendor_id in {r[0] for r in rows}:
        kinds = {(t, no_gtin) for v, t, no_gtin in rows if v == vendor_id}
        assert kinds >= {
            ("product_not_found", False),
            ("product_not_found", True),  # a line without a GTIN
            ("gtin_mismatch", False),
            ("duplicate_gtin", False),
        }, vendor_id
    assert len({r[0] for r in rows}) == len(DEMO_VENDORS)
    created = db.scalars(select(Event.after).where(Event.action == "created")).all()
    assert any(
        (after or {}).get("exception_type") == "duplicate_gtin"
        and len((after or {}).get("candidate_product_ids", [])) == 2
        for after in created
    )  # duplicates name their two candidates
    stats = service.exception_stats(
        db, scope=Scope(actor_user_id=None, vendor_id=None, is_admin=True)
    )
    db.rollback()
    assert stats.at_risk > 0
    assert stats.overdue > 0

    # The feed, uploaded as the admin and copied as the toy shop's owner, auto-matches.
    feed = write_marketplace_feed(tmp_path / "feed.tsv")
    admin = login(client, "admin@ordergate.test", password="ordergate-demo")
    imported = client.post(
        "/api/v1/admin/marketplace-products/import",
        headers=admin,
        files={"file": ("feed.tsv", feed.path.read_bytes())},
    )
    assert imported.status_code == 200, imported.text
    assert [e["row"] for e in imported.json()["failed"]] == feed.bad_rows
    assert [w["row"] for w in imported.json()["warnings"]] == feed.warning_rows
    owner = login(client, "owner@luxtoys.test", password="ordergate-demo")
    vendor_id = min(r[0] for r in rows)  # luxtoys, the first seeded
    scope = VendorScope(actor_user_id=None, vendor_id=vendor_id)
    ids = service.awaited_marketplace_product_ids(db, scope=scope)
    db.rollback()
    assert ids
    copied = client.post(
        "/api/v1/vendor/marketplace-products/copy-to-catalog",
        headers=owner,
        json={"marketplace_product_ids": ids},
    )
    assert copied.status_code == 200, copied.text
    assert copied.json()["auto_matched"] > 0


def test_the_feed_is_the_same_on_every_run(tmp_path: Path) -> None:
    first = write_marketplace_feed(tmp_path / "a.tsv")
    second = write_marketplace_feed(tmp_path / "b.tsv")
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.bad_rows == [53, 54]


def test_imported_rows_are_dated_as_a_live_shop_would_have_them(
    db: Session, engine: Engine, settings: Settings, demo_sandbox: SandboxHandle
) -> None:
    _seed_and_import(db, engine, settings, demo_sandbox.graphql_url)
    db.rollback()
    rows = db.execute(
        select(Order.order_date, OrderItem.created_at, OrderItemException.created_at, Event.at)
        .join(OrderItem, OrderItem.order_id == Order.id)
        .join(OrderItemException, OrderItemException.order_item_id == OrderItem.id)
        .join(
            Event,
            (Event.subject_type == "order_item_exception")
            & (Event.subject_id == OrderItemException.id)
            & (Event.action == "created"),
        )
    ).all()
    assert rows
    for placed, line_at, raised_at, event_at in rows:
        assert line_at == raised_at == event_at == placed + IMPORT_LAG
    now = utcnow()
    assert max(now - raised_at for _, _, raised_at, _ in rows).days >= 3  # ages spread over days

    vendor_ids = list(db.scalars(select(Order.vendor_id).distinct()))
    before = db.execute(select(OrderItemException.id, OrderItemException.created_at)).all()
    # A second run (a later demo, with its own start) dates nothing of this one.
    date_imports_as_if_live(db, vendor_ids=vendor_ids, imported_since=utcnow())
    db.commit()
    assert db.execute(select(OrderItemException.id, OrderItemException.created_at)).all() == before
