"""Copy-to-catalog with auto-matching benchmark: 100,000 marketplace products into one vendor's
catalog holding 50,000 pending exceptions. Target: at most 10 s on SQLite.

    .venv/bin/python bench/auto_match.py [--database-url URL] [--exceptions N] [--products N]

Without ``--database-url`` a fresh SQLite file in a temporary directory is used; a URL given
must point at an empty database. A child process migrates and fills the database with
DB-API ``executemany`` INSERTs (fixed seed): one vendor, its placeholder, orders of five lines
each, one pending ``product_not_found`` exception per line (40,000 distinct GTINs for 50,000
exceptions, so some GTINs wait in several orders) and the marketplace products. 60 % of the
exception GTINs appear in the feed, 2 % of those twice (the "never guess" case); the rest of
the feed has GTINs no order asked for, and every 20th row has none.

This process then times the production path, ``catalog.jobs.run_copy_to_catalog`` (validate
the ids, insert the products, auto-match, each batch committed), checks the outcome
against what the generator expects, and reports its own peak RSS (the setup ran elsewhere, so
the figure is the copy's, plus the interpreter and imports).

Before it, in the same run, the limit (issue 12): the same products inserted alone — one
``INSERT ... SELECT`` in one transaction for a second vendor no exception waits on — timed,
checked, deleted again; ``copy / insert-only`` is reported against the ≤ 2× target.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from sqlalchemy import delete, func, insert, select, text
from stdnum import ean

from ordergate import migrate
from ordergate.catalog import repository as catalog_repository
from ordergate.catalog.jobs import run_copy_to_catalog
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.catalog.ports import GtinMatching
from ordergate.config import Settings
from ordergate.db import make_engine, make_session_factory, utcnow
from ordergate.gtin import canonical_gtin
from ordergate.item_exceptions import matching
from ordergate.models import (
    Event,
    MarketplaceProduct,
    Order,
    OrderItem,
    OrderItemException,
    Product,
    Vendor,
)
from ordergate.scope import VendorScope

SEED = 42
ITEMS_PER_ORDER = 5
SHARED_SHARE = 0.6
DUPLICATE_SHARE = 0.02
NO_GTIN_EVERY = 20
INSERT_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class Expected:
    auto_matched: int
    marked_duplicate: int


def _gtin(body: int) -> str:
    digits = f"{body:012d}"
    return digits + ean.calc_check_digit(digits)


def _chunked_insert(session: object, model: type, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), INSERT_CHUNK):
        session.execute(insert(model), rows[start : start + INSERT_CHUNK])  # type: ignore[attr-defined]


def setup(url: str, *, exceptions: int, products: int, seed: int) -> Expected:
    migrate.upgrade(url)
    rng = random.Random(seed)
    pool_size = exceptions * 4 // 5
    shared_count = int(pool_size * SHARED_SHARE)
    duplicate_count = int(shared_count * DUPLICATE_SHARE)
    fresh_count = products - shared_count - duplicate_count
    bodies = rng.sample(range(400_000_000_000, 999_999_999_999), pool_size + fresh_count)
    pool = [_gtin(b) for b in bodies[:pool_size]]
    fresh = [_gtin(b) for b in bodies[pool_size:]]
    exception_gtins = pool + [rng.choice(pool) for _ in range(exceptions - pool_size)]
    rng.shuffle(exception_gtins)
    shared = rng.sample(pool, shared_count)
    duplicated = set(shared[:duplicate_count])
    feed_gtins: list[str | None] = [*shared, *duplicated, *fresh]
    rng.shuffle(feed_gtins)
    shared_set = set(shared)
    for index in range(0, len(feed_gtins), NO_GTIN_EVERY):
        if feed_gtins[index] not in shared_set:
            feed_gtins[index] = None
    in_feed = {g for g in feed_gtins if g is not None}
    expected = Expected(
        auto_matched=sum(1 for g in exception_gtins if g in in_feed and g not in duplicated),
        marked_duplicate=sum(1 for g in exception_gtins if g in duplicated),
    )

    engine = make_engine(url)
    now = utcnow()
    with make_session_factory(engine)() as session:
        vendor = Vendor(code="bench", name="Bench shop", is_active=True)
        session.add(vendor)
        session.flush()
        placeholder = placeholder_product_id(session, vendor_id=vendor.id)
        order_count = -(-exceptions // ITEMS_PER_ORDER)
        _chunked_insert(
            session,
            Order,
            [
                {
                    "id": n + 1,
                    "vendor_id": vendor.id,
                    "channel": "letzshop",
                    "external_shipment_id": f"shp-{n}",
                    "order_number": f"LS-bench-{n}",
                    "status": "pending",
                    "currency": "EUR",
                    "created_at": now,
                    "updated_at": now,
                }
                for n in range(order_count)
            ],
        )
        _chunked_insert(
            session,
            OrderItem,
            [
                {
                    "id": n + 1,
                    "order_id": n // ITEMS_PER_ORDER + 1,
                    "product_id": placeholder,
                    "external_item_id": f"var-{n}",
                    "product_name": f"Article {gtin}",
                    "gtin": gtin,
                    "gtin_type": "gtin13",
                    "gtin_normalized": canonical_gtin(gtin),
                    "quantity": 1,
                    "needs_product_match": True,
                    "created_at": now,
                    "updated_at": now,
                }
                for n, gtin in enumerate(exception_gtins)
            ],
        )
        _chunked_insert(
            session,
            OrderItemException,
            [
                {
                    "order_item_id": n + 1,
                    "vendor_id": vendor.id,
                    "original_gtin": gtin,
                    "original_product_name": f"Article {gtin}",
                    "exception_type": "product_not_found",
                    "status": "pending",
                    "created_at": now,
                    "updated_at": now,
                }
                for n, gtin in enumerate(exception_gtins)
            ],
        )
        _chunked_insert(
            session,
            MarketplaceProduct,
            [
                {
                    "id": n + 1,
                    "marketplace": "letzshop",
                    "marketplace_product_id": f"ls-{n}",
                    "title": f"Marketplace article {n}",
                    "brand": "Bench",
                    "gtin": gtin,
                    "gtin_normalized": canonical_gtin(gtin),
                    "gtin_type": "gtin13" if gtin else None,
                    "sku": f"SKU-{n}",
                    "price_cents": 100 + n % 5000,
                    "currency": "EUR",
                    "attributes": {},
                    "created_at": now,
                    "updated_at": now,
                }
                for n, gtin in enumerate(feed_gtins)
            ],
        )
        session.commit()
    engine.dispose()
    return expected


TARGET_LIMIT_RATIO = 2.0  # issue 12: copy with auto-match <= 2x inserting the products alone


def insert_only(url: str, *, products: int) -> float:
    """The limit: the same products inserted into a catalog by one ``INSERT ... SELECT`` in
    one transaction, for a second vendor no exception waits on — no batches, no matching.
    The statement is timed and counted, then rolled back (on PostgreSQL the table is vacuumed),
    so the copy that follows meets the table as it was. Its commit is not timed, which makes
    the limit, if anything, faster than a committed insert (deleting the 100,000 rows again
    instead took minutes on SQLite; not investigated further)."""
    engine = make_engine(url)
    with make_session_factory(engine)() as session:
        vendor = Vendor(code="bench-limit", name="Bench limit", is_active=True)
        session.add(vendor)
        session.commit()
        vendor_id = vendor.id
    now = utcnow()
    columns = catalog_repository.copied_columns(vendor_id=vendor_id, now=now)
    source = select(*columns.values()).where(MarketplaceProduct.id <= products)  # type: ignore[call-overload]
    with engine.connect() as conn:
        conn.begin()
        started = time.perf_counter()
        conn.execute(insert(Product).from_select(list(columns), source))
        seconds = time.perf_counter() - started
        inserted = conn.scalar(
            select(func.count()).select_from(Product).where(Product.vendor_id == vendor_id)
        )
        conn.rollback()
    with engine.begin() as conn:
        conn.execute(delete(Vendor).where(Vendor.id == vendor_id))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE products"))
    engine.dispose()
    assert inserted == products, (inserted, products)
    return seconds


def run(url: str, *, products: int, expected: Expected) -> dict[str, object]:
    engine = make_engine(url)
    session_factory = make_session_factory(engine)
    with session_factory() as session:
        vendor_id = session.scalar(select(Vendor.id).where(Vendor.code == "bench"))
        assert vendor_id is not None
    ids = list(range(1, products + 1))
    started = time.perf_counter()
    # The production path: committed batches of the default size.
    summary = run_copy_to_catalog(
        session_factory,
        scope=VendorScope(actor_user_id=None, vendor_id=vendor_id),
        marketplace_product_ids=ids,
        batch_rows=Settings().catalog_copy_batch_rows,
        matching=GtinMatching(
            pending=matching.pending_gtins,
            match=matching.match_gtins,
            batch_size=matching.CHUNK_SIZE,
        ),
    )
    copied = time.perf_counter()
    with session_factory() as session:
        marked = session.scalar(
            select(func.count())
            .select_from(OrderItemException)
            .where(OrderItemException.exception_type == "duplicate_gtin")
        )
        events = session.scalar(select(func.count()).select_from(Event))
    engine.dispose()
    assert summary.created == products, summary
    assert summary.auto_matched == expected.auto_matched, (summary, expected)
    assert marked == expected.marked_duplicate, (marked, expected)
    assert events == expected.auto_matched + expected.marked_duplicate, events
    return {
        "copy_seconds": round(copied - started, 3),
        "created": summary.created,
        "skipped": summary.skipped,
        "auto_matched": summary.auto_matched,
        "marked_duplicate": marked,
        "events": events,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="An empty database (default: fresh SQLite file)")
    parser.add_argument("--exceptions", type=int, default=50_000)
    parser.add_argument("--products", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--setup-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.setup_only:
        expected = setup(
            args.database_url, exceptions=args.exceptions, products=args.products, seed=args.seed
        )
        print(json.dumps(asdict(expected)))
        return 0

    with tempfile.TemporaryDirectory(prefix="ordergate-bench-") as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        backend = url.split(":", 1)[0]
        versions = f"python {platform.python_version()}; sqlite {sqlite3.sqlite_version}"
        print(f"backend {backend}; {versions}")
        print(f"setup: {args.exceptions} pending exceptions, {args.products} marketplace products")
        started = time.perf_counter()
        # The setup runs in a child so this process's peak RSS measures the copy, not the fill.
        child = subprocess.run(
            [
                sys.executable,
                __file__,
                "--setup-only",
                "--database-url",
                url,
                "--exceptions",
                str(args.exceptions),
                "--products",
                str(args.products),
                "--seed",
                str(args.seed),
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        expected = Expected(**json.loads(child.stdout.strip().splitlines()[-1]))
        print(f"setup took {time.perf_counter() - started:.1f} s; expecting {expected}")
        limit_seconds = insert_only(url, products=args.products)
        result = run(url, products=args.products, expected=expected)
    result["insert_only_seconds"] = round(limit_seconds, 3)
    ratio = float(result["copy_seconds"]) / limit_seconds  # type: ignore[arg-type]
    result["copy/insert_only"] = f"{ratio:.2f}x"
    result["load_average"] = f"{os.getloadavg()[0]:.2f}"
    for key, value in result.items():
        print(f"{key:>17}: {value}")
    verdict = "within" if float(result["copy_seconds"]) <= 10 else "OVER"  # type: ignore[arg-type]
    print(f"copy-to-catalog {verdict} the 10 s target")
    print(
        f"copy-to-catalog / insert-only {ratio:.2f}x (<= {TARGET_LIMIT_RATIO}x) "
        + ("PASS" if ratio <= TARGET_LIMIT_RATIO else "MISSED")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
