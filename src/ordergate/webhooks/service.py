"""A vendor's webhook (set, read, clear) and its delivery log. Services: the session first,
keyword-only arguments, never a commit."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.db import PageRequest
from ordergate.outbound import OutboundPolicy, OutboundRefusedError
from ordergate.scope import VendorScope
from ordergate.security import SecretBox
from ordergate.webhooks import repository
from ordergate.webhooks.errors import (
    WebhookDeliveryNotFoundError,
    WebhookNotConfiguredError,
    WebhookSecretRequiredError,
    WebhookUrlNotAllowedError,
    WebhookUrlRequiredError,
)
from ordergate.webhooks.models import VendorWebhook, WebhookDelivery


def webhook_policy(settings: Settings) -> OutboundPolicy:
    """Where deliveries may go: any public http(s) host; private, loopback and other
    non-public addresses only inside ``ORDERGATE_WEBHOOK_ALLOWED_NETWORKS``."""
    return OutboundPolicy.from_entries(
        settings.webhook_allowed_networks,
        https_only=False,
        allow_loopback=False,
        any_public_host=True,
    )


def allowed_url(url: str, settings: Settings) -> str:
    """The URL, normalised, if deliveries may go there; else 400 naming the field."""
    try:
        return webhook_policy(settings).check_endpoint(url)
    except OutboundRefusedError as exc:
        raise WebhookUrlNotAllowedError(exc) from exc


def set_webhook(
    session: Session,
    *,
    scope: VendorScope,
    box: SecretBox,
    settings: Settings,
    url: str | None = None,
    secret: str | None = None,
) -> VendorWebhook:
    """Create or change the vendor's webhook; ``None`` keeps a value. A new one needs both."""
    changed: dict[str, Any] = {}
    if url is not None:
        changed["url"] = allowed_url(url, settings)
    if secret is not None:
        changed["secret_encrypted"] = box.encrypt(secret)
        changed["secret_last4"] = secret[-4:]
    stored = repository.update_webhook(session, scope, changed)
    if stored is not None:
        return stored
    if url is None:
        raise WebhookUrlRequiredError(scope.vendor_id)
    if secret is None:
        raise WebhookSecretRequiredError(scope.vendor_id)
    return repository.upsert_webhook(session, scope, created=changed, changed=changed)


def get_webhook(session: Session, *, scope: VendorScope) -> VendorWebhook:
    webhook = repository.find_webhook(session, scope)
    if webhook is None:
        raise WebhookNotConfiguredError(scope.vendor_id)
    return webhook


def clear_webhook(session: Session, *, scope: VendorScope) -> None:
    """Remove the vendor's webhook; deliveries still pending then fail when they come due."""
    if not repository.delete_webhook(session, scope):
        raise WebhookNotConfiguredError(scope.vendor_id)


def list_deliveries(
    session: Session, *, scope: VendorScope, page: PageRequest, status: str | None = None
) -> tuple[list[WebhookDelivery], int]:
    return repository.deliveries_page(session, scope, page, status=status)


def get_delivery(session: Session, *, scope: VendorScope, delivery_id: int) -> WebhookDelivery:
    delivery = repository.find_delivery(session, scope, delivery_id)
    if delivery is None:
        raise WebhookDeliveryNotFoundError(delivery_id)
    return delivery
