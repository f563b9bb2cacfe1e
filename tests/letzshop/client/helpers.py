"""Settings shared by the sandbox-backed client tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ordergate.letzshop.client import LetzshopClient
from ordergate.outbound import OutboundPolicy

SHIPMENTS_PER_VENDOR = 23
VENDOR_KEY = "sandbox-key-1"
# Small waits keep the retry tests fast; the cap on Retry-After is backoff_max * 4 = 0.2 s.
FAST_RETRIES: dict[str, Any] = {
    "timeout": 2.0,
    "max_retries": 3,
    "page_size": 10,
    "backoff_base": 0.01,
    "backoff_max": 0.05,
}

# The test environment's rules: the sandbox listens on loopback.
SANDBOX_POLICY = OutboundPolicy.for_env("test", ["letzshop.lu"])

ClientFactory = Callable[..., LetzshopClient]
