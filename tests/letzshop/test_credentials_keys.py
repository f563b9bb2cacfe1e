"""What PUT .../letzshop/credentials stores and shows: the last 4 characters only of keys of 12
or more characters (F13), and a field left out keeps its stored value."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.letzshop import credentials, repository
from ordergate.letzshop.models import LetzshopCredentials
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from tests.conftest import TEST_SECRET
from tests.factories import make_vendor, vendor_headers

PATH = "/api/v1/vendor/letzshop/credentials"
SANDBOX = "http://127.0.0.1:18765/graphql"


def row(db: Session) -> LetzshopCredentials:
    db.rollback()  # end the read snapshot
    return db.scalars(select(LetzshopCredentials)).one()


@pytest.mark.parametrize(
    ("api_key", "shown"),
    [
        ("k3Y9", None),
        ("eleven-char", None),
        ("twelve-chars", "hars"),
        ("a-long-api-key-42", "y-42"),
    ],
)
def test_only_long_keys_show_their_last_four_characters(
    client: TestClient, db: Session, api_key: str, shown: str | None
) -> None:
    _, headers = vendor_headers(client, db, code="luxtoys")

    put = client.put(PATH, headers=headers, json={"api_key": api_key, "endpoint": SANDBOX})
    got = client.get(PATH, headers=headers)

    assert put.status_code == 200, put.text
    assert put.json()["api_key_last4"] == got.json()["api_key_last4"] == shown
    assert row(db).api_key_last4 == shown
    if shown is None:
        assert api_key not in put.text + got.text


@pytest.fixture
def configured(client: TestClient, db: Session) -> dict[str, str]:
    _, headers = vendor_headers(client, db, code="luxtoys")
    body = {"api_key": "first-key-0001", "endpoint": SANDBOX, "auto_sync": True}
    assert client.put(PATH, headers=headers, json=body).status_code == 200
    return headers


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"api_key": "second-key-0002"}, ("second-key-0002", SANDBOX, True)),
        ({"auto_sync": False}, ("first-key-0001", SANDBOX, False)),
        (
            {"endpoint": "http://127.0.0.1:9/graphql"},
            ("first-key-0001", "http://127.0.0.1:9/graphql", True),
        ),
        ({}, ("first-key-0001", SANDBOX, True)),
        ({"api_key": None, "endpoint": None, "auto_sync": None}, ("first-key-0001", SANDBOX, True)),
    ],
)
def test_a_field_left_out_keeps_its_value(
    client: TestClient,
    db: Session,
    configured: dict[str, str],
    change: dict[str, Any],
    expected: tuple[str, str, bool],
) -> None:
    response = client.put(PATH, headers=configured, json=change)

    assert response.status_code == 200, response.text
    credentials = row(db)
    key = SecretBox(TEST_SECRET).decrypt(credentials.api_key_encrypted)
    assert (key, credentials.endpoint_url, credentials.auto_sync) == expected
    assert (response.json()["endpoint"], response.json()["auto_sync"]) == expected[1:]


def test_new_credentials_need_a_key_and_get_the_defaults(
    client: TestClient, db: Session, settings: Any
) -> None:
    vendor, headers = vendor_headers(client, db, code="luxtoys")

    missing = client.put(PATH, headers=headers, json={"auto_sync": True})
    db.rollback()
    assert db.scalars(select(LetzshopCredentials)).all() == []
    created = client.put(PATH, headers=headers, json={"api_key": "only-a-key-1234"})

    assert missing.status_code == 400
    assert missing.json()["error"]["code"] == "LETZSHOP_API_KEY_REQUIRED"
    assert missing.json()["error"]["details"] == {"field": "api_key", "vendor_id": vendor.id}
    assert (created.json()["endpoint"], created.json()["auto_sync"]) == (
        settings.letzshop_endpoint,
        False,
    )


def test_a_first_setting_that_meets_a_row_inserted_meanwhile_changes_only_what_it_gives(
    db: Session, settings: Any
) -> None:
    """Set-credentials is an upsert: when another request inserted the vendor's credentials
    after this one found none, this one's insert becomes an update of what it was given."""
    vendor = make_vendor(db, code="luxtoys")
    scope = VendorScope(actor_user_id=None, vendor_id=vendor.id, is_admin=True)
    box = SecretBox(TEST_SECRET)
    credentials.set_credentials(
        db, scope=scope, box=box, settings=settings, api_key="first-key-0001", auto_sync=True
    )
    db.commit()
    changed = {"api_key_encrypted": box.encrypt("second-key-0002"), "api_key_last4": "0002"}

    repository.upsert_credentials(
        db,
        scope,
        created={"endpoint_url": SANDBOX, "sync_interval_minutes": None, **changed},
        changed=changed,
    )
    db.commit()

    stored = row(db)
    key = box.decrypt(stored.api_key_encrypted)
    assert (key, stored.api_key_last4) == ("second-key-0002", "0002")
    assert (stored.endpoint_url, stored.auto_sync) == (settings.letzshop_endpoint, True)
    assert db.scalar(select(func.count()).select_from(LetzshopCredentials)) == 1
