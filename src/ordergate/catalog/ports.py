"""What the catalog needs from the order-exception workflow, as interfaces it is handed.

Products added to a vendor's catalog resolve the exceptions waiting for them, but the
catalog sits below the exceptions in the domain graph: its write use cases take these as
required keyword arguments, and the wiring (the endpoints, the CLI, the demo seed, the
benchmark) passes ``ordergate.item_exceptions.matching``'s functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.orm import Session


class ProductsAdded(Protocol):
    """Called in the same transaction after products joined the vendor's catalog; returns
    how many pending exceptions they resolved (``matching.auto_match_products``)."""

    def __call__(self, session: Session, *, vendor_id: int, product_ids: Sequence[int]) -> int: ...


class PendingGtins(Protocol):
    """The canonical GTINs the vendor's pending exceptions wait for
    (``matching.pending_gtins``)."""

    def __call__(self, session: Session, *, vendor_id: int) -> set[str]: ...


class Matched(Protocol):
    @property
    def resolved(self) -> int: ...


class MatchGtins(Protocol):
    """Resolve (or flag) the vendor's pending exceptions waiting for ``gtins`` (at most
    ``GtinMatching.batch_size`` of them) in the caller's transaction
    (``matching.match_gtins``)."""

    def __call__(self, session: Session, *, vendor_id: int, gtins: Sequence[str]) -> Matched: ...


@dataclass(frozen=True, slots=True)
class GtinMatching:
    """The copy job's matching step, run after every batch is copied (so it sees all the
    candidates of a GTIN): the GTINs waiting, then ``match`` over ``batch_size`` of them per
    committed transaction (the matcher's IN-list size, so each batch is an indexed look-up)."""

    pending: PendingGtins
    match: MatchGtins
    batch_size: int
