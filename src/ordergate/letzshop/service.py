"""Letzshop credentials per vendor (the API key encrypted at rest) and sync-run queries."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ordergate.config import Settings
from ordergate.errors import AppError
from ordergate.letzshop.client import LetzshopClient
from ordergate.letzshop.errors import LetzshopAuthError, LetzshopError
from ordergate.letzshop.models import LetzshopCredentials, SyncRun
from ordergate.security import SecretBox
from ordergate.vendors.models import Vendor


class LetzshopNotConfiguredError(AppError):
    status_code = 400
    code = "LETZSHOP_NOT_CONFIGURED"


class LetzshopKeyUnreadableError(AppError):
    status_code = 409
    code = "LETZSHOP_KEY_UNREADABLE"


class LetzshopUnavailableAppError(AppError):
    status_code = 502
    code = "LETZSHOP_UNAVAILABLE"


class LetzshopAuthFailedError(LetzshopUnavailableAppError):
    code = "LETZSHOP_AUTH_FAILED"


def upstream_error(vendor_id: int, exc: LetzshopError, **details: object) -> AppError:
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


def open_client(connection: Connection, settings: Settings) -> LetzshopClient:
    """A client for one vendor's connection, with the configured timeout, retries, page size."""
    return LetzshopClient(
        connection.endpoint,
        connection.api_key,
        timeout=settings.letzshop_timeout_seconds,
        max_retries=settings.letzshop_max_retries,
        page_size=settings.letzshop_page_size,
    )


def set_credentials(
    session: Session,
    *,
    vendor_id: int,
    api_key: str,
    endpoint: str,
    auto_sync: bool,
    box: SecretBox,
) -> LetzshopCredentials:
    credentials = session.scalar(
        select(LetzshopCredentials).where(LetzshopCredentials.vendor_id == vendor_id)
    )
    if credentials is None:
        credentials = LetzshopCredentials(vendor_id=vendor_id)
        session.add(credentials)
    credentials.endpoint_url = endpoint
    credentials.api_key_encrypted = box.encrypt(api_key)
    credentials.api_key_last4 = api_key[-4:]
    credentials.auto_sync = auto_sync
    session.flush()
    return credentials


def get_credentials(session: Session, *, vendor_id: int) -> LetzshopCredentials:
    credentials = session.scalar(
        select(LetzshopCredentials).where(LetzshopCredentials.vendor_id == vendor_id)
    )
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
