"""The search index and the blocked-order context (migration 0003) give exactly the answers of
the plain queries they replace, and follow every change to the exceptions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, distinct, func, inspect, select, text, update
from sqlalchemy.orm import Session

from ordergate.db import PageRequest
from ordergate.item_exceptions import repository, service
from ordergate.item_exceptions.side_tables import SEARCH_TABLE, TRIGRAM_INDEXES
from ordergate.orders.models import ExceptionStatus, Order, OrderItem, OrderItemException
from ordergate.scope import Scope
from tests.factories import make_order, make_unmatched_line, make_vendor, minutes

# (GTIN, product name, SKU, order number) per line; None leaves the field empty.
TRICKY_LINES = [
    ("4006381333931", "Funko Pop! Marvel", "MH-FU-56757", "LS-1-R000000001"),
    ("04006381333931", "FUNKO POP! marvel", "mh-fu-56757", "LS-1-R000000002"),
    ("0012345678905", "LEGO Classic Box", "LG-11014", "LS-1-R000000003"),
    (None, "Crème brûlée set ÉCLAIR", "CRÈME-1", "LS-1-R000000004"),
    ("12345", "crème BRÛLÉE set éclair", "creme-2", "LS-1-R000000005"),
    ("N/A", "100% cotton_shirt", "SALE_50%", "LS-1-R000000006"),
    ("  0000123  ", "100 percent cotton shirt", "SALE-50", "LS-1-R000000007"),
    (None, 'Quote "inside" name', "Q/1", "LS-2-R000000008"),
    ("5702016618891", "Straße Maß", "STRASSE", "LS-2-R100000009"),
    ("5702016618891", "Kelvin \u212a kit, long \u017f", None, "LS-2-R100000010"),
    (None, None, None, "LS-2-R100000011"),
]

# At least three characters, none a full valid GTIN: each goes through the index.
INDEXED_TERMS = [
    "funko",
    "FUNKO POP",
    "pop! MARVEL",
    "mh-fu",
    "00123",
    "0012345678",
    "123",
    "000",
    "ls-1",
    "LS-2-R1",
    "r00000000",
    "crème",
    "CRÈME",
    "ÉCLAIR",
    "éclair",
    "brûlée",
    "BRÛLÉE",
    "100%",
    "0% c",
    "%%%",
    "_sh",
    "n_s",
    "sale_50",
    "sale_",
    "e_5",
    "___",
    "n/a",
    "q/1",
    '"inside"',
    'e "i',
    "straße",
    "STRASSE",
    "kit",
    "KIT",
    "ſ",
    "long ſ",
    "set",
    " set ",
    "no such thing",
]
SHORT_TERMS = ["a", "%", "_", "é", "k", "ls", "5%", "/"]


def _seed_tricky(db: Session) -> tuple[int, int]:
    vendor = make_vendor(db, code="shop1")
    other = make_vendor(db, code="shop2")
    for n, (gtin, name, sku, order_number) in enumerate(TRICKY_LINES):
        vendor_id = vendor.id if order_number.startswith("LS-1") else other.id
        order = make_order(db, vendor_id=vendor_id, order_number=order_number)
        make_unmatched_line(
            db,
            vendor_id=vendor_id,
            order=order,
            gtin=gtin,
            product_name=name,
            sku=sku,
            status=ExceptionStatus.blocking()[n % 2],
            created_at=minutes(n),
        )
    db.commit()
    return vendor.id, other.id


def _scope(vendor_id: int | None) -> Scope:
    return Scope(actor_user_id=None, vendor_id=vendor_id, is_admin=vendor_id is None)


def _indexed_ids(db: Session, term: str, vendor_id: int | None) -> list[int]:
    rows, total = repository.list_exceptions(
        db,
        scope=_scope(vendor_id),
        filters=repository.ListFilters(search=term),
        page=PageRequest(limit=200),
    )
    ids = [row.id for row in rows]
    assert total == len(ids)
    return ids


def _scanned_ids(db: Session, term: str, vendor_id: int | None) -> list[int]:
    scope = [] if vendor_id is None else [OrderItemException.vendor_id == vendor_id]
    return list(
        db.scalars(
            select(OrderItemException.id)
            .where(*scope, repository._substring_scan(term.strip(), scope=_scope(vendor_id)))
            .order_by(OrderItemException.created_at.desc(), OrderItemException.id.desc())
        )
    )


def _blocked_orders_by_join(db: Session, vendor_id: int | None) -> int:
    scope = [] if vendor_id is None else [OrderItemException.vendor_id == vendor_id]
    return (
        db.scalar(
            select(func.count(distinct(OrderItem.order_id)))
            .join(OrderItemException, OrderItemException.order_item_id == OrderItem.id)
            .where(*scope, OrderItemException.status.in_(ExceptionStatus.blocking()))
        )
        or 0
    )


@pytest.mark.parametrize("scope", ["admin", "vendor"])
def test_indexed_search_equals_the_plain_scan(db: Session, scope: str) -> None:
    vendor_id, _ = _seed_tricky(db)
    scoped = None if scope == "admin" else vendor_id
    for term in INDEXED_TERMS:
        assert _indexed_ids(db, term, scoped) == _scanned_ids(db, term, scoped), term


def test_the_equivalence_check_is_not_vacuous(db: Session) -> None:
    _seed_tricky(db)
    matched = {term: len(_scanned_ids(db, term, None)) for term in INDEXED_TERMS}
    assert matched["funko"] == 2
    assert matched["00123"] == 2  # leading zeros: "0012345678905" and "  0000123  "
    assert matched["100%"] == 1  # the % is literal
    assert matched["_sh"] == 1  # the _ is literal
    assert matched["crème"] == 2
    assert matched["ls-1"] == 7
    assert matched["no such thing"] == 0


def test_short_terms_fall_back_to_the_scan(db: Session) -> None:
    _seed_tricky(db)
    for term in SHORT_TERMS:
        assert _indexed_ids(db, term, None) == _scanned_ids(db, term, None), term
    assert len(_indexed_ids(db, "ls", None)) == len(TRICKY_LINES)


def test_a_full_gtin_still_searches_by_canonical_gtin(db: Session) -> None:
    _seed_tricky(db)
    # Both forms of 4006381333931 and nothing that merely contains the digits.
    assert len(_indexed_ids(db, "4006381333931", None)) == 2
    assert len(_indexed_ids(db, "04006381333931", None)) == 2
    assert len(_indexed_ids(db, "012345678905", None)) == 1


def test_search_follows_updates_and_deletes(db: Session) -> None:
    vendor = make_vendor(db, code="shop1")
    first = make_unmatched_line(db, vendor_id=vendor.id, product_name="Old Name", sku="SKU-OLD")
    second = make_unmatched_line(db, vendor_id=vendor.id, product_name="Other", sku="SKU-2")
    db.commit()
    db.execute(
        update(OrderItemException)
        .where(OrderItemException.id == first.id)
        .values(original_product_name="New Name", original_sku="SKU-NEW")
    )
    db.commit()
    assert _indexed_ids(db, "old name", None) == []
    assert _indexed_ids(db, "new name", None) == [first.id]
    assert _indexed_ids(db, "sku-new", None) == [first.id]

    db.delete(db.get(Order, db.get(OrderItem, second.order_item_id).order_id))
    db.commit()
    assert _indexed_ids(db, "other", None) == []
    assert _indexed_ids(db, "sku-", None) == [first.id]


def test_blocked_order_count_equals_the_join_through_status_changes(db: Session) -> None:
    vendor = make_vendor(db, code="shop1")
    other = make_vendor(db, code="shop2")
    exceptions = []
    for n in range(12):
        vendor_id = vendor.id if n % 3 else other.id
        order = make_order(db, vendor_id=vendor_id)
        for line in range(n % 3 + 1):
            exceptions.append(
                make_unmatched_line(
                    db,
                    vendor_id=vendor_id,
                    order=order,
                    status=("pending", "ignored", "resolved")[(n + line) % 3],
                )
            )
    db.commit()

    def check() -> None:
        for vendor_id in (None, vendor.id, other.id):
            expected = _blocked_orders_by_join(db, vendor_id)
            assert repository.count_blocked_orders(db, scope=_scope(vendor_id)) == expected
            counts = service.exception_stats(db, scope=_scope(vendor_id))
            assert counts.orders_with_exceptions == expected

    check()
    assert _blocked_orders_by_join(db, None) > 0
    for exception, status in zip(exceptions, ["resolved", "pending", "ignored"] * 10, strict=False):
        db.execute(
            update(OrderItemException)
            .where(OrderItemException.id == exception.id)
            .values(status=status)
        )
    db.commit()
    check()
    db.delete(db.get(Order, db.get(OrderItem, exceptions[0].order_item_id).order_id))
    db.execute(update(OrderItemException).values(status="resolved"))
    db.commit()
    check()
    assert repository.count_blocked_orders(db, scope=_scope(None)) == 0


def test_migration_created_the_search_objects(engine: Engine, is_postgres: bool) -> None:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    assert "order_item_exception_context" in tables
    with engine.connect() as conn:
        if is_postgres:
            installed = conn.scalar(
                text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")
            )
            indexes = set(
                conn.scalars(
                    text(
                        "SELECT indexname FROM pg_indexes "
                        "WHERE indexname LIKE 'ix_order_item_exception%_trgm'"
                    )
                )
            )
            # The throwaway test cluster runs as a superuser, so pg_trgm is there.
            assert installed == 1
            assert indexes == {
                *TRIGRAM_INDEXES,
                "ix_order_item_exception_context_order_number_trgm",
            }
        else:
            assert SEARCH_TABLE in tables
            triggers = set(
                conn.scalars(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))
            )
            assert {
                "order_item_exception_derived_insert",
                "order_item_exception_context_update",
                "order_item_exception_search_update",
                "order_item_exception_derived_delete",
            } <= triggers
