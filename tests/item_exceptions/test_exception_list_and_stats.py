from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.orders.models import OrderItemException
from tests.factories import (
    Actors,
    Caller,
    make_actors,
    make_order,
    make_unmatched_line,
    make_vendor,
    minutes,
)

ADMIN = "/api/v1/admin/order-exceptions"
VENDOR = "/api/v1/vendor/order-exceptions"


def _list_url(caller: Caller) -> str:
    return caller.url(admin=ADMIN, vendor=VENDOR)


def _ids(response_json: dict) -> list[int]:
    return [row["id"] for row in response_json["exceptions"]]


def _seed(db: Session, actors: Actors) -> dict[str, OrderItemException]:
    return _seed_vendors(db, actors.vendor.id, actors.other.id)


def _seed_for(db: Session, caller: Caller) -> dict[str, OrderItemException]:
    """`_seed` with the caller's vendor as shop1."""
    return _seed_vendors(db, caller.vendor.id, make_vendor(db, code="shop2").id)


def _seed_vendors(db: Session, v1: int, v2: int) -> dict[str, OrderItemException]:
    """Four exceptions of shop1 (two on one order) and one of shop2, created a minute apart."""
    shared = make_order(db, vendor_id=v1, order_number="LS-1-R702236251")
    rows = {
        "funko": make_unmatched_line(db, vendor_id=v1, order=shared, created_at=minutes(1)),
        "lego": make_unmatched_line(
            db,
            vendor_id=v1,
            order=shared,
            gtin="5702016618891",
            product_name="LEGO Classic Box",
            sku="LG-11014",
            exception_type="duplicate_gtin",
            created_at=minutes(2),
        ),
        "voucher": make_unmatched_line(
            db,
            vendor_id=v1,
            gtin=None,
            product_name="Gift voucher",
            sku="VOUCHER-25",
            status="ignored",
            created_at=minutes(3),
        ),
        "bad": make_unmatched_line(
            db,
            vendor_id=v1,
            gtin="12345",
            product_name="Odd thing",
            sku="ODD-1",
            exception_type="gtin_mismatch",
            status="resolved",
            created_at=minutes(4),
        ),
        "other": make_unmatched_line(db, vendor_id=v2, created_at=minutes(5)),
    }
    db.commit()
    return rows


def test_admin_list_returns_every_vendor_newest_first_with_spec_fields(
    client: TestClient, db: Session
) -> None:
    actors = make_actors(client, db)
    rows = _seed(db, actors)
    response = client.get(ADMIN, headers=actors.admin)
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 5
    assert (body["skip"], body["limit"]) == (0, 50)
    names = ["other", "bad", "voucher", "lego", "funko"]
    assert _ids(body) == [rows[n].id for n in names]
    funko = body["exceptions"][-1]
    assert funko == {
        "id": rows["funko"].id,
        "order_item_id": rows["funko"].order_item_id,
        "vendor_id": actors.vendor.id,
        "original_gtin": "4006381333931",
        "original_product_name": "Funko Pop! Marvel",
        "original_sku": "MH-FU-56757",
        "exception_type": "product_not_found",
        "status": "pending",
        "resolved_product_id": None,
        "resolved_at": None,
        "resolved_by": None,
        "resolution_notes": None,
        "created_at": "2025-12-19T10:31:00Z",
        "updated_at": "2025-12-19T10:31:00Z",
        "order_id": funko["order_id"],
        "order_number": "LS-1-R702236251",
        "order_date": "2025-12-19T10:30:00Z",
        # No deadline: the vendor has no confirmation_deadline_hours.
        "confirm_by": None,
        "deadline_state": None,
        "age_seconds": funko["age_seconds"],
    }


def test_same_created_at_orders_by_id_descending(
    client: TestClient, db: Session, caller: Caller
) -> None:
    first = make_unmatched_line(db, vendor_id=caller.vendor.id, created_at=minutes(1))
    second = make_unmatched_line(db, vendor_id=caller.vendor.id, created_at=minutes(1))
    db.commit()
    body = client.get(
        _list_url(caller), headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert _ids(body) == [second.id, first.id]


def test_list_of_one_vendor_shows_only_its_own(
    client: TestClient, db: Session, caller: Caller
) -> None:
    rows = _seed_for(db, caller)
    body = client.get(
        _list_url(caller), headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert body["total"] == 4
    assert _ids(body) == [rows[n].id for n in ["bad", "voucher", "lego", "funko"]]


def test_another_vendors_staff_sees_only_theirs(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    rows = _seed(db, actors)
    other = client.get(VENDOR, headers=actors.other_headers).json()
    assert _ids(other) == [rows["other"].id]


def test_vendor_list_ignores_a_vendor_id_parameter(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    rows = _seed(db, actors)
    body = client.get(
        VENDOR, headers=actors.other_headers, params={"vendor_id": actors.vendor.id}
    ).json()
    assert _ids(body) == [rows["other"].id]


def test_admin_filters_by_vendor_status_and_type(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    rows = _seed(db, actors)
    by_vendor = client.get(ADMIN, headers=actors.admin, params={"vendor_id": actors.other.id})
    assert _ids(by_vendor.json()) == [rows["other"].id]
    pending = client.get(
        ADMIN, headers=actors.admin, params={"vendor_id": actors.vendor.id, "status": "pending"}
    ).json()
    assert (pending["total"], _ids(pending)) == (2, [rows["lego"].id, rows["funko"].id])
    ignored = client.get(ADMIN, headers=actors.admin, params={"status": "ignored"}).json()
    assert _ids(ignored) == [rows["voucher"].id]
    duplicates = client.get(
        VENDOR, headers=actors.vendor_headers, params={"exception_type": "duplicate_gtin"}
    ).json()
    assert (duplicates["total"], _ids(duplicates)) == (1, [rows["lego"].id])
    combined = client.get(
        ADMIN,
        headers=actors.admin,
        params={"status": "resolved", "exception_type": "gtin_mismatch"},
    ).json()
    assert _ids(combined) == [rows["bad"].id]


def test_unknown_status_or_type_is_422(client: TestClient, db: Session, caller: Caller) -> None:
    for params in ({"status": "open"}, {"exception_type": "missing"}):
        response = client.get(_list_url(caller), headers=caller.headers, params=params)
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_search_matches_gtin_raw_and_canonical(
    client: TestClient, db: Session, caller: Caller
) -> None:
    rows = _seed_for(db, caller)
    for term in ("4006381333931", "04006381333931", "638133"):
        body = client.get(
            _list_url(caller),
            headers=caller.headers,
            params={"search": term, **caller.vendor_query()},
        ).json()
        assert _ids(body) == [rows["funko"].id], term
        assert body["total"] == 1


def test_search_matches_name_sku_and_order_number_case_insensitively(
    client: TestClient, db: Session, caller: Caller
) -> None:
    rows = _seed_for(db, caller)

    def search(term: str) -> list[int]:
        return _ids(
            client.get(
                _list_url(caller),
                headers=caller.headers,
                params={"search": term, **caller.vendor_query()},
            ).json()
        )

    assert search("lego classic") == [rows["lego"].id]
    assert search("voucher-25") == [rows["voucher"].id]
    assert search("ls-1-r702236251") == [rows["lego"].id, rows["funko"].id]
    assert search("nothing like this") == []
    assert search("100%") == []


def test_search_combines_with_status_and_counts_matches(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    rows = _seed(db, actors)
    body = client.get(
        ADMIN,
        headers=actors.admin,
        params={"search": "4006381333931", "status": "pending"},
    ).json()
    assert body["total"] == 2
    assert _ids(body) == [rows["other"].id, rows["funko"].id]


def test_pagination_with_skip_and_limit(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    rows = _seed(db, actors)
    body = client.get(ADMIN, headers=actors.admin, params={"skip": 1, "limit": 2}).json()
    assert (body["total"], body["skip"], body["limit"]) == (5, 1, 2)
    assert _ids(body) == [rows["bad"].id, rows["voucher"].id]


def test_limit_above_200_is_422(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    assert client.get(ADMIN, headers=actors.admin, params={"limit": 201}).status_code == 422
    assert client.get(ADMIN, headers=actors.admin, params={"limit": 200}).status_code == 200


def _by_status(body: dict) -> dict:
    """The stats without `by_type` (issue 9), after checking that it adds up to the counts by
    status (tests/item_exceptions/test_queue_groups.py checks it per type)."""
    rest = dict(body)
    by_type = rest.pop("by_type")
    for status in ("pending", "resolved", "ignored"):
        assert sum(counts[status] for counts in by_type.values()) == rest[status]
    return rest


def test_admin_stats_count_every_vendor(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    _seed(db, actors)
    response = client.get(f"{ADMIN}/stats", headers=actors.admin)
    assert response.status_code == 200
    # Blocking: the shared order (funko, lego pending), the voucher order (ignored), shop2's.
    assert _by_status(response.json()) == {
        "pending": 3,
        "resolved": 1,
        "ignored": 1,
        "total": 5,
        "orders_with_exceptions": 3,
        "at_risk": 0,
        "overdue": 0,
    }


def test_stats_of_one_vendor(client: TestClient, db: Session, caller: Caller) -> None:
    _seed_for(db, caller)
    body = client.get(
        f"{_list_url(caller)}/stats", headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert _by_status(body) == {
        "pending": 2,
        "resolved": 1,
        "ignored": 1,
        "total": 4,
        "orders_with_exceptions": 2,
        "at_risk": 0,
        "overdue": 0,
    }


def test_vendor_stats_are_its_own(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    _seed(db, actors)
    body = client.get(f"{VENDOR}/stats", headers=actors.other_headers).json()
    assert _by_status(body) == {
        "pending": 1,
        "resolved": 0,
        "ignored": 0,
        "total": 1,
        "orders_with_exceptions": 1,
        "at_risk": 0,
        "overdue": 0,
    }


def test_stats_of_an_empty_vendor_are_zero(client: TestClient, db: Session, caller: Caller) -> None:
    body = client.get(
        f"{_list_url(caller)}/stats", headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert _by_status(body) == {
        "pending": 0,
        "resolved": 0,
        "ignored": 0,
        "total": 0,
        "orders_with_exceptions": 0,
        "at_risk": 0,
        "overdue": 0,
    }


def test_resolved_only_order_is_not_counted_as_blocked(
    client: TestClient, db: Session, caller: Caller
) -> None:
    make_unmatched_line(db, vendor_id=caller.vendor.id, status="resolved")
    db.commit()
    body = client.get(
        f"{_list_url(caller)}/stats", headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert (body["resolved"], body["orders_with_exceptions"]) == (1, 0)


def test_admin_filter_by_an_unknown_vendor_is_404(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    _seed(db, actors)
    for path in (ADMIN, f"{ADMIN}/stats", "/api/v1/admin/gtin-mappings"):
        response = client.get(path, headers=actors.admin, params={"vendor_id": 999999})
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "VENDOR_NOT_FOUND"


def test_endpoints_need_the_right_token(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    assert client.get(ADMIN).status_code == 401
    assert client.get(ADMIN, headers=actors.vendor_headers).status_code == 403
    forbidden = client.get(VENDOR, headers=actors.admin)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "FORBIDDEN"
