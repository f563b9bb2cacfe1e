"""Errors the Letzshop client raises.

They know nothing about HTTP frameworks: the application layer maps them to its own ``AppError``
codes. Each carries a ``message`` that is safe to show (for an unreachable or misbehaving
endpoint it is one fixed text, so it never tells what answered) and a ``detail`` for the server
log; neither ever holds the API key.
"""

from __future__ import annotations


class LetzshopError(Exception):
    """Base of every error the Letzshop client raises."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail or message


class LetzshopUnavailableError(LetzshopError):
    """Letzshop kept failing transiently (429, 5xx, timeout, connection) until retries ran out."""

    def __init__(
        self, message: str, *, last_reason: str, attempts: int, detail: str | None = None
    ) -> None:
        super().__init__(message, detail=detail)
        self.last_reason = last_reason
        self.attempts = attempts


class LetzshopAuthError(LetzshopError):
    """The API key was refused: HTTP 401/403, or GraphQL errors saying so. Never retried."""


class LetzshopGraphQLError(LetzshopError):
    """Letzshop answered with GraphQL ``errors`` and without the data that was asked for."""

    def __init__(self, message: str, *, messages: list[str]) -> None:
        super().__init__(message)
        self.messages = messages


class LetzshopProtocolError(LetzshopError):
    """The answer was not the expected shape: malformed JSON, missing keys, wrong types."""
