"""Confirmation deadlines (issue 9 §7): `confirm_by`, `deadline_state` and the age of orders and
exception rows, their filter and sort, and the stats' `at_risk`/`overdue`.

The service-level tests fix `now`; the HTTP tests place order dates far from the deadlines'
boundaries relative to the real clock, so neither depends on when they run.

The scenario (shop1: 48 h; shop2: 10 h; shop3: no deadline), at NOW:

| order | order date          | blocked by | confirm_by      | state    |
|-------|---------------------|------------|-----------------|----------|
| A     | NOW − 49 h          | pending    | NOW − 1 h       | overdue  |
| B     | NOW − 48 h          | pending    | NOW             | overdue (boundary) |
| C     | NOW − 30 h          | pending (+ a resolved line) | NOW + 18 h | at_risk |
| D     | NOW − 24 h − 1 µs   | pending    | NOW + 24 h − 1 µs | at_risk (boundary) |
| E     | NOW − 24 h          | ignored    | NOW + 24 h      | on_track (boundary) |
| F     | NOW                 | pending    | NOW + 48 h      | on_track |
| G     | NOW − 100 h         | resolved only | —            | —        |
| H     | NOW − 100 h, processing | pending | —              | — (not awaiting confirmation) |
| J     | NOW − 100 h         | pending on a declined line | — | —     |
| I     | none, arrived NOW − 50 h | pending | NOW − 2 h    | overdue (arrival + hours) |
| K (shop2) | NOW − 5 h       | pending    | NOW + 5 h       | at_risk  |
| L (shop3) | NOW − 500 h     | pending    | —               | —        |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.db import PageRequest, utcnow
from ordergate.item_exceptions import service as exception_service
from ordergate.item_exceptions.service import ExceptionSort
from ordergate.orders import service as order_service
from ordergate.orders.deadlines import DeadlineState, state_at
from ordergate.orders.models import Order, OrderItemException
from ordergate.orders.service import OrderSort
from ordergate.scope import Scope
from ordergate.vendors.models import Vendor
from tests.factories import (
    Caller,
    make_exception,
    make_item,
    make_order,
    make_product,
    make_vendor,
    row_count,
    set_deadline_hours,
)

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
US = timedelta(microseconds=1)
PAGE = PageRequest(skip=0, limit=200)


@dataclass
class Scenario:
    shop1: Vendor
    shop2: Vendor
    shop3: Vendor
    orders: dict[str, Order]
    exceptions: dict[str, OrderItemException]  # the blocking (or only) exception of each order
    resolved_c: OrderItemException  # order C's second, resolved line


def _blocked_order(
    db: Session,
    vendor: Vendor,
    *,
    order_date: datetime | None,
    raised_at: datetime,
    status: str = "pending",
    exception_status: str = "pending",
    unit_states: tuple[str, ...] = ("unconfirmed",),
    arrived_at: datetime | None = None,
) -> tuple[Order, OrderItemException]:
    fields = {} if arrived_at is None else {"created_at": arrived_at}
    order = make_order(db, vendor_id=vendor.id, order_date=order_date, status=status, **fields)
    item = make_item(db, order=order, unit_states=unit_states)
    exception = make_exception(db, item=item, status=exception_status, created_at=raised_at)
    return order, exception


def _scenario(db: Session) -> Scenario:
    shop1, shop2, shop3 = (make_vendor(db, code=c) for c in ("shop1", "shop2", "shop3"))
    set_deadline_hours(db, shop1, 48)
    set_deadline_hours(db, shop2, 10)
    orders: dict[str, Order] = {}
    exceptions: dict[str, OrderItemException] = {}
    processing = {"status": "processing", "unit_states": ("confirmed_available",)}
    # Exceptions raised a minute apart, in this order: the default list is newest first.
    plan: list[tuple[str, Vendor, datetime | None, dict[str, Any]]] = [
        ("A", shop1, NOW - 49 * H, {}),
        ("B", shop1, NOW - 48 * H, {}),
        ("C", shop1, NOW - 30 * H, {}),
        ("D", shop1, NOW - 24 * H - US, {}),
        ("E", shop1, NOW - 24 * H, {"exception_status": "ignored"}),
        ("F", shop1, NOW, {}),
        ("G", shop1, NOW - 100 * H, {"exception_status": "resolved"}),
        ("H", shop1, NOW - 100 * H, processing),
        ("J", shop1, NOW - 100 * H, {}),
        ("I", shop1, None, {"arrived_at": NOW - 50 * H}),
        ("K", shop2, NOW - 5 * H, {}),
        ("L", shop3, NOW - 500 * H, {}),
    ]
    for index, (name, vendor, order_date, options) in enumerate(plan):
        orders[name], exceptions[name] = _blocked_order(
            db,
            vendor,
            order_date=order_date,
            raised_at=NOW - 10 * H + index * timedelta(minutes=1),
            **options,
        )
    # C: a second line, resolved (its row has no deadline; the order still has one).
    item = make_item(db, order=orders["C"], gtin="4006381333931")
    resolved_c = make_exception(db, item=item, status="resolved", created_at=NOW - 9 * H)
    # J: the pending exception's line is declined, and a matched line awaits confirmation.
    declined = exceptions["J"]
    for unit in db.get_one(Order, orders["J"].id).items[0].units:
        unit.state = "confirmed_unavailable"
    make_item(db, order=orders["J"], product_id=None, unit_states=("unconfirmed",), gtin=None)
    db.flush()
    assert declined.status == "pending"
    db.commit()
    return Scenario(shop1, shop2, shop3, orders, exceptions, resolved_c)


EXPECTED_SHOP1 = {
    "A": (NOW - 1 * H, DeadlineState.OVERDUE),
    "B": (NOW, DeadlineState.OVERDUE),
    "C": (NOW + 18 * H, DeadlineState.AT_RISK),
    "D": (NOW + 24 * H - US, DeadlineState.AT_RISK),
    "E": (NOW + 24 * H, DeadlineState.ON_TRACK),
    "F": (NOW + 48 * H, DeadlineState.ON_TRACK),
    "G": (None, None),
    "H": (None, None),
    "J": (None, None),
    "I": (NOW - 2 * H, DeadlineState.OVERDUE),
}


def _scope(vendor: Vendor | None) -> Scope:
    if vendor is None:
        return Scope(actor_user_id=None, vendor_id=None, is_admin=True)
    return Scope(actor_user_id=None, vendor_id=vendor.id)


# --- orders -------------------------------------------------------------------------------------


def test_each_order_gets_its_confirm_by_and_state(db: Session) -> None:
    s = _scenario(db)
    orders, total = order_service.list_orders(db, scope=_scope(s.shop1), page=PAGE, now=NOW)
    assert total == 10
    by_id = {o.id: (o.confirm_by, o.deadline_state) for o in orders}
    assert {name: by_id[s.orders[name].id] for name in EXPECTED_SHOP1} == EXPECTED_SHOP1


def test_order_age_is_whole_seconds_since_its_order_date_or_arrival(db: Session) -> None:
    s = _scenario(db)
    for name, age in (("A", 49 * 3600), ("D", 24 * 3600), ("F", 0), ("I", 50 * 3600)):
        # D is 24 h and 1 µs old: the floor of the exact difference.
        order = order_service.get_order(
            db, scope=_scope(s.shop1), order_id=s.orders[name].id, now=NOW
        )
        assert order.age_seconds == age, name


def test_order_detail_has_the_same_deadline_as_the_list(db: Session) -> None:
    s = _scenario(db)
    for name, expected in EXPECTED_SHOP1.items():
        order = order_service.get_order(
            db, scope=_scope(s.shop1), order_id=s.orders[name].id, now=NOW
        )
        assert (order.confirm_by, order.deadline_state) == expected, name


@pytest.mark.parametrize(
    ("state", "names"),
    [
        # Newest order date first; I has none and comes last.
        (DeadlineState.OVERDUE, ["B", "A", "I"]),
        (DeadlineState.AT_RISK, ["D", "C"]),
        (DeadlineState.ON_TRACK, ["F", "E"]),
    ],
)
def test_orders_filter_by_deadline_state(
    db: Session, state: DeadlineState, names: list[str]
) -> None:
    s = _scenario(db)
    orders, total = order_service.list_orders(
        db, scope=_scope(s.shop1), page=PAGE, deadline_state=state, now=NOW
    )
    assert [o.id for o in orders] == [s.orders[n].id for n in names]
    assert total == len(names)
    assert {o.deadline_state for o in orders} == {state}


def test_orders_sort_by_confirm_by_soonest_first_then_those_without(db: Session) -> None:
    s = _scenario(db)
    orders, _ = order_service.list_orders(
        db, scope=_scope(s.shop1), page=PAGE, sort=OrderSort.CONFIRM_BY, now=NOW
    )
    with_deadline = ["I", "A", "B", "C", "D", "E", "F"]
    # Without a deadline: newest order date first, then id descending (G, H, J share one).
    without = sorted(("G", "H", "J"), key=lambda n: s.orders[n].id, reverse=True)
    assert [o.id for o in orders] == [s.orders[n].id for n in (*with_deadline, *without)]


def test_admin_sees_every_vendors_own_window(db: Session) -> None:
    s = _scenario(db)
    orders, total = order_service.list_orders(
        db, scope=_scope(None), page=PAGE, deadline_state=DeadlineState.AT_RISK, now=NOW
    )
    assert total == 3
    k = next(o for o in orders if o.id == s.orders["K"].id)
    assert (k.confirm_by, k.deadline_state) == (NOW + 5 * H, DeadlineState.AT_RISK)
    l_order = order_service.get_order(db, scope=_scope(None), order_id=s.orders["L"].id, now=NOW)
    assert (l_order.confirm_by, l_order.deadline_state) == (None, None)


# --- exception rows -----------------------------------------------------------------------------


def test_exception_rows_carry_their_orders_deadline_while_they_block(db: Session) -> None:
    s = _scenario(db)
    rows, total = exception_service.list_exceptions(db, scope=_scope(s.shop1), page=PAGE, now=NOW)
    assert total == 11
    by_id = {row.id: (row.confirm_by, row.deadline_state) for row in rows}
    assert {n: by_id[s.exceptions[n].id] for n in EXPECTED_SHOP1} == EXPECTED_SHOP1
    # C's resolved line does not block: no deadline on its row.
    assert by_id[s.resolved_c.id] == (None, None)


def test_exception_row_age_is_seconds_since_it_was_raised(db: Session) -> None:
    s = _scenario(db)
    row = exception_service.get_exception(
        db, scope=_scope(s.shop1), exception_id=s.exceptions["A"].id, now=NOW
    )
    assert row.age_seconds == 10 * 3600  # raised NOW - 10 h
    detail = exception_service.get_exception_detail(
        db, scope=_scope(s.shop1), exception_id=s.exceptions["C"].id
    )
    assert detail.attributes()["confirm_by"] == NOW + 18 * H


@pytest.mark.parametrize(
    ("state", "names"),
    [
        (DeadlineState.OVERDUE, ["I", "B", "A"]),
        (DeadlineState.AT_RISK, ["D", "C"]),
        (DeadlineState.ON_TRACK, ["F", "E"]),
    ],
)
def test_exceptions_filter_by_deadline_state_newest_first(
    db: Session, state: DeadlineState, names: list[str]
) -> None:
    s = _scenario(db)
    rows, total = exception_service.list_exceptions(
        db, scope=_scope(s.shop1), page=PAGE, deadline_state=state, now=NOW
    )
    assert [row.id for row in rows] == [s.exceptions[n].id for n in names]
    assert total == len(names)


def test_exceptions_deadline_filter_combines_with_status_and_search(db: Session) -> None:
    s = _scenario(db)
    rows, total = exception_service.list_exceptions(
        db,
        scope=_scope(s.shop1),
        page=PAGE,
        status="ignored",
        deadline_state=DeadlineState.ON_TRACK,
        now=NOW,
    )
    assert ([row.id for row in rows], total) == ([s.exceptions["E"].id], 1)
    rows, total = exception_service.list_exceptions(
        db,
        scope=_scope(s.shop1),
        page=PAGE,
        search=s.orders["A"].order_number,
        deadline_state=DeadlineState.OVERDUE,
        now=NOW,
    )
    assert ([row.id for row in rows], total) == ([s.exceptions["A"].id], 1)


def test_exceptions_sort_by_confirm_by_then_newest_and_pages_agree(db: Session) -> None:
    s = _scenario(db)
    with_deadline = [s.exceptions[n].id for n in ("I", "A", "B", "C", "D", "E", "F")]
    # Without one, newest first: C's resolved line, J, H, G (raised in that order backwards).
    without = [s.resolved_c.id, *(s.exceptions[n].id for n in ("J", "H", "G"))]
    rows, total = exception_service.list_exceptions(
        db, scope=_scope(s.shop1), page=PAGE, sort=ExceptionSort.CONFIRM_BY, now=NOW
    )
    assert [row.id for row in rows] == with_deadline + without
    assert total == 11
    paged = []
    for skip in range(0, 11, 4):
        page_rows, _ = exception_service.list_exceptions(
            db,
            scope=_scope(s.shop1),
            page=PageRequest(skip=skip, limit=4),
            sort=ExceptionSort.CONFIRM_BY,
            now=NOW,
        )
        paged += [row.id for row in page_rows]
    assert paged == with_deadline + without


def test_stats_count_blocked_orders_at_risk_and_overdue(db: Session) -> None:
    s = _scenario(db)
    stats = exception_service.exception_stats(db, scope=_scope(s.shop1), now=NOW)
    # Blocked: A B C D E F H I (J's line is declined, G resolved); at risk C D; overdue A B I.
    assert (stats.orders_with_exceptions, stats.at_risk, stats.overdue) == (8, 2, 3)
    everyone = exception_service.exception_stats(db, scope=_scope(None), now=NOW)
    assert (everyone.orders_with_exceptions, everyone.at_risk, everyone.overdue) == (10, 3, 3)
    later = exception_service.exception_stats(db, scope=_scope(s.shop1), now=NOW + 24 * H)
    # A day later: C, D and E are overdue too; F (NOW + 48 h) has 24 h left: on track.
    assert (later.at_risk, later.overdue) == (0, 6)
    later = exception_service.exception_stats(db, scope=_scope(s.shop1), now=NOW + 24 * H + US)
    assert (later.at_risk, later.overdue) == (1, 6)


def test_python_rule_matches_the_sql_rule() -> None:
    assert state_at(None, now=NOW) is None
    assert state_at(NOW, now=NOW) is DeadlineState.OVERDUE
    assert state_at(NOW + US, now=NOW) is DeadlineState.AT_RISK
    assert state_at(NOW + 24 * H - US, now=NOW) is DeadlineState.AT_RISK
    assert state_at(NOW + 24 * H, now=NOW) is DeadlineState.ON_TRACK


def test_a_vendor_without_hours_has_no_deadlines(db: Session) -> None:
    s = _scenario(db)
    set_deadline_hours(db, s.shop1, None)
    db.commit()
    rows, _ = exception_service.list_exceptions(db, scope=_scope(s.shop1), page=PAGE, now=NOW)
    assert {(row.confirm_by, row.deadline_state) for row in rows} == {(None, None)}
    stats = exception_service.exception_stats(db, scope=_scope(s.shop1), now=NOW)
    assert (stats.at_risk, stats.overdue) == (0, 0)


# --- over HTTP, both trees ----------------------------------------------------------------------


def _http_seed(db: Session, caller: Caller) -> dict[str, int]:
    """shop1 at 48 h: an overdue order (100 h old), an at-risk one (36 h), an on-track one
    (1 h); each blocked by one pending exception. Far from every boundary."""
    set_deadline_hours(db, caller.vendor, 48)
    now = utcnow()
    ids = {}
    for name, age in (("overdue", 100), ("at_risk", 36), ("on_track", 1)):
        order = make_order(db, vendor_id=caller.vendor.id, order_date=now - age * H)
        exception = make_exception(db, item=make_item(db, order=order), created_at=now - age * H)
        ids[name] = order.id
        ids[f"{name}_exception"] = exception.id
    db.commit()
    return ids


def _exceptions_url(caller: Caller) -> str:
    return caller.url(
        admin="/api/v1/admin/order-exceptions", vendor="/api/v1/vendor/order-exceptions"
    )


def _orders_url(caller: Caller) -> str:
    return caller.url(admin="/api/v1/admin/orders", vendor="/api/v1/vendor/orders")


def test_http_list_rows_and_orders_carry_deadlines(
    client: TestClient, db: Session, caller: Caller
) -> None:
    ids = _http_seed(db, caller)
    body = client.get(
        _exceptions_url(caller),
        headers=caller.headers,
        params={**caller.vendor_query(), "deadline_state": "at_risk"},
    ).json()
    assert [row["id"] for row in body["exceptions"]] == [ids["at_risk_exception"]]
    row = body["exceptions"][0]
    assert row["deadline_state"] == "at_risk"
    assert 36 * 3600 <= row["age_seconds"] < 36 * 3600 + 600
    order = client.get(f"{_orders_url(caller)}/{ids['overdue']}", headers=caller.headers).json()
    assert order["deadline_state"] == "overdue"
    assert order["confirm_by"] is not None
    listed = client.get(
        _orders_url(caller),
        headers=caller.headers,
        params={**caller.vendor_query(), "sort": "confirm_by"},
    ).json()
    assert [o["id"] for o in listed["orders"]] == [ids["overdue"], ids["at_risk"], ids["on_track"]]
    assert [o["deadline_state"] for o in listed["orders"]] == ["overdue", "at_risk", "on_track"]
    stats = client.get(
        f"{_exceptions_url(caller)}/stats", headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert (stats["orders_with_exceptions"], stats["at_risk"], stats["overdue"]) == (3, 1, 1)


def test_http_sorted_exceptions_by_confirm_by(
    client: TestClient, db: Session, caller: Caller
) -> None:
    ids = _http_seed(db, caller)
    body = client.get(
        _exceptions_url(caller),
        headers=caller.headers,
        params={**caller.vendor_query(), "sort": "confirm_by", "limit": 2},
    ).json()
    assert [row["id"] for row in body["exceptions"]] == [
        ids["overdue_exception"],
        ids["at_risk_exception"],
    ]
    assert body["total"] == 3


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"deadline_state": "late"}, "deadline_state"),
        ({"sort": "oldest"}, "sort"),
        ({"deadline_state": ""}, "deadline_state"),
    ],
)
def test_http_bad_deadline_parameters_are_422_naming_them(
    client: TestClient, db: Session, caller: Caller, params: dict[str, str], field: str
) -> None:
    for url in (_exceptions_url(caller), _orders_url(caller)):
        response = client.get(
            url, headers=caller.headers, params={**caller.vendor_query(), **params}
        )
        assert response.status_code == 422, url
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert field in response.text


def test_http_vendor_sees_no_other_vendors_deadlines(
    client: TestClient, db: Session, caller: Caller
) -> None:
    other = make_vendor(db, code="shop9")
    set_deadline_hours(db, other, 1)
    order = make_order(db, vendor_id=other.id, order_date=utcnow() - 100 * H)
    make_exception(db, item=make_item(db, order=order))
    db.commit()
    body = client.get(
        _orders_url(caller),
        headers=caller.headers,
        params={**caller.vendor_query(), "deadline_state": "overdue"},
    ).json()
    assert (body["orders"], body["total"]) == ([], 0)
    assert row_count(db, Order) == 1


def test_http_detail_and_resolution_clear_the_deadline(
    client: TestClient, db: Session, caller: Caller
) -> None:
    ids = _http_seed(db, caller)
    product = make_product(db, vendor_id=caller.vendor.id, title="Mug")
    db.commit()
    url = f"{_exceptions_url(caller)}/{ids['at_risk_exception']}"
    detail = client.get(url, headers=caller.headers).json()
    assert (detail["deadline_state"], detail["order"]["id"]) == ("at_risk", ids["at_risk"])
    resolved = client.post(
        f"{url}/resolve", headers=caller.headers, json={"product_id": product.id}
    ).json()
    assert (resolved["status"], resolved["confirm_by"], resolved["deadline_state"]) == (
        "resolved",
        None,
        None,
    )
    order = client.get(f"{_orders_url(caller)}/{ids['at_risk']}", headers=caller.headers).json()
    assert (order["exception_count"], order["confirm_by"], order["deadline_state"]) == (
        0,
        None,
        None,
    )
    stats = client.get(
        f"{_exceptions_url(caller)}/stats", headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert (stats["orders_with_exceptions"], stats["at_risk"], stats["overdue"]) == (2, 0, 1)
