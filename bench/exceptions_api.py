#!/usr/bin/env python3
"""Latency of the exceptions list and stats on the generated dataset, through the HTTP app
(TestClient, admin and vendor tokens) and as the bare service call.

    .venv/bin/python bench/exceptions_api.py                # SQLite, bench/out/bench.db
    .venv/bin/python bench/exceptions_api.py --database-url postgresql+psycopg://...

The dataset (bench/generate_dataset.py: 1M order items, 100k exceptions, 50 vendors) is
generated and loaded when the database holds no exceptions, and reused otherwise (an existing
one is migrated to the head revision first; --regenerate starts afresh). Statistics are refreshed
(ANALYZE; VACUUM ANALYZE on PostgreSQL) before measuring.

Targets: p95 <= 30 ms for the lists and searches, <= 50 ms for the stats and the grouped
queue (`GET …/order-exceptions/groups`, issue 9 §4). Before measuring, the groups are checked
against the list: their lines add up to the pending count, every vendor's and in total (exit 1
otherwise).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import generate_dataset  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, inspect, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from ordergate import migrate  # noqa: E402
from ordergate.app import create_app  # noqa: E402
from ordergate.auth.models import User  # noqa: E402
from ordergate.auth.service import create_user  # noqa: E402
from ordergate.config import Settings  # noqa: E402
from ordergate.db import PageRequest, make_engine  # noqa: E402
from ordergate.item_exceptions import queue, service  # noqa: E402
from ordergate.orders.models import ExceptionStatus, OrderItemException  # noqa: E402
from ordergate.scope import Scope  # noqa: E402
from ordergate.security import use_cheap_password_hashing  # noqa: E402
from ordergate.vendors.models import Vendor  # noqa: E402

DEFAULT_SQLITE = Path(__file__).parent / "out" / "bench.db"
PASSWORD = "bench-password-1234"
EVERY_VENDOR = Scope(actor_user_id=None, vendor_id=None, is_admin=True)


def one_vendor(vendor_id: int) -> Scope:
    return Scope(actor_user_id=None, vendor_id=vendor_id, is_admin=True)


TARGETS_MS = {"list": 30.0, "search": 30.0, "stats": 50.0, "groups": 50.0}


def prepare_dataset(
    url: str,
    *,
    regenerate: bool,
    seed: int,
    items: int = 1_000_000,
    exceptions: int = 100_000,
) -> None:
    """Generate and load the dataset unless the database already holds one; bring it to the
    head revision; refresh the planner's statistics."""
    if url.startswith("sqlite:///"):  # the default bench/out/ may not exist yet
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            present = "order_item_exceptions" in inspect(conn).get_table_names() and bool(
                conn.scalar(text("SELECT count(*) FROM order_item_exceptions"))
            )
    finally:
        engine.dispose()
    if regenerate and present:
        if url.startswith("sqlite"):
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            sys.exit("--regenerate needs an empty PostgreSQL database; drop and create it first")
        present = False
    if present:
        print("reusing the dataset in the database", flush=True)
        migrate.upgrade(url)
    else:
        started = time.perf_counter()
        data = generate_dataset.generate(
            vendors=50,
            items=items,
            exceptions=exceptions,
            products_per_vendor=1_000,
            seed=seed,
        )
        print(f"generated in {time.perf_counter() - started:.1f}s", flush=True)
        started = time.perf_counter()
        migrate.upgrade(url)
        if url.startswith("sqlite"):
            path = Path(url.removeprefix("sqlite:///"))
            path.parent.mkdir(parents=True, exist_ok=True)
            generate_dataset.load_sqlite(path, data)
        else:
            generate_dataset.load_postgres(url, data)
        del data
        print(f"loaded in {time.perf_counter() - started:.1f}s", flush=True)
    engine = make_engine(url)
    try:
        if url.startswith("sqlite"):
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
        else:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def biggest_vendor(session: Session) -> tuple[int, str]:
    """(id, code) of the vendor with the most exceptions: the worst case for its lists."""
    vendor_id, vendor_code = session.execute(
        select(Vendor.id, Vendor.code)
        .join(OrderItemException, OrderItemException.vendor_id == Vendor.id)
        .group_by(Vendor.id, Vendor.code)
        .order_by(func.count().desc())
        .limit(1)
    ).one()
    return int(vendor_id), str(vendor_code)


def ensure_users(session: Session, vendor_code: str) -> None:
    if session.scalar(select(func.count()).select_from(User)) == 0:
        create_user(
            session, email="admin@bench.test", password=PASSWORD, is_admin=True, vendor_codes=[]
        )
        create_user(
            session,
            email="staff@bench.test",
            password=PASSWORD,
            is_admin=False,
            vendor_codes=[vendor_code],
        )
        session.commit()


def login(client: TestClient, email: str, vendor_code: str | None = None) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD}
    if vendor_code:
        body["vendor_code"] = vendor_code
    response = client.post("/api/v1/auth/login", json=body)
    response.raise_for_status()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def search_terms(session: Session, rng: random.Random, vendor_id: int | None) -> list[str]:
    """What QC staff type: a GTIN (raw and canonical), a name, a SKU, an order number."""
    scope = [] if vendor_id is None else [OrderItemException.vendor_id == vendor_id]
    sample = session.execute(
        select(OrderItemException.original_gtin, OrderItemException.original_sku)
        .where(*scope, OrderItemException.original_gtin.is_not(None))
        .order_by(OrderItemException.id)
        .limit(500)
    ).all()
    terms: list[str] = []
    for gtin, sku in rng.sample(sample, 20):
        if gtin is not None and len(gtin) == 13:  # the query excludes NULL; mypy cannot tell
            terms += [gtin, gtin.zfill(14)]
        if sku is not None:
            terms.append(sku)
    terms += ["funko pop", "lego classic", "puzzle", "LS-1-R0001", "R00012"]
    return terms


def check_groups(sessions: Any, vendor_ids: list[int], pending: int) -> None:
    """The groups' lines add up to the list's pending count, in total and per vendor; exit 1
    otherwise (the figures would measure the wrong thing)."""
    with sessions() as session:
        views, groups_total = queue.list_groups(session, scope=EVERY_VENDOR, page=None)
        wrong = []
        if sum(view["lines"] for view in views) != pending or groups_total != len(views):
            wrong.append(("all vendors", sum(view["lines"] for view in views), pending))
        per_vendor: dict[int, int] = {}
        for view in views:
            per_vendor[view["vendor_id"]] = per_vendor.get(view["vendor_id"], 0) + view["lines"]
        for vendor_id in vendor_ids:
            _, listed = service.list_exceptions(
                session,
                scope=one_vendor(vendor_id),
                status=ExceptionStatus.PENDING,
                page=PageRequest(limit=1),
            )
            if per_vendor.get(vendor_id, 0) != listed:
                wrong.append((f"vendor {vendor_id}", per_vendor.get(vendor_id, 0), listed))
    if wrong:
        sys.exit(f"groups do not add up to the list's counts: {wrong}")
    print(f"groups: {groups_total:,} pending groups; their lines equal the list's counts")


def measure(call: Callable[[int], Any], requests: int, warmup: int = 10) -> list[float]:
    for i in range(warmup):
        call(i)
    timings = []
    for i in range(requests):
        started = time.perf_counter()
        call(i)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", type=Path, default=DEFAULT_SQLITE)
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--only",
        help="comma-separated query kinds to measure: list, search, stats, groups (default all)",
    )
    parser.add_argument(
        "--regenerate", action="store_true", help="generate the dataset even if one exists"
    )
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{args.sqlite}"
    kinds = set(args.only.split(",")) if args.only else set(TARGETS_MS)
    rng = random.Random(args.seed)
    use_cheap_password_hashing()
    prepare_dataset(url, regenerate=args.regenerate, seed=generate_dataset.SEED)

    app = create_app(
        Settings(
            env="test", database_url=url, secret_key="bench-secret-key-for-ordergate-benchmarks"
        )
    )
    sessions = app.state.session_factory
    with sessions() as session:
        # The vendor token acts for the biggest vendor (the worst case for its lists).
        vendor_id, vendor_code = biggest_vendor(session)
        vendor_ids = list(session.scalars(select(Vendor.id).order_by(Vendor.id)))
        ensure_users(session, vendor_code)
        admin_terms = search_terms(session, rng, None)
        vendor_terms = search_terms(session, rng, vendor_id)
        counts = service.exception_stats(session, scope=EVERY_VENDOR)
    print(f"database: {url.split('@')[-1]}")
    print(f"exceptions: {counts.total:,} (pending {counts.pending:,}), vendor token: {vendor_code}")
    if "groups" in kinds:
        check_groups(sessions, vendor_ids, counts.pending)

    statuses = ["pending", "pending", "ignored", "resolved"]
    params = [
        {
            "vendor_id": rng.choice(vendor_ids),
            "status": rng.choice(statuses),
            "admin_term": rng.choice(admin_terms),
            "vendor_term": rng.choice(vendor_terms),
            "skip": rng.choice((0, 0, 0, 50, 100)),
            "group_status": rng.choice(("pending", "pending", "ignored")),
            "type": rng.choice(("product_not_found", "gtin_mismatch", "duplicate_gtin")),
            "sort": rng.choice(("orders", "value_cents", "oldest_order_date")),
        }
        for _ in range(args.requests + 10)
    ]

    def raw(fn: Callable[[Session, dict[str, Any]], Any]) -> Callable[[int], Any]:
        def call(i: int) -> Any:
            with sessions() as session:
                return fn(session, params[i])

        return call

    results: list[tuple[str, str, str, list[float]]] = []
    with TestClient(app) as client:
        admin = login(client, "admin@bench.test")
        vendor = login(client, "staff@bench.test", vendor_code)
        base = "/api/v1/admin/order-exceptions"
        vbase = "/api/v1/vendor/order-exceptions"

        def http(path: str, headers: dict[str, str], query: Callable[[dict], dict]) -> Callable:
            def call(i: int) -> Any:
                response = client.get(path, headers=headers, params=query(params[i]))
                assert response.status_code == 200, response.text
                return response

            return call

        scenarios: list[tuple[str, str, str, Callable[[int], Any]]] = [
            (
                "list",
                "vendor_id + status",
                "http admin",
                http(
                    base,
                    admin,
                    lambda q: {
                        "vendor_id": q["vendor_id"],
                        "status": q["status"],
                        "skip": q["skip"],
                    },
                ),
            ),
            (
                "list",
                "status (own vendor)",
                "http vendor",
                http(vbase, vendor, lambda q: {"status": q["status"], "skip": q["skip"]}),
            ),
            (
                "list",
                "vendor_id + status",
                "service",
                raw(
                    lambda s, q: service.list_exceptions(
                        s,
                        scope=one_vendor(q["vendor_id"]),
                        status=q["status"],
                        page=PageRequest(skip=q["skip"], limit=50),
                    )
                ),
            ),
            (
                "search",
                "all vendors",
                "http admin",
                http(base, admin, lambda q: {"search": q["admin_term"]}),
            ),
            (
                "search",
                "own vendor",
                "http vendor",
                http(vbase, vendor, lambda q: {"search": q["vendor_term"]}),
            ),
            (
                "search",
                "all vendors",
                "service",
                raw(
                    lambda s, q: service.list_exceptions(
                        s, scope=EVERY_VENDOR, search=q["admin_term"], page=PageRequest()
                    )
                ),
            ),
            (
                "search",
                "own vendor",
                "service",
                raw(
                    lambda s, q: service.list_exceptions(
                        s, scope=one_vendor(vendor_id), search=q["vendor_term"], page=PageRequest()
                    )
                ),
            ),
            ("stats", "all vendors", "http admin", http(base + "/stats", admin, lambda q: {})),
            (
                "stats",
                "vendor_id",
                "http admin",
                http(base + "/stats", admin, lambda q: {"vendor_id": q["vendor_id"]}),
            ),
            ("stats", "own vendor", "http vendor", http(vbase + "/stats", vendor, lambda q: {})),
            (
                "stats",
                "all vendors",
                "service",
                raw(lambda s, q: service.exception_stats(s, scope=EVERY_VENDOR)),
            ),
            (
                "stats",
                "vendor_id",
                "service",
                raw(lambda s, q: service.exception_stats(s, scope=one_vendor(q["vendor_id"]))),
            ),
            (
                "groups",
                "all vendors",
                "http admin",
                http(base + "/groups", admin, lambda q: {"skip": q["skip"]}),
            ),
            (
                "groups",
                "vendor_id + status",
                "http admin",
                http(
                    base + "/groups",
                    admin,
                    lambda q: {
                        "vendor_id": q["vendor_id"],
                        "status": q["group_status"],
                        "skip": q["skip"],
                    },
                ),
            ),
            (
                "groups",
                "own vendor",
                "http vendor",
                http(vbase + "/groups", vendor, lambda q: {"skip": q["skip"]}),
            ),
            (
                "groups",
                "type, sort (all vendors)",
                "http admin",
                http(
                    base + "/groups",
                    admin,
                    lambda q: {"exception_type": q["type"], "sort": q["sort"]},
                ),
            ),
            (
                "groups",
                "search (own vendor)",
                "http vendor",
                http(vbase + "/groups", vendor, lambda q: {"search": q["vendor_term"]}),
            ),
            (
                "groups",
                "all vendors",
                "service",
                raw(
                    lambda s, q: queue.list_groups(
                        s, scope=EVERY_VENDOR, page=PageRequest(skip=q["skip"], limit=50)
                    )
                ),
            ),
        ]
        for kind, what, via, call in scenarios:
            if kind not in kinds:
                continue
            results.append((kind, what, via, measure(call, args.requests)))

    print()
    print(f"{args.requests} requests each; milliseconds")
    print("| query | filter | via | p50 | p95 | max | target p95 |")
    print("|---|---|---|---:|---:|---:|---:|")
    missed = 0
    for kind, what, via, timings in results:
        p95 = p(timings, 95)
        target = TARGETS_MS[kind]
        flag = "" if p95 <= target else " MISSED"
        missed += bool(flag)
        print(
            f"| {kind} | {what} | {via} | {statistics.median(timings):.1f} | {p95:.1f} "
            f"| {max(timings):.1f} | {target:.0f}{flag} |"
        )
    print()
    print("all targets met" if not missed else f"{missed} targets missed")


if __name__ == "__main__":
    main()
