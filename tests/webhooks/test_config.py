"""Setting, reading and clearing a vendor's webhook through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ordergate.webhooks.models import VendorWebhook
from tests.factories import admin_headers, row_count
from tests.webhooks.conftest import SECRET, Owner, Receiver, set_webhook

CONFIG = "/api/v1/vendor/webhooks/config"


def test_the_secret_is_stored_encrypted_and_never_returned(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    response = set_webhook(client, owner.headers, receiver.url)
    assert response.status_code == 200, response.text
    assert response.json()["url"] == receiver.url
    assert response.json()["secret_last4"] == SECRET[-4:]
    assert SECRET not in response.text
    read = client.get(CONFIG, headers=owner.staff_headers)
    assert read.status_code == 200, read.text
    assert SECRET not in read.text
    stored = db.scalars(select(VendorWebhook)).one()
    assert SECRET not in stored.secret_encrypted
    db.commit()


def test_a_private_target_is_refused_naming_the_field(
    client: TestClient, db: Session, owner: Owner
) -> None:
    response = set_webhook(client, owner.headers, "http://10.0.0.1/hook")
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "WEBHOOK_URL_NOT_ALLOWED"
    assert error["details"] == {"field": "url", "reason": "address"}
    assert row_count(db, VendorWebhook) == 0


def test_a_scheme_other_than_http_is_refused(client: TestClient, db: Session, owner: Owner) -> None:
    response = set_webhook(client, owner.headers, "ftp://example.com/hook")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == {"field": "url", "reason": "scheme"}
    assert row_count(db, VendorWebhook) == 0


def test_a_new_webhook_needs_a_secret(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    response = client.put(CONFIG, headers=owner.headers, json={"url": receiver.url})
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "WEBHOOK_SECRET_REQUIRED"
    assert response.json()["error"]["details"]["field"] == "secret"
    assert row_count(db, VendorWebhook) == 0


def test_staff_cannot_set_it(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    response = set_webhook(client, owner.staff_headers, receiver.url)
    assert response.status_code == 403, response.text
    assert row_count(db, VendorWebhook) == 0


def test_changing_the_url_keeps_the_secret(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    assert set_webhook(client, owner.headers, receiver.url).status_code == 200
    before = db.scalars(select(VendorWebhook)).one().secret_encrypted
    db.commit()
    changed = client.put(CONFIG, headers=owner.headers, json={"url": receiver.url + "/v2"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["url"] == receiver.url + "/v2"
    db.expire_all()
    assert db.scalars(select(VendorWebhook)).one().secret_encrypted == before
    db.commit()


def test_an_admin_sets_and_clears_a_vendors_webhook(
    client: TestClient, db: Session, owner: Owner, receiver: Receiver
) -> None:
    admin = admin_headers(client, db)
    path = f"/api/v1/admin/webhooks/vendors/{owner.vendor.id}/config"
    response = client.put(path, headers=admin, json={"url": receiver.url, "secret": SECRET})
    assert response.status_code == 200, response.text
    assert response.json()["vendor_id"] == owner.vendor.id
    assert client.delete(path, headers=admin).status_code == 204
    gone = client.get(path, headers=admin)
    assert gone.status_code == 404
    assert gone.json()["error"]["code"] == "WEBHOOK_NOT_CONFIGURED"
    assert row_count(db, VendorWebhook) == 0
