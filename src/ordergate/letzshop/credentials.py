"""A vendor's Letzshop credentials: the API key (encrypted at rest), the endpoint, the interval
of scheduled syncs (``auto_sync`` is its on/off view)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.letzshop import repository
from ordergate.letzshop.connection import VendorConnection, allowed_endpoint
from ordergate.letzshop.errors import (
    LetzshopKeyRequiredError,
    LetzshopKeyUnreadableError,
    LetzshopNotConfiguredError,
)
from ordergate.letzshop.models import DEFAULT_SYNC_INTERVAL_MINUTES, LetzshopCredentials
from ordergate.scope import VendorScope
from ordergate.security import SecretBox

# A shorter key would be shown nearly whole by its last 4 characters.
KEY_HINT_MIN_LENGTH = 12


def key_hint(api_key: str) -> str | None:
    return api_key[-4:] if len(api_key) >= KEY_HINT_MIN_LENGTH else None


def set_credentials(
    session: Session,
    *,
    scope: VendorScope,
    box: SecretBox,
    settings: Settings,
    api_key: str | None = None,
    endpoint: str | None = None,
    auto_sync: bool | None = None,
    sync_interval_minutes: int | None = None,
    interval_given: bool = False,
) -> LetzshopCredentials:
    """Create or change a vendor's credentials. ``None`` leaves a value unchanged; new
    credentials need a key and get the default endpoint and no scheduled syncs.

    Scheduled syncs: with ``interval_given`` the interval is set (None: off); else
    ``auto_sync`` false turns them off and true sets the default interval where none is set.

    An upsert: the change is applied to the stored row; when there is none it is inserted, and
    a row that another request inserted meanwhile takes the change instead."""
    changed: dict[str, Any] = {}
    if endpoint is not None:
        changed["endpoint_url"] = allowed_endpoint(endpoint, settings)
    if api_key is not None:
        changed["api_key_encrypted"] = box.encrypt(api_key)
        changed["api_key_last4"] = key_hint(api_key)
    if interval_given:
        changed["sync_interval_minutes"] = sync_interval_minutes
    elif auto_sync is False:
        changed["sync_interval_minutes"] = None
    elif auto_sync:
        changed["sync_interval_minutes"] = func.coalesce(
            LetzshopCredentials.sync_interval_minutes, DEFAULT_SYNC_INTERVAL_MINUTES
        )
    stored = repository.update_credentials(session, scope, changed)
    if stored is not None:
        return stored
    if api_key is None:
        raise LetzshopKeyRequiredError(scope.vendor_id)
    # Checked only now: the default is only needed (and looked up) for new credentials.
    default_endpoint = changed.get("endpoint_url") or allowed_endpoint(
        settings.letzshop_endpoint, settings
    )
    created = {"endpoint_url": default_endpoint, **changed}
    if auto_sync and not interval_given:
        created["sync_interval_minutes"] = DEFAULT_SYNC_INTERVAL_MINUTES
    return repository.upsert_credentials(session, scope, created=created, changed=changed)


def find_credentials(session: Session, *, scope: VendorScope) -> LetzshopCredentials | None:
    return repository.find_credentials(session, scope)


def get_credentials(session: Session, *, scope: VendorScope) -> LetzshopCredentials:
    credentials = repository.find_credentials(session, scope)
    if credentials is None:
        raise LetzshopNotConfiguredError(scope.vendor_id)
    return credentials


def connection_for(session: Session, *, scope: VendorScope, box: SecretBox) -> VendorConnection:
    """The vendor's connection; 400 without credentials, 409 when the key cannot be decrypted."""
    credentials = get_credentials(session, scope=scope)
    api_key = box.decrypt(credentials.api_key_encrypted)
    if api_key is None:
        raise LetzshopKeyUnreadableError(scope.vendor_id)
    return VendorConnection(endpoint=credentials.endpoint_url, api_key=api_key)
