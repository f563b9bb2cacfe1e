"""The audit trail's constructors and writer: each event's payload, written as given."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.events.models import Event, EventAction, EventSubject
from ordergate.events.repository import record_events
from ordergate.item_exceptions import events as qc_events
from ordergate.orders import events as order_events
from tests.factories import make_user, make_vendor


def test_record_events_writes_every_row_in_order(db: Session) -> None:
    vendor = make_vendor(db)
    actor = make_user(db, vendors=[vendor.code])
    record_events(
        db,
        [
            order_events.order_status_changed(
                order_id=7, vendor_id=vendor.id, before="pending", after="processing"
            ),
            qc_events.exception_ignored(
                exception_id=3, vendor_id=vendor.id, actor_user_id=actor.id, product_id=9, notes="n"
            ),
        ],
    )
    rows = db.scalars(select(Event).order_by(Event.id)).all()
    assert [(r.subject_type, r.subject_id, r.action) for r in rows] == [
        (EventSubject.ORDER, 7, EventAction.STATUS_CHANGED),
        (EventSubject.EXCEPTION, 3, EventAction.IGNORED),
    ]
    assert rows[0].before == {"status": "pending"}
    assert rows[0].after == {"status": "processing"}
    assert rows[1].after == {"status": "ignored", "product_id": 9, "notes": "n"}
    assert all(r.at is not None and r.vendor_id == vendor.id for r in rows)


def test_record_events_with_no_rows_writes_nothing(db: Session) -> None:
    record_events(db, [])
    assert db.scalars(select(Event)).all() == []


def test_a_bulk_resolution_names_its_gtin_and_a_single_one_does_not() -> None:
    common = {
        "exception_id": 1,
        "vendor_id": 2,
        "actor_user_id": 3,
        "status_before": "pending",
        "product_before": 4,
        "product_id": 5,
        "notes": None,
    }
    single = qc_events.exception_resolved(**common, via=qc_events.ResolvedVia.ONE)
    bulk = qc_events.exception_resolved(
        **common, via=qc_events.ResolvedVia.GTIN, bulk_gtin="4006381333931"
    )
    assert single["after"] == {
        "status": "resolved",
        "product_id": 5,
        "resolved_product_id": 5,
        "notes": None,
        "via": "one",
    }
    assert bulk["after"] == {
        **(single["after"] or {}),
        "via": "gtin",
        "bulk_gtin": "4006381333931",
    }
    assert single["before"] == {"status": "pending", "product_id": 4, "resolved_product_id": None}


def test_the_system_is_the_actor_of_import_and_auto_match_events() -> None:
    created = order_events.exception_created(
        exception_id=1,
        vendor_id=2,
        exception_type="duplicate_gtin",
        original_gtin="4006381333931",
        candidate_product_ids=[5, 6],
    )
    matched = qc_events.exception_auto_matched(
        exception_id=1,
        vendor_id=2,
        exception_type="product_not_found",
        order_item_id=8,
        product_before=4,
        product_id=5,
        cause=qc_events.MatchCause.CATALOG,
    )
    assert created["actor_user_id"] is None
    assert matched["actor_user_id"] is None
    assert created["before"] is None
    assert matched["before"] == {
        "status": "pending",
        "exception_type": "product_not_found",
        "resolved_product_id": None,
        "order_item_id": 8,
        "order_item_product_id": 4,
    }
