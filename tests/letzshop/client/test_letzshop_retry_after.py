"""Reading Retry-After headers (pure function; the waiting itself is tested over HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ordergate.letzshop.client import parse_retry_after

NOW = datetime(2024, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("3", 3.0),
        (" 0.25 ", 0.25),
        ("0", 0.0),
        ("-5", 0.0),
        ("Fri, 01 Mar 2024 12:00:07 GMT", 7.0),
        ("Fri, 01 Mar 2024 11:59:00 GMT", 0.0),
        ("1e400", float("inf")),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after(header: str | None, seconds: float | None) -> None:
    assert parse_retry_after(header, now=NOW) == seconds
