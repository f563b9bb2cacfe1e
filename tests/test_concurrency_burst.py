"""Concurrent contended writes against a real server on PostgreSQL queue instead of failing:
no 5xx except 503 DATABASE_BUSY with Retry-After, and the data invariants hold afterwards."""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.events.models import Event
from ordergate.item_exceptions.models import OrderItemException
from ordergate.orders.models import OrderItem
from ordergate.sandbox import SandboxHandle, SandboxState, run_in_thread
from tests.factories import make_product, make_user, make_vendor
from tests.letzshop_api.conftest import shipment, unit
from tests.live_server import live_server

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(
        not os.environ.get("ORDERGATE_TEST_DATABASE_URL"), reason="needs PostgreSQL"
    ),
]

KEY = "sandbox-key-1"
UNKNOWN = "5901234123457"
KNOWN = "4006381333931"
PASSWORD = "correct-horse-battery"

Call = tuple[str, str, dict[str, Any] | None]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxHandle]:
    handle = run_in_thread(SandboxState(seed=5, shipments_per_vendor=1))
    yield handle
    handle.stop()


@pytest.fixture
def control(sandbox: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, timeout=10.0) as http:
        http.post("/control/reset").raise_for_status()
        yield http
        http.post("/control/reset").raise_for_status()


def _login(http: httpx.Client, email: str, vendor_code: str | None = None) -> dict[str, str]:
    body = {"email": email, "password": PASSWORD}
    if vendor_code:
        body["vendor_code"] = vendor_code
    response = http.post("/api/v1/auth/login", json=body)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


class Shop:
    """One vendor connected to the sandbox, with 40 pending exceptions of one GTIN."""

    def __init__(self, http: httpx.Client, db: Session, sandbox: SandboxHandle) -> None:
        vendor = make_vendor(db, code="burst")
        make_user(db, email="staff@burst.test", vendors=["burst"])
        make_user(db, email="admin@burst.test", is_admin=True)
        self.product_id = make_product(db, vendor_id=vendor.id, gtin=KNOWN).id
        db.commit()
        self.vendor_id = vendor.id
        self.staff = _login(http, "staff@burst.test", "burst")
        self.admin = _login(http, "admin@burst.test")
        response = http.put(
            f"/api/v1/admin/letzshop/vendors/{vendor.id}/credentials",
            headers=self.admin,
            json={"api_key": KEY, "endpoint": sandbox.graphql_url},
        )
        assert response.status_code == 200, response.text


def put_shipments(control: httpx.Client, shipments: list[dict[str, Any]]) -> None:
    response = control.post(
        "/control/shipments", json={"api_key": KEY, "shipments": shipments, "replace": True}
    )
    assert response.status_code == 200, response.text


def fire(http: httpx.Client, headers: dict[str, str], calls: list[Call], workers: int) -> list:
    """Send the calls ``workers`` at a time, the first wave all at once; responses in order."""
    start = threading.Event()

    def send(call: Call) -> httpx.Response:
        method, path, body = call
        start.wait()
        return http.request(method, path, headers=headers, json=body)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(send, call) for call in calls]
        start.set()
        return [future.result() for future in futures]


def server_errors(responses: list[httpx.Response]) -> list[tuple[int, str]]:
    """Responses >= 500 other than 503 DATABASE_BUSY with Retry-After."""
    return [
        (r.status_code, r.text[:200])
        for r in responses
        if r.status_code >= 500
        and not (
            r.status_code == 503
            and r.headers.get("Retry-After")
            and r.json()["error"]["code"] == "DATABASE_BUSY"
        )
    ]


def exception_outcomes(db: Session) -> dict[int, tuple[str, int, Counter[str]]]:
    """Per exception: its status, its line's product and its events by action."""
    db.rollback()
    rows = db.execute(
        select(OrderItemException.id, OrderItemException.status, OrderItem.product_id).join(
            OrderItem, OrderItem.id == OrderItemException.order_item_id
        )
    ).all()
    events = db.execute(
        select(Event.subject_id, Event.action).where(Event.subject_type == "order_item_exception")
    ).all()
    by_exception: dict[int, Counter[str]] = {row[0]: Counter() for row in rows}
    for subject_id, action in events:
        by_exception[subject_id][action] += 1
    return {row[0]: (row[1], row[2], by_exception[row[0]]) for row in rows}


def assert_events_are_state_changes(
    outcomes: dict[int, tuple[str, int, Counter[str]]], product_id: int
) -> int:
    """Each exception resolved at most once and ignored at most once (ignored may still be
    resolved later), one event per change, the line on the product exactly when resolved.
    Returns the number of changes."""
    expected = {"pending": [(0, 0)], "ignored": [(0, 1)], "resolved": [(1, 0), (1, 1)]}
    for exception_id, (status, line_product, events) in outcomes.items():
        assert (events["resolved"], events["ignored"]) in expected[status], (exception_id, events)
        assert (line_product == product_id) == (status == "resolved"), exception_id
    return sum(events["resolved"] + events["ignored"] for _, _, events in outcomes.values())


@pytest.fixture
def server(settings: Settings, engine: Any) -> Callable[..., Any]:
    def serve(**overrides: Any) -> Any:
        return live_server(settings.model_copy(update=overrides))

    return serve


@pytest.mark.parametrize(
    ("bulks", "resolves"),
    [pytest.param(2, False, id="42-requests"), pytest.param(5, True, id="85-requests")],
)
def test_f2_bulk_resolves_racing_ignores_never_answer_500(
    server: Callable[..., Any],
    db: Session,
    sandbox: SandboxHandle,
    control: httpx.Client,
    bulks: int,
    resolves: bool,
) -> None:
    """The report's F2, with the default pool (10 + 10): bulk-resolves + 40 ignores (+ 40
    resolves) of the 40 exceptions of one GTIN, all at once. Before the fix: 18 of 42 and 40 of
    85 answered 500 after 30 s."""
    put_shipments(
        control, [shipment(f"F{n}", [unit(f"f{n}", f"var{n}", UNKNOWN)]) for n in range(40)]
    )
    with server() as url, httpx.Client(base_url=url, timeout=60.0) as http:
        shop = Shop(http, db, sandbox)
        synced = http.post("/api/v1/vendor/letzshop/sync", headers=shop.staff)
        assert synced.status_code == 200, synced.text
        assert synced.json()["exceptions_created"] == 40
        ids = sorted(exception_outcomes(db))
        bulk = {"gtin": UNKNOWN, "product_id": shop.product_id}
        resolve = {"product_id": shop.product_id}
        calls: list[Call] = [("POST", "/api/v1/vendor/order-exceptions/bulk-resolve", bulk)]
        calls *= bulks
        if resolves:
            calls += [
                ("POST", f"/api/v1/vendor/order-exceptions/{i}/resolve", resolve) for i in ids
            ]
        calls += [
            ("POST", f"/api/v1/vendor/order-exceptions/{i}/ignore", {"notes": "x"}) for i in ids
        ]
        responses = fire(http, shop.staff, calls, workers=len(calls))

    # With the default pool nothing needs to be turned away: every request queues and answers.
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    refused = {r.json()["error"]["code"] for r in responses[bulks:] if r.status_code == 400}
    assert refused <= {"EXCEPTION_NOT_PENDING", "EXCEPTION_ALREADY_RESOLVED"}
    changes = assert_events_are_state_changes(exception_outcomes(db), shop.product_id)
    bulk_resolved = sum(r.json()["resolved_count"] for r in responses[:bulks] if r.is_success)
    single = [r for r in responses[bulks:] if r.is_success]
    assert bulk_resolved + len(single) == changes
    assert changes >= 40
