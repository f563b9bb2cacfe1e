"""How the app talks to one vendor's Letzshop: the connection (endpoint and decrypted key), the
outbound policy every request is checked against, the client, and the API's answer when a
request fails. ``credentials.connection_for`` reads a vendor's connection."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from ordergate.config import Settings
from ordergate.letzshop.client import LetzshopClient
from ordergate.letzshop.errors import (
    EndpointNotAllowedError,
    LetzshopError,
    LetzshopUpstreamError,
)
from ordergate.outbound import OutboundPolicy, OutboundRefusedError

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VendorConnection:
    """Where one vendor's Letzshop requests go, and the (decrypted) API key they carry."""

    endpoint: str
    api_key: str


def letzshop_policy(settings: Settings) -> OutboundPolicy:
    """Where Letzshop requests may go (``ORDERGATE_LETZSHOP_ALLOWED_HOSTS``, ``ORDERGATE_ENV``)."""
    return OutboundPolicy.for_env(settings.env, settings.letzshop_allow_list())


def allowed_endpoint(endpoint: str, settings: Settings) -> str:
    """The endpoint, normalised, if the policy allows it; else 400 naming the reason."""
    try:
        return letzshop_policy(settings).check_endpoint(endpoint)
    except OutboundRefusedError as exc:
        raise EndpointNotAllowedError(exc) from exc


def open_client(connection: VendorConnection, settings: Settings) -> LetzshopClient:
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


def upstream_error(vendor_id: int, exc: LetzshopError, **details: object) -> LetzshopUpstreamError:
    """The API's answer for a failed Letzshop request. Its message is the client's fixed text,
    so it never tells what answered; the specifics go to the server log."""
    logger.warning("Letzshop request for vendor %d failed: %s", vendor_id, exc.detail)
    return LetzshopUpstreamError.of(vendor_id, exc, **details)
