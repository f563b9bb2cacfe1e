#!/usr/bin/env python3
"""Latency of create-product (with many same-GTIN siblings to auto-match) and of reopen, through
the HTTP app (TestClient, the vendor's token), on a database of its own.

    .venv/bin/python bench/exception_actions.py                  # SQLite, bench/out/actions.db
    scripts/with_postgres.py -- .venv/bin/python bench/exception_actions.py   # PostgreSQL

PostgreSQL: ``--database-url``, else ``ORDERGATE_TEST_DATABASE_URL`` (what with_postgres.py
sets), an empty database. The rows are generated here (the shared dataset is left alone): one
vendor with ``--noise`` pending exceptions on other GTINs, plus per round one GTIN carried by
``--siblings`` pending lines. Each round creates the product from one of them, which must
resolve all ``--siblings`` (checked: exit 1 otherwise). Then ``--singles`` create-products of
exceptions without siblings, and ``--reopens`` reopens of resolved exceptions (each checked:
200, and the pending count and ``reopened`` events grow by exactly that many).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from stdnum import ean  # noqa: E402

from ordergate import migrate  # noqa: E402
from ordergate.app import create_app  # noqa: E402
from ordergate.auth.service import create_user  # noqa: E402
from ordergate.catalog.placeholder import placeholder_product_id  # noqa: E402
from ordergate.config import Settings  # noqa: E402
from ordergate.db import make_engine  # noqa: E402
from ordergate.events.models import Event  # noqa: E402
from ordergate.gtin import canonical_gtin  # noqa: E402
from ordergate.orders.models import (  # noqa: E402
    Order,
    OrderItem,
    OrderItemException,
    OrderItemUnit,
)
from ordergate.security import use_cheap_password_hashing  # noqa: E402
from ordergate.vendors.service import create_vendor  # noqa: E402

DEFAULT_SQLITE = Path(__file__).parent / "out" / "actions.db"
PASSWORD = "bench-password-1234"
NOW = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
BATCH = 5_000


def gtin13(n: int) -> str:
    body = f"{700000000000 + n:012d}"
    return body + ean.calc_check_digit(body)


class Lines:
    """Inserts orders with one unmatched line (one unit) and its pending exception, in batches."""

    def __init__(self, session: Session, vendor_id: int) -> None:
        self.session = session
        self.vendor_id = vendor_id
        self.placeholder = placeholder_product_id(session, vendor_id=vendor_id)
        self.n = 0

    def add(self, gtins: list[str]) -> None:
        for start in range(0, len(gtins), BATCH):
            self._batch(gtins[start : start + BATCH])

    def _batch(self, gtins: list[str]) -> None:
        first = self.n
        self.n += len(gtins)
        numbers = range(first, self.n)
        stamp = {"created_at": NOW, "updated_at": NOW}
        order_ids = self.session.scalars(
            insert(Order).returning(Order.id, sort_by_parameter_order=True),
            [
                {
                    "vendor_id": self.vendor_id,
                    "channel": "letzshop",
                    "external_shipment_id": f"S{n}",
                    "order_number": f"LS-B-{n}",
                    "status": "pending",
                    "currency": "EUR",
                    "order_date": NOW,
                    **stamp,
                }
                for n in numbers
            ],
        ).all()
        item_ids = self.session.scalars(
            insert(OrderItem).returning(OrderItem.id, sort_by_parameter_order=True),
            [
                {
                    "order_id": order_id,
                    "product_id": self.placeholder,
                    "external_item_id": f"V{n}",
                    "product_name": f"Article {gtin}",
                    "product_sku": f"SKU-{gtin}",
                    "gtin": gtin,
                    "gtin_type": "gtin13",
                    "gtin_normalized": canonical_gtin(gtin),
                    "quantity": 1,
                    "unit_price_cents": 1999,
                    "needs_product_match": True,
                    **stamp,
                }
                for n, order_id, gtin in zip(numbers, order_ids, gtins, strict=True)
            ],
        ).all()
        self.session.execute(
            insert(OrderItemUnit),
            [
                {"order_item_id": i, "external_unit_id": f"U{i}", "state": "unconfirmed", **stamp}
                for i in item_ids
            ],
        )
        self.session.execute(
            insert(OrderItemException),
            [
                {
                    "order_item_id": item_id,
                    "vendor_id": self.vendor_id,
                    "original_gtin": gtin,
                    "original_product_name": f"Article {gtin}",
                    "original_sku": f"SKU-{gtin}",
                    "exception_type": "product_not_found",
                    "status": "pending",
                    **stamp,
                }
                for item_id, gtin in zip(item_ids, gtins, strict=True)
            ],
        )


def pct(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def fail(message: str) -> None:
    print(f"FAIL: {message}", flush=True)
    sys.exit(1)


def count(session: Session, statement: Any) -> int:
    value = session.scalar(statement) or 0
    session.commit()
    return int(value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("ORDERGATE_TEST_DATABASE_URL"))
    parser.add_argument("--noise", type=int, default=50_000)
    parser.add_argument("--siblings", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--singles", type=int, default=100)
    parser.add_argument("--reopens", type=int, default=200)
    args = parser.parse_args()
    url = args.database_url
    if not url:
        DEFAULT_SQLITE.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{DEFAULT_SQLITE}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{DEFAULT_SQLITE}"
    use_cheap_password_hashing()
    migrate.upgrade(url)

    engine = make_engine(url)
    started = time.perf_counter()
    with Session(engine) as session:
        vendor = create_vendor(session, code="bench", name="Bench")
        create_user(
            session, email="staff@bench.test", password=PASSWORD, is_admin=False,
            vendor_codes=["bench"],
        )  # fmt: skip
        lines = Lines(session, vendor.id)
        # Noise: pending exceptions on 10,000 other GTINs.
        lines.add([gtin13(i % 10_000) for i in range(args.noise)])
        round_gtins = [gtin13(100_000 + r) for r in range(args.rounds)]
        for gtin in round_gtins:
            lines.add([gtin] * args.siblings)
        single_gtins = [gtin13(200_000 + s) for s in range(args.singles)]
        lines.add(single_gtins)
        session.commit()
        vendor_id = vendor.id
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    total = args.noise + args.rounds * args.siblings + args.singles
    print(f"{engine.dialect.name}: {total:,} pending exceptions loaded in "
          f"{time.perf_counter() - started:.1f}s", flush=True)  # fmt: skip

    app = create_app(
        Settings(env="test", database_url=url, secret_key="bench-secret-key-for-ordergate-bench")
    )
    with TestClient(app) as client, Session(engine) as session:
        login = client.post(
            "/api/v1/auth/login", json={"email": "staff@bench.test", "password": PASSWORD}
        )
        login.raise_for_status()
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        base = "/api/v1/vendor/order-exceptions"

        def first_pending(gtin: str) -> int:
            found = session.scalar(
                select(func.min(OrderItemException.id)).where(
                    OrderItemException.vendor_id == vendor_id,
                    OrderItemException.original_gtin == gtin,
                    OrderItemException.status == "pending",
                )
            )
            session.commit()
            assert found is not None
            return int(found)

        sibling_ms: list[float] = []
        for gtin in round_gtins:
            exception_id = first_pending(gtin)
            t0 = time.perf_counter()
            response = client.post(
                f"{base}/{exception_id}/create-product", headers=headers, json={}
            )
            sibling_ms.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 201:
                fail(f"create-product answered {response.status_code}: {response.text[:300]}")
            body = response.json()
            if (body["resolved_count"], body["auto_matched"]) != (
                args.siblings,
                args.siblings - 1,
            ):
                fail(f"resolved {body['resolved_count']}, expected {args.siblings}")

        single_ms: list[float] = []
        for gtin in single_gtins:
            exception_id = first_pending(gtin)
            t0 = time.perf_counter()
            response = client.post(
                f"{base}/{exception_id}/create-product", headers=headers, json={}
            )
            single_ms.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 201 or response.json()["resolved_count"] != 1:
                fail(f"single create-product: {response.status_code} {response.text[:300]}")

        resolved_ids = list(
            session.scalars(
                select(OrderItemException.id)
                .where(
                    OrderItemException.vendor_id == vendor_id,
                    OrderItemException.status == "resolved",
                )
                .order_by(OrderItemException.id)
                .limit(args.reopens)
            )
        )
        session.commit()
        if len(resolved_ids) != args.reopens:
            fail(f"{len(resolved_ids)} resolved exceptions to reopen, expected {args.reopens}")
        pending_query = select(func.count()).where(OrderItemException.status == "pending")
        reopened_query = select(func.count()).where(Event.action == "reopened")
        pending_before = count(session, pending_query)
        reopen_ms: list[float] = []
        for exception_id in resolved_ids:
            t0 = time.perf_counter()
            response = client.post(
                f"{base}/{exception_id}/reopen", headers=headers, json={"notes": "bench"}
            )
            reopen_ms.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                fail(f"reopen answered {response.status_code}: {response.text[:300]}")
        if count(session, pending_query) != pending_before + args.reopens:
            fail("the pending count did not grow by the reopens")
        if count(session, reopened_query) != args.reopens:
            fail("not one reopened event per reopen")
    engine.dispose()

    def line(name: str, values: list[float]) -> str:
        return (
            f"| {name} | {len(values)} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | "
            f"{max(values):.1f} |"
        )

    print(f"load average: {os.getloadavg()[0]:.2f}")
    print("| operation | requests | p50 ms | p95 ms | max ms |")
    print("|---|--:|--:|--:|--:|")
    print(line(f"create-product, {args.siblings:,} siblings auto-matched", sibling_ms))
    print(line("create-product, no sibling", single_ms))
    print(line("reopen (resolved by create-product)", reopen_ms))


if __name__ == "__main__":
    main()
