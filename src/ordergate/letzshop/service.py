"""Letzshop credentials per vendor (the API key encrypted at rest) and sync-run queries."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.errors import AppError
from ordergate.letzshop.client import LetzshopClient
from ordergate.letzshop.errors import LetzshopAuthError, LetzshopError
from ordergate.letzshop.models import LetzshopCredentials, SyncRun
from ordergate.outbound import OutboundPolicy, OutboundRefusedError
from ordergate.security import SecretBox
from ordergate.vendors.models import Vendor

logger = logging.getLogger(__name__)

# A shorter key would be shown nearly whole by its last 4 characters.
KEY_HINT_MIN_LENGTH = 12


class LetzshopNotConfiguredError(AppError):
    status_code = 400
    code = "LETZSHOP_NOT_CONFIGURED"


class LetzshopKeyUnreadableError(AppError):
    status_code = 409
    code = "LETZSHOP_KEY_UNREADABLE"


class EndpointNotAllowedError(AppError):
    status_code = 400
    code = "ENDPOINT_NOT_ALLOWED"


class LetzshopKeyRequiredError(AppError):
    status_code = 400
    code = "LETZSHOP_API_KEY_REQUIRED"


class LetzshopUnavailableAppError(AppError):
    status_code = 502
    code = "LETZSHOP_UNAVAILABLE"


class LetzshopAuthFailedError(LetzshopUnavailableAppError):
    code = "LETZSHOP_AUTH_FAILED"


def upstream_error(vendor_id: int, exc: LetzshopError, **details: object) -> AppError:
    """The API's answer for a failed Letzshop request. Its message is the client's fixed text,
    so it never tells what answered; the specifics go to the server log."""
    logger.warning("Letzshop request for vendor %d failed: %s", vendor_id, exc.detail)
    error = (
        LetzshopAuthFailedError
        if isinstance(exc, LetzshopAuthError)
        else LetzshopUnavailableAppError
    )
    return error(
        f"Letzshop request for vendor {vendor_id} failed: {exc.message}",
        details={"vendor_id": vendor_id, **details},
    )


@dataclass(frozen=True, slots=True)
class Connection:
    endpoint: str
    api_key: str


def letzshop_policy(settings: Settings) -> OutboundPolicy:
    """Where Letzshop requests may go (``ORDERGATE_LETZSHOP_ALLOWED_HOSTS``, ``ORDERGATE_ENV``)."""
    return OutboundPolicy.for_env(settings.env, settings.letzshop_allow_list())


def open_client(connection: Connection, settings: Settings) -> LetzshopClient:
    """A client for one vendor's connection, with the configured timeout, retries, page size;
    every request is checked against the endpoint policy again (DNS can change)."""
    return LetzshopClient(
        connection.endpoint,
        connection.api_key,
        policy=letzshop_policy(settings),
        timeout=settings.letzshop_timeout_seconds,
        max_retries=settings.letzshop_max_retries,
        page_size=settings.letzshop_page_size,
    )


def allowed_endpoint(endpoint: str, settings: Settings) -> str:
    """The endpoint, normalised, if the policy allows it; else 400 naming the reason."""
    try:
        return letzshop_policy(settings).check_endpoint(endpoint)
    except OutboundRefusedError as exc:
        raise EndpointNotAllowedError(
            f"endpoint is not allowed: {exc.message}",
            details={"field": "endpoint", "reason": exc.reason.value},
        ) from exc


def key_hint(api_key: str) -> str | None:
    return api_key[-4:] if len(api_key) >= KEY_HINT_MIN_LENGTH else None


def set_credentials(
    session: Session,
    *,
    vendor_id: int,
    box: SecretBox,
    settings: Settings,
    api_key: str | None = None,
    endpoint: str | None = None,
    auto_sync: bool | None = None,
) -> LetzshopCredentials:
    """Create or change a vendor's credentials. ``None`` leaves a value unchanged; new
    credentials need a key and get the default endpoint and ``auto_sync`` off."""
    checked = allowed_endpoint(endpoint, settings) if endpoint is not None else None
    credentials = find_credentials(session, vendor_id=vendor_id)
    if credentials is None:
        if api_key is None:
            raise LetzshopKeyRequiredError(
                f"api_key is required: vendor {vendor_id} has no Letzshop credentials yet",
                details={"field": "api_key", "vendor_id": vendor_id},
            )
        credentials = LetzshopCredentials(
            vendor_id=vendor_id,
            endpoint_url=checked or allowed_endpoint(settings.letzshop_endpoint, settings),
            auto_sync=False,
        )
        session.add(credentials)
    if checked is not None:
        credentials.endpoint_url = checked
    if api_key is not None:
        credentials.api_key_encrypted = box.encrypt(api_key)
        credentials.api_key_last4 = key_hint(api_key)
    if auto_sync is not None:
        credentials.auto_sync = auto_sync
    session.flush()
    return credentials


def find_credentials(session: Session, *, vendor_id: int) -> LetzshopCredentials | None:
    return session.scalar(
        select(LetzshopCredentials).where(LetzshopCredentials.vendor_id == vendor_id)
    )


def get_credentials(session: Session, *, vendor_id: int) -> LetzshopCredentials:
    credentials = find_credentials(session, vendor_id=vendor_id)
    if credentials is None:
        raise LetzshopNotConfiguredError(
            f"Vendor {vendor_id} has no Letzshop credentials; set them first",
            details={"vendor_id": vendor_id},
        )
    return credentials


def connection_for(session: Session, *, vendor_id: int, box: SecretBox) -> Connection:
    credentials = get_credentials(session, vendor_id=vendor_id)
    api_key = box.decrypt(credentials.api_key_encrypted)
    if api_key is None:
        raise LetzshopKeyUnreadableError(
            f"The stored Letzshop API key of vendor {vendor_id} was encrypted with another "
            "secret key; set the credentials again",
            details={"vendor_id": vendor_id},
        )
    return Connection(endpoint=credentials.endpoint_url, api_key=api_key)


def list_sync_runs(
    session: Session, *, vendor_id: int, skip: int, limit: int
) -> tuple[list[SyncRun], int]:
    where = SyncRun.vendor_id == vendor_id
    total = session.scalar(select(func.count()).select_from(SyncRun).where(where)) or 0
    runs = session.scalars(
        select(SyncRun).where(where).order_by(SyncRun.id.desc()).offset(skip).limit(limit)
    ).all()
    return list(runs), total


def auto_sync_vendor_codes(session: Session) -> list[str]:
    """Codes of active vendors whose Letzshop credentials have auto_sync on."""
    rows = session.scalars(
        select(Vendor.code)
        .join(LetzshopCredentials, LetzshopCredentials.vendor_id == Vendor.id)
        .where(LetzshopCredentials.auto_sync.is_(True), Vendor.is_active.is_(True))
        .order_by(Vendor.code)
    )
    return list(rows)
