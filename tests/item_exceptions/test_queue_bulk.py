"""Bulk by selection (`POST …/order-exceptions/bulk/resolve`, `…/bulk/ignore`): per-id
results, one transaction, all-or-nothing on another vendor's or missing ids and on a product
the vendor cannot match; both trees."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.catalog.placeholder import placeholder_product_id
from ordergate.events.models import Event
from ordergate.item_exceptions.queue_tables import group_members, groups
from ordergate.orders.models import OrderItem, OrderItemException
from tests.factories import (
    Caller,
    caller_user_id,
    events_of,
    exception_state,
    make_product,
    make_unmatched_line,
    make_vendor,
)

G1 = "4006381333931"
ADMIN = "/api/v1/admin/order-exceptions/bulk"
VENDOR = "/api/v1/vendor/order-exceptions/bulk"


def _post(client: TestClient, caller: Caller, action: str, body: dict[str, Any]) -> Response:
    return client.post(
        caller.url(admin=ADMIN, vendor=VENDOR) + "/" + action,
        headers=caller.headers,
        params=caller.vendor_query(),
        json=body,
    )


def snapshot(db: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row the bulk operations could change."""
    tables = {
        "exceptions": select(OrderItemException.__table__).order_by(OrderItemException.id),
        "items": select(OrderItem.__table__).order_by(OrderItem.id),
        "events": select(Event.__table__).order_by(Event.id),
        "members": select(group_members).order_by(group_members.c.exception_id),
        "groups": select(groups).order_by(*groups.c),
    }
    rows = {
        name: [tuple(row) for row in db.execute(statement)] for name, statement in tables.items()
    }
    db.commit()
    return rows


def test_resolves_the_selection_and_skips_resolved_ones(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v = caller.vendor.id
    actor = caller_user_id(db, caller)
    pending = make_unmatched_line(db, vendor_id=v, gtin=G1)
    ignored = make_unmatched_line(db, vendor_id=v, gtin=None, status="ignored")
    resolved = make_unmatched_line(db, vendor_id=v, gtin=G1, status="resolved")
    untouched = make_unmatched_line(db, vendor_id=v, gtin=G1)
    product = make_product(db, vendor_id=v, gtin="5702016618891")
    placeholder = placeholder_product_id(db, vendor_id=v)
    db.commit()
    response = _post(
        client,
        caller,
        "resolve",
        {
            "exception_ids": [ignored.id, pending.id, resolved.id, pending.id],
            "product_id": product.id,
            "notes": "Same article",
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "results": [
            {"exception_id": ignored.id, "result": "resolved", "reason": None},
            {"exception_id": pending.id, "result": "resolved", "reason": None},
            {"exception_id": resolved.id, "result": "skipped", "reason": "already_resolved"},
        ],
        "resolved_count": 2,
        "ignored_count": 0,
        "skipped_count": 1,
    }
    for exception, before in ((pending, "pending"), (ignored, "ignored")):
        assert exception_state(db, exception.id) == {
            "status": "resolved",
            "resolved_product_id": product.id,
            "resolved_by": actor,
            "resolution_notes": "Same article",
            "item_product_id": product.id,
            "needs_product_match": False,
            "events": 1,
        }
        (event,) = events_of(db, exception.id)
        assert event["action"] == "resolved"
        assert event["actor_user_id"] == actor
        assert event["before"] == {
            "status": before,
            "product_id": placeholder,
            "resolved_product_id": None,
        }
        assert event["after"]["via"] == "selection"
        assert "bulk_gtin" not in event["after"]
    assert exception_state(db, resolved.id)["events"] == 0
    assert exception_state(db, untouched.id)["status"] == "pending"


def test_ignores_the_selection_and_skips_the_others(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v = caller.vendor.id
    pending = [make_unmatched_line(db, vendor_id=v, gtin=G1) for _ in range(3)]
    ignored = make_unmatched_line(db, vendor_id=v, gtin=G1, status="ignored")
    resolved = make_unmatched_line(db, vendor_id=v, gtin=G1, status="resolved")
    db.commit()
    ids = [resolved.id, *(e.id for e in pending), ignored.id]
    response = _post(
        client, caller, "ignore", {"exception_ids": ids, "notes": "  Supplier discontinued "}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(r["exception_id"], r["result"], r["reason"]) for r in body["results"]] == [
        (resolved.id, "skipped", "already_resolved"),
        *((e.id, "ignored", None) for e in pending),
        (ignored.id, "skipped", "already_ignored"),
    ]
    assert (body["resolved_count"], body["ignored_count"], body["skipped_count"]) == (0, 3, 2)
    for exception in pending:
        state = exception_state(db, exception.id)
        assert (state["status"], state["resolution_notes"], state["events"]) == (
            "ignored",
            "Supplier discontinued",
            1,
        )
        assert events_of(db, exception.id)[0]["action"] == "ignored"
    assert exception_state(db, ignored.id)["events"] == 0


@pytest.mark.parametrize("action", ["resolve", "ignore"])
def test_another_vendors_or_a_missing_id_refuses_the_whole_request(
    client: TestClient, db: Session, caller: Caller, action: str
) -> None:
    v = caller.vendor.id
    mine = [make_unmatched_line(db, vendor_id=v, gtin=G1) for _ in range(2)]
    other = make_vendor(db, code="shop2")
    theirs = make_unmatched_line(db, vendor_id=other.id, gtin=G1)
    product = make_product(db, vendor_id=v, gtin=G1)
    db.commit()
    missing = 999_999
    body: dict[str, Any] = {
        "exception_ids": [mine[0].id, theirs.id, mine[1].id, missing],
        "notes": "Why",
    }
    if action == "resolve":
        body["product_id"] = product.id
    before = snapshot(db)
    response = _post(client, caller, action, body)
    assert response.status_code == 404, response.text
    error = response.json()["error"]
    assert error["code"] == "ORDER_ITEM_EXCEPTIONS_NOT_FOUND"
    # Another vendor's id answers exactly like a missing one.
    assert error["details"] == {"exception_ids": [theirs.id, missing]}
    assert str(theirs.id) in error["message"]
    assert str(missing) in error["message"]
    assert snapshot(db) == before


def test_another_vendors_product_refuses_the_whole_request(
    client: TestClient, db: Session, caller: Caller
) -> None:
    v = caller.vendor.id
    mine = [make_unmatched_line(db, vendor_id=v, gtin=G1) for _ in range(2)]
    other = make_vendor(db, code="shop2")
    foreign = make_product(db, vendor_id=other.id, gtin=G1)
    inactive = make_product(db, vendor_id=v, gtin=G1, is_active=False)
    db.commit()
    before = snapshot(db)
    for product_id in (foreign.id, inactive.id, placeholder_product_id(db, vendor_id=v)):
        response = _post(
            client,
            caller,
            "resolve",
            {"exception_ids": [e.id for e in mine], "product_id": product_id},
        )
        assert response.status_code == 400, response.text
        error = response.json()["error"]
        assert error["code"] == "INVALID_PRODUCT_FOR_EXCEPTION"
        assert error["details"]["product_id"] == product_id
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "body",
    [
        {"exception_ids": []},
        {"exception_ids": list(range(1, 502))},
        {"exception_ids": [0]},
        {"exception_ids": ["1"]},
        {"exception_ids": [1], "notes": " "},
        {"exception_ids": [1], "notes": None},
    ],
)
def test_a_selection_out_of_bounds_is_invalid(
    client: TestClient, db: Session, caller: Caller, body: dict[str, Any]
) -> None:
    make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=G1)
    db.commit()
    before = snapshot(db)
    payload = {"notes": "Why", **body}
    if payload["notes"] is None:
        del payload["notes"]
    response = _post(client, caller, "ignore", payload)
    assert response.status_code == 422, response.text
    assert snapshot(db) == before


def test_five_hundred_ids_in_one_request(client: TestClient, db: Session, caller: Caller) -> None:
    v = caller.vendor.id
    made = [make_unmatched_line(db, vendor_id=v, gtin=G1) for _ in range(500)]
    product = make_product(db, vendor_id=v, gtin=G1)
    db.commit()
    response = _post(
        client, caller, "resolve", {"exception_ids": [e.id for e in made], "product_id": product.id}
    )
    assert response.status_code == 200, response.text
    assert response.json()["resolved_count"] == 500
    groups_now = client.get(
        caller.url(
            admin="/api/v1/admin/order-exceptions/groups",
            vendor="/api/v1/vendor/order-exceptions/groups",
        ),
        headers=caller.headers,
        params={**caller.vendor_query(), "status": "resolved"},
    ).json()
    assert [(g["key"], g["lines"]) for g in groups_now["groups"]] == [("0" + G1, 500)]
