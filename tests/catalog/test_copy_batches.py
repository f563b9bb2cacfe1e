"""Copy-to-catalog in committed batches: the outcome equals one big transaction's."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.catalog.models import Product
from ordergate.orders.models import OrderItemException
from tests.catalog.conftest import SMALL_BATCH
from tests.factories import (
    gtin13,
    make_marketplace_product,
    make_pending_exception,
    make_product,
    reload,
    row_count,
    vendor_headers,
)

VENDOR_COPY = "/api/v1/vendor/marketplace-products/copy-to-catalog"
GTIN = gtin13("400638133393")


def test_two_rows_sharing_a_gtin_in_different_batches_still_mark_duplicate(
    small_batch_client: TestClient, db: Session
) -> None:
    vendor, headers = vendor_headers(small_batch_client, db)
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    first = make_marketplace_product(db, gtin=GTIN)
    fillers = [make_marketplace_product(db).id for _ in range(SMALL_BATCH)]
    last = make_marketplace_product(db, gtin=GTIN)
    db.commit()
    ids = [first.id, *fillers, last.id]
    response = small_batch_client.post(
        VENDOR_COPY, headers=headers, json={"marketplace_product_ids": ids}
    )
    assert response.json() == {"created": 5, "skipped": 0, "auto_matched": 0}
    row = reload(db, OrderItemException, exception.id)
    assert (row.status, row.exception_type) == ("pending", "duplicate_gtin")


def test_every_batch_is_copied(small_batch_client: TestClient, db: Session) -> None:
    vendor, headers = vendor_headers(small_batch_client, db)
    ids = [make_marketplace_product(db).id for _ in range(3 * SMALL_BATCH + 1)]
    db.commit()
    response = small_batch_client.post(
        VENDOR_COPY, headers=headers, json={"marketplace_product_ids": ids}
    )
    assert response.json() == {"created": 10, "skipped": 0, "auto_matched": 0}
    assert row_count(db, Product, Product.vendor_id == vendor.id) == 10


def test_rerun_after_an_interrupted_copy_finishes_the_matching(
    small_batch_client: TestClient, db: Session
) -> None:
    vendor, headers = vendor_headers(small_batch_client, db)
    source = make_marketplace_product(db, gtin=GTIN)
    # What a copy that died after its product batch and before matching leaves behind.
    copied = make_product(db, vendor_id=vendor.id, gtin=GTIN)
    copied.marketplace_product_id = source.id
    exception = make_pending_exception(db, vendor_id=vendor.id, gtin=GTIN)
    db.commit()
    response = small_batch_client.post(
        VENDOR_COPY, headers=headers, json={"marketplace_product_ids": [source.id]}
    )
    assert response.json() == {"created": 0, "skipped": 1, "auto_matched": 1}
    assert reload(db, OrderItemException, exception.id).status == "resolved"
