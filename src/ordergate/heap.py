"""Long-running processes keep their start-up objects out of the cyclic collector's passes.

A process that has started (modules, mappers, compiled statements, settings: a few hundred
thousand objects) then runs requests or sync pages whose ORM rows outlive two young collections.
Every few such promotions CPython runs a full collection, which walks the whole heap: 240-350 ms
each on the benchmark machine, every 20-30 dashboard requests, and 5 s of a 20,000-shipment
import (bench/RESULTS.md, 2026-12-04). `gc.freeze()` moves what exists now into a permanent
generation that the collector skips; `gc.unfreeze()` gives it back when the process (or one of
the test suite's many apps) is done, so nothing frozen is kept for good.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def startup_objects_frozen() -> Iterator[None]:
    """Within: what was alive on entry is left out of garbage collection's full passes."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
