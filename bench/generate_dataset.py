#!/usr/bin/env python3
"""Generate the exceptions benchmark dataset: 1,000,000 order items and 100,000 exceptions over
50 vendors, reproducibly (fixed seed), bulk-loaded into a fresh, migrated database.

    .venv/bin/python bench/generate_dataset.py                       # bench/out/bench.db
    .venv/bin/python bench/generate_dataset.py --database-url postgresql+psycopg://...

SQLite is filled with ``executemany`` batches, PostgreSQL with ``COPY``. The PostgreSQL
database must exist and be empty. The exception triggers of migration 0003 fill the search and
context tables as the exceptions are loaded. ``bench/exceptions_api.py`` calls this itself when
its database holds no dataset. Units (order_item_units) are not generated: no benchmarked
query reads them.
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from stdnum import ean

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from ordergate import migrate  # noqa: E402

SEED = 20251219
REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_SQLITE = Path(__file__).parent / "out" / "bench.db"
BATCH = 50_000

BRANDS = ["Funko", "LEGO", "Ravensburger", "Playmobil", "Hasbro", "Mattel", "Schleich", "Bandai"]
NOUNS = ["Pop! Marvel", "Classic Box", "Puzzle 1000", "City Set", "Figure", "Board Game", "Plush"]

ORDER_COLUMNS = [
    "id",
    "vendor_id",
    "channel",
    "external_order_id",
    "external_shipment_id",
    "external_order_number",
    "order_number",
    "status",
    "customer_email",
    "customer_name",
    "currency",
    "total_cents",
    "order_date",
    "created_at",
    "updated_at",
]
PRODUCT_COLUMNS = [
    "id",
    "vendor_id",
    "sku",
    "gtin",
    "gtin_normalized",
    "gtin_type",
    "title",
    "currency",
    "is_active",
    "is_placeholder",
    "created_at",
    "updated_at",
]
ITEM_COLUMNS = [
    "id",
    "order_id",
    "vendor_id",
    "product_id",
    "external_item_id",
    "product_name",
    "product_sku",
    "gtin",
    "gtin_type",
    "gtin_normalized",
    "quantity",
    "unit_price_cents",
    "needs_product_match",
    "created_at",
    "updated_at",
]
EXCEPTION_COLUMNS = [
    "id",
    "order_item_id",
    "vendor_id",
    "original_gtin",
    "original_product_name",
    "original_sku",
    "exception_type",
    "status",
    "resolved_product_id",
    "resolved_at",
    "resolved_by",
    "resolution_notes",
    "created_at",
    "updated_at",
]


def make_gtin(rng: random.Random, prefix: str) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(12 - len(prefix)))
    return body + ean.calc_check_digit(body)


def generate(
    *, vendors: int, items: int, exceptions: int, products_per_vendor: int, seed: int
) -> dict[str, list[tuple[Any, ...]]]:
    rng = random.Random(seed)
    # Uneven vendors, as on a real platform: the biggest has several times the smallest's orders.
    weights = [1 / (rank**0.8) for rank in range(1, vendors + 1)]
    vendor_rows = [
        (v, f"v{v:02d}", f"Vendor {v:02d}", True, REFERENCE, REFERENCE)
        for v in range(1, vendors + 1)
    ]

    product_rows: list[tuple[Any, ...]] = []
    catalog: dict[int, list[tuple[int, str, str, str]]] = {}
    placeholder: dict[int, int] = {}
    unknown_gtins: dict[int, list[str]] = {}
    product_id = 0
    for v in range(1, vendors + 1):
        product_id += 1
        placeholder[v] = product_id
        product_rows.append(
            (
                product_id,
                v,
                None,
                "0000000000000",
                None,
                "placeholder",
                "Unmatched product (placeholder)",
                "EUR",
                False,
                True,
                REFERENCE,
                REFERENCE,
            )
        )
        catalog[v] = []
        for n in range(products_per_vendor):
            product_id += 1
            product_gtin = make_gtin(rng, "40")
            title = f"{rng.choice(BRANDS)} {rng.choice(NOUNS)} {n}"
            sku = f"SKU-{v:02d}-{n:05d}"
            catalog[v].append((product_id, product_gtin, title, sku))
            product_rows.append(
                (
                    product_id,
                    v,
                    sku,
                    product_gtin,
                    product_gtin.zfill(14),
                    "ean13",
                    title,
                    "EUR",
                    True,
                    False,
                    REFERENCE,
                    REFERENCE,
                )
            )
        # GTINs the vendor sells on the marketplace but lacks in its catalog: each recurs on
        # several orders, as in real intake (what bulk-resolve is for).
        unknown_gtins[v] = [make_gtin(rng, "50") for _ in range(300)]

    order_rows: list[tuple[Any, ...]] = []
    item_rows: list[tuple[Any, ...]] = []
    order_vendor: list[int] = []
    order_dates: list[datetime] = []
    item_id = 0
    order_id = 0
    exception_slots = set(rng.sample(range(1, items + 1), exceptions))
    exception_rows: list[tuple[Any, ...]] = []
    exception_id = 0
    while item_id < items:
        order_id += 1
        v = rng.choices(range(1, vendors + 1), weights)[0]
        order_date = REFERENCE - timedelta(seconds=rng.randrange(365 * 86400))
        order_vendor.append(v)
        order_dates.append(order_date)
        lines = min(rng.choice((1, 1, 2, 2, 3, 4, 5)), items - item_id)
        total = 0
        for line in range(lines):
            item_id += 1
            quantity = rng.choice((1, 1, 1, 2, 3))
            price = rng.randrange(299, 9999)
            total += quantity * price
            created = order_date + timedelta(minutes=5)
            if item_id in exception_slots:
                kind = rng.choices(
                    ("product_not_found", "gtin_mismatch", "duplicate_gtin"), (85, 10, 5)
                )[0]
                status = rng.choices(("pending", "resolved", "ignored"), (60, 30, 10))[0]
                if kind == "gtin_mismatch":
                    gtin = rng.choice((None, f"{rng.randrange(10**6)}", "N/A"))
                    canonical = None
                elif kind == "duplicate_gtin":
                    gtin = rng.choice(catalog[v])[1]
                    canonical = gtin.zfill(14)
                else:
                    gtin = rng.choice(unknown_gtins[v])
                    canonical = gtin.zfill(14)
                name = f"{rng.choice(BRANDS)} {rng.choice(NOUNS)} X{rng.randrange(1000)}"
                sku = f"MK-{v:02d}-{rng.randrange(10**5):05d}"
                resolved_product = rng.choice(catalog[v])[0] if status == "resolved" else None
                product = resolved_product or placeholder[v]
                exception_id += 1
                exception_rows.append(
                    (
                        exception_id,
                        item_id,
                        v,
                        gtin,
                        name,
                        sku,
                        kind,
                        status,
                        resolved_product,
                        created + timedelta(days=1) if resolved_product else None,
                        None,
                        "ignored in bench" if status == "ignored" else None,
                        created,
                        created,
                    )
                )
                needs_match = status != "resolved"
            else:
                product, gtin, name, sku = rng.choice(catalog[v])
                canonical = gtin.zfill(14)
                needs_match = False
            item_rows.append(
                (
                    item_id,
                    order_id,
                    v,
                    product,
                    f"var-{item_id}-{line}",
                    name,
                    sku,
                    gtin,
                    "ean13" if canonical else None,
                    canonical,
                    quantity,
                    price,
                    needs_match,
                    created,
                    created,
                )
            )
        order_rows.append(
            (
                order_id,
                v,
                "letzshop",
                f"o{order_id}",
                f"s{order_id}",
                f"R{order_id:09d}",
                f"LS-{v}-R{order_id:09d}",
                rng.choice(("pending", "processing", "shipped")),
                f"customer{order_id}@example.test",
                f"Customer {order_id}",
                "EUR",
                total,
                order_date,
                order_date,
                order_date,
            )
        )
    return {
        "vendors": vendor_rows,
        "products": product_rows,
        "orders": order_rows,
        "order_items": item_rows,
        "order_item_exceptions": exception_rows,
    }


COLUMNS = {
    "vendors": ["id", "code", "name", "is_active", "created_at", "updated_at"],
    "products": PRODUCT_COLUMNS,
    "orders": ORDER_COLUMNS,
    "order_items": ITEM_COLUMNS,
    "order_item_exceptions": EXCEPTION_COLUMNS,
}


def _batches(rows: Sequence[tuple[Any, ...]]) -> Iterator[Sequence[tuple[Any, ...]]]:
    for start in range(0, len(rows), BATCH):
        yield rows[start : start + BATCH]


def _sqlite_value(value: Any) -> Any:
    # The format SQLAlchemy's SQLite DateTime stores (naive UTC).
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load_sqlite(path: Path, data: dict[str, list[tuple[Any, ...]]]) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    for table, rows in data.items():
        columns = COLUMNS[table]
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        )
        for batch in _batches(rows):
            conn.executemany(statement, [tuple(map(_sqlite_value, row)) for row in batch])
        conn.commit()
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def load_postgres(url: str, data: dict[str, list[tuple[Any, ...]]]) -> None:
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        with conn.cursor() as cursor:
            for table, rows in data.items():
                columns = ", ".join(COLUMNS[table])
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
        conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", type=Path, default=DEFAULT_SQLITE)
    parser.add_argument("--database-url", help="PostgreSQL URL of an empty database")
    parser.add_argument("--vendors", type=int, default=50)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--exceptions", type=int, default=100_000)
    parser.add_argument("--products-per-vendor", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()

    started = time.perf_counter()
    data = generate(
        vendors=args.vendors,
        items=args.items,
        exceptions=args.exceptions,
        products_per_vendor=args.products_per_vendor,
        seed=args.seed,
    )
    print(
        f"generated in {time.perf_counter() - started:.1f}s: "
        + ", ".join(f"{len(rows):,} {table}" for table, rows in data.items()),
        flush=True,
    )

    loaded = time.perf_counter()
    if args.database_url:
        migrate.upgrade(args.database_url)
        load_postgres(args.database_url, data)
        target = args.database_url
    else:
        args.sqlite.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.sqlite}{suffix}").unlink(missing_ok=True)
        migrate.upgrade(f"sqlite:///{args.sqlite}")
        load_sqlite(args.sqlite, data)
        target = str(args.sqlite)
    print(f"loaded into {target} in {time.perf_counter() - loaded:.1f}s", flush=True)


if __name__ == "__main__":
    main()
