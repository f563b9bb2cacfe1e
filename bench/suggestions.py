#!/usr/bin/env python3
"""Suggestions (GET …/order-exceptions/{id}/suggestions): top-1 / top-3 accuracy and latency on
a 100,000-product catalog where the generator knows the right product of every exception.

    .venv/bin/python bench/suggestions.py                      # SQLite, bench/out/suggestions.db
    .venv/bin/python scripts/with_postgres.py -- sh -c \\
        '.venv/bin/python bench/suggestions.py --database-url "$ORDERGATE_TEST_DATABASE_URL"'

Its own dataset (the exceptions bench's generator has 50,000 products and no truth), written
into a fresh database (SQLite: the file is replaced; PostgreSQL: the database must be empty):
20 vendors x 5,000 products with titles drawn from brand / line / article / variant
vocabularies (so a catalog holds many near namesakes, as real ones do), 40 % of them copied
from a marketplace listing with an MPN. Then, per kind, `--cases` exceptions whose right
product is known:

- `check_digit_typo`  gtin_mismatch: the product's GTIN with a wrong check digit
- `one_digit_off`     gtin_mismatch: one other digit of the product's GTIN mistyped
- `other_form`        the product's GTIN as GTIN-14 of a case (indicator 1-8), or a GTIN-12
                      (UPC-A) product arriving without its leading zero (11 digits)
- `same_sku`          an unknown GTIN, the product's SKU (half of them in lower case)
- `same_mpn`          the GTIN of another marketplace listing with the product's MPN
- `similar_title`     an unknown GTIN and SKU; the name is the title with one word dropped,
                      one letter mistyped and lower-cased; for half of them only brand, line and
                      article are left (no variant, no model number), which may name several
                      of the vendor's products
- `remembered`        an unknown GTIN another vendor mapped to its copy of the same listing
- `duplicate_gtin`    the product and a sibling variant (the same title with another variant
                      word) share the GTIN; the name is the title, noised as above

The names of the GTIN/SKU/MPN/remembered cases are a generic "brand article" (many products
share it), so those cases stand on their GTIN/SKU/MPN evidence. Every exception is asked for
through the HTTP app (TestClient, admin token) once after a warm-up, then once more as the bare
service call; the bench exits 1 when a row count is wrong or a suggestion belongs to another
vendor. Target: p95 <= 50 ms (HTTP).
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from stdnum import ean  # noqa: E402

from ordergate import migrate  # noqa: E402
from ordergate.app import create_app  # noqa: E402
from ordergate.auth.service import create_user  # noqa: E402
from ordergate.config import Settings  # noqa: E402
from ordergate.db import make_engine  # noqa: E402
from ordergate.item_exceptions.suggestions import suggest_products  # noqa: E402
from ordergate.scope import Scope  # noqa: E402
from ordergate.security import use_cheap_password_hashing  # noqa: E402

SEED = 20261202
REFERENCE = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_SQLITE = Path(__file__).parent / "out" / "suggestions.db"
PASSWORD = "bench-password-1234"
TARGET_P95_MS = 50.0
KINDS = (
    "check_digit_typo",
    "one_digit_off",
    "other_form",
    "same_sku",
    "same_mpn",
    "similar_title",
    "remembered",
    "duplicate_gtin",
)

BRANDS = [
    "Funko", "LEGO", "Ravensburger", "Playmobil", "Hasbro", "Mattel", "Schleich", "Bandai",
    "Haba", "Djeco", "Janod", "Smoby", "Vtech", "Chicco", "Brio", "Kosmos", "Clementoni",
    "Carrera", "Revell", "Siku", "Bruder", "Corolle", "Goki", "Tonies", "Sigikid", "Moulin Roty",
    "Hape", "Melissa", "Geomag", "Eichhorn",
]  # fmt: skip
LINES = [
    "City", "Technic", "Classic", "Deluxe", "Mini", "Pro", "Junior", "Explorer", "Creator",
    "Friends", "Duplo", "Starter", "Premium", "Family", "Adventure", "Nature", "Space",
    "Ocean", "Farm", "Castle", "Racing", "Kitchen", "Baby", "Magic", "Wild",
]  # fmt: skip
ARTICLES = [
    "Fire Station", "Police Car", "Puzzle", "Race Car", "Doll House", "Board Game", "Plush Bear",
    "Train Set", "Building Blocks", "Tea Set", "Tool Box", "Horse Stable", "Pirate Ship",
    "Space Rocket", "Dinosaur", "Marble Run", "Play Tent", "Rocking Horse", "Music Box",
    "Memory Game", "Card Game", "Science Kit", "Paint Set", "Garage", "Tractor", "Helicopter",
    "Ambulance", "Excavator", "Zoo", "Castle", "Robot", "Figure", "Knight", "Unicorn",
    "Airport", "Camper Van", "Treehouse", "Submarine", "Bakery", "Aquarium",
]  # fmt: skip
VARIANTS = [
    "red", "blue", "green", "yellow", "pink", "black", "white", "orange", "purple", "small",
    "large", "XL", "500 pieces", "1000 pieces", "2000 pieces", "set of 3", "set of 6",
    "with lights", "with sound", "deluxe edition",
]  # fmt: skip


def make_gtin(rng: random.Random, prefix: str, length: int = 13) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - 1 - len(prefix)))
    return body + ean.calc_check_digit(body)


def with_check(body: str) -> str:
    return body + ean.calc_check_digit(body)


@dataclass
class Case:
    kind: str
    vendor_id: int
    truth: int  # product id
    exception_id: int = 0


@dataclass
class Dataset:
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]]
    cases: list[Case]
    products: int


def generate(*, vendors: int, per_vendor: int, cases_per_kind: int, seed: int) -> Dataset:
    rng = random.Random(seed)
    now = REFERENCE
    vendor_rows = [(v, f"s{v:02d}", f"Shop {v:02d}", True, now, now) for v in range(1, vendors + 1)]
    product_rows: list[list[Any]] = []
    listing_rows: list[tuple[Any, ...]] = []
    by_vendor: dict[int, list[int]] = defaultdict(list)  # index into product_rows
    placeholder: dict[int, int] = {}
    product_id = 0
    listing_id = 0
    seen_gtins: set[str] = set()

    def new_gtin(prefix: str = "40", length: int = 13) -> str:
        while True:
            gtin = make_gtin(rng, prefix, length)
            if gtin not in seen_gtins:
                seen_gtins.add(gtin)
                return gtin

    def new_listing(title: str, gtin: str, mpn: str | None, brand: str) -> int:
        nonlocal listing_id
        listing_id += 1
        listing_rows.append(
            (
                listing_id, "letzshop", f"mp-{listing_id}", title, brand, gtin, gtin.zfill(14),
                "gtin13", mpn, None, 1999, "EUR", "{}", now, now,
            )
        )  # fmt: skip
        return listing_id

    for v in range(1, vendors + 1):
        product_id += 1
        placeholder[v] = product_id
        product_rows.append(
            [
                product_id, v, None, None, "0000000000000", None, "placeholder",
                "Unmatched product (placeholder)", None, "EUR", False, True, now, now,
            ]
        )  # fmt: skip
        for n in range(per_vendor):
            product_id += 1
            brand = rng.choice(BRANDS)
            words = [brand, rng.choice(LINES), rng.choice(ARTICLES), rng.choice(VARIANTS)]
            if rng.random() < 0.6:
                words.append(str(rng.randrange(100, 99999)))
            title = " ".join(words)
            gtin = new_gtin()
            sku = f"{brand[:3].upper()}-{v:02d}{n:05d}-{rng.choice('ABCDEFGH')}"
            listing = None
            if rng.random() < 0.4:
                listing = new_listing(title, gtin, f"M{rng.randrange(10**8):08d}", brand)
            by_vendor[v].append(len(product_rows))
            product_rows.append(
                [
                    product_id, v, listing, sku, gtin, gtin.zfill(14), "ean13", title, brand,
                    "EUR", True, False, now, now,
                ]
            )  # fmt: skip

    cases: list[Case] = []
    lines: list[tuple[Case, str, str, str, str]] = []  # gtin, name, sku, type
    mapping_rows: list[tuple[Any, ...]] = []
    used: set[int] = set()

    def pick(v: int, *, listed: bool = False) -> list[Any]:
        while True:
            row = product_rows[rng.choice(by_vendor[v])]
            if row[0] not in used and (not listed or row[2] is not None):
                used.add(row[0])
                return row

    def generic_name(row: list[Any]) -> str:
        title: str = row[7]
        article = next(a for a in ARTICLES if a in title)
        return f"{row[8]} {article}"

    def noisy_title(title: str) -> str:
        words = title.split()
        if len(words) > 3:
            words.pop(rng.randrange(1, len(words)))
        index = rng.randrange(len(words))
        word = words[index]
        if len(word) > 3:
            at = rng.randrange(1, len(word) - 1)
            words[index] = word[:at] + rng.choice("aeiourstn") + word[at + 1 :]
        return " ".join(words).lower()

    mapping_id = 0
    for kind in KINDS:
        for _ in range(cases_per_kind):
            v = rng.randrange(1, vendors + 1)
            row = pick(v, listed=kind in ("same_mpn", "remembered"))
            case = Case(kind, v, row[0])
            truth_gtin: str = row[4]
            name = generic_name(row)
            sku = f"MK-{rng.randrange(10**7):07d}"
            etype = "product_not_found"
            if kind == "check_digit_typo":
                wrong = str((int(truth_gtin[-1]) + rng.randrange(1, 10)) % 10)
                line_gtin = truth_gtin[:-1] + wrong
                etype = "gtin_mismatch"
            elif kind == "one_digit_off":
                at = rng.randrange(2, 12)
                digit = rng.choice([d for d in "0123456789" if d != truth_gtin[at]])
                line_gtin = truth_gtin[:at] + digit + truth_gtin[at + 1 :]
                etype = "gtin_mismatch"
            elif kind == "other_form":
                if rng.random() < 0.5:
                    line_gtin = with_check(str(rng.randrange(1, 9)) + truth_gtin[:-1])
                else:
                    upc = new_gtin("0", 12)
                    row[4], row[5], row[6] = upc, upc.zfill(14), "upca"
                    line_gtin = upc[1:]
                    etype = "gtin_mismatch"
            elif kind == "same_sku":
                line_gtin = new_gtin("50")
                sku = row[3].lower() if rng.random() < 0.5 else row[3]
            elif kind == "same_mpn":
                line_gtin = new_gtin("57")
                mpn = listing_rows[row[2] - 1][8]
                new_listing(row[7], line_gtin, mpn, row[8])
            elif kind == "similar_title":
                line_gtin = new_gtin("50")
                if rng.random() < 0.5:
                    name = noisy_title(row[7])
                else:
                    # Hard: only brand, line and article (no variant, no model number), as
                    # marketplaces often name a product; the vendor may sell several such.
                    name = noisy_title(" ".join(row[7].split()[:-1]))
                    name = " ".join(w for w in name.split() if not w.isdigit())
            elif kind == "remembered":
                line_gtin = new_gtin("50")
                other = rng.choice([w for w in range(1, vendors + 1) if w != v])
                # The other vendor's copy of the same listing, and its remembered mapping.
                product_id += 1
                their_gtin = new_gtin()  # their copy carries a GTIN of their own
                product_rows.append(
                    [product_id, other, row[2], f"THEIR-{product_id}", their_gtin,
                     their_gtin.zfill(14), "ean13", f"Their own title {product_id}", row[8],
                     "EUR", True, False, now, now]
                )  # fmt: skip
                used.add(product_id)
                mapping_id += 1
                mapping_rows.append((mapping_id, other, line_gtin.zfill(14), product_id, None, now))
            else:  # duplicate_gtin
                # The decoy is a sibling variant that wrongly carries the same GTIN.
                decoy = pick(v)
                variant = next(x for x in VARIANTS if f" {x}" in row[7])
                other_variant = rng.choice([x for x in VARIANTS if x != variant])
                decoy[4], decoy[5] = truth_gtin, truth_gtin.zfill(14)
                decoy[7] = row[7].replace(f" {variant}", f" {other_variant}", 1)
                line_gtin = truth_gtin
                name = noisy_title(row[7])
                etype = "duplicate_gtin"
            cases.append(case)
            lines.append((case, line_gtin, name, sku, etype))

    order_rows: list[tuple[Any, ...]] = []
    item_rows: list[tuple[Any, ...]] = []
    exception_rows: list[tuple[Any, ...]] = []
    for n, (case, raw_gtin, name, sku, etype) in enumerate(lines, start=1):
        created = REFERENCE - timedelta(minutes=n)
        valid = etype != "gtin_mismatch"
        order_rows.append(
            (
                n, case.vendor_id, "letzshop", f"o{n}", f"s{n}", f"R{n:09d}",
                f"LS-{case.vendor_id}-R{n:09d}", "pending", "EUR", 1999, created, created,
                created,
            )
        )  # fmt: skip
        item_rows.append(
            (
                n, n, placeholder[case.vendor_id], f"var-{n}", name, sku, raw_gtin,
                "ean13" if valid else None, raw_gtin.zfill(14) if valid and raw_gtin else None,
                1, 1999, True, created, created,
            )
        )  # fmt: skip
        exception_rows.append(
            (n, n, case.vendor_id, raw_gtin, name, sku, etype, "pending", created, created)
        )
        case.exception_id = n

    product_columns = [
        "id", "vendor_id", "marketplace_product_id", "sku", "gtin", "gtin_normalized",
        "gtin_type", "title", "brand", "currency", "is_active", "is_placeholder", "created_at",
        "updated_at",
    ]  # fmt: skip
    tables: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {
        "vendors": (["id", "code", "name", "is_active", "created_at", "updated_at"], vendor_rows),
        "marketplace_products": (
            [
                "id",
                "marketplace",
                "marketplace_product_id",
                "title",
                "brand",
                "gtin",
                "gtin_normalized",
                "gtin_type",
                "mpn",
                "sku",
                "price_cents",
                "currency",
                "attributes",
                "created_at",
                "updated_at",
            ],  # fmt: skip
            listing_rows,
        ),
        "products": (product_columns, [tuple(r) for r in product_rows]),
        "gtin_mappings": (
            ["id", "vendor_id", "gtin_key", "product_id", "created_by", "created_at"],
            mapping_rows,
        ),
        "orders": (
            [
                "id",
                "vendor_id",
                "channel",
                "external_order_id",
                "external_shipment_id",
                "external_order_number",
                "order_number",
                "status",
                "currency",
                "total_cents",
                "order_date",
                "created_at",
                "updated_at",
            ],  # fmt: skip
            order_rows,
        ),
        "order_items": (
            [
                "id",
                "order_id",
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
            ],  # fmt: skip
            item_rows,
        ),
        "order_item_exceptions": (
            [
                "id",
                "order_item_id",
                "vendor_id",
                "original_gtin",
                "original_product_name",
                "original_sku",
                "exception_type",
                "status",
                "created_at",
                "updated_at",
            ],  # fmt: skip
            exception_rows,
        ),
    }
    matchable = sum(1 for r in product_rows if not r[11])
    return Dataset(tables=tables, cases=cases, products=matchable)


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    return value


def load(url: str, data: Dataset) -> None:
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA synchronous=OFF")
        for table, (columns, rows) in data.tables.items():
            marks = ", ".join("?" * len(columns))
            conn.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                [tuple(map(_sqlite_value, row)) for row in rows],
            )
        conn.commit()
        conn.execute("ANALYZE")
        conn.commit()
        conn.close()
        return
    import psycopg

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as pg:
        with pg.cursor() as cursor:
            for table, (columns, rows) in data.tables.items():
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                if rows:
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
        pg.commit()
        pg.autocommit = True
        pg.execute("VACUUM ANALYZE")


def check_counts(url: str, data: Dataset) -> list[str]:
    """What the database holds against what was generated (and, on SQLite, the FTS table
    against the catalog, which its triggers filled)."""
    problems: list[str] = []
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            for table, (_, rows) in data.tables.items():
                count = conn.scalar(text(f"SELECT count(*) FROM {table}"))
                if count != len(rows):
                    problems.append(f"{table}: {count} rows, expected {len(rows)}")
            matchable = conn.scalar(
                text("SELECT count(*) FROM products WHERE is_active AND NOT is_placeholder")
            )
            if matchable != data.products:
                problems.append(f"matchable products: {matchable}, expected {data.products}")
            if url.startswith("sqlite"):
                indexed = conn.scalar(text("SELECT count(*) FROM products_title_search"))
                products = conn.scalar(text("SELECT count(*) FROM products"))
                if indexed != products:
                    problems.append(f"products_title_search: {indexed} rows, {products} products")
    finally:
        engine.dispose()
    return problems


def quantile(values: Sequence[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", type=Path, default=DEFAULT_SQLITE)
    parser.add_argument("--database-url", help="PostgreSQL URL of an empty database")
    parser.add_argument("--vendors", type=int, default=20)
    parser.add_argument("--products-per-vendor", type=int, default=5_000)
    parser.add_argument("--cases", type=int, default=100, help="exceptions per kind")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    use_cheap_password_hashing()

    if args.database_url:
        url = args.database_url
    else:
        args.sqlite.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{args.sqlite}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{args.sqlite}"

    started = time.perf_counter()
    data = generate(
        vendors=args.vendors,
        per_vendor=args.products_per_vendor,
        cases_per_kind=args.cases,
        seed=args.seed,
    )
    print(f"generated in {time.perf_counter() - started:.1f}s", flush=True)
    started = time.perf_counter()
    migrate.upgrade(url)
    load(url, data)
    print(f"loaded in {time.perf_counter() - started:.1f}s", flush=True)
    problems = check_counts(url, data)
    if problems:
        print("wrong row counts:\n  " + "\n  ".join(problems))
        sys.exit(1)

    app = create_app(
        Settings(env="test", database_url=url, secret_key="bench-secret-key-for-ordergate-benches")
    )
    with app.state.session_factory() as session:
        create_user(
            session, email="admin@bench.test", password=PASSWORD, is_admin=True, vendor_codes=[]
        )
        session.commit()
    vendor_of_product = {
        row[0]: row[1] for row in data.tables["products"][1]
    }  # to prove isolation below

    hits1: dict[str, int] = defaultdict(int)
    hits3: dict[str, int] = defaultdict(int)
    timings: dict[str, list[float]] = defaultdict(list)
    foreign: list[tuple[int, int]] = []
    with TestClient(app) as client:
        response = client.post(
            "/api/v1/auth/login", json={"email": "admin@bench.test", "password": PASSWORD}
        )
        response.raise_for_status()
        headers = {"Authorization": f"Bearer {response.json()['access_token']}"}
        base = "/api/v1/admin/order-exceptions"
        for case in data.cases[:20]:  # warm-up
            client.get(f"{base}/{case.exception_id}/suggestions", headers=headers)
        for case in data.cases:
            began = time.perf_counter()
            response = client.get(f"{base}/{case.exception_id}/suggestions", headers=headers)
            timings[case.kind].append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
            ids = [s["product"]["id"] for s in response.json()["suggestions"]]
            foreign += [
                (case.exception_id, i) for i in ids if vendor_of_product[i] != case.vendor_id
            ]
            hits1[case.kind] += ids[:1] == [case.truth]
            hits3[case.kind] += case.truth in ids[:3]

    # The bare service call (its own session), to tell the query work from the HTTP layer.
    service_ms: list[float] = []
    scope = Scope(actor_user_id=None, vendor_id=None, is_admin=True)
    for case in data.cases:
        began = time.perf_counter()
        with app.state.session_factory() as session:
            suggest_products(session, scope=scope, exception_id=case.exception_id)
        service_ms.append((time.perf_counter() - began) * 1000)

    print(f"\ndatabase: {url.split('@')[-1]}; {data.products:,} matchable products\n")
    print("| case | n | top-1 | top-3 | p50 ms | p95 ms |")
    print("|---|--:|--:|--:|--:|--:|")
    every: list[float] = []
    for kind in KINDS:
        n = len(timings[kind])
        every += timings[kind]
        print(
            f"| {kind} | {n} | {hits1[kind] / n:.0%} | {hits3[kind] / n:.0%} | "
            f"{statistics.median(timings[kind]):.1f} | {quantile(timings[kind], 95):.1f} |"
        )
    total = len(every)
    print(
        f"| **all** | {total} | {sum(hits1.values()) / total:.1%} | "
        f"{sum(hits3.values()) / total:.1%} | {statistics.median(every):.1f} | "
        f"{quantile(every, 95):.1f} |"
    )
    print(
        f"| service call (all) | {len(service_ms)} | | | {statistics.median(service_ms):.1f} | "
        f"{quantile(service_ms, 95):.1f} |"
    )
    p95 = quantile(every, 95)
    print(f"\np95 {p95:.1f} ms: {'pass' if p95 <= TARGET_P95_MS else 'MISS'} (<= {TARGET_P95_MS})")
    if foreign:
        print(f"another vendor's product suggested: {foreign[:10]}")
        sys.exit(1)


if __name__ == "__main__":
    main()
