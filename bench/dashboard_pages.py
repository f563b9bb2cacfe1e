#!/usr/bin/env python3
"""Server-side latency of the dashboard's main pages on the benchmark dataset (issue 10 §3:
p95 <= 100 ms at 1,000,000 items and 100,000 exceptions, SQLite and PostgreSQL).

    .venv/bin/python bench/dashboard_pages.py                # SQLite, bench/out/bench.db
    .venv/bin/python bench/dashboard_pages.py --database-url postgresql+psycopg://...

The dataset is bench/exceptions_api.py's (generated and loaded when the database holds none),
with bench/deadlines_kpis.py's rows added while measuring (vendor deadlines, a unit per
exception line, events) and removed afterwards, so the deadline badges and the overdue filter
have rows to show. `--smoke` builds a small dataset in a temporary SQLite file and makes a few
requests per page (the figures then mean nothing; `run_all.py --smoke` runs it).
Users log in through the login form (cookie session, as a browser does); each page is fetched
through the ASGI app in-process (no network, so the time is the server's: routing, session,
queries, template). Before measuring, every page is checked to show what the services say:
the queue's pending card equals `exception_stats`, an order page names its order number, an
exception page its GTIN (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import deadlines_kpis  # noqa: E402
import exceptions_api  # noqa: E402
import generate_dataset  # noqa: E402
import httpx  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import select  # noqa: E402

from ordergate.app import create_app  # noqa: E402
from ordergate.config import Settings  # noqa: E402
from ordergate.item_exceptions import service  # noqa: E402
from ordergate.orders.models import Order, OrderItem, OrderItemException  # noqa: E402
from ordergate.scope import Scope  # noqa: E402
from ordergate.security import use_cheap_password_hashing  # noqa: E402

TARGET_MS = 100.0
_LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


def web_login(client: TestClient, email: str) -> httpx.Cookies:
    """Log `email` in on a cookie jar of its own; the client keeps it (and the session)."""
    client.cookies = httpx.Cookies()
    form = _LOGIN_CSRF.search(client.get("/").text)
    assert form, "no login form"
    response = client.post(
        "/login",
        data={"email": email, "password": exceptions_api.PASSWORD, "login_csrf": form.group(1)},
        follow_redirects=False,
    )
    if response.status_code != 303:
        sys.exit(f"login of {email} failed: {response.status_code}")
    return client.cookies


def sample_ids(session: object, rng: random.Random, vendor_id: int) -> tuple[list, list]:
    """Rows (exception id, GTIN, order id, vendor id, order number) of exceptions with a GTIN:
    a sample over every vendor and the first of the staff user's vendor."""
    rows = session.execute(  # type: ignore[attr-defined]
        select(
            OrderItemException.id,
            OrderItemException.original_gtin,
            Order.id,
            Order.vendor_id,
            Order.order_number,
        )
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
        .where(OrderItemException.original_gtin.is_not(None))
        .order_by(OrderItemException.id)
        .limit(20_000)
    ).all()
    picked = rng.sample(rows, 400)
    own = [row for row in rows if row[3] == vendor_id][:200]
    return picked, own


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sqlite", type=Path, default=exceptions_api.DEFAULT_SQLITE)
    parser.add_argument("--database-url")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--smoke", action="store_true", help="a small dataset, a few requests")
    args = parser.parse_args()
    size: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        if args.smoke:
            args.sqlite, args.requests = Path(scratch) / "pages.db", 5
            size = {"items": 20_000, "exceptions": 2_000}
        url = args.database_url or f"sqlite:///{args.sqlite}"
        use_cheap_password_hashing()
        exceptions_api.prepare_dataset(
            url, regenerate=args.smoke, seed=generate_dataset.SEED, **size
        )
        app = create_app(
            Settings(
                env="test", database_url=url, secret_key="bench-secret-key-for-ordergate-pages"
            )
        )
        deadlines_kpis.add_rows(app.state.engine)
        try:
            measure_pages(app, url, random.Random(args.seed), args.requests)
        finally:
            deadlines_kpis.remove_rows(app.state.engine)
            app.state.engine.dispose()


def measure_pages(app: Any, url: str, rng: random.Random, requests: int) -> None:
    with app.state.session_factory() as session:
        vendor_id, vendor_code = exceptions_api.biggest_vendor(session)
        exceptions_api.ensure_users(session, vendor_code)
        every, own = sample_ids(session, rng, vendor_id)
        pending = service.exception_stats(
            session, scope=Scope(actor_user_id=None, vendor_id=None, is_admin=True)
        ).pending
    print(f"database: {url.split('@')[-1]}; pending {pending:,}; staff of {vendor_code}")

    results = []
    # One client, so one lifespan and one event loop, as in one server process (a second
    # TestClient's idle loop made every request of the first 20-40 % slower); the admin and the
    # staff member are two cookie jars.
    client = TestClient(app)
    with client:
        staff = web_login(client, "staff@bench.test")
        admin = web_login(client, "admin@bench.test")
        first = client.get("/queue")
        if f"{pending:,}" not in first.text and str(pending) not in first.text:
            sys.exit(f"the admin queue does not show the {pending} pending exceptions")
        other = next(f"/orders/{row[2]}" for row in every if row[3] != vendor_id)
        client.cookies = staff
        if client.get(other).status_code != 404:
            sys.exit(f"the staff member's cookies are not in use: {other} is not 404")

        def page(
            cookies: httpx.Cookies, paths: list[str], expect: list[str] | None = None
        ) -> Callable[[int], None]:
            def call(i: int) -> None:
                client.cookies = cookies
                response = client.get(paths[i % len(paths)])
                if response.status_code != 200:
                    sys.exit(f"{paths[i % len(paths)]}: {response.status_code}")
                if expect and expect[i % len(paths)] not in response.text:
                    sys.exit(f"{paths[i % len(paths)]} does not show {expect[i % len(paths)]}")

            return call

        scenarios = [
            ("queue", "admin, all vendors", page(admin, ["/queue"])),
            ("queue", "admin, overdue", page(admin, ["/queue?deadline=overdue"])),
            ("queue", "admin, soonest deadline", page(admin, ["/queue?sort=confirm_by"])),
            ("queue", "staff, own vendor", page(staff, ["/queue", "/queue?skip=50"])),
            ("grouped queue", "admin, all vendors", page(admin, ["/queue?mode=groups"])),
            ("grouped queue", "staff, own vendor", page(staff, ["/queue?mode=groups"])),
            ("orders list", "admin, all vendors", page(admin, ["/orders"])),
            ("orders list", "staff, own vendor", page(staff, ["/orders", "/orders?page=2"])),
            (
                "order detail",
                "admin",
                page(
                    admin,
                    [f"/orders/{row[2]}" for row in every],
                    [row[4] for row in every],
                ),
            ),
            (
                "order detail",
                "staff",
                page(
                    staff,
                    [f"/orders/{row[2]}" for row in own],
                    [row[4] for row in own],
                ),
            ),
            (
                "exception detail",
                "admin",
                page(admin, [f"/exceptions/{row[0]}" for row in every], [r[1] for r in every]),
            ),
            (
                "exception detail",
                "staff",
                page(staff, [f"/exceptions/{row[0]}" for row in own], [r[1] for r in own]),
            ),
        ]
        for name, who, call in scenarios:
            timings = exceptions_api.measure(call, requests, warmup=5)
            results.append((name, who, timings))

    print("\n| page | who | p50 ms | p95 ms | target | |\n|---|---|--:|--:|--:|---|")
    for name, who, timings in results:
        p50, p95 = exceptions_api.p(timings, 50), exceptions_api.p(timings, 95)
        verdict = "met" if p95 <= TARGET_MS else "missed"
        print(f"| {name} | {who} | {p50:.1f} | {p95:.1f} | {TARGET_MS:.0f} | {verdict} |")


if __name__ == "__main__":
    main()
