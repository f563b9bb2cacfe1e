"""Auto-matching pending exceptions to catalog products, through the services."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from ordergate import db as db_module
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.events.models import Event
from ordergate.item_exceptions import matching
from ordergate.item_exceptions.matching import auto_match_products, sweep_vendor
from ordergate.orders.models import OrderItem, OrderItemException
from tests.factories import gtin13, make_pending_exception, make_product, make_vendor, row_count

GTIN = "4006381333931"
OTHER_GTIN = "5901234123457"


def _state(db: Session, exception_id: int) -> tuple[object, ...]:
    db.expire_all()
    exception = db.get(OrderItemException, exception_id)
    assert exception is not None
    item = db.get(OrderItem, exception.order_item_id)
    assert item is not None
    return (
        exception.status,
        exception.exception_type,
        exception.resolved_product_id,
        item.product_id,
        item.needs_product_match,
    )


def test_new_product_resolves_pending_exception_with_its_gtin(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    product = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    matched = auto_match_products(db, vendor_id=vendor.id, product_ids=[product.id])
    assert matched == 1
    assert _state(db, exception.id) == (
        "resolved",
        "product_not_found",
        product.id,
        product.id,
        False,
    )
    resolved = db.get(OrderItemException, exception.id)
    assert resolved is not None
    assert (resolved.resolution_notes, resolved.resolved_by) == ("auto-matched", None)
    assert resolved.resolved_at is not None


def test_auto_match_writes_one_event_with_before_and_after(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    placeholder = placeholder_product_id(db, vendor_id=vendor.id)
    product = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    auto_match_products(db, vendor_id=vendor.id, product_ids=[product.id])
    event_row = db.scalars(select(Event)).one()
    assert (event_row.subject_type, event_row.subject_id, event_row.action) == (
        "order_item_exception",
        exception.id,
        "auto_matched",
    )
    assert (event_row.vendor_id, event_row.actor_user_id) == (vendor.id, None)
    assert event_row.before == {
        "status": "pending",
        "exception_type": "product_not_found",
        "resolved_product_id": None,
        "order_item_id": exception.order_item_id,
        "order_item_product_id": placeholder,
    }
    assert event_row.after == {
        "status": "resolved",
        "exception_type": "product_not_found",
        "resolved_product_id": product.id,
        "order_item_id": exception.order_item_id,
        "order_item_product_id": product.id,
        "cause": "catalog",
    }


def test_gtin_match_is_on_the_canonical_form(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin="0" + GTIN)
    product = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[product.id]) == 1
    assert _state(db, exception.id)[0] == "resolved"


def test_two_new_products_with_one_gtin_mark_duplicate_and_stay_pending(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    placeholder = placeholder_product_id(db, vendor_id=vendor.id)
    first = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    second = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    matched = auto_match_products(db, vendor_id=vendor.id, product_ids=[first.id, second.id])
    assert matched == 0
    assert _state(db, exception.id) == ("pending", "duplicate_gtin", None, placeholder, True)


def test_marked_duplicate_event_lists_the_candidates(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    first = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    second = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    auto_match_products(db, vendor_id=vendor.id, product_ids=[first.id, second.id])
    event_row = db.scalars(select(Event)).one()
    assert (event_row.subject_id, event_row.action) == (exception.id, "marked_duplicate")
    assert event_row.before == {"status": "pending", "exception_type": "product_not_found"}
    assert event_row.after == {
        "status": "pending",
        "exception_type": "duplicate_gtin",
        "gtin_normalized": "0" + GTIN,
        "candidate_product_ids": [first.id, second.id],
        "cause": "catalog",
    }


def test_existing_product_with_same_gtin_makes_a_new_one_ambiguous(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    make_product(db, vendor_id=vendor.id, gtin=GTIN)
    new = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[new.id]) == 0
    assert _state(db, exception.id)[:2] == ("pending", "duplicate_gtin")


def test_inactive_products_are_not_candidates(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    make_product(db, vendor_id=vendor.id, gtin=GTIN, is_active=False)
    new = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[new.id]) == 1
    assert _state(db, exception.id)[:3] == ("resolved", "product_not_found", new.id)


def test_new_inactive_product_matches_nothing(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    new = make_product(db, vendor_id=vendor.id, gtin=GTIN, is_active=False)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[new.id]) == 0
    assert _state(db, exception.id)[:2] == ("pending", "product_not_found")
    assert row_count(db, Event) == 0


def test_other_vendors_exceptions_and_products_are_untouched(db: Session) -> None:
    vendor = make_vendor(db, code="a")
    other = make_vendor(db, code="b")
    theirs = make_pending_exception(db, vendor_id=other.id, gtin=GTIN)
    make_product(db, vendor_id=other.id, gtin=GTIN)
    mine = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    new = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[new.id]) == 1
    assert _state(db, mine.id)[0] == "resolved"
    assert _state(db, theirs.id)[:2] == ("pending", "product_not_found")


def test_another_vendors_product_ids_match_nothing(db: Session) -> None:
    vendor = make_vendor(db, code="a")
    other = make_vendor(db, code="b")
    mine = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    foreign = make_product(db, vendor_id=other.id, gtin=GTIN)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[foreign.id]) == 0
    assert _state(db, mine.id)[0] == "pending"


def test_resolved_and_ignored_exceptions_are_left_alone(db: Session) -> None:
    vendor = make_vendor(db)
    ignored = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN, status="ignored")
    new = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[new.id]) == 0
    assert _state(db, ignored.id)[:3] == ("ignored", "product_not_found", None)
    assert row_count(db, Event) == 0


def test_exception_without_gtin_is_never_matched(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=None)
    new = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[new.id]) == 0
    assert _state(db, exception.id)[0] == "pending"


def test_several_exceptions_of_one_gtin_all_resolve(db: Session) -> None:
    vendor = make_vendor(db)
    exceptions = [make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN) for _ in range(3)]
    unrelated = make_pending_exception(db, vendor_id=vendor.id, gtin=OTHER_GTIN)
    new = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[new.id]) == 3
    assert {_state(db, e.id)[2] for e in exceptions} == {new.id}
    assert _state(db, unrelated.id)[0] == "pending"


def test_matching_spans_chunks(db: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(matching, "CHUNK_SIZE", 3)
    monkeypatch.setattr(db_module, "ARRAY_BATCH_SIZE", 3)
    vendor = make_vendor(db)
    gtins = [gtin13(f"40000000{n:04d}") for n in range(7)]
    exceptions = [make_pending_exception(db, vendor_id=vendor.id, gtin=g) for g in gtins]
    products = [make_product(db, vendor_id=vendor.id, gtin=g) for g in gtins]
    matched = auto_match_products(db, vendor_id=vendor.id, product_ids=[p.id for p in products])
    assert matched == 7
    assert [_state(db, e.id)[2] for e in exceptions] == [p.id for p in products]


def _statements_to_match(db: Session, engine: Engine, *, exceptions: int, prefix: str) -> int:
    vendor = make_vendor(db, code=prefix)
    gtins = [gtin13(f"{prefix}{n:010d}") for n in range(exceptions)]
    for gtin in gtins:
        make_pending_exception(db, vendor_id=vendor.id, gtin=gtin)
    products = [make_product(db, vendor_id=vendor.id, gtin=g) for g in gtins]
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        matched = auto_match_products(db, vendor_id=vendor.id, product_ids=[p.id for p in products])
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert matched == exceptions
    return len(statements)


def test_statement_count_does_not_grow_with_the_number_of_exceptions(
    db: Session, engine: Engine
) -> None:
    few = _statements_to_match(db, engine, exceptions=5, prefix="41")
    many = _statements_to_match(db, engine, exceptions=60, prefix="42")
    assert few == many


def test_sweep_resolves_what_no_import_matched(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    product = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    assert sweep_vendor(db, vendor_id=vendor.id) == 1
    assert _state(db, exception.id)[:3] == ("resolved", "product_not_found", product.id)
    event_row = db.scalars(select(Event)).one()
    assert (event_row.action, event_row.after["cause"]) == ("auto_matched", "sweep")


def test_sweep_twice_changes_nothing_the_second_time(db: Session) -> None:
    vendor = make_vendor(db)
    make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    make_pending_exception(db, vendor_id=vendor.id, gtin=OTHER_GTIN)
    make_product(db, vendor_id=vendor.id, gtin=GTIN)
    make_product(db, vendor_id=vendor.id, gtin=OTHER_GTIN)
    make_product(db, vendor_id=vendor.id, gtin=OTHER_GTIN)
    assert sweep_vendor(db, vendor_id=vendor.id) == 1
    events_after_first = row_count(db, Event)
    assert sweep_vendor(db, vendor_id=vendor.id) == 0
    assert (events_after_first, row_count(db, Event)) == (2, 2)


def test_duplicate_resolves_once_one_candidate_is_deactivated(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    keep = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    drop = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    sweep_vendor(db, vendor_id=vendor.id)
    drop.is_active = False
    db.flush()
    assert sweep_vendor(db, vendor_id=vendor.id) == 1
    assert _state(db, exception.id)[:3] == ("resolved", "duplicate_gtin", keep.id)


def test_the_placeholder_product_matches_nothing(db: Session) -> None:
    vendor = make_vendor(db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    placeholder = placeholder_product_id(db, vendor_id=vendor.id)
    assert auto_match_products(db, vendor_id=vendor.id, product_ids=[placeholder]) == 0
    assert _state(db, exception.id)[0] == "pending"
    assert row_count(db, Event) == 0
