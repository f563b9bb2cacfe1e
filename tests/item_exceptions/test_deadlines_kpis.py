"""KPIs (issue 9 §8): every figure of a seeded scenario against its hand count, at a fixed `now`
through the service and over HTTP in both trees; percentiles equal PostgreSQL's own
`percentile_cont` on PostgreSQL.

Window W = [2026-01-01, 2026-01-08); NOW = 2026-01-12 12:00 UTC.

shop1
- 10 lines created in W (one exactly at its start), 4 of them raised exceptions (2
  product_not_found, 1 gtin_mismatch, 1 duplicate_gtin; 2 still pending); one line just before W
  and one exactly at its end (not counted): lines 10, matched 6, rate 0.6.
- Events in W on exceptions raised an hour before W: resolved via one (3601 s after raising),
  via gtin (3700), via selection (4000), legacy with bulk_gtin (5000), legacy without (7200),
  via new_product (9000); auto_matched cause catalog (10000), sweep (36000), legacy without cause
  (86400); ignored, reopened; a `created` event (not counted); a resolution exactly at W's end
  and one before W (not counted). by hand 2, bulk 3, created from exception 1, auto-matched 3
  (catalog 2, sweep 1), total 9, ignored 1, reopened 1.
  Median of the 9 durations: the 5th, 7200; p90: h = 8 × 0.9 = 7.2 → 36000 + 0.2 × 50400 = 46080.
- Open now: created NOW − 1 h (under a day), NOW − 1 day and NOW − 3 days (one to three days,
  both boundaries), NOW − 3 days − 1 µs (over), the ignored and reopened subjects and W's 2
  pending (over): 1 / 2 / 5; a resolved one of NOW − 2 h is not open.

shop2: 5 lines in W, each raised an exception (4 product_not_found, 1 gtin_mismatch pending);
4 resolved via one 60, 120, 180, 240 s after raising: median h = 1.5 → 150, p90 h = 2.7 → 222.

shop3: nothing (zeros, null rate and percentiles).

All vendors: lines 15, matched 6 (0.4); 13 durations: median the 7th, 4000; p90 h = 10.8 →
10000 + 0.8 × 26000 = 30800.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from ordergate.item_exceptions import kpis
from ordergate.item_exceptions.kpis import KpiFigures
from ordergate.orders.models import OrderItemException
from ordergate.scope import Scope
from ordergate.vendors.models import Vendor
from tests.factories import (
    Caller,
    make_exception,
    make_exception_event,
    make_item,
    make_order,
    make_product,
    make_vendor,
)

START = datetime(2026, 1, 1, tzinfo=UTC)
END = datetime(2026, 1, 8, tzinfo=UTC)
NOW = datetime(2026, 1, 12, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)
DAY = timedelta(days=1)
US = timedelta(microseconds=1)


@dataclass
class Scenario:
    shop1: Vendor
    shop2: Vendor
    shop3: Vendor


def _line(
    db: Session,
    vendor: Vendor,
    *,
    at: datetime,
    exception_type: str | None = None,
    status: str = "pending",
) -> OrderItemException | None:
    """An order line created at `at`: matched to a product of the vendor, or with
    `exception_type` on the placeholder with the exception it raised then."""
    order = make_order(db, vendor_id=vendor.id, order_date=at)
    product_id = None
    if exception_type is None:
        product_id = make_product(db, vendor_id=vendor.id, gtin=None).id
    item = make_item(db, order=order, product_id=product_id)
    item.created_at = at
    db.flush()
    if exception_type is None:
        return None
    return make_exception(
        db, item=item, exception_type=exception_type, status=status, created_at=at
    )


def _resolved(db: Session, exception: OrderItemException, at: datetime, **after: Any) -> None:
    make_exception_event(
        db,
        exception=exception,
        action="resolved",
        at=at,
        after={"status": "resolved", "product_id": 1, **after},
    )


def _scenario(db: Session, *, shop1: Vendor | None = None) -> Scenario:
    """The module docstring's scenario; `shop1` may be an existing vendor (the caller's)."""
    shop1 = shop1 or make_vendor(db, code="shop1")
    shop2, shop3 = (make_vendor(db, code=c) for c in ("shop2", "shop3"))

    # shop1: lines of the window.
    types = ["product_not_found", "product_not_found", "gtin_mismatch", "duplicate_gtin"]
    statuses = ["pending", "resolved", "pending", "resolved"]
    for index in range(10):
        at = START + index * 12 * H  # the first exactly at the window's start
        kind = types[index] if index < 4 else None
        _line(db, shop1, at=at, exception_type=kind, status=statuses[index] if kind else "pending")
    _line(db, shop1, at=START - US, exception_type="product_not_found", status="resolved")
    _line(db, shop1, at=END, exception_type="product_not_found", status="resolved")

    # shop1: events, on exceptions raised an hour before the window.
    raised = START - H

    def subject(status: str = "resolved") -> OrderItemException:
        exception = _line(db, shop1, at=raised, exception_type="product_not_found", status=status)
        assert exception is not None
        return exception

    _resolved(db, subject(), raised + timedelta(seconds=3601), via="one")
    _resolved(db, subject(), raised + timedelta(seconds=3700), via="gtin", bulk_gtin="x")
    _resolved(db, subject(), raised + timedelta(seconds=4000), via="selection")
    _resolved(db, subject(), raised + timedelta(seconds=5000), bulk_gtin="4006381333931")
    _resolved(db, subject(), raised + timedelta(seconds=7200))
    _resolved(db, subject(), raised + timedelta(seconds=9000), via="new_product")
    for seconds, after in (
        (10000, {"cause": "catalog"}),
        (36000, {"cause": "sweep"}),
        (86400, {}),
    ):
        make_exception_event(
            db,
            exception=subject(),
            action="auto_matched",
            at=raised + timedelta(seconds=seconds),
            after={"status": "resolved", **after},
        )
    ignored = subject("ignored")
    make_exception_event(db, exception=ignored, action="ignored", at=START + DAY, after={})
    reopened = subject("pending")
    make_exception_event(db, exception=reopened, action="reopened", at=START + DAY, after={})
    make_exception_event(db, exception=reopened, action="created", at=START + DAY, after={})
    _resolved(db, subject(), END, via="one")  # at the window's end: excluded
    _resolved(db, subject(), START - US, via="one")  # before it: excluded

    # shop1: open exceptions by age at NOW (raised after the window).
    for created, status in (
        (NOW - H, "pending"),
        (NOW - DAY, "pending"),
        (NOW - 3 * DAY, "ignored"),
        (NOW - 3 * DAY - US, "pending"),
        (NOW - 2 * H, "resolved"),
    ):
        _line(db, shop1, at=created, exception_type="product_not_found", status=status)

    # shop2: every line of the window raised an exception; four resolved by hand.
    for index, seconds in enumerate((240, 60, 180, 120)):
        at = START + index * H
        exception = _line(db, shop2, at=at, exception_type="product_not_found", status="resolved")
        assert exception is not None
        _resolved(db, exception, at + timedelta(seconds=seconds), via="one")
    _line(db, shop2, at=START + 2 * DAY, exception_type="gtin_mismatch")
    db.commit()
    return Scenario(shop1, shop2, shop3)


NO_RESOLUTIONS = {"resolutions": 0, "median_seconds": None, "p90_seconds": None}

SHOP1 = {
    "lines_imported": 10,
    "matched_at_import": 6,
    "match_rate": 0.6,
    "exceptions_raised": 4,
    "exceptions_by_type": {"product_not_found": 2, "gtin_mismatch": 1, "duplicate_gtin": 1},
    "resolved": {
        "by_hand": 2,
        "bulk": 3,
        "auto_matched": 3,
        "created_from_exception": 1,
        "total": 9,
    },
    "auto_matched_by_cause": {"catalog": 2, "sweep": 1},
    "ignored": 1,
    "reopened": 1,
    "time_to_resolve": {"resolutions": 9, "median_seconds": 7200.0, "p90_seconds": 46080.0},
    "open_aging": {"under_1_day": 1, "days_1_to_3": 2, "over_3_days": 5, "total": 8},
}
SHOP2 = {
    "lines_imported": 5,
    "matched_at_import": 0,
    "match_rate": 0.0,
    "exceptions_raised": 5,
    "exceptions_by_type": {"product_not_found": 4, "gtin_mismatch": 1, "duplicate_gtin": 0},
    "resolved": {
        "by_hand": 4,
        "bulk": 0,
        "auto_matched": 0,
        "created_from_exception": 0,
        "total": 4,
    },
    "auto_matched_by_cause": {"catalog": 0, "sweep": 0},
    "ignored": 0,
    "reopened": 0,
    "time_to_resolve": {"resolutions": 4, "median_seconds": 150.0, "p90_seconds": 222.0},
    "open_aging": {"under_1_day": 0, "days_1_to_3": 0, "over_3_days": 1, "total": 1},
}
SHOP3 = {
    "lines_imported": 0,
    "matched_at_import": 0,
    "match_rate": None,
    "exceptions_raised": 0,
    "exceptions_by_type": {"product_not_found": 0, "gtin_mismatch": 0, "duplicate_gtin": 0},
    "resolved": {
        "by_hand": 0,
        "bulk": 0,
        "auto_matched": 0,
        "created_from_exception": 0,
        "total": 0,
    },
    "auto_matched_by_cause": {"catalog": 0, "sweep": 0},
    "ignored": 0,
    "reopened": 0,
    "time_to_resolve": NO_RESOLUTIONS,
    "open_aging": {"under_1_day": 0, "days_1_to_3": 0, "over_3_days": 0, "total": 0},
}
ALL = {
    "lines_imported": 15,
    "matched_at_import": 6,
    "match_rate": 0.4,
    "exceptions_raised": 9,
    "exceptions_by_type": {"product_not_found": 6, "gtin_mismatch": 2, "duplicate_gtin": 1},
    "resolved": {
        "by_hand": 6,
        "bulk": 3,
        "auto_matched": 3,
        "created_from_exception": 1,
        "total": 13,
    },
    "auto_matched_by_cause": {"catalog": 2, "sweep": 1},
    "ignored": 1,
    "reopened": 1,
    "time_to_resolve": {"resolutions": 13, "median_seconds": 4000.0, "p90_seconds": 30800.0},
    "open_aging": {"under_1_day": 1, "days_1_to_3": 2, "over_3_days": 6, "total": 9},
}


def _figures(figures: KpiFigures) -> dict[str, Any]:
    attributes = kpis._figure_attributes(figures)
    return attributes


def _report(db: Session, scope: Scope) -> kpis.KpiReport:
    return kpis.exception_kpis(db, scope=scope, start=START, end=END, now=NOW)


def test_a_vendors_kpis_match_the_hand_count(db: Session) -> None:
    s = _scenario(db)
    report = _report(db, Scope(actor_user_id=None, vendor_id=s.shop1.id))
    assert _figures(report.totals) == SHOP1
    assert report.vendors is None
    assert (report.start, report.end, report.now) == (START, END, NOW)


def test_even_count_percentiles_interpolate(db: Session) -> None:
    s = _scenario(db)
    report = _report(db, Scope(actor_user_id=None, vendor_id=s.shop2.id))
    assert _figures(report.totals) == SHOP2


def test_admin_gets_totals_and_each_vendor(db: Session) -> None:
    s = _scenario(db)
    report = _report(db, Scope(actor_user_id=None, vendor_id=None, is_admin=True))
    assert _figures(report.totals) == ALL
    assert report.vendors is not None
    assert [(v.vendor_id, v.vendor_code) for v in report.vendors] == [
        (s.shop1.id, "shop1"),
        (s.shop2.id, "shop2"),
        (s.shop3.id, "shop3"),
    ]
    assert [_figures(v.figures) for v in report.vendors] == [SHOP1, SHOP2, SHOP3]


def test_admin_filtered_to_one_vendor(db: Session) -> None:
    s = _scenario(db)
    report = _report(db, Scope(actor_user_id=None, vendor_id=s.shop2.id, is_admin=True))
    assert _figures(report.totals) == SHOP2
    assert report.vendors is not None
    assert [(v.vendor_code, _figures(v.figures)) for v in report.vendors] == [("shop2", SHOP2)]


def test_the_window_is_half_open(db: Session) -> None:
    s = _scenario(db)
    scope = Scope(actor_user_id=None, vendor_id=s.shop1.id)
    # The day before W: the line 1 µs before it and the 13 event subjects (raised START - 1 h),
    # each with its exception; the resolution 1 µs before W. Not the line at START.
    before = kpis.exception_kpis(db, scope=scope, start=START - DAY, end=START, now=NOW)
    assert (before.totals.lines_imported, before.totals.matched_at_import) == (14, 0)
    assert before.totals.resolved.total == 1
    # From W's end, 1 µs: the line and the resolution exactly at END.
    after = kpis.exception_kpis(db, scope=scope, start=END, end=END + US, now=NOW)
    assert (after.totals.lines_imported, after.totals.resolved.by_hand) == (1, 1)


def test_percentiles_equal_postgres_percentile_cont(db: Session, is_postgres: bool) -> None:
    if not is_postgres:
        pytest.skip("PostgreSQL's percentile_cont is the reference")
    s = _scenario(db)
    reference = db.execute(
        text(
            "SELECT e.vendor_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY d),"
            " percentile_cont(0.9) WITHIN GROUP (ORDER BY d) FROM ("
            "  SELECT ev.vendor_id, floor(extract(epoch FROM ev.at - x.created_at)) AS d"
            "  FROM events ev JOIN order_item_exceptions x ON x.id = ev.subject_id"
            "  WHERE ev.subject_type = 'order_item_exception'"
            "  AND ev.action IN ('resolved', 'auto_matched')"
            "  AND ev.at >= :start AND ev.at < :end) e"
            " GROUP BY ROLLUP (e.vendor_id) ORDER BY e.vendor_id NULLS LAST"
        ),
        {"start": START, "end": END},
    ).all()
    db.commit()
    report = _report(db, Scope(actor_user_id=None, vendor_id=None, is_admin=True))
    assert report.vendors is not None
    ours = [
        (
            v.vendor_id,
            v.figures.time_to_resolve.median_seconds,
            v.figures.time_to_resolve.p90_seconds,
        )
        for v in report.vendors[:2]
    ] + [
        (
            None,
            report.totals.time_to_resolve.median_seconds,
            report.totals.time_to_resolve.p90_seconds,
        )
    ]
    # percentile_cont interpolates in double precision (46080.00000000001); ours is exact.
    assert ours == [(row[0], pytest.approx(row[1]), pytest.approx(row[2])) for row in reference]
    assert [s.shop1.id, s.shop2.id] == [row[0] for row in reference[:2]]


def test_reversed_or_empty_window_is_refused(db: Session) -> None:
    s = _scenario(db)
    scope = Scope(actor_user_id=None, vendor_id=s.shop1.id)
    for start, end in ((END, START), (START, START)):
        with pytest.raises(kpis.KpiRangeInvalidError):
            kpis.exception_kpis(db, scope=scope, start=start, end=end, now=NOW)


def test_defaults_are_the_30_days_before_now(db: Session) -> None:
    s = _scenario(db)
    scope = Scope(actor_user_id=None, vendor_id=s.shop1.id)
    report = kpis.exception_kpis(db, scope=scope, now=END)
    assert (report.start, report.end) == (END - 30 * DAY, END)
    explicit = kpis.exception_kpis(db, scope=scope, start=END - 30 * DAY, end=END, now=END)
    assert report.totals == explicit.totals
    assert report.totals.lines_imported == 10 + 1 + 13  # W's, the one before W, the subjects


# --- over HTTP ----------------------------------------------------------------------------------


def _url(caller: Caller) -> str:
    return caller.url(
        admin="/api/v1/admin/order-exceptions/kpis", vendor="/api/v1/vendor/order-exceptions/kpis"
    )


def _over_http(shop: dict[str, Any]) -> dict[str, Any]:
    """The figures as the API answers them today: every open exception is months old."""
    aging = shop["open_aging"]
    return {
        **shop,
        "open_aging": {
            **{k: 0 for k in aging},
            "over_3_days": aging["total"],
            "total": aging["total"],
        },
    }


def test_http_kpis_in_both_trees(client: TestClient, db: Session, caller: Caller) -> None:
    s = _scenario_for(db, caller)
    response = client.get(
        _url(caller),
        headers=caller.headers,
        params={**caller.vendor_query(), "from": "2026-01-01T00:00:00Z", "to": "2026-01-08"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"]) == ("2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z")
    assert body["totals"] == _over_http(SHOP1)
    if caller.is_admin:
        assert [(v["vendor_id"], v["vendor_code"]) for v in body["vendors"]] == [
            (caller.vendor.id, caller.vendor.code)
        ]
        vendor = dict(body["vendors"][0])
        del vendor["vendor_id"], vendor["vendor_code"]
        assert vendor == _over_http(SHOP1)
    else:
        assert body["vendors"] is None
    assert s.shop2.id != caller.vendor.id


def _scenario_for(db: Session, caller: Caller) -> Scenario:
    """The scenario with the caller's vendor (shop1) as its shop1."""
    return _scenario(db, shop1=caller.vendor)


def test_http_admin_every_vendor(client: TestClient, db: Session) -> None:
    from tests.factories import admin_headers

    _scenario(db)
    headers = admin_headers(client, db)
    body = client.get(
        "/api/v1/admin/order-exceptions/kpis",
        headers=headers,
        params={"from": "2026-01-01", "to": "2026-01-08"},
    ).json()
    assert body["totals"] == _over_http(ALL)
    assert [v["vendor_code"] for v in body["vendors"]] == ["shop1", "shop2", "shop3"]


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "2026-01-08", "to": "2026-01-01"}, 400, "KPI_RANGE_INVALID"),
        ({"from": "2026-01-01", "to": "2026-01-01"}, 400, "KPI_RANGE_INVALID"),
        ({"from": "yesterday"}, 422, "VALIDATION_ERROR"),
        ({"to": "2026-13-01"}, 422, "VALIDATION_ERROR"),
        ({"from": "2" * 100}, 422, "VALIDATION_ERROR"),
    ],
)
def test_http_bad_windows(
    client: TestClient, db: Session, caller: Caller, params: dict[str, str], status: int, code: str
) -> None:
    response = client.get(
        _url(caller), headers=caller.headers, params={**caller.vendor_query(), **params}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    name = next(iter(params))
    assert name in response.text


def test_http_admin_unknown_vendor_is_404(client: TestClient, db: Session) -> None:
    from tests.factories import admin_headers

    headers = admin_headers(client, db)
    response = client.get(
        "/api/v1/admin/order-exceptions/kpis", headers=headers, params={"vendor_id": 999_999}
    )
    assert (response.status_code, response.json()["error"]["code"]) == (404, "VENDOR_NOT_FOUND")
