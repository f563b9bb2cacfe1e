"""GTIN normalisation: every valid GTIN-8/12/13/14 (and ISBN-10) becomes one canonical
14-digit form, so ``04006381333931`` and ``4006381333931`` match. Check digits come from
python-stdnum, never hand-rolled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from stdnum import ean, isbn
from stdnum.exceptions import ValidationError

CANONICAL_LENGTH = 14


@dataclass(frozen=True, slots=True)
class Gtin:
    raw: str | None
    status: Literal["valid", "invalid", "missing"]
    canonical: str | None  # 14 digits, zero-padded; set only when valid

    @property
    def key(self) -> str | None:
        """The lookup key for remembered mappings: canonical when valid, else the trimmed raw."""
        if self.canonical is not None:
            return self.canonical
        return self.raw.strip() if self.raw and self.raw.strip() else None


def normalize_gtin(raw: str | None) -> Gtin:
    if raw is None or not raw.strip():
        return Gtin(raw=raw, status="missing", canonical=None)
    # Plain digits skip stdnum's clean-up (the common case, and hot in the import).
    compact = raw if raw.isascii() and raw.isdigit() else ean.compact(raw)
    canonical = _canonical(compact)
    if canonical is None:
        return Gtin(raw=raw, status="invalid", canonical=None)
    return Gtin(raw=raw, status="valid", canonical=canonical)


def canonical_gtin(raw: str | None) -> str | None:
    """The canonical form of a valid GTIN, else None."""
    return normalize_gtin(raw).canonical


def _canonical(compact: str) -> str | None:
    if len(compact) == 10:
        try:
            compact = isbn.to_isbn13(isbn.validate(compact))
        except ValidationError:
            return None
    if not (compact.isascii() and compact.isdigit()) or len(compact) not in (8, 12, 13, 14):
        return None
    if ean.calc_check_digit(compact[:-1]) != compact[-1]:
        return None
    digits = compact
    # All zeros passes the check digit but is no article (it is the placeholder's GTIN).
    if not digits.strip("0"):
        return None
    return digits.zfill(CANONICAL_LENGTH)
