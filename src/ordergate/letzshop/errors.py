"""Errors the Letzshop client raises.

They know nothing about HTTP frameworks: the application layer maps them to its own ``AppError``
codes. Each carries a message that names what failed, never the API key.
"""

from __future__ import annotations


class LetzshopError(Exception):
    """Base of every error the Letzshop client raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class LetzshopUnavailableError(LetzshopError):
    """Letzshop kept failing transiently (429, 5xx, timeout, connection) until retries ran out."""

    def __init__(self, message: str, *, last_reason: str, attempts: int) -> None:
        super().__init__(message)
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
