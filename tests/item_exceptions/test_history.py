"""The exception timeline (GET …/order-exceptions/{id}/events and the detail's `events`), over
HTTP in both trees: oldest first, actors as user emails or the system with its cause."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from ordergate.events.models import Event
from ordergate.events.repository import record_events
from ordergate.events.timeline import SWEEP_CAUSE
from ordergate.item_exceptions import sweep
from ordergate.item_exceptions.events import MatchCause
from ordergate.orders.events import exception_created
from ordergate.orders.models import OrderItemException
from tests.factories import (
    Caller,
    caller_user_id,
    make_product,
    make_unmatched_line,
    make_vendor,
    row_count,
)

ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"
GTIN = "4006381333931"


def _url(caller: Caller, suffix: str = "") -> str:
    return caller.url(admin=ADMIN, vendor=VENDOR) + suffix


def _caller_email(caller: Caller) -> str:
    return "admin@example.test" if caller.is_admin else f"staff@{caller.vendor.code}.test"


def _imported(db: Session, *, vendor_id: int, gtin: str | None = GTIN) -> OrderItemException:
    """A pending exception and the `created` event the import writes for it."""
    exception = make_unmatched_line(db, vendor_id=vendor_id, gtin=gtin)
    record_events(
        db,
        [
            exception_created(
                exception_id=exception.id,
                vendor_id=vendor_id,
                exception_type=exception.exception_type,
                original_gtin=gtin,
                candidate_product_ids=[],
            )
        ],
    )
    db.commit()
    return exception


def _timeline(client: TestClient, caller: Caller, exception_id: int, **params: Any) -> Any:
    response = client.get(
        _url(caller, f"/{exception_id}/events"), headers=caller.headers, params=params
    )
    assert response.status_code == 200, response.text
    return response.json()


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, dict[str, Any], str | None]]:
    return [(e["action"], e["actor"], e["notes"]) for e in events]


SYSTEM_IMPORT = {"type": "system", "user_id": None, "email": None, "cause": "import"}


def test_import_then_ignore_then_resolve_reads_oldest_first(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = _imported(db, vendor_id=caller.vendor.id)
    product = make_product(db, vendor_id=caller.vendor.id, title="Mug", gtin="5901234123457")
    db.commit()
    ignored = client.post(
        _url(caller, f"/{exception.id}/ignore"), headers=caller.headers, json={"notes": "later"}
    )
    assert ignored.status_code == 200, ignored.text
    resolved = client.post(
        _url(caller, f"/{exception.id}/resolve"),
        headers=caller.headers,
        json={"product_id": product.id, "notes": "it is the mug"},
    )
    assert resolved.status_code == 200, resolved.text

    body = _timeline(client, caller, exception.id)
    user_id = caller_user_id(db, caller)
    user = {"type": "user", "user_id": user_id, "email": _caller_email(caller), "cause": None}
    assert _summary(body["events"]) == [
        ("created", SYSTEM_IMPORT, None),
        ("ignored", user, "later"),
        ("resolved", user, "it is the mug"),
    ]
    assert (body["total"], body["skip"], body["limit"]) == (3, 0, 50)
    created, ignored_event, resolved_event = body["events"]
    assert {e["subject_type"] for e in body["events"]} == {"order_item_exception"}
    assert {e["subject_id"] for e in body["events"]} == {exception.id}
    assert created["before"] is None
    assert created["after"]["original_gtin"] == GTIN
    assert ignored_event["before"]["status"] == "pending"
    assert ignored_event["after"]["status"] == "ignored"
    assert resolved_event["before"]["status"] == "ignored"
    assert resolved_event["after"]["resolved_product_id"] == product.id
    assert resolved_event["after"]["via"] == "one"
    assert created["at"] <= ignored_event["at"] <= resolved_event["at"]
    assert [e["id"] for e in body["events"]] == sorted(e["id"] for e in body["events"])


def test_the_detail_embeds_the_same_timeline(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = _imported(db, vendor_id=caller.vendor.id)
    client.post(
        _url(caller, f"/{exception.id}/ignore"), headers=caller.headers, json={"notes": "n"}
    )
    detail = client.get(_url(caller, f"/{exception.id}"), headers=caller.headers)
    assert detail.status_code == 200
    assert detail.json()["events"] == _timeline(client, caller, exception.id)["events"]
    assert [e["action"] for e in detail.json()["events"]] == ["created", "ignored"]


def test_an_exception_without_events_has_an_empty_timeline(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id)
    db.commit()
    assert _timeline(client, caller, exception.id)["events"] == []
    detail = client.get(_url(caller, f"/{exception.id}"), headers=caller.headers)
    assert detail.json()["events"] == []


def test_a_catalog_product_auto_matches_as_the_system(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = _imported(db, vendor_id=caller.vendor.id)
    products = caller.url(
        admin=f"/api/v1/admin/vendors/{caller.vendor.id}/products", vendor="/api/v1/vendor/products"
    )
    created = client.post(
        products, headers=caller.headers, json={"title": "Funko Pop", "gtin": GTIN}
    )
    assert created.json()["auto_matched"] == 1
    events = _timeline(client, caller, exception.id)["events"]
    assert _summary(events) == [
        ("created", SYSTEM_IMPORT, None),
        (
            "auto_matched",
            {"type": "system", "user_id": None, "email": None, "cause": "auto_match"},
            None,
        ),
    ]
    assert events[1]["after"]["resolved_product_id"] == created.json()["product"]["id"]


def _sweep(db: Session, vendor_code: str) -> dict[str, int]:
    """The nightly sweep's runner (its own sessions, one commit per vendor), for one vendor."""
    db.rollback()
    return dict(sweep.sweep_vendors(sessionmaker(bind=db.get_bind()), vendor_code=vendor_code))


def test_a_sweep_matches_as_the_system_with_cause_sweep(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = _imported(db, vendor_id=caller.vendor.id)
    make_product(db, vendor_id=caller.vendor.id, gtin=GTIN)  # written without auto-matching
    db.commit()
    assert dict(_sweep(db, caller.vendor.code)) == {caller.vendor.code: 1}
    actors = [e["actor"] for e in _timeline(client, caller, exception.id)["events"]]
    assert actors[-1] == {"type": "system", "user_id": None, "email": None, "cause": "sweep"}


def test_duplicate_flags_are_the_systems_matching(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = _imported(db, vendor_id=caller.vendor.id)
    make_product(db, vendor_id=caller.vendor.id, gtin=GTIN, title="One")
    make_product(db, vendor_id=caller.vendor.id, gtin=GTIN, title="Two")
    db.commit()
    dict(_sweep(db, caller.vendor.code))
    last = _timeline(client, caller, exception.id)["events"][-1]
    assert last["action"] == "marked_duplicate"
    assert last["actor"] == {"type": "system", "user_id": None, "email": None, "cause": "sweep"}
    assert last["after"]["cause"] == "sweep"


def test_the_timeline_pages(client: TestClient, db: Session, caller: Caller) -> None:
    exception = _imported(db, vendor_id=caller.vendor.id)
    client.post(
        _url(caller, f"/{exception.id}/ignore"), headers=caller.headers, json={"notes": "n"}
    )
    everything = _timeline(client, caller, exception.id)["events"]
    page = _timeline(client, caller, exception.id, skip=1, limit=1)
    assert (page["total"], page["skip"], page["limit"]) == (2, 1, 1)
    assert page["events"] == everything[1:]


def test_another_vendors_exception_answers_like_a_missing_one(
    client: TestClient, db: Session, caller: Caller
) -> None:
    other = make_vendor(db, code="shop2")
    foreign = _imported(db, vendor_id=other.id)
    events_before = row_count(db, Event)
    for exception_id in (foreign.id, 999_999):
        for suffix in (f"/{exception_id}/events", f"/{exception_id}"):
            response = client.get(_url(caller, suffix), headers=caller.headers)
            if caller.is_admin and exception_id == foreign.id:
                # The admin tree sees every vendor: the foreign exception is there.
                assert response.status_code == 200
                continue
            assert response.status_code == 404, (suffix, response.text)
            assert response.json()["error"]["code"] == "ORDER_ITEM_EXCEPTION_NOT_FOUND"
            assert str(exception_id) in response.json()["error"]["message"]
    assert row_count(db, Event) == events_before


def test_the_vendor_tree_never_shows_another_vendors_events(
    client: TestClient, db: Session, caller: Caller
) -> None:
    """An event row of another vendor that names this exception's id (it cannot happen
    through the app) is not shown: the timeline is filtered by the exception's vendor."""
    exception = _imported(db, vendor_id=caller.vendor.id)
    other = make_vendor(db, code="shop2")
    db.add(
        Event(
            vendor_id=other.id,
            actor_user_id=None,
            subject_type="order_item_exception",
            subject_id=exception.id,
            action="created",
            before=None,
            after={},
        )
    )
    db.commit()
    assert [e["action"] for e in _timeline(client, caller, exception.id)["events"]] == ["created"]


def test_bad_paging_is_refused(client: TestClient, db: Session, caller: Caller) -> None:
    exception = _imported(db, vendor_id=caller.vendor.id)
    for params in ({"limit": 0}, {"limit": 201}, {"skip": -1}):
        response = client.get(
            _url(caller, f"/{exception.id}/events"), headers=caller.headers, params=params
        )
        assert response.status_code == 422, params


def test_the_sweep_cause_is_spelled_as_matching_writes_it() -> None:
    assert MatchCause.SWEEP.value == SWEEP_CAUSE
