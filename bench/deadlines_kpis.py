#!/usr/bin/env python3
"""Latency of the deadline filters and sort, the stats with `at_risk`/`overdue`, and the KPIs,
on the exceptions bench's dataset (bench/generate_dataset.py: 1M order items, 100k exceptions,
50 vendors), as the service call at a fixed `now` and through the HTTP app (admin token).

    .venv/bin/python bench/deadlines_kpis.py                # SQLite, bench/out/bench.db
    .venv/bin/python bench/deadlines_kpis.py --database-url postgresql+psycopg://...

The dataset is generated and loaded as `exceptions_api.py` does (reused when present). This
bench adds its own rows and removes them when it ends, so the dataset stays the generator's:
- each vendor gets a `confirmation_deadline_hours` (30 to 300 days, by vendor id; reset to null
  afterwards), so blocked pending orders of the year before `now` spread over the three states;
- one unit per exception line (the dataset has none, and an exception blocks only on a line with
  an undeclined unit): `unconfirmed` on pending orders, `confirmed_available` on the others;
- one event per resolved exception at its `resolved_at` (`resolved` with `via` one, gtin,
  selection or new_product, or `auto_matched` with cause catalog or sweep, by exception id) and
  one `ignored` event per ignored exception (units and events deleted afterwards).

It checks its figures (exit 1 when wrong): the KPIs' counts against plain COUNT queries, the
stats' `at_risk`/`overdue` against a recount in Python of every blocked order's deadline.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import generate_dataset  # noqa: E402
from exceptions_api import (  # noqa: E402
    DEFAULT_SQLITE,
    ensure_users,
    login,
    measure,
    p,
    prepare_dataset,
)
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import Engine, delete, func, select, text, update  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from ordergate.app import create_app  # noqa: E402
from ordergate.config import Settings  # noqa: E402
from ordergate.db import PageRequest  # noqa: E402
from ordergate.events.models import Event  # noqa: E402
from ordergate.item_exceptions import kpis, service  # noqa: E402
from ordergate.item_exceptions.service import ExceptionSort  # noqa: E402
from ordergate.orders import service as order_service  # noqa: E402
from ordergate.orders.deadlines import DeadlineState, state_at  # noqa: E402
from ordergate.orders.models import (  # noqa: E402
    ExceptionStatus,
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
)
from ordergate.orders.service import OrderSort  # noqa: E402
from ordergate.scope import Scope  # noqa: E402
from ordergate.security import use_cheap_password_hashing  # noqa: E402
from ordergate.vendors.models import Vendor  # noqa: E402

NOW = generate_dataset.REFERENCE  # the dataset's orders are from the year before it
EVERY_VENDOR = Scope(actor_user_id=None, vendor_id=None, is_admin=True)
TARGETS_MS = {"list": 50.0, "orders": 100.0, "stats": 50.0, "kpis": 250.0}

# (action, after) by exception id % 6 for resolved exceptions; "bench" marks the rows to remove.
RESOLUTIONS = [
    ("resolved", '{"status": "resolved", "via": "one", "bench": "deadlines"}'),
    ("resolved", '{"status": "resolved", "via": "gtin", "bulk_gtin": "x", "bench": "deadlines"}'),
    ("resolved", '{"status": "resolved", "via": "selection", "bench": "deadlines"}'),
    ("resolved", '{"status": "resolved", "via": "new_product", "bench": "deadlines"}'),
    ("auto_matched", '{"status": "resolved", "cause": "catalog", "bench": "deadlines"}'),
    ("auto_matched", '{"status": "resolved", "cause": "sweep", "bench": "deadlines"}'),
]
UNIT_MARK = "bench-dl-"


def one_vendor(vendor_id: int) -> Scope:
    return Scope(actor_user_id=None, vendor_id=vendor_id, is_admin=True)


def hours_of(vendor_id: int) -> int:
    return 24 * 30 * (1 + vendor_id % 10)


def add_rows(engine: Engine) -> None:
    """Deadlines, one unit per exception line (the dataset has none, and a line without an
    undeclined unit blocks nothing), and events."""
    remove_rows(engine)  # what an interrupted run left
    postgres = engine.dialect.name == "postgresql"
    with engine.begin() as conn:
        for vendor_id in conn.scalars(select(Vendor.id)):
            conn.execute(
                update(Vendor)
                .where(Vendor.id == vendor_id)
                .values(confirmation_deadline_hours=hours_of(vendor_id))
            )
        # Unconfirmed on pending orders, confirmed elsewhere (the triggers keep `blocking`).
        conn.execute(
            text(
                "INSERT INTO order_item_units (order_item_id, external_unit_id, state, created_at,"
                " updated_at) SELECT x.order_item_id, :mark || CAST(x.id AS VARCHAR(20)),"
                " CASE WHEN o.status = 'pending' THEN 'unconfirmed' ELSE 'confirmed_available'"
                " END, x.created_at, x.created_at FROM order_item_exceptions x"
                " JOIN order_items i ON i.id = x.order_item_id JOIN orders o ON o.id = i.order_id"
            ),
            {"mark": UNIT_MARK},
        )
        json = "CAST(:after AS jsonb)" if postgres else ":after"
        for index, (action, after) in enumerate(RESOLUTIONS):
            conn.execute(
                text(
                    "INSERT INTO events (vendor_id, actor_user_id, subject_type, subject_id,"
                    f" action, before, after, at) SELECT vendor_id, NULL, 'order_item_exception',"
                    f" id, :action, NULL, {json}, resolved_at FROM order_item_exceptions"
                    " WHERE status = 'resolved' AND id % 6 = :index"
                ),
                {"action": action, "after": after, "index": index},
            )
        conn.execute(
            text(
                "INSERT INTO events (vendor_id, actor_user_id, subject_type, subject_id, action,"
                f" before, after, at) SELECT vendor_id, NULL, 'order_item_exception', id,"
                f" 'ignored', NULL, {json}, updated_at FROM order_item_exceptions"
                " WHERE status = 'ignored'"
            ),
            {"after": '{"status": "ignored", "bench": "deadlines"}'},
        )
    settle(engine)


# What add_rows writes into, directly or through the triggers (the context's blocking, awaiting
# and due_at follow the units and the vendors' deadlines).
TOUCHED_TABLES = ("vendors", "order_item_units", "events", "order_item_exception_context")


def settle(engine: Engine) -> None:
    """Refresh the statistics of the tables add_rows changed, as the dataset's load does before
    any measurement (on PostgreSQL also VACUUM, so their visibility maps are set again, as
    autovacuum would have done on a live database long before a page is asked for)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in TOUCHED_TABLES:
                _vacuum_until_visible(conn, table)
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def _vacuum_until_visible(conn: Any, table: str, attempts: int = 10) -> None:
    """VACUUM ANALYZE `table` until its pages are all-visible again. A VACUUM cannot mark rows
    newer than the oldest open snapshot (any other transaction's, e.g. an ANALYZE's): a single
    VACUUM right after add_rows left the visibility map unset now and then, and the index-only
    counts the pages make then fetched every row from the heap."""
    for _ in range(attempts):
        conn.execute(text(f"VACUUM ANALYZE {table}"))
        pages, visible = conn.execute(
            text("SELECT relpages, relallvisible FROM pg_class WHERE relname = :table"),
            {"table": table},
        ).one()
        if visible >= pages:
            return
        time.sleep(1)
    sys.exit(f"{table}: {visible} of {pages} pages all-visible after {attempts} VACUUMs")


def remove_rows(engine: Engine) -> None:
    """Leave the dataset as the generator made it."""
    with engine.begin() as conn:
        conn.execute(delete(Event).where(Event.after["bench"].as_string() == "deadlines"))
        conn.execute(
            delete(OrderItemUnit).where(OrderItemUnit.external_unit_id.startswith(UNIT_MARK))
        )
        conn.execute(update(Vendor).values(confirmation_deadline_hours=None))


def check(session: Session) -> list[str]:
    """The bench's figures against independent counts; the list of what is wrong."""
    wrong = []
    start, end = NOW - timedelta(days=365), NOW
    report = kpis.exception_kpis(session, scope=EVERY_VENDOR, start=start, end=end, now=NOW)
    totals = report.totals

    def count(statement: Any) -> int:
        return session.scalar(statement) or 0

    lines = count(
        select(func.count())
        .select_from(OrderItem)
        .where(OrderItem.created_at >= start, OrderItem.created_at < end)
    )
    raised = count(
        select(func.count())
        .select_from(OrderItemException)
        .where(OrderItemException.created_at >= start, OrderItemException.created_at < end)
    )
    resolutions = count(
        select(func.count())
        .select_from(Event)
        .where(Event.action.in_(("resolved", "auto_matched")), Event.at >= start, Event.at < end)
    )
    open_now = count(
        select(func.count())
        .select_from(OrderItemException)
        .where(OrderItemException.status.in_(("pending", "ignored")))
    )
    for name, ours, theirs in (
        ("lines_imported", totals.lines_imported, lines),
        ("exceptions_raised", totals.exceptions_raised, raised),
        ("resolved.total", totals.resolved.total, resolutions),
        ("time_to_resolve.resolutions", totals.time_to_resolve.resolutions, resolutions),
        ("open_aging.total", totals.open_aging.total, open_now),
        ("vendors", len(report.vendors or []), 50),
    ):
        if ours != theirs:
            wrong.append(f"{name}: {ours} != {theirs}")
    # Every resolution is a day after its exception (the generator): median and p90 = 86400.
    if (totals.time_to_resolve.median_seconds, totals.time_to_resolve.p90_seconds) != (
        86400.0,
        86400.0,
    ):
        wrong.append(f"time_to_resolve: {totals.time_to_resolve}")

    # The stats' deadline counts, recounted in Python from the blocked pending orders.
    blocked = session.execute(
        text(
            "SELECT DISTINCT o.id, o.vendor_id, o.order_date, o.created_at FROM orders o"
            " JOIN order_item_exception_context c ON c.order_id = o.id"
            " WHERE c.blocking AND o.status = 'pending'"
        )
    ).all()
    recount = {state: 0 for state in DeadlineState}
    for _, vendor_id, order_date, created_at in blocked:
        moment = order_date or created_at
        if isinstance(moment, str):  # SQLite text
            moment = datetime.fromisoformat(moment)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
        state = state_at(moment + timedelta(hours=hours_of(vendor_id)), now=NOW)
        assert state is not None
        recount[state] += 1
    stats = service.exception_stats(session, scope=EVERY_VENDOR, now=NOW)
    if (stats.at_risk, stats.overdue) != (
        recount[DeadlineState.AT_RISK],
        recount[DeadlineState.OVERDUE],
    ):
        wrong.append(f"stats: at_risk/overdue {stats.at_risk}/{stats.overdue} != {recount}")
    print(
        f"blocked pending orders: {len(blocked):,}; on_track {recount[DeadlineState.ON_TRACK]:,},"
        f" at_risk {recount[DeadlineState.AT_RISK]:,}, overdue {recount[DeadlineState.OVERDUE]:,};"
        f" KPI resolutions in the year: {resolutions:,}"
    )
    return wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", type=Path, default=DEFAULT_SQLITE)
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{args.sqlite}"
    rng = random.Random(args.seed)
    use_cheap_password_hashing()
    if args.database_url is None:
        args.sqlite.parent.mkdir(parents=True, exist_ok=True)
    prepare_dataset(url, regenerate=args.regenerate, seed=generate_dataset.SEED)
    app = create_app(
        Settings(
            env="test", database_url=url, secret_key="bench-secret-key-for-ordergate-benchmarks"
        )
    )
    engine: Engine = app.state.engine
    sessions = app.state.session_factory
    add_rows(engine)
    try:
        with sessions() as session:
            vendor_ids = list(session.scalars(select(Vendor.id).order_by(Vendor.id)))
            biggest = session.execute(
                select(Vendor.code)
                .join(Order, Order.vendor_id == Vendor.id)
                .group_by(Vendor.code)
                .order_by(func.count().desc())
                .limit(1)
            ).scalar_one()
            ensure_users(session, biggest)
            wrong = check(session)
        if wrong:
            print("WRONG:", *wrong, sep="\n  ")
            sys.exit(1)
        results = run(app, sessions, vendor_ids, rng, args.requests)
    finally:
        remove_rows(engine)
    print()
    print(f"database: {url.split('@')[-1]}; {args.requests} requests each; milliseconds")
    print("| query | filter | via | p50 | p95 | max | target p95 |")
    print("|---|---|---|---:|---:|---:|---:|")
    missed = 0
    for kind, what, via, timings in results:
        p95 = p(timings, 95)
        flag = "" if p95 <= TARGETS_MS[kind] else " MISSED"
        missed += bool(flag)
        print(
            f"| {kind} | {what} | {via} | {statistics.median(timings):.1f} | {p95:.1f}"
            f" | {max(timings):.1f} | {TARGETS_MS[kind]:.0f}{flag} |"
        )
    print()
    print("all targets met" if not missed else f"{missed} targets missed")


def run(
    app: Any, sessions: Any, vendor_ids: list[int], rng: random.Random, requests: int
) -> list[tuple[str, str, str, list[float]]]:
    states = list(DeadlineState)
    picks = [
        {"vendor": rng.choice(vendor_ids), "state": rng.choice(states)}
        for _ in range(requests + 10)
    ]
    page = PageRequest(skip=0, limit=50)
    month = {"start": NOW - timedelta(days=30), "end": NOW, "now": NOW}
    year = {"start": NOW - timedelta(days=365), "end": NOW, "now": NOW}

    def raw(fn: Callable[[Session, dict[str, Any]], Any]) -> Callable[[int], Any]:
        def call(i: int) -> Any:
            with sessions() as session:
                return fn(session, picks[i])

        return call

    scenarios: list[tuple[str, str, str, Callable[[int], Any]]] = [
        (
            "list",
            "vendor_id + deadline_state",
            "service",
            raw(
                lambda s, q: service.list_exceptions(
                    s, scope=one_vendor(q["vendor"]), deadline_state=q["state"], page=page, now=NOW
                )
            ),
        ),
        (
            "list",
            "deadline_state, all vendors",
            "service",
            raw(
                lambda s, q: service.list_exceptions(
                    s, scope=EVERY_VENDOR, deadline_state=q["state"], page=page, now=NOW
                )
            ),
        ),
        (
            "list",
            "vendor_id, sort=confirm_by",
            "service",
            raw(
                lambda s, q: service.list_exceptions(
                    s,
                    scope=one_vendor(q["vendor"]),
                    sort=ExceptionSort.CONFIRM_BY,
                    page=page,
                    now=NOW,
                )
            ),
        ),
        (
            "list",
            "pending, sort=confirm_by, all vendors",
            "service",
            raw(
                lambda s, q: service.list_exceptions(
                    s,
                    scope=EVERY_VENDOR,
                    status=ExceptionStatus.PENDING,
                    sort=ExceptionSort.CONFIRM_BY,
                    page=page,
                    now=NOW,
                )
            ),
        ),
        (
            "orders",
            "vendor_id + deadline_state",
            "service",
            raw(
                lambda s, q: order_service.list_orders(
                    s, scope=one_vendor(q["vendor"]), deadline_state=q["state"], page=page, now=NOW
                )
            ),
        ),
        (
            "orders",
            "vendor_id, sort=confirm_by",
            "service",
            raw(
                lambda s, q: order_service.list_orders(
                    s, scope=one_vendor(q["vendor"]), sort=OrderSort.CONFIRM_BY, page=page, now=NOW
                )
            ),
        ),
        (
            "stats",
            "all vendors",
            "service",
            raw(lambda s, q: service.exception_stats(s, scope=EVERY_VENDOR, now=NOW)),
        ),
        (
            "stats",
            "vendor_id",
            "service",
            raw(lambda s, q: service.exception_stats(s, scope=one_vendor(q["vendor"]), now=NOW)),
        ),
        (
            "kpis",
            "30 days, vendor_id",
            "service",
            raw(lambda s, q: kpis.exception_kpis(s, scope=one_vendor(q["vendor"]), **month)),
        ),
        (
            "kpis",
            "30 days, all vendors + each",
            "service",
            raw(lambda s, q: kpis.exception_kpis(s, scope=EVERY_VENDOR, **month)),
        ),
        (
            "kpis",
            "365 days, all vendors + each",
            "service",
            raw(lambda s, q: kpis.exception_kpis(s, scope=EVERY_VENDOR, **year)),
        ),
    ]
    results = [(k, w, v, measure(call, requests, warmup=3)) for k, w, v, call in scenarios]
    with TestClient(app) as client:
        admin = login(client, "admin@bench.test")
        base = "/api/v1/admin/order-exceptions"
        window = {"from": (NOW - timedelta(days=30)).isoformat(), "to": NOW.isoformat()}

        def http(path: str, query: Callable[[dict[str, Any]], dict[str, Any]]) -> Callable:
            def call(i: int) -> Any:
                response = client.get(path, headers=admin, params=query(picks[i]))
                assert response.status_code == 200, response.text
                return response

            return call

        for kind, what, call in (
            (
                "list",
                "vendor_id + deadline_state",
                http(base, lambda q: {"vendor_id": q["vendor"], "deadline_state": q["state"]}),
            ),
            ("stats", "all vendors", http(f"{base}/stats", lambda q: {})),
            (
                "kpis",
                "30 days, vendor_id",
                http(f"{base}/kpis", lambda q: {**window, "vendor_id": q["vendor"]}),
            ),
            ("kpis", "30 days, all vendors + each", http(f"{base}/kpis", lambda q: window)),
        ):
            results.append((kind, what, "http admin", measure(call, requests, warmup=3)))
    return results


if __name__ == "__main__":
    main()
