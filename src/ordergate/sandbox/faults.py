"""The switchable failures of the sandbox, and how the control endpoint describes them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

FaultMode = Literal[
    "http_500",
    "http_502",
    "http_503",
    "rate_limit",
    "timeout",
    "malformed_json",
    "graphql_errors",
    "partial_errors",
    "auth_401",
    "auth_errors",
]
FAULT_MODES: tuple[str, ...] = get_args(FaultMode)

BadKeyStyle = Literal["http_401", "graphql_errors"]
BAD_KEY_STYLES: tuple[str, ...] = get_args(BadKeyStyle)


@dataclass(frozen=True, slots=True)
class FaultConfig:
    """What the next ``/graphql`` requests suffer.

    ``count`` is how many requests get ``mode`` (None: every request until reset). Latency is
    added to every ``/graphql`` request, whatever the mode. ``bad_key`` is how an unknown or
    missing API key is answered. ``mutations_only``: queries pass untouched (and do not count),
    so a test can lose a mutation's answer while the read-back works.
    """

    mode: FaultMode | None = None
    count: int | None = None
    retry_after: float = 1.0
    latency_ms: int = 0
    timeout_seconds: float = 10.0
    bad_key: BadKeyStyle = "http_401"
    mutations_only: bool = False


class FaultConfigError(ValueError):
    """The control endpoint got a fault description it cannot use."""


def parse_fault_config(body: Any) -> FaultConfig:
    """A ``FaultConfig`` from the JSON body of ``POST /control/faults``."""
    if not isinstance(body, dict):
        raise FaultConfigError("body must be a JSON object")
    unknown = set(body) - set(FaultConfig.__dataclass_fields__)
    if unknown:
        raise FaultConfigError(f"unknown fields: {sorted(unknown)}")
    mode = body.get("mode")
    if mode is not None and mode not in FAULT_MODES:
        raise FaultConfigError(f"mode must be null or one of {list(FAULT_MODES)}, not {mode!r}")
    bad_key = body.get("bad_key", "http_401")
    if bad_key not in BAD_KEY_STYLES:
        raise FaultConfigError(f"bad_key must be one of {list(BAD_KEY_STYLES)}")
    return FaultConfig(
        mode=mode,
        count=_optional_count(body.get("count")),
        retry_after=_non_negative(body.get("retry_after", 1.0), "retry_after"),
        latency_ms=int(_non_negative(body.get("latency_ms", 0), "latency_ms")),
        timeout_seconds=_non_negative(body.get("timeout_seconds", 10.0), "timeout_seconds"),
        bad_key=bad_key,
        mutations_only=_flag(body.get("mutations_only", False), "mutations_only"),
    )


def _optional_count(value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FaultConfigError("count must be null or a positive integer")
    return value


def _non_negative(value: Any, name: str) -> float:
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise FaultConfigError(f"{name} must be a non-negative number")
    return float(value)


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise FaultConfigError(f"{name} must be true or false")
    return value
