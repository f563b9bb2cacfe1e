from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ordergate.catalog.placeholder import placeholder_product_id
from tests.factories import (
    Caller,
    admin_headers,
    caller_user_id,
    exception_state,
    make_actors,
    make_product,
    make_unmatched_line,
    make_vendor,
    mappings,
)

EXCEPTIONS = "/api/v1/vendor/order-exceptions"
ADMIN_EXCEPTIONS = "/api/v1/admin/order-exceptions"
VENDOR_MAPPINGS = "/api/v1/vendor/gtin-mappings"
ADMIN_MAPPINGS = "/api/v1/admin/gtin-mappings"


def _exceptions(caller: Caller) -> str:
    return caller.url(admin=ADMIN_EXCEPTIONS, vendor=EXCEPTIONS)


def _mappings(caller: Caller) -> str:
    return caller.url(admin=ADMIN_MAPPINGS, vendor=VENDOR_MAPPINGS)


def test_resolve_with_remember_stores_the_canonical_gtin_key(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(db, vendor_id=caller.vendor.id, gtin="4006381333931")
    product = make_product(db, vendor_id=caller.vendor.id, title="Funko", sku="FU-1")
    actor_id = caller_user_id(db, caller)
    db.commit()
    response = client.post(
        f"{_exceptions(caller)}/{exception.id}/resolve",
        headers=caller.headers,
        json={"product_id": product.id, "remember": True},
    )
    assert response.status_code == 200
    assert mappings(db) == [(caller.vendor.id, "04006381333931", product.id)]
    listed = client.get(
        _mappings(caller), headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert listed["total"] == 1
    row = listed["mappings"][0]
    assert list(row) == [
        "id",
        "vendor_id",
        "gtin_key",
        "product_id",
        "product_title",
        "product_sku",
        "created_by",
        "created_at",
    ]
    assert {k: v for k, v in row.items() if k not in ("id", "created_at")} == {
        "vendor_id": caller.vendor.id,
        "gtin_key": "04006381333931",
        "product_id": product.id,
        "product_title": "Funko",
        "product_sku": "FU-1",
        "created_by": actor_id,
    }


def test_remember_again_repoints_the_existing_mapping(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    v1 = actors.vendor.id
    first = make_unmatched_line(db, vendor_id=v1, gtin="4006381333931")
    second = make_unmatched_line(db, vendor_id=v1, gtin="04006381333931")
    old = make_product(db, vendor_id=v1, title="Old")
    new = make_product(db, vendor_id=v1, title="New")
    db.commit()
    for exception, product in ((first, old), (second, new)):
        client.post(
            f"{ADMIN_EXCEPTIONS}/{exception.id}/resolve",
            headers=actors.admin,
            json={"product_id": product.id, "remember": True},
        )
    assert mappings(db) == [(v1, "04006381333931", new.id)]


def test_invalid_gtin_is_remembered_as_trimmed_raw(
    client: TestClient, db: Session, caller: Caller
) -> None:
    exception = make_unmatched_line(
        db, vendor_id=caller.vendor.id, gtin=" ABC-123 ", exception_type="gtin_mismatch"
    )
    product = make_product(db, vendor_id=caller.vendor.id)
    db.commit()
    client.post(
        f"{_exceptions(caller)}/{exception.id}/resolve",
        headers=caller.headers,
        json={"product_id": product.id, "remember": True},
    )
    assert mappings(db) == [(caller.vendor.id, "ABC-123", product.id)]


def test_remember_without_gtin_is_400_and_changes_nothing(
    client: TestClient, db: Session, caller: Caller
) -> None:
    voucher = make_unmatched_line(db, vendor_id=caller.vendor.id, gtin=None)
    product = make_product(db, vendor_id=caller.vendor.id)
    placeholder = placeholder_product_id(db, vendor_id=caller.vendor.id)
    db.commit()
    response = client.post(
        f"{_exceptions(caller)}/{voucher.id}/resolve",
        headers=caller.headers,
        json={"product_id": product.id, "remember": True},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "GTIN_REQUIRED_TO_REMEMBER"
    assert str(voucher.id) in error["message"]
    assert exception_state(db, voucher.id) == {
        "status": "pending",
        "resolved_product_id": None,
        "resolved_by": None,
        "resolution_notes": None,
        "item_product_id": placeholder,
        "needs_product_match": True,
        "events": 0,
    }
    assert mappings(db) == []


def test_resolve_without_remember_stores_no_mapping(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    exception = make_unmatched_line(db, vendor_id=actors.vendor.id)
    product = make_product(db, vendor_id=actors.vendor.id)
    db.commit()
    client.post(
        f"{EXCEPTIONS}/{exception.id}/resolve",
        headers=actors.vendor_headers,
        json={"product_id": product.id},
    )
    assert mappings(db) == []


def test_bulk_resolve_with_remember_stores_the_mapping(
    client: TestClient, db: Session, caller: Caller
) -> None:
    product = make_product(db, vendor_id=caller.vendor.id)
    db.commit()
    response = client.post(
        f"{_exceptions(caller)}/bulk-resolve",
        headers=caller.headers,
        params=caller.vendor_query(),
        json={"gtin": "4006381333931", "product_id": product.id, "remember": True},
    )
    assert response.json()["resolved_count"] == 0
    assert mappings(db) == [(caller.vendor.id, "04006381333931", product.id)]


def _admin_headers(client: TestClient, db: Session, caller: Caller) -> dict[str, str]:
    """An admin's headers: the caller's own, or a new admin's for a vendor caller."""
    if caller.is_admin:
        return caller.headers
    return admin_headers(client, db)


def _remember(client: TestClient, db: Session, *, vendor_id: int, headers: dict, gtin: str) -> int:
    product = make_product(db, vendor_id=vendor_id)
    db.commit()
    response = client.post(
        "/api/v1/admin/order-exceptions/bulk-resolve",
        headers=headers,
        params={"vendor_id": vendor_id},
        json={"gtin": gtin, "product_id": product.id, "remember": True},
    )
    assert response.status_code == 200
    return product.id


def test_admin_lists_mappings_of_all_or_one_vendor(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    _remember(client, db, vendor_id=actors.vendor.id, headers=actors.admin, gtin="4006381333931")
    _remember(client, db, vendor_id=actors.other.id, headers=actors.admin, gtin="5702016618891")
    everything = client.get(ADMIN_MAPPINGS, headers=actors.admin).json()
    assert everything["total"] == 2
    assert [m["gtin_key"] for m in everything["mappings"]] == ["05702016618891", "04006381333931"]
    one = client.get(ADMIN_MAPPINGS, headers=actors.admin, params={"vendor_id": actors.other.id})
    assert [m["vendor_id"] for m in one.json()["mappings"]] == [actors.other.id]
    theirs = client.get(VENDOR_MAPPINGS, headers=actors.other_headers).json()
    assert [m["gtin_key"] for m in theirs["mappings"]] == ["05702016618891"]


def test_lists_the_mappings_of_one_vendor(client: TestClient, db: Session, caller: Caller) -> None:
    admin = _admin_headers(client, db, caller)
    other = make_vendor(db, code="shop2")
    _remember(client, db, vendor_id=caller.vendor.id, headers=admin, gtin="4006381333931")
    _remember(client, db, vendor_id=other.id, headers=admin, gtin="5702016618891")
    listed = client.get(
        _mappings(caller), headers=caller.headers, params=caller.vendor_query()
    ).json()
    assert (listed["total"], listed["skip"], listed["limit"]) == (1, 0, 50)
    assert [(m["vendor_id"], m["gtin_key"]) for m in listed["mappings"]] == [
        (caller.vendor.id, "04006381333931")
    ]


def test_deletes_a_mapping(client: TestClient, db: Session, caller: Caller) -> None:
    admin = _admin_headers(client, db, caller)
    _remember(client, db, vendor_id=caller.vendor.id, headers=admin, gtin="4006381333931")
    url = _mappings(caller)
    mapping_id = client.get(url, headers=caller.headers).json()["mappings"][0]["id"]
    response = client.delete(f"{url}/{mapping_id}", headers=caller.headers)
    assert response.status_code == 204
    assert mappings(db) == []
    again = client.delete(f"{url}/{mapping_id}", headers=caller.headers)
    assert again.status_code == 404
    assert again.json()["error"] == {
        "code": "GTIN_MAPPING_NOT_FOUND",
        "message": f"GTIN mapping {mapping_id} not found",
        "details": {"mapping_id": mapping_id},
    }


def test_vendor_cannot_delete_another_vendors_mapping(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    product_id = _remember(
        client, db, vendor_id=actors.vendor.id, headers=actors.admin, gtin="4006381333931"
    )
    mapping_id = client.get(ADMIN_MAPPINGS, headers=actors.admin).json()["mappings"][0]["id"]
    response = client.delete(f"{VENDOR_MAPPINGS}/{mapping_id}", headers=actors.other_headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "GTIN_MAPPING_NOT_FOUND"
    assert mappings(db) == [(actors.vendor.id, "04006381333931", product_id)]


def test_admin_deletes_any_mapping(client: TestClient, db: Session) -> None:
    actors = make_actors(client, db)
    _remember(client, db, vendor_id=actors.other.id, headers=actors.admin, gtin="4006381333931")
    mapping_id = client.get(ADMIN_MAPPINGS, headers=actors.admin).json()["mappings"][0]["id"]
    assert client.delete(f"{ADMIN_MAPPINGS}/{mapping_id}", headers=actors.admin).status_code == 204
    assert mappings(db) == []
    assert client.delete(f"{ADMIN_MAPPINGS}/{mapping_id}", headers=actors.admin).status_code == 404
