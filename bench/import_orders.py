"""Order import benchmark: sandbox shipments through the production import, SQLite and PostgreSQL.

    make bench
    # which runs:
    .venv/bin/python scripts/with_postgres.py -- .venv/bin/python bench/import_orders.py

Without ``--database-url`` and without ``ORDERGATE_TEST_DATABASE_URL`` (which
``scripts/with_postgres.py`` sets) only SQLite runs. For every backend and every ``--orders``
size, one child process:

1. generates the shipments in-process (fixed seed, ``BENCH_MIX`` dirt) one page of 100 at a
   time, renders each page through the sandbox GraphQL schema and appends the JSON body to a
   temporary file, so memory stays flat in N (timed as "generation", never as import);
2. imports every page into a fresh, migrated database through the production path: JSON
   decode, ``parse_shipment_page``, then ``letzshop.sync.SyncJob.import_page``
   (``to_incoming_order``, ``import_orders``, the sync run's counters and heartbeat, one commit
   per page) — the sync job minus HTTP;
3. imports the same pages again unchanged (nothing may change), then the same pages with 5 %
   of the shipments changed (one unit state each; exactly those orders must be updated);
4. measures the limits in the same run: ``orjson.loads`` + ``parse_shipment_page`` of the
   same pages with nothing written (the re-import's limit), and the same rows (orders, items,
   units, exceptions, events) written into a second fresh database in one transaction with
   one statement per table — ``COPY`` on PostgreSQL, one prepared ``executemany`` on SQLite
   (the first import's limit; building the rows from the JSON bytes is counted in it);
5. reports its peak RSS (``ru_maxrss``), so N=20,000 against N=100,000 shows whether memory is
   flat in N.

Every timing starts from the page's JSON bytes; the import's ends at its commit.

Profile one run (cProfile over the import timings only; figures are then not comparable):

    .venv/bin/python bench/import_orders.py --backend sqlite --orders 5000 --profile /tmp/prof
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import platform
import pstats
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from ordergate import migrate
from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.db import make_engine, make_session_factory, utcnow
from ordergate.gtin import normalize_gtin
from ordergate.heap import startup_objects_frozen
from ordergate.letzshop.adapter import CHANNEL
from ordergate.letzshop.models import SyncRunStatus
from ordergate.letzshop.parse import parse_graphql_errors, parse_shipment_page
from ordergate.letzshop.sync import SyncJob, SyncSummary
from ordergate.letzshop.types import ShipmentPage
from ordergate.models import (
    Event,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
    Product,
    SyncRun,
)
from ordergate.sandbox import (
    MAX_PAGE_SIZE,
    Article,
    DirtMix,
    duplicate_gtins,
    generate_shipments,
    sandbox_catalog,
    shipments_page_json,
)
from ordergate.vendors.service import create_vendor

SEED = 20_240_301
CATALOG_SIZE = 1_000
DEFAULT_SIZES = (20_000, 100_000)
PAGE_SIZE = MAX_PAGE_SIZE
DATABASE_NAME = "ordergate_bench"
ENV_DATABASE_URL = "ORDERGATE_TEST_DATABASE_URL"
# Per order line: 15 % unknown GTINs, 3 % wrong check digit, 2 % GTINs two products share,
# 2 % without GTIN; six lines at most and frequent multi-unit lines give about 3 units an order.
BENCH_MIX = DirtMix(
    unknown_gtin=0.15,
    invalid_check_digit=0.03,
    duplicate_gtin=0.02,
    no_trade_id=0.02,
    multi_quantity=0.6,
    max_lines=6,
    max_quantity=3,
)


@dataclass(frozen=True, slots=True)
class Targets:
    first_orders_per_s: int
    limit_ratio: float  # first import / the limit
    changed_orders_per_s: int  # re-import with 5 % of the shipments changed


# Issue 12's targets, at N = 20,000 on the 2-core bench machine.
TARGET_SIZE = 20_000
TARGETS = {
    "sqlite": Targets(first_orders_per_s=3_000, limit_ratio=1.3, changed_orders_per_s=10_000),
    "postgresql": Targets(first_orders_per_s=2_500, limit_ratio=2.0, changed_orders_per_s=8_000),
}
TARGET_REIMPORT_RATIO = 1.5  # unchanged re-import / parse-only
TARGET_PEAK_RSS_MB = 300
# "Flat in N": N = 20,000 -> 100,000 may move peak memory by this share at most.
FLAT_RSS_TOLERANCE = 0.05

COUNTED_TABLES: dict[str, Any] = {
    "orders": Order,
    "items": OrderItem,
    "units": OrderItemUnit,
    "exceptions": OrderItemException,
    "events": Event,
}


# --- generation ----------------------------------------------------------------------------


@dataclass(slots=True)
class Generated:
    pages: int = 0
    orders: int = 0
    lines: int = 0
    units: int = 0
    seconds: float = 0.0


def write_pages(path: Path, *, orders: int, catalog: list[Article]) -> Generated:
    """Append one GraphQL JSON body per line, generating one page of shipments at a time."""
    generated = Generated()
    start = time.perf_counter()
    with path.open("wb") as out:
        for first in range(0, orders, PAGE_SIZE):
            page_number = first // PAGE_SIZE
            shipments = generate_shipments(
                SEED,
                min(PAGE_SIZE, orders - first),
                mix=BENCH_MIX,
                catalog=catalog,
                id_prefix=f"p{page_number:04d}",
            )
            body = shipments_page_json(shipments, first=PAGE_SIZE)
            out.write(json.dumps(body, separators=(",", ":")).encode())
            out.write(b"\n")
            generated.pages += 1
            generated.orders += len(shipments)
            for shipment in shipments:
                units = shipment["inventoryUnits"]
                generated.units += len(units)
                generated.lines += len({unit["variant"]["id"] for unit in units})
    generated.seconds = time.perf_counter() - start
    return generated


# The 5 % workload: of every page's 100 shipments, every 20th has its first unit's state moved on.
CHANGE_EVERY = 20
_NEXT_STATE = {
    "unconfirmed": "confirmed_available",
    "confirmed_available": "confirmed_unavailable",
    "confirmed_unavailable": "confirmed_available",
    "returned": "confirmed_available",
}


def write_changed_pages(source: Path, target: Path) -> int:
    """The same pages with 5 % of the shipments changed (one unit state each); how many."""
    changed = 0
    with source.open("rb") as pages, target.open("wb") as out:
        for body_bytes in pages:
            body = orjson.loads(body_bytes)
            for index, node in enumerate(body["data"]["shipments"]["nodes"]):
                if index % CHANGE_EVERY == 0:
                    unit = node["inventoryUnits"][0]
                    unit["state"] = _NEXT_STATE[unit["state"]]
                    changed += 1
            out.write(orjson.dumps(body))
            out.write(b"\n")
    return changed


def read_pages(path: Path) -> Iterator[bytes]:
    with path.open("rb") as pages:
        yield from pages


# --- databases -----------------------------------------------------------------------------


def fresh_database(backend: str, name: str, *, workdir: Path, admin_url: str | None) -> str:
    """An empty database with the migrations applied; its URL."""
    if backend == "sqlite":
        url = f"sqlite:///{workdir / f'{name}.db'}"
    else:
        assert admin_url is not None
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


@dataclass(frozen=True, slots=True)
class Vendor:
    id: int
    placeholder_id: int
    # The GTIN as Letzshop presents it -> (product id, exception type): what the catalog says.
    lookup: dict[str, tuple[int | None, str | None]]


def seed_vendor(
    session_factory: sessionmaker[Session], catalog: list[Article], *, code: str = "bench"
) -> Vendor:
    """The bench vendor with the sandbox catalog; two products for each duplicate GTIN."""
    duplicates = set(duplicate_gtins(catalog))
    now = utcnow()
    with session_factory() as session:
        vendor_id = create_vendor(session, code=code, name=f"Bench shop {code}").id
        rows = []
        for article in catalog:
            for copy in range(2 if article.gtin13 in duplicates else 1):
                rows.append(
                    {
                        "vendor_id": vendor_id,
                        "sku": article.sku if copy == 0 else f"{article.sku}-B",
                        "gtin": article.gtin13,
                        "gtin_normalized": normalize_gtin(article.gtin13).canonical,
                        "gtin_type": article.parser,
                        "title": article.names["en"],
                        "brand": article.brand,
                        "price_cents": article.price_cents,
                        "currency": "EUR",
                        "is_active": True,
                        "is_placeholder": False,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        session.execute(insert(Product), rows)
        # The import creates the placeholder on first need; the limit writer needs its id.
        placeholder_id = placeholder_product_id(session, vendor_id=vendor_id)
        products = session.execute(
            select(Product.gtin, Product.id).where(
                Product.vendor_id == vendor_id, Product.is_placeholder.is_(False)
            )
        ).all()
        session.commit()
    ids: dict[str, int] = {gtin: product_id for gtin, product_id in products if gtin is not None}
    lookup: dict[str, tuple[int | None, str | None]] = {}
    for article in catalog:
        if article.gtin13 in duplicates:
            lookup[article.gtin13] = (None, "duplicate_gtin")
            continue
        known = (ids[article.gtin13], None)
        lookup[article.gtin13] = known
        lookup["0" + article.gtin13] = known  # GTIN-14 spelling
        if article.has_gtin12_form:
            lookup[article.gtin13[1:]] = known
    return Vendor(id=vendor_id, placeholder_id=placeholder_id, lookup=lookup)


def count_rows(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        counts = {
            name: conn.scalar(select(func.count()).select_from(model)) or 0
            for name, model in COUNTED_TABLES.items()
        }
        by_type = conn.execute(
            select(OrderItemException.exception_type, func.count()).group_by(
                OrderItemException.exception_type
            )
        ).all()
    counts.update({f"exceptions.{kind}": count for kind, count in by_type})
    return counts


# --- the production import -----------------------------------------------------------------


@dataclass(slots=True)
class Limit:
    build_seconds: float = 0.0  # JSON bytes to row tuples, every page
    write_seconds: float = 0.0  # the one transaction
    cpu_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        return self.build_seconds + self.write_seconds


@dataclass(slots=True)
class Imported:
    seconds: float = 0.0
    cpu_seconds: float = 0.0  # this process only; the PostgreSQL server's work is not in it
    orders_created: int = 0
    orders_updated: int = 0
    exceptions_created: int = 0
    failed: int = 0


def page_from_json(body_bytes: bytes) -> ShipmentPage:
    """What ``LetzshopClient.iter_shipment_pages`` yields for this response body."""
    body = orjson.loads(body_bytes)  # as the client does
    errors = parse_graphql_errors(body.get("errors"))
    return parse_shipment_page(body["data"]["shipments"], errors=errors)


def import_pass(
    session_factory: sessionmaker[Session],
    vendor_id: int,
    pages: Path,
    profiler: cProfile.Profile | None,
) -> Imported:
    """One sync run over every page; only the per-page work (JSON to commit) is timed."""
    with session_factory() as session:
        run = SyncRun(
            vendor_id=vendor_id,
            channel=CHANNEL,
            trigger="bench",
            state_filter="all",
            status="running",
            failures=[],
        )
        session.add(run)
        session.commit()
        summary = SyncSummary(run_id=run.id, status=SyncRunStatus.RUNNING)
    job = SyncJob(session_factory, vendor_id, summary, None)
    seconds = cpu_seconds = 0.0
    for body in read_pages(pages):
        if profiler:
            profiler.enable()
        start, cpu_start = time.perf_counter(), time.process_time()
        page = page_from_json(body)
        job.import_page(page, cursor=page.end_cursor)
        seconds += time.perf_counter() - start
        cpu_seconds += time.process_time() - cpu_start
        if profiler:
            profiler.disable()
    return Imported(
        seconds=seconds,
        cpu_seconds=cpu_seconds,
        orders_created=summary.orders_created,
        orders_updated=summary.orders_updated,
        exceptions_created=summary.exceptions_created,
        failed=len(summary.failed),
    )


# --- the limit ------------------------------------------------------------------------------

_RAW_TABLES: dict[str, tuple[str, ...]] = {
    "orders": (
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
        "customer_locale",
        "shipping_address",
        "billing_address",
        "total_cents",
        "currency",
        "order_date",
        "confirmed_at",
        "tracking_code",
        "tracking_provider",
        "raw_payload",
        "created_at",
        "updated_at",
    ),
    "order_items": (
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
    ),
    "order_item_units": (
        "order_item_id",
        "external_unit_id",
        "state",
        "created_at",
        "updated_at",
    ),
    "order_item_exceptions": (
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
    ),
    "events": (
        "vendor_id",
        "actor_user_id",
        "subject_type",
        "subject_id",
        "action",
        "before",
        "after",
        "at",
    ),
}


class RawWriter:
    """Page rows as plain tuples, written with one ``executemany`` per table."""

    def __init__(self, engine: Engine, vendor: Vendor) -> None:
        self.vendor = vendor
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.connection = engine.raw_connection()
        marker = "?" if self.is_sqlite else "%s"
        self.statements = {
            table: f"INSERT INTO {table} ({', '.join(columns)}) "
            f"VALUES ({', '.join(marker for _ in columns)})"
            for table, columns in _RAW_TABLES.items()
        }
        self.next_id = {table: self._max_id(table) + 1 for table in _RAW_TABLES}
        if self.is_sqlite:
            self.json: Callable[[Any], Any] = json.dumps
        else:
            from psycopg.types.json import Jsonb

            self.json = Jsonb

    def _max_id(self, table: str) -> int:
        cursor = self.connection.cursor()
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
        row = cursor.fetchone()
        assert row is not None  # COALESCE(MAX(id), 0) always answers one row
        (value,) = row
        cursor.close()
        self.connection.commit()
        return int(value)

    def _take_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    def _timestamp(self, value: datetime | None) -> Any:
        # SQLite stores UTCDateTime as naive UTC text, as SQLAlchemy writes it.
        if value is None or not self.is_sqlite:
            return value
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")

    def page_rows(self, body_bytes: bytes, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        """Append the page's rows (ids allocated here) to ``rows``."""
        now = self._timestamp(utcnow())
        for node in orjson.loads(body_bytes)["data"]["shipments"]["nodes"]:
            self._shipment_rows(node, now, rows)

    def write_all(self, rows: dict[str, list[tuple[Any, ...]]]) -> None:
        """One transaction, one statement per table."""
        cursor = self.connection.cursor()
        if self.is_sqlite:
            cursor.execute("BEGIN IMMEDIATE")
            for table, table_rows in rows.items():
                if table_rows:
                    cursor.executemany(self.statements[table], table_rows)
        else:
            for table, table_rows in rows.items():
                columns = ", ".join(_RAW_TABLES[table])
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for row in table_rows:
                        copy.write_row(row)
        cursor.close()
        self.connection.commit()

    def _shipment_rows(
        self, node: dict[str, Any], now: Any, rows: dict[str, list[tuple[Any, ...]]]
    ) -> None:
        vendor_id, js = self.vendor.id, self.json
        order, units = node["order"], node["inventoryUnits"]
        states = [unit["state"] for unit in units]
        if "unconfirmed" in states:
            status = "pending"
        elif all(state == "confirmed_unavailable" for state in states):
            status = "cancelled"
        else:
            status = "processing"
        customer = order["billAddress"] or order["shipAddress"] or {}
        name = " ".join(p for p in (customer.get("firstName"), customer.get("lastName")) if p)
        tracking = node["tracking"] or {}
        order_id = self._take_id("orders")
        rows["orders"].append(
            (
                order_id,
                vendor_id,
                CHANNEL,
                order["id"],
                node["id"],
                order["number"],
                f"LS-{vendor_id}-{order['number']}-{node['id']}",
                status,
                order["email"],
                name or None,
                order["locale"],
                js(order["shipAddress"]),
                js(order["billAddress"]),
                _cents(order["total"]),
                "EUR",
                self._timestamp(datetime.fromisoformat(order["completedAt"])),
                None,
                tracking.get("code"),
                tracking.get("provider"),
                js(node),
                now,
                now,
            )
        )
        by_variant: dict[str, list[dict[str, Any]]] = {}
        for unit in units:
            by_variant.setdefault(unit["variant"]["id"], []).append(unit)
        for variant_id, variant_units in by_variant.items():
            self._line_rows(order_id, order["locale"], variant_id, variant_units, now, rows)

    def _line_rows(
        self,
        order_id: int,
        locale: str | None,
        variant_id: str,
        units: list[dict[str, Any]],
        now: Any,
        rows: dict[str, list[tuple[Any, ...]]],
    ) -> None:
        vendor_id, js = self.vendor.id, self.json
        variant = units[0]["variant"]
        number = (variant["tradeId"] or {}).get("number")
        parser = (variant["tradeId"] or {}).get("parser")
        product_id, exception_type = self.vendor.lookup.get(number or "", (None, None))
        names = (variant["product"] or {}).get("name") or {}
        name = names.get(locale) or next((n for n in names.values() if n), None)
        item_id = self._take_id("order_items")
        rows["order_items"].append(
            (
                item_id,
                order_id,
                product_id or self.vendor.placeholder_id,
                variant_id,
                name,
                variant["sku"],
                number,
                parser,
                number.zfill(14) if number else None,
                len(units),
                _cents(variant["price"]),
                product_id is None,
                now,
                now,
            )
        )
        rows["order_item_units"].extend((item_id, u["id"], u["state"], now, now) for u in units)
        if product_id is not None:
            return
        exception_type = exception_type or "product_not_found"
        exception_id = self._take_id("order_item_exceptions")
        rows["order_item_exceptions"].append(
            (
                exception_id,
                item_id,
                vendor_id,
                number,
                name,
                variant["sku"],
                exception_type,
                "pending",
                now,
                now,
            )
        )
        after = {"status": "pending", "exception_type": exception_type, "original_gtin": number}
        rows["events"].append(
            (vendor_id, None, "order_item_exception", exception_id, "created", None, js(after), now)
        )

    def close(self) -> None:
        self.connection.close()


def _cents(value: int | float | str | None) -> int | None:
    return None if value is None else int(Decimal(str(value)) * 100)


def limit_pass(engine: Engine, vendor: Vendor, pages: Path) -> Limit:
    """The physical limit: every page's rows built from its JSON bytes, then written in one
    transaction, one statement per table — ``COPY`` on PostgreSQL, one prepared
    ``executemany`` on SQLite."""
    writer = RawWriter(engine, vendor)
    limit = Limit()
    try:
        rows: dict[str, list[tuple[Any, ...]]] = {table: [] for table in _RAW_TABLES}
        for body in read_pages(pages):
            start, cpu_start = time.perf_counter(), time.process_time()
            writer.page_rows(body, rows)
            limit.build_seconds += time.perf_counter() - start
            limit.cpu_seconds += time.process_time() - cpu_start
        start, cpu_start = time.perf_counter(), time.process_time()
        writer.write_all(rows)
        limit.write_seconds = time.perf_counter() - start
        limit.cpu_seconds += time.process_time() - cpu_start
    finally:
        writer.close()
    return limit


def parse_only_pass(pages: Path) -> tuple[float, float, int]:
    """The re-import's limit: ``orjson.loads`` and ``parse_shipment_page`` over every page,
    nothing written. Wall and CPU seconds, and shipments parsed."""
    seconds = cpu_seconds = 0.0
    shipments = 0
    for body in read_pages(pages):
        start, cpu_start = time.perf_counter(), time.process_time()
        page = page_from_json(body)
        seconds += time.perf_counter() - start
        cpu_seconds += time.process_time() - cpu_start
        shipments += len(page.shipments)
    return seconds, cpu_seconds, shipments


# --- one run (a child process) -------------------------------------------------------------


@dataclass(slots=True)
class RunResult:
    backend: str
    orders: int
    server_version: str
    generated: Generated
    first: Imported
    again: Imported
    changed: Imported
    changed_shipments: int
    limit: Limit
    parse_seconds: float
    parse_cpu_seconds: float
    rows: dict[str, int]
    peak_rss_mb: float
    # ru_maxrss after each phase: where the peak was reached.
    peak_rss_by_phase: dict[str, float]
    # The 1-minute load average when the run started and ended: other work on the machine.
    load: tuple[float, float]
    notes: list[str] = field(default_factory=list)


def run_one(
    backend: str, orders: int, *, admin_url: str | None, profile_dir: Path | None
) -> RunResult:
    workdir = Path(tempfile.mkdtemp(prefix="ordergate-bench-"))
    try:
        return _run_one(backend, orders, admin_url=admin_url, workdir=workdir, profile=profile_dir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run_one(
    backend: str, orders: int, *, admin_url: str | None, workdir: Path, profile: Path | None
) -> RunResult:
    log = _logger(f"{backend} N={orders}")
    load_before = os.getloadavg()[0]
    phases: dict[str, float] = {"start": _peak_rss_mb()}
    catalog = sandbox_catalog(SEED, CATALOG_SIZE)
    pages, changed_pages = workdir / "pages.jsonl", workdir / "changed.jsonl"
    generated = write_pages(pages, orders=orders, catalog=catalog)
    changed_shipments = write_changed_pages(pages, changed_pages)
    phases["generation"] = _peak_rss_mb()
    log(f"generated {generated.pages} pages in {generated.seconds:.1f}s")

    import_url = fresh_database(backend, DATABASE_NAME, workdir=workdir, admin_url=admin_url)
    limit_url = fresh_database(
        backend, f"{DATABASE_NAME}_limit", workdir=workdir, admin_url=admin_url
    )
    engine, limit_engine = make_engine(import_url), make_engine(limit_url)
    session_factory = make_session_factory(engine)
    vendor = seed_vendor(session_factory, catalog)
    limit_vendor = seed_vendor(make_session_factory(limit_engine), catalog)
    before = count_rows(engine)

    names = ("first_import", "reimport", "changed")
    profilers = {name: cProfile.Profile() if profile else None for name in names}
    # As `ordergate worker` runs its jobs (ordergate/heap.py); the limit runs in it as well.
    with startup_objects_frozen():
        first = import_pass(session_factory, vendor.id, pages, profilers["first_import"])
        phases["first import"] = _peak_rss_mb()
        log(f"first import {first.seconds:.1f}s")
        after_first = count_rows(engine)
        again = import_pass(session_factory, vendor.id, pages, profilers["reimport"])
        phases["re-import"] = _peak_rss_mb()
        log(f"re-import {again.seconds:.1f}s")
        after_again = count_rows(engine)
        changed = import_pass(session_factory, vendor.id, changed_pages, profilers["changed"])
        phases["re-import 5 % changed"] = _peak_rss_mb()
        log(f"re-import, {changed_shipments} shipments changed, {changed.seconds:.1f}s")
        after_changed = count_rows(engine)
        parse_seconds, parse_cpu_seconds, parsed = parse_only_pass(pages)
        log(f"parse only {parse_seconds:.1f}s")
        limit = limit_pass(limit_engine, limit_vendor, pages)
        phases["limit"] = _peak_rss_mb()
        log(f"limit {limit.seconds:.1f}s (build {limit.build_seconds:.1f}s)")
        limit_rows = count_rows(limit_engine)
    with engine.connect() as conn:
        server_version = str(
            conn.scalar(
                text("SELECT sqlite_version()" if backend == "sqlite" else "SHOW server_version")
            )
        )
    engine.dispose()
    limit_engine.dispose()

    rows = {name: after_first[name] - before.get(name, 0) for name in after_first}
    notes = _check(
        generated,
        first,
        again,
        rows,
        after_first,
        after_again,
        limit_rows,
        before,
    )
    notes += _check_changed(changed, changed_shipments, after_first, after_changed)
    if parsed != generated.orders:
        notes.append(f"parse only read {parsed} shipments, generated {generated.orders}")
    for note in notes:
        log(f"CHECK FAILED: {note}")
    if profile:
        profile.mkdir(parents=True, exist_ok=True)
        for name, profiler in profilers.items():
            assert profiler is not None
            target = profile / f"{backend}-{orders}-{name}.prof"
            profiler.dump_stats(str(target))
            log(f"profile written to {target}")
            pstats.Stats(str(target), stream=sys.stderr).sort_stats("tottime").print_stats(25)
    return RunResult(
        backend=backend,
        orders=orders,
        server_version=server_version,
        generated=generated,
        first=first,
        again=again,
        changed=changed,
        changed_shipments=changed_shipments,
        limit=limit,
        parse_seconds=parse_seconds,
        parse_cpu_seconds=parse_cpu_seconds,
        rows=rows,
        # The import's own peak: the limit runs afterwards in this process.
        peak_rss_mb=phases["re-import 5 % changed"],
        peak_rss_by_phase=phases,
        load=(load_before, os.getloadavg()[0]),
        notes=notes,
    )


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _check(
    generated: Generated,
    first: Imported,
    again: Imported,
    rows: dict[str, int],
    after_first: dict[str, int],
    after_again: dict[str, int],
    limit_rows: dict[str, int],
    before: dict[str, int],
) -> list[str]:
    """The bench only counts if the import wrote what it should and the re-import nothing."""
    notes = []
    expected = {"orders": generated.orders, "items": generated.lines, "units": generated.units}
    for name, count in expected.items():
        if rows[name] != count:
            notes.append(f"{name}: imported {rows[name]}, generated {count}")
    if first.failed or again.failed:
        notes.append(f"failed shipments: {first.failed} then {again.failed}")
    if again.orders_created or again.orders_updated or after_again != after_first:
        notes.append("the re-import changed something")
    for name in ("orders", "items", "units", "exceptions", "events"):
        if limit_rows[name] - before.get(name, 0) != rows[name]:
            notes.append(f"the limit wrote {limit_rows[name]} {name}, import {rows[name]}")
    return notes


def _check_changed(
    changed: Imported, shipments: int, after_first: dict[str, int], after: dict[str, int]
) -> list[str]:
    """The 5 % re-import updates exactly the changed orders and adds only their events."""
    notes = []
    if changed.orders_created or changed.failed or changed.orders_updated != shipments:
        notes.append(
            f"5 % re-import: {changed.orders_updated} updated (expected {shipments}), "
            f"{changed.orders_created} created, {changed.failed} failed"
        )
    for name in ("orders", "items", "units", "exceptions"):
        if after[name] != after_first[name]:
            notes.append(f"5 % re-import changed the {name} count")
    # One status-change event at most per changed order.
    if not 0 <= after["events"] - after_first["events"] <= shipments:
        notes.append(f"5 % re-import wrote {after['events'] - after_first['events']} events")
    return notes


def _logger(prefix: str) -> Callable[[str], None]:
    started = time.perf_counter()

    def log(message: str) -> None:
        elapsed = time.perf_counter() - started
        print(f"[{prefix} +{elapsed:5.1f}s] {message}", file=sys.stderr, flush=True)

    return log


# --- the suite (parent process) ------------------------------------------------------------


def run_child(backend: str, orders: int, admin_url: str | None) -> RunResult:
    """Each run in its own process, so ``ru_maxrss`` is that run's peak alone."""
    command = [sys.executable, __file__, "--child", "--backend", backend, "--orders", str(orders)]
    env = dict(os.environ)
    if admin_url:
        env[ENV_DATABASE_URL] = admin_url
    completed = subprocess.run(command, stdout=subprocess.PIPE, env=env, check=True)
    data = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    data["generated"] = Generated(**data["generated"])
    data["first"] = Imported(**data["first"])
    data["again"] = Imported(**data["again"])
    data["changed"] = Imported(**data["changed"])
    data["limit"] = Limit(**data["limit"])
    data["load"] = tuple(data["load"])
    return RunResult(**data)


def machine(results: list[RunResult]) -> list[tuple[str, str]]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    os_name = platform.platform()
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_name = f"{line.split('=', 1)[1].strip(chr(34))}, kernel {platform.release()}"
    postgres = next((r.server_version for r in results if r.backend == "postgresql"), "not run")
    return [
        ("CPU", cpu),
        ("Cores", str(os.cpu_count())),
        ("RAM", f"{memory_kb / 1024 / 1024:.1f} GiB"),
        ("OS", os_name),
        ("Python", platform.python_version()),
        ("SQLite", sqlite3.sqlite_version),
        ("PostgreSQL", postgres),
    ]


def report(results: list[RunResult]) -> str:
    lines = ["Machine:"]
    lines += [f"  {name}: {value}" for name, value in machine(results)]
    lines += [
        "",
        "| backend | N | units | import s | orders/s | limit s | import/limit | re-import s | "
        "parse-only s | re-import/parse | 5 % changed s | 5 % orders/s | peak RSS MB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ]
    for r in results:
        lines.append(
            f"| {r.backend} | {r.orders:,} | {r.rows['units']:,} | "
            f"{r.first.seconds:.2f} | {r.orders / r.first.seconds:,.0f} | "
            f"{r.limit.seconds:.2f} | {r.first.seconds / r.limit.seconds:.2f}x | "
            f"{r.again.seconds:.2f} | {r.parse_seconds:.2f} | "
            f"{r.again.seconds / r.parse_seconds:.2f}x | {r.changed.seconds:.2f} | "
            f"{r.orders / r.changed.seconds:,.0f} | {r.peak_rss_mb:.0f} |"
        )
    lines += [
        "",
        "The limit: the same rows built from the same JSON bytes (build s), then written in one "
        "transaction (COPY on PostgreSQL, one executemany per table on SQLite; write s):",
    ]
    for r in results:
        lines.append(
            f"  {r.backend} N={r.orders:,}: build {r.limit.build_seconds:.2f}, "
            f"write {r.limit.write_seconds:.2f}"
        )
    lines += [
        "",
        "CPU seconds of this process (wall = CPU on a quiet machine, for SQLite, so on a busy "
        "one the CPU ratios are the steadier figure; PostgreSQL's server work is not in them):",
    ]
    for r in results:
        lines.append(
            f"  {r.backend} N={r.orders:,}: import {r.first.cpu_seconds:.2f}, "
            f"re-import {r.again.cpu_seconds:.2f}, 5 % changed {r.changed.cpu_seconds:.2f}, "
            f"limit {r.limit.cpu_seconds:.2f}, parse-only {r.parse_cpu_seconds:.2f}; "
            f"import/limit {r.first.cpu_seconds / r.limit.cpu_seconds:.2f}x, "
            f"re-import/parse {r.again.cpu_seconds / r.parse_cpu_seconds:.2f}x"
        )
    lines += ["", "Peak RSS (MB) after each phase, and the 1-minute load average (start/end):"]
    for r in results:
        phases = ", ".join(f"{name} {mb:.0f}" for name, mb in r.peak_rss_by_phase.items())
        lines.append(
            f"  {r.backend} N={r.orders:,}: {phases}; load {r.load[0]:.2f}/{r.load[1]:.2f}"
        )
    lines += ["", "Rows per run (first import; the unchanged re-import adds none):"]
    for r in results:
        kinds = ", ".join(f"{k.split('.')[1]} {v:,}" for k, v in r.rows.items() if "." in k)
        lines.append(
            f"  {r.backend} N={r.orders:,}: {r.rows['orders']:,} orders, "
            f"{r.rows['items']:,} items, {r.rows['units']:,} units, "
            f"{r.rows['exceptions']:,} exceptions ({kinds}), {r.rows['events']:,} events; "
            f"5 % re-import: {r.changed.orders_updated:,} of {r.changed_shipments:,} updated"
        )
    lines += ["", "Targets (issue 12, N = 20,000):"]
    for backend in ("sqlite", "postgresql"):
        lines += _verdicts([r for r in results if r.backend == backend])
    problems = [f"{r.backend} N={r.orders}: {note}" for r in results for note in r.notes]
    if problems:
        lines += ["", "CHECKS FAILED (figures invalid):", *(f"  {p}" for p in problems)]
    return "\n".join(lines)


def _verdicts(runs: list[RunResult]) -> list[str]:
    target = next((r for r in runs if r.orders == TARGET_SIZE), None)
    if target is None:
        return []
    largest = max(runs, key=lambda r: r.orders)
    bars = TARGETS[target.backend]

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "MISSED"

    name = target.backend
    first = target.orders / target.first.seconds
    ratio = target.first.seconds / target.limit.seconds
    reimport = target.again.seconds / target.parse_seconds
    changed = target.orders / target.changed.seconds
    lines = [
        f"  {name}: first import {first:,.0f} orders/s (>= {bars.first_orders_per_s:,}) "
        f"{verdict(first >= bars.first_orders_per_s)}",
        f"  {name}: first import / limit {ratio:.2f}x (<= {bars.limit_ratio}x) "
        f"{verdict(ratio <= bars.limit_ratio)}",
        f"  {name}: re-import / parse-only {reimport:.2f}x (<= {TARGET_REIMPORT_RATIO}x) "
        f"{verdict(reimport <= TARGET_REIMPORT_RATIO)}",
        f"  {name}: re-import 5 % changed {changed:,.0f} orders/s "
        f"(>= {bars.changed_orders_per_s:,}) {verdict(changed >= bars.changed_orders_per_s)}",
        f"  {name}: peak RSS {target.peak_rss_mb:.0f} MB (<= {TARGET_PEAK_RSS_MB}) "
        f"{verdict(target.peak_rss_mb <= TARGET_PEAK_RSS_MB)}",
    ]
    if largest is not target:
        growth = largest.peak_rss_mb / target.peak_rss_mb
        lines.append(
            f"  {name}: peak RSS N={target.orders:,} {target.peak_rss_mb:.0f} MB, "
            f"N={largest.orders:,} {largest.peak_rss_mb:.0f} MB (x{growth:.3f}, flat if within "
            f"±{FLAT_RSS_TOLERANCE:.0%}) {verdict(abs(growth - 1) <= FLAT_RSS_TOLERANCE)}"
        )
    return lines


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--orders",
        default=",".join(str(n) for n in DEFAULT_SIZES),
        help="comma-separated shipment counts, one run each (default: %(default)s)",
    )
    parser.add_argument(
        "--backend",
        choices=("all", "sqlite", "postgresql"),
        default="all",
        help="all: SQLite, plus PostgreSQL when a database URL is known (default)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get(ENV_DATABASE_URL),
        help=f"PostgreSQL admin URL; the bench (re)creates {DATABASE_NAME} and "
        f"{DATABASE_NAME}_limit in it (default: ${ENV_DATABASE_URL})",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        help="run in this process under cProfile and write .prof files to this directory",
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def chosen_backends(backend: str, database_url: str | None) -> list[str]:
    """The backends a ``--backend`` choice runs: ``all`` is SQLite, and PostgreSQL when a URL
    is given; PostgreSQL without a URL exits with the reason."""
    if backend == "all":
        backends = ["sqlite", "postgresql"] if database_url else ["sqlite"]
    else:
        backends = [backend]
    if "postgresql" in backends and not database_url:
        sys.exit(f"PostgreSQL needs --database-url or ${ENV_DATABASE_URL}")
    return backends


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(n.replace("_", "")) for n in args.orders.split(",") if n.strip()]
    backends = chosen_backends(args.backend, args.database_url)
    if args.child or args.profile:
        results = [
            run_one(backend, n, admin_url=args.database_url, profile_dir=args.profile)
            for backend in backends
            for n in sizes
        ]
        if args.child:
            print(json.dumps(asdict(results[0])))
            return 0
    else:
        results = [run_child(backend, n, args.database_url) for backend in backends for n in sizes]
    print(report(results))
    return 1 if any(r.notes for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
