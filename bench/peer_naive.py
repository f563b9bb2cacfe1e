"""The peer, side by side (issue 12 §4): the order import as the obvious implementation does it,
against ordergate's, on the same pages, SQLite and PostgreSQL.

    .venv/bin/python scripts/with_postgres.py -- .venv/bin/python bench/peer_naive.py
    .venv/bin/python bench/peer_naive.py --orders 20000 --backend sqlite

The naive import follows the specification line by line: for each shipment, look the order up
(skip it when known), then for each line query the vendor's products by its GTIN, add the order,
its items and units through the ORM one by one, get or create the placeholder and add the
exception and its ``created`` event per unmatched line, and commit per order. It is a
yardstick, not product code: it stays in ``bench/``.

Both run on the same generated pages (``import_orders.write_pages``, same seed and dirt), each
into a fresh migrated database with the same catalog; only the per-page work (JSON bytes to
commit) is timed, and both parse with the production parser. The bench checks that both wrote
the generated orders, items and units and the same exceptions (by type) and events, and exits
1 otherwise. Reports orders/s of each and ordergate's speed-up.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import import_orders as bench
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ordergate.catalog.models import PLACEHOLDER_GTIN, PLACEHOLDER_GTIN_TYPE
from ordergate.db import make_engine, make_session_factory, utcnow
from ordergate.gtin import normalize_gtin
from ordergate.letzshop.adapter import CHANNEL, to_incoming_order
from ordergate.models import (
    Event,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
    Product,
)
from ordergate.orders.intake import IncomingLine, IncomingOrder
from ordergate.orders.status import order_status_from_units


def naive_import(session_factory: sessionmaker[Session], vendor_id: int, pages: Path) -> float:
    """Every page through the naive import; wall seconds of the per-page work."""
    seconds = 0.0
    for body in bench.read_pages(pages):
        start = time.perf_counter()
        page = bench.page_from_json(body)
        for shipment in page.shipments:
            _naive_order(session_factory, vendor_id, to_incoming_order(vendor_id, shipment))
        seconds += time.perf_counter() - start
    return seconds


def _naive_order(
    session_factory: sessionmaker[Session], vendor_id: int, incoming: IncomingOrder
) -> None:
    with session_factory() as session:
        known = session.scalar(
            select(Order.id).where(
                Order.vendor_id == vendor_id,
                Order.channel == CHANNEL,
                Order.external_shipment_id == incoming.external_shipment_id,
            )
        )
        if known is not None:
            return
        number = incoming.order_number
        if session.scalar(select(Order.id).where(Order.order_number == number)) is not None:
            number = f"{number}-{incoming.external_shipment_id}"
        order = Order(
            vendor_id=vendor_id,
            channel=CHANNEL,
            external_order_id=incoming.external_order_id,
            external_shipment_id=incoming.external_shipment_id,
            external_order_number=incoming.external_order_number,
            order_number=number,
            status=order_status_from_units(u.state for ln in incoming.lines for u in ln.units),
            customer_email=incoming.customer_email,
            customer_name=incoming.customer_name,
            customer_locale=incoming.customer_locale,
            shipping_address=incoming.shipping_address,
            billing_address=incoming.billing_address,
            total_cents=incoming.total_cents,
            currency=incoming.currency,
            order_date=incoming.order_date,
            tracking_code=incoming.tracking_code,
            tracking_provider=incoming.tracking_provider,
            raw_payload=incoming.raw_payload,
        )
        session.add(order)
        session.flush()
        for line in incoming.lines:
            _naive_line(session, vendor_id, order, line)
        session.commit()


def _naive_line(session: Session, vendor_id: int, order: Order, line: IncomingLine) -> None:
    gtin = normalize_gtin(line.gtin)
    product_id: int | None = None
    exception_type = "product_not_found"
    candidates: list[int] = []
    if gtin.status == "invalid":
        exception_type = "gtin_mismatch"
    elif gtin.canonical is not None:
        candidates = list(
            session.scalars(
                select(Product.id)
                .where(
                    Product.vendor_id == vendor_id,
                    Product.gtin_normalized == gtin.canonical,
                    Product.is_active.is_(True),
                    Product.is_placeholder.is_(False),
                )
                .order_by(Product.id)
            )
        )
        if len(candidates) == 1:
            product_id = candidates[0]
        elif candidates:
            exception_type = "duplicate_gtin"
    item = OrderItem(
        order_id=order.id,
        product_id=product_id or _placeholder(session, vendor_id),
        external_item_id=line.external_item_id,
        product_name=line.product_name,
        product_sku=line.sku,
        gtin=line.gtin,
        gtin_type=line.gtin_type,
        gtin_normalized=gtin.canonical,
        quantity=len(line.units),
        unit_price_cents=line.unit_price_cents,
        needs_product_match=product_id is None,
    )
    session.add(item)
    session.flush()
    for unit in line.units:
        session.add(
            OrderItemUnit(
                order_item_id=item.id, external_unit_id=unit.external_id, state=unit.state
            )
        )
    if product_id is not None:
        return
    session.flush()  # the exception's context row reads the line's units
    exception = OrderItemException(
        order_item_id=item.id,
        vendor_id=vendor_id,
        original_gtin=line.gtin,
        original_product_name=line.product_name,
        original_sku=line.sku,
        exception_type=exception_type,
        status="pending",
    )
    session.add(exception)
    session.flush()
    session.add(
        Event(
            vendor_id=vendor_id,
            subject_type="order_item_exception",
            subject_id=exception.id,
            action="created",
            after={
                "status": "pending",
                "exception_type": exception_type,
                "original_gtin": line.gtin,
                "candidate_product_ids": candidates if exception_type == "duplicate_gtin" else [],
            },
        )
    )


def _placeholder(session: Session, vendor_id: int) -> int:
    """Get or create the vendor's placeholder product, per unmatched line."""
    found = session.scalar(
        select(Product.id).where(Product.vendor_id == vendor_id, Product.is_placeholder.is_(True))
    )
    if found is not None:
        return found
    product = Product(
        vendor_id=vendor_id,
        title="Unmatched product (placeholder)",
        gtin=PLACEHOLDER_GTIN,
        gtin_type=PLACEHOLDER_GTIN_TYPE,
        currency="EUR",
        is_active=False,
        is_placeholder=True,
        created_at=utcnow(),
        updated_at=utcnow(),
    )
    session.add(product)
    session.flush()
    return product.id


def run(backend: str, orders: int, admin_url: str | None, log: Callable[[str], None]) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="ordergate-peer-"))
    try:
        catalog = bench.sandbox_catalog(bench.SEED, bench.CATALOG_SIZE)
        pages = workdir / "pages.jsonl"
        generated = bench.write_pages(pages, orders=orders, catalog=catalog)
        ours_url = bench.fresh_database(
            backend, "ordergate_peer_ours", workdir=workdir, admin_url=admin_url
        )
        peer_url = bench.fresh_database(
            backend, "ordergate_peer_naive", workdir=workdir, admin_url=admin_url
        )
        ours_engine, peer_engine = make_engine(ours_url), make_engine(peer_url)
        ours_factory, peer_factory = (
            make_session_factory(ours_engine),
            make_session_factory(peer_engine),
        )
        ours_vendor = bench.seed_vendor(ours_factory, catalog)
        peer_vendor = bench.seed_vendor(peer_factory, catalog)
        before = bench.count_rows(ours_engine)
        load = os.getloadavg()[0]
        ours = bench.import_pass(ours_factory, ours_vendor.id, pages, None)
        log(f"ordergate {ours.seconds:.2f}s")
        peer_seconds = naive_import(peer_factory, peer_vendor.id, pages)
        log(f"naive peer {peer_seconds:.2f}s")
        ours_rows, peer_rows = bench.count_rows(ours_engine), bench.count_rows(peer_engine)
        ours_engine.dispose()
        peer_engine.dispose()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    notes = []
    expected = {"orders": generated.orders, "items": generated.lines, "units": generated.units}
    for name, count in expected.items():
        for who, rows in (("ordergate", ours_rows), ("naive", peer_rows)):
            if rows[name] - before.get(name, 0) != count:
                notes.append(
                    f"{who} wrote {rows[name] - before.get(name, 0)} {name}, generated {count}"
                )
    if ours_rows != peer_rows:
        notes.append(f"the two wrote different rows: ordergate {ours_rows}, naive {peer_rows}")
    if ours.failed:
        notes.append(f"ordergate failed {ours.failed} shipments")
    exceptions = ours_rows["exceptions"] - before.get("exceptions", 0)
    print(
        f"| {backend} | {orders:,} | {exceptions:,} | {ours.seconds:.2f} | "
        f"{orders / ours.seconds:,.0f} | {peer_seconds:.2f} | {orders / peer_seconds:,.0f} | "
        f"{peer_seconds / ours.seconds:.1f}x | {load:.2f}/{os.getloadavg()[0]:.2f} |",
        flush=True,
    )
    for note in notes:
        print(f"CHECK FAILED ({backend} N={orders}): {note}", flush=True)
    return 1 if notes else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=bench.TARGET_SIZE)
    parser.add_argument("--backend", choices=("all", "sqlite", "postgresql"), default="all")
    parser.add_argument("--database-url", default=os.environ.get(bench.ENV_DATABASE_URL))
    args = parser.parse_args(argv)
    backends = bench.chosen_backends(args.backend, args.database_url)
    print(
        "| backend | N | exceptions | ordergate s | ordergate orders/s | naive s | "
        "naive orders/s | speed-up | load start/end |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    failed = 0
    for backend in backends:
        failed |= run(backend, args.orders, args.database_url, bench._logger(f"peer {backend}"))
    return failed


if __name__ == "__main__":
    sys.exit(main())
