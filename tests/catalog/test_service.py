"""The catalog's write use cases against a real database, with the exception workflow's
matching replaced by recording fakes (the interfaces of catalog/ports.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ordergate.catalog import jobs, service
from ordergate.catalog.errors import (
    InvalidGtinError,
    MarketplaceProductsNotFoundError,
    TooManyCopyIdsError,
)
from ordergate.catalog.models import MAX_COPY_IDS, Product
from ordergate.catalog.ports import GtinMatching
from ordergate.db import make_session_factory
from ordergate.scope import VendorScope
from ordergate.vendors.errors import VendorNotFoundError
from tests.factories import make_marketplace_product, make_pending_exception, make_vendor, row_count

GTIN = "4006381333931"
OTHER_GTIN = "5901234123457"


@dataclass
class Resolved:
    resolved: int


@dataclass
class RecordingMatcher:
    """Records what the catalog hands over; each call resolves `per_call`."""

    per_call: int = 0
    added: list[tuple[int, list[int]]] = field(default_factory=list)
    batches: list[list[str]] = field(default_factory=list)
    waiting: set[str] = field(default_factory=set)

    def products_added(
        self, session: Session, *, vendor_id: int, product_ids: Sequence[int]
    ) -> int:
        self.added.append((vendor_id, list(product_ids)))
        return self.per_call

    def pending(self, session: Session, *, vendor_id: int) -> set[str]:
        return self.waiting

    def match(self, session: Session, *, vendor_id: int, gtins: Sequence[str]) -> Resolved:
        self.batches.append(list(gtins))
        return Resolved(self.per_call)


def scope_of(vendor_id: int) -> VendorScope:
    return VendorScope(actor_user_id=None, vendor_id=vendor_id)


def test_create_product_hands_the_new_product_to_the_matching(db: Session) -> None:
    vendor = make_vendor(db)
    matcher = RecordingMatcher(per_call=3)
    created = service.create_product(
        db,
        scope=scope_of(vendor.id),
        title="Mug",
        gtin=GTIN,
        after_products_added=matcher.products_added,
    )
    assert matcher.added == [(vendor.id, [created.product.id])]
    assert created.auto_matched == 3
    assert (created.product.vendor_id, created.product.gtin_normalized) == (vendor.id, "0" + GTIN)


def test_an_invalid_gtin_adds_nothing_and_matches_nothing(db: Session) -> None:
    vendor = make_vendor(db)
    matcher = RecordingMatcher()
    products = [service.NewProduct("Good", gtin=GTIN), service.NewProduct("Bad", gtin="123")]
    with pytest.raises(InvalidGtinError):
        service.add_products(
            db,
            scope=scope_of(vendor.id),
            products=products,
            after_products_added=matcher.products_added,
        )
    assert row_count(db, Product) == 0
    assert matcher.added == []


def test_a_labelled_gtin_type_is_kept(db: Session) -> None:
    vendor = make_vendor(db)
    book = service.NewProduct("Book", gtin="9782901270256", gtin_type="isbn13")
    (product,), _ = service.add_products(
        db,
        scope=scope_of(vendor.id),
        products=[book],
        after_products_added=RecordingMatcher().products_added,
    )
    assert (product.gtin_type, product.gtin_normalized) == ("isbn13", "09782901270256")


def test_create_product_for_an_unknown_vendor_is_404_and_adds_nothing(db: Session) -> None:
    matcher = RecordingMatcher()
    with pytest.raises(VendorNotFoundError):
        service.create_product(
            db, scope=scope_of(4242), title="Mug", after_products_added=matcher.products_added
        )
    assert (row_count(db, Product), matcher.added) == (0, [])


def test_copy_refuses_more_ids_than_one_request_takes(db: Session) -> None:
    vendor = make_vendor(db)
    with pytest.raises(TooManyCopyIdsError) as refused:
        service.checked_copy_ids(
            db,
            scope=scope_of(vendor.id),
            marketplace_product_ids=range(1, MAX_COPY_IDS + 2),
        )
    assert refused.value.details == {"field": "marketplace_product_ids", "max": 100_000}
    assert refused.value.code == "VALIDATION_ERROR"


def test_copy_job_matches_only_waiting_gtins_in_batches_after_copying(
    db: Session, engine: Engine
) -> None:
    vendor = make_vendor(db)
    gtins = [GTIN, OTHER_GTIN, "4012345678901", "96385074"]
    ids = [make_marketplace_product(db, gtin=g).id for g in gtins]
    make_marketplace_product(db, gtin=None)
    db.commit()
    waiting = {"0" + GTIN, "0" + OTHER_GTIN, "000000" + "96385074", "09999999999999"}
    matcher = RecordingMatcher(per_call=1, waiting=waiting)
    summary = jobs.run_copy_to_catalog(
        make_session_factory(engine),
        scope=scope_of(vendor.id),
        marketplace_product_ids=ids,
        batch_rows=2,
        matching=GtinMatching(pending=matcher.pending, match=matcher.match, batch_size=2),
    )
    # Copied GTINs that something waits for, sorted, two a transaction.
    assert matcher.batches == [["00000096385074", "04006381333931"], ["05901234123457"]]
    assert (summary.created, summary.skipped, summary.auto_matched) == (4, 0, 2)
    copied = db.scalars(select(Product.vendor_id).where(Product.is_placeholder.is_(False)))
    assert list(copied) == [vendor.id] * 4


def test_copy_job_with_an_unknown_id_writes_nothing_and_matches_nothing(
    db: Session, engine: Engine
) -> None:
    vendor = make_vendor(db)
    make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    known = make_marketplace_product(db, gtin=GTIN)
    db.commit()
    before = row_count(db, Product)
    matcher = RecordingMatcher(waiting={"0" + GTIN})
    with pytest.raises(MarketplaceProductsNotFoundError, match="1 marketplace product"):
        jobs.run_copy_to_catalog(
            make_session_factory(engine),
            scope=scope_of(vendor.id),
            marketplace_product_ids=[known.id, 99999],
            batch_rows=10,
            matching=GtinMatching(pending=matcher.pending, match=matcher.match, batch_size=10),
        )
    assert (row_count(db, Product), matcher.batches) == (before, [])
