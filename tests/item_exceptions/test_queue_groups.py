"""The grouped queue (`GET …/order-exceptions/groups`, `groups.csv`), the bulk-resolve preview
and the stats' `by_type`, both trees, on real databases."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.item_exceptions.queue_tables import groups
from ordergate.orders.models import Order, OrderItem, OrderItemException, OrderItemUnit
from ordergate.vendors.models import Vendor
from tests.factories import (
    BASE_TIME,
    Caller,
    make_exception,
    make_item,
    make_order,
    make_product,
    make_unmatched_line,
    make_vendor,
)

G1 = "4006381333931"
G2 = "5702016618891"
ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"


def _get(client: TestClient, caller: Caller, path: str, **params: Any) -> Any:
    response = client.get(
        caller.url(admin=ADMIN, vendor=VENDOR) + path,
        headers=caller.headers,
        params={**caller.vendor_query(), **params},
    )
    assert response.status_code == 200, response.text
    return response.json() if path != "/groups.csv" else response


def _key(group: dict[str, Any]) -> tuple[str, str, str]:
    return group["key_kind"], group["key"], group["exception_type"]


def oracle(db: Session) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    """The groups computed in Python from the exceptions, their lines and orders."""
    rows = db.execute(
        select(
            OrderItemException.id,
            OrderItemException.vendor_id,
            OrderItemException.status,
            OrderItemException.exception_type,
            OrderItemException.original_sku,
            OrderItemException.original_product_name,
            OrderItem.gtin_normalized,
            OrderItem.order_id,
            OrderItem.quantity,
            OrderItem.unit_price_cents,
            Order.order_date,
        )
        .join(OrderItem, OrderItem.id == OrderItemException.order_item_id)
        .join(Order, Order.id == OrderItem.order_id)
    ).all()
    found: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
    for row in rows:
        sku = (row.original_sku or "").strip(" ")
        name = (row.original_product_name or "").strip(" ")
        if row.gtin_normalized is not None:
            kind, key = "gtin", row.gtin_normalized
        elif sku:
            kind, key = "sku", sku
        elif name:
            kind, key = "name", name
        else:
            kind, key = "none", ""
        found[(row.vendor_id, row.status, row.exception_type, kind, key)].append(row)
    db.commit()
    return {
        key: (
            len(members),
            len({m.order_id for m in members}),
            sum(m.quantity for m in members),
            sum(m.quantity * (m.unit_price_cents or 0) for m in members),
            min((m.order_date for m in members if m.order_date is not None), default=None),
            min(m.id for m in members),
        )
        for key, members in found.items()
    }


def stored(db: Session) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    g = groups.c
    rows = db.execute(select(groups)).all()
    db.commit()
    return (
        {
            (r.vendor_id, r.status, r.exception_type, r.key_kind, r.group_key): (
                r.lines,
                r.orders,
                r.units,
                r.value_cents,
                r.oldest_order_date,
                r.sample_exception_id,
            )
            for r in rows
        }
        if g is not None
        else {}
    )


def test_groups_by_gtin_sku_and_name_with_their_totals(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v = caller.vendor.id
    old = make_order(db, vendor_id=v, order_date=BASE_TIME - timedelta(days=3))
    new = make_order(db, vendor_id=v, order_date=BASE_TIME)
    # One GTIN in two forms, on two orders (twice on the old one): 3 lines, 2 orders.
    a = make_exception(
        db, item=make_item(db, order=old, gtin=G1, quantity=2, unit_price_cents=1000)
    )
    make_exception(
        db, item=make_item(db, order=old, gtin="0" + G1, quantity=1, unit_price_cents=500)
    )
    make_exception(db, item=make_item(db, order=new, gtin=G1, quantity=3, unit_price_cents=None))
    # No GTIN: by SKU (trimmed), then by name.
    make_exception(
        db, item=make_item(db, order=new, gtin=None, sku=" SKU-9 "), exception_type="gtin_mismatch"
    )
    make_exception(
        db, item=make_item(db, order=new, gtin="N/A", sku="SKU-9"), exception_type="gtin_mismatch"
    )
    make_exception(
        db,
        item=make_item(db, order=new, gtin=None, sku=None, product_name="Lonely mug"),
        exception_type="gtin_mismatch",
    )
    make_exception(db, item=make_item(db, order=new, gtin=G1), status="ignored")
    # Another vendor's line with the same GTIN is its own group, never shown here.
    other = make_vendor(db, code="shop2")
    make_unmatched_line(db, vendor_id=other.id, gtin=G1)
    db.commit()

    body = _get(client, caller, "/groups")

    assert body["total"] == 3
    first, second, third = body["groups"]
    assert first == {
        "vendor_id": v,
        "key_kind": "gtin",
        "key": "0" + G1,
        "gtin": "0" + G1,
        "sample_gtin": G1,
        "sku": "MH-FU-56757",
        "product_name": "Funko Pop! Marvel",
        "sample_exception_id": a.id,
        "exception_type": "product_not_found",
        "status": "pending",
        "lines": 3,
        "orders": 2,
        "units": 6,
        "value_cents": 2500,
        "oldest_order_date": (BASE_TIME - timedelta(days=3)).isoformat().replace("+00:00", "Z"),
    }
    # Same orders and oldest date: by the key, "name" before "sku".
    assert [(g["key_kind"], g["key"], g["lines"], g["orders"]) for g in (second, third)] == [
        ("name", "Lonely mug", 1, 1),
        ("sku", "SKU-9", 2, 1),
    ]
    ignored = _get(client, caller, "/groups", status="ignored")
    assert [(g["key"], g["lines"]) for g in ignored["groups"]] == [("0" + G1, 1)]


def test_groups_count_what_the_list_counts_for_the_same_filters(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v = caller.vendor.id
    for n in range(12):
        make_unmatched_line(
            db,
            vendor_id=v,
            gtin=(G1, G2, None)[n % 3],
            sku=f"SKU-{n % 4}",
            product_name=f"Puzzle {n % 5}",
            exception_type=("product_not_found", "duplicate_gtin", "gtin_mismatch")[n % 3],
            status=("pending", "pending", "ignored", "resolved")[n % 4],
        )
    db.commit()
    filters: list[dict[str, Any]] = [
        {},
        {"status": "ignored"},
        {"status": "resolved"},
        {"exception_type": "gtin_mismatch"},
        {"status": "pending", "exception_type": "duplicate_gtin"},
        {"search": "puzzle 1"},
        {"search": G1},
        {"search": "SKU-3", "status": "resolved"},
    ]
    for params in filters:
        listed = _get(client, caller, "", **{"status": "pending", **params})["total"]
        grouped = _get(client, caller, "/groups", limit=200, **params)
        assert sum(g["lines"] for g in grouped["groups"]) == listed, params
        assert grouped["total"] == len(grouped["groups"])
        # Each GTIN group has the lines the list finds for its GTIN with the same filters.
        for group in grouped["groups"]:
            if group["key_kind"] == "gtin" and "search" not in params:
                by_gtin = _get(
                    client,
                    caller,
                    "",
                    search=group["key"],
                    status=group["status"],
                    exception_type=group["exception_type"],
                )
                assert by_gtin["total"] == group["lines"], (params, group)


def test_groups_sort_and_page_like_the_list(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v = caller.vendor.id
    gtins = [G1, G2, "0012345678905", "96385074"]
    for index, gtin in enumerate(gtins):
        for n in range(index + 1):  # gtins[3] has the most orders
            order = make_order(db, vendor_id=v, order_date=BASE_TIME + timedelta(hours=n))
            make_exception(
                db, item=make_item(db, order=order, gtin=gtin, unit_price_cents=100 * (4 - index))
            )
    db.commit()
    body = _get(client, caller, "/groups", skip=1, limit=2)
    assert (body["total"], body["skip"], body["limit"]) == (4, 1, 2)
    assert [g["lines"] for g in body["groups"]] == [3, 2]
    by_value = _get(client, caller, "/groups", sort="value_cents")["groups"]
    assert [g["value_cents"] for g in by_value] == [600, 600, 400, 400]
    # Ties by the oldest order: all four start at BASE_TIME, then by the key.
    oldest = _get(client, caller, "/groups", sort="oldest_order_date")["groups"]
    assert [g["key"] for g in oldest] == sorted(g["key"] for g in oldest)


def test_group_totals_follow_every_change(client: TestClient, db: Session, caller: Caller) -> None:
    """The trigger-kept totals equal a recomputation after inserts, resolutions, type and
    quantity changes and deletions (directly and through an order's cascade)."""
    v = caller.vendor.id
    other = make_vendor(db, code="shop2")
    orders = [
        make_order(db, vendor_id=v, order_date=BASE_TIME + timedelta(days=n)) for n in range(4)
    ]
    made = []
    for n in range(16):
        order = orders[n % 4]
        made.append(
            make_exception(
                db,
                item=make_item(
                    db,
                    order=order,
                    gtin=(G1, G2, None, None)[n % 4],
                    sku=("A", None, "S1", None)[n % 4],
                    product_name=(None, "x", "n", None)[n % 4] if n % 8 else None,
                    quantity=1 + n % 3,
                ),
            )
        )
    make_unmatched_line(db, vendor_id=other.id, gtin=G1)
    db.commit()
    assert stored(db) == oracle(db)

    product = make_product(db, vendor_id=v, gtin=G2)
    db.commit()
    ids = [e.id for e in made[:6]]
    response = client.post(
        caller.url(admin=ADMIN, vendor=VENDOR) + "/bulk/resolve",
        headers=caller.headers,
        params=caller.vendor_query(),
        json={"exception_ids": ids, "product_id": product.id},
    )
    assert response.status_code == 200, response.text
    assert stored(db) == oracle(db)

    db.execute(
        update(OrderItemException)
        .where(OrderItemException.id.in_([made[7].id, made[11].id]))
        .values(exception_type="duplicate_gtin", status="ignored")
    )
    db.execute(update(OrderItem).where(OrderItem.id == made[8].order_item_id).values(quantity=7))
    db.execute(
        update(OrderItem).where(OrderItem.id == made[9].order_item_id).values(unit_price_cents=None)
    )
    db.commit()
    assert stored(db) == oracle(db)

    db.execute(delete(OrderItemException).where(OrderItemException.id == made[10].id))
    db.execute(
        delete(OrderItemUnit).where(
            OrderItemUnit.order_item_id.in_(
                select(OrderItem.id).where(OrderItem.order_id == orders[0].id)
            )
        )
    )
    db.execute(delete(OrderItem).where(OrderItem.order_id == orders[0].id))
    db.execute(delete(Order).where(Order.id == orders[0].id))
    db.commit()
    assert stored(db) == oracle(db)
    assert stored(db)  # something is left to compare


def test_groups_of_every_vendor_for_an_admin(client: TestClient, db: Session) -> None:
    from tests.factories import admin_headers

    headers = admin_headers(client, db)
    one = make_vendor(db, code="shop1")
    two = make_vendor(db, code="shop2")
    make_unmatched_line(db, vendor_id=one.id, gtin=G1)
    make_unmatched_line(db, vendor_id=two.id, gtin=G1)
    make_unmatched_line(db, vendor_id=two.id, gtin=G1)
    db.commit()
    body = client.get(ADMIN + "/groups", headers=headers).json()
    assert [(g["vendor_id"], g["lines"]) for g in body["groups"]] == [(two.id, 2), (one.id, 1)]
    only = client.get(ADMIN + "/groups", headers=headers, params={"vendor_id": one.id}).json()
    assert [(g["vendor_id"], g["lines"]) for g in only["groups"]] == [(one.id, 1)]
    unknown = client.get(ADMIN + "/groups", headers=headers, params={"vendor_id": 999_999})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "VENDOR_NOT_FOUND"


def test_the_catalog_gap_csv_is_spreadsheet_safe(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v = caller.vendor.id
    make_unmatched_line(
        db, vendor_id=v, gtin=G1, sku='=HYPERLINK("http://x")', product_name="+1 mug"
    )
    make_unmatched_line(
        db,
        vendor_id=v,
        gtin=None,
        sku="@SUM(A1)",
        product_name="-2 cup",
        exception_type="gtin_mismatch",
    )
    make_unmatched_line(
        db,
        vendor_id=v,
        gtin=None,
        sku="\tTab",
        product_name="Crème brûlée",
        exception_type="gtin_mismatch",
    )
    db.commit()
    response = _get(client, caller, "/groups.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert len(rows) == 3
    by_sku = {row["sku"]: row for row in rows}
    assert set(by_sku) == {'\'=HYPERLINK("http://x")', "'@SUM(A1)", "'\tTab"}
    assert by_sku['\'=HYPERLINK("http://x")']["product_name"] == "'+1 mug"
    assert by_sku['\'=HYPERLINK("http://x")']["gtin"] == "0" + G1
    assert by_sku["'@SUM(A1)"]["product_name"] == "'-2 cup"
    assert by_sku["'\tTab"]["product_name"] == "Crème brûlée"
    assert by_sku["'@SUM(A1)"]["lines"] == "1"
    for row in rows:
        assert not any(
            cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values() if cell
        )


def test_bulk_resolve_preview_counts_exceptions_orders_and_confirmable_orders(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v = caller.vendor.id
    alone = make_order(db, vendor_id=v)
    make_exception(db, item=make_item(db, order=alone, gtin=G1))
    make_exception(db, item=make_item(db, order=alone, gtin="0" + G1))
    # Blocked by another GTIN too: not made confirmable.
    mixed = make_order(db, vendor_id=v)
    make_exception(db, item=make_item(db, order=mixed, gtin=G1))
    make_exception(db, item=make_item(db, order=mixed, gtin=G2))
    # Already confirmed: not awaiting confirmation.
    done = make_order(db, vendor_id=v, status="processing")
    make_exception(db, item=make_item(db, order=done, gtin=G1))
    # An ignored one of this GTIN stays blocking (bulk-resolve takes pending ones only).
    ignored = make_order(db, vendor_id=v)
    make_exception(db, item=make_item(db, order=ignored, gtin=G1))
    make_exception(db, item=make_item(db, order=ignored, gtin=G1), status="ignored")
    other = make_vendor(db, code="shop2")
    make_unmatched_line(db, vendor_id=other.id, gtin=G1)
    db.commit()
    body = _get(client, caller, "/bulk-resolve/preview", gtin="0" + G1)
    assert body == {
        "gtin": "0" + G1,
        "canonical_gtin": "0" + G1,
        "exceptions": 5,
        "orders": 4,
        "confirmable_orders": 1,
    }
    none = _get(client, caller, "/bulk-resolve/preview", gtin="96385074")
    assert (none["exceptions"], none["orders"], none["confirmable_orders"]) == (0, 0, 0)


def test_preview_by_raw_text_and_a_typo(client: TestClient, db: Session, caller: Caller) -> None:
    make_unmatched_line(db, vendor_id=caller.vendor.id, gtin="N/A", exception_type="gtin_mismatch")
    db.commit()
    body = _get(client, caller, "/bulk-resolve/preview", gtin="N/A")
    assert (body["canonical_gtin"], body["exceptions"], body["confirmable_orders"]) == (None, 1, 1)
    typo = client.get(
        caller.url(admin=ADMIN, vendor=VENDOR) + "/bulk-resolve/preview",
        headers=caller.headers,
        params={**caller.vendor_query(), "gtin": "4006381333932"},
    )
    assert typo.status_code == 400
    assert typo.json()["error"]["code"] == "INVALID_GTIN"


@pytest.mark.parametrize("query", [{}, {"gtin": " "}, {"gtin": "x" * 51}])
def test_preview_needs_a_gtin(client: TestClient, caller: Caller, query: dict[str, str]) -> None:
    response = client.get(
        caller.url(admin=ADMIN, vendor=VENDOR) + "/bulk-resolve/preview",
        headers=caller.headers,
        params={**caller.vendor_query(), **query},
    )
    assert response.status_code == 422, response.text


def test_stats_by_type(client: TestClient, db: Session, caller: Caller) -> None:
    v = caller.vendor.id
    make_unmatched_line(db, vendor_id=v, gtin=G1)
    make_unmatched_line(db, vendor_id=v, gtin=G1, status="ignored")
    make_unmatched_line(
        db, vendor_id=v, gtin=None, exception_type="gtin_mismatch", status="resolved"
    )
    other = make_vendor(db, code="shop2")
    make_unmatched_line(db, vendor_id=other.id, gtin=G1, exception_type="duplicate_gtin")
    db.commit()
    body = _get(client, caller, "/stats")
    assert body["by_type"] == {
        "product_not_found": {"pending": 1, "resolved": 0, "ignored": 1},
        "gtin_mismatch": {"pending": 0, "resolved": 1, "ignored": 0},
        "duplicate_gtin": {"pending": 0, "resolved": 0, "ignored": 0},
    }
    assert (body["pending"], body["resolved"], body["ignored"], body["total"]) == (1, 1, 1, 3)


def test_groups_take_the_lists_deadline_filter_and_sort(
    client: TestClient, db: Session, caller: Caller
) -> None:
    vendor = db.get(Vendor, caller.vendor.id)
    assert vendor is not None
    vendor.confirmation_deadline_hours = 48
    now = utcnow()
    # G1: an overdue and an on-track order; G2: an at-risk order; G3: a processing order
    # (no deadline).
    for gtin, hours_ago, status in (
        (G1, 50, "pending"),
        (G1, 1, "pending"),
        (G2, 30, "pending"),
        ("0012345678905", 60, "processing"),
    ):
        order = make_order(
            db, vendor_id=vendor.id, order_date=now - timedelta(hours=hours_ago), status=status
        )
        make_exception(db, item=make_item(db, order=order, gtin=gtin))
    db.commit()
    for state, expected in (("overdue", [G1]), ("at_risk", [G2]), ("on_track", [G1])):
        grouped = _get(client, caller, "/groups", deadline_state=state)
        listed = _get(client, caller, "", status="pending", deadline_state=state)
        assert [g["key"] for g in grouped["groups"]] == [g.zfill(14) for g in expected], state
        assert sum(g["lines"] for g in grouped["groups"]) == listed["total"] == 1
        gaps = _get(client, caller, "/groups.csv", deadline_state=state).text
        assert [row["key_kind"] for row in csv.DictReader(io.StringIO(gaps.lstrip("\ufeff")))] == [
            "gtin"
        ]
    by_deadline = _get(client, caller, "/groups", sort="confirm_by")
    assert [g["key"] for g in by_deadline["groups"]] == [
        G1.zfill(14),
        G2.zfill(14),
        "0012345678905".zfill(14),
    ]
    assert [g["lines"] for g in by_deadline["groups"]] == [2, 1, 1]
    paged = _get(client, caller, "/groups", sort="confirm_by", skip=1, limit=1)
    assert (paged["total"], [g["key"] for g in paged["groups"]]) == (3, [G2.zfill(14)])
    bad = client.get(
        caller.url(admin=ADMIN, vendor=VENDOR) + "/groups",
        headers=caller.headers,
        params={**caller.vendor_query(), "deadline_state": "late"},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "VALIDATION_ERROR"
