"""The import parses batches in a thread ahead of the writer: order, errors and early stops."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest

from ordergate.catalog.jobs import _prefetched


def _batches(n: int, fail_at: int | None = None) -> Iterator[list[int]]:
    for i in range(n):
        if i == fail_at:
            raise ValueError(f"bad batch {i}")
        yield [i]


def test_batches_arrive_in_order() -> None:
    assert list(_prefetched(_batches(50))) == [[i] for i in range(50)]


def test_an_error_while_parsing_is_raised_in_the_consumer_after_the_good_batches() -> None:
    batches = _prefetched(_batches(10, fail_at=3))
    assert [next(batches) for _ in range(3)] == [[0], [1], [2]]
    with pytest.raises(ValueError, match="bad batch 3"):
        next(batches)


def test_a_consumer_that_stops_early_stops_the_parser() -> None:
    with closing(_prefetched(_batches(1000))) as batches:
        assert next(batches) == [0]
    # closing joined the parser thread; nothing is left running (the test would hang otherwise).
