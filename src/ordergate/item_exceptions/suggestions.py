"""Suggestions: ranked candidate products for an exception, never applied without a person.

Every candidate is one of the exception's vendor's matchable products
(`catalog.repository.matchable`), found by indexed look-ups (`repository.py`, below its
suggestions marker), never by reading the catalog into Python:

- GTIN variants (python-stdnum computes every check digit): the exact GTIN (`same_gtin`); for
  an invalid GTIN, the corrected check digit (`gtin_check_digit_typo`), one digit substituted,
  missing or extra (`gtin_one_digit_off`), two adjacent digits swapped (`gtin_digits_swapped`);
  for a valid one, the same article at another packaging level (GTIN-14 indicator digit) or
  the zero-padded form of a GTIN that lost its leading zeros (`gtin_other_form`), and a body
  digit off with its check digit recomputed (`gtin_one_digit_off`, weaker: two digits differ).
  All variants go to the database as one list on the (vendor_id, gtin_normalized) index.
- `same_sku` (case-insensitive, the (vendor_id, lower(sku)) index), `same_mpn` (a marketplace
  listing with this GTIN names an MPN; the vendor's products copied from a listing with that
  MPN), `remembered_elsewhere` (another vendor mapped this GTIN to a product that is the same
  article as one of this vendor's: copied from the same listing or with the same GTIN; only
  this vendor's product is shown, with how many vendors did).
- `title_similar`: pg_trgm (PostgreSQL) or FTS5 (SQLite) finds up to `TITLE_CANDIDATES`
  titles; every candidate's similarity to the line's product name is then computed here the
  same way on both databases (difflib), so the two rank alike.

The score is 1 - prod(1 - weight) over the candidate's reasons (independent evidence adds up,
never past 1); a `duplicate_gtin` exception ranks only the products that share its GTIN.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from enum import StrEnum

from sqlalchemy.orm import Session
from stdnum import ean

from ordergate.gtin import CANONICAL_LENGTH, canonical_gtin, normalize_gtin
from ordergate.item_exceptions import repository
from ordergate.item_exceptions.errors import OrderItemExceptionNotFoundError
from ordergate.orders.models import ExceptionType
from ordergate.scope import Scope

DEFAULT_LIMIT = 5
MAX_LIMIT = 20
# Rows each look-up may return: a vendor has few products per GTIN, SKU or MPN.
PER_LOOKUP = 20
TITLE_CANDIDATES = 15
# Below this similarity a title is no evidence (and the candidate is left out).
TITLE_SIMILAR_MIN = 0.5
TITLE_WEIGHT = 0.7
MAX_TITLE_WORDS = 12


class SuggestionReason(StrEnum):
    SAME_GTIN = "same_gtin"  # the vendor's product has exactly this GTIN (any form)
    GTIN_CHECK_DIGIT_TYPO = "gtin_check_digit_typo"  # invalid GTIN; only its check digit differs
    GTIN_ONE_DIGIT_OFF = "gtin_one_digit_off"  # one digit substituted, missing or extra
    GTIN_DIGITS_SWAPPED = "gtin_digits_swapped"  # two adjacent digits swapped
    GTIN_OTHER_FORM = "gtin_other_form"  # another packaging level, or leading zeros lost
    SAME_SKU = "same_sku"  # the line's SKU, ignoring case and surrounding blanks
    SAME_MPN = "same_mpn"  # a marketplace listing with this GTIN has the product's MPN
    REMEMBERED_ELSEWHERE = "remembered_elsewhere"  # another vendor mapped this GTIN to it
    TITLE_SIMILAR = "title_similar"  # the title resembles the line's product name


# How much each reason alone makes a candidate likely (the score combines them).
WEIGHTS: dict[SuggestionReason, float] = {
    SuggestionReason.SAME_GTIN: 0.7,
    SuggestionReason.GTIN_CHECK_DIGIT_TYPO: 0.9,
    SuggestionReason.GTIN_ONE_DIGIT_OFF: 0.75,
    SuggestionReason.GTIN_DIGITS_SWAPPED: 0.75,
    SuggestionReason.GTIN_OTHER_FORM: 0.8,
    SuggestionReason.SAME_SKU: 0.85,
    SuggestionReason.SAME_MPN: 0.8,
    SuggestionReason.REMEMBERED_ELSEWHERE: 0.6,
}
# A valid GTIN one body digit off a valid catalog GTIN differs in two digits (the check
# digit too): weaker than one typo in an invalid GTIN.
VALID_GTIN_ONE_DIGIT_OFF_WEIGHT = 0.5


@dataclass
class Suggestion:
    product: repository.ProductBrief
    score: float = 0.0
    reasons: list[SuggestionReason] = field(default_factory=list)
    title_similarity: float | None = None
    remembered_by_vendors: int | None = None
    _weights: dict[SuggestionReason, float] = field(default_factory=dict, repr=False)

    def add(self, reason: SuggestionReason, weight: float) -> None:
        self._weights[reason] = max(weight, self._weights.get(reason, 0.0))

    def finish(self) -> None:
        remaining = 1.0
        for weight in self._weights.values():
            remaining *= 1.0 - weight
        self.score = round(1.0 - remaining, 3)
        self.reasons = sorted(self._weights, key=lambda r: (-self._weights[r], r.value))


@dataclass(frozen=True, slots=True)
class SuggestionsView:
    exception_id: int
    exception_type: str
    suggestions: list[Suggestion]


def suggest_products(
    session: Session, *, scope: Scope, exception_id: int, limit: int = DEFAULT_LIMIT
) -> SuggestionsView:
    """The best `limit` candidates for the exception (any status), best first; another
    vendor's exception is reported as missing."""
    row = repository.get_exception(session, scope=scope, exception_id=exception_id)
    if row is None:
        raise OrderItemExceptionNotFoundError(exception_id)
    gtin = normalize_gtin(row.original_gtin)
    name = (row.original_product_name or "").strip()
    if row.exception_type == ExceptionType.DUPLICATE_GTIN and gtin.canonical is not None:
        # Ranks the products sharing the GTIN (the import found several; none is a guess).
        variants = {
            gtin.canonical: (SuggestionReason.SAME_GTIN, WEIGHTS[SuggestionReason.SAME_GTIN])
        }
        lookup = repository.CandidateLookup(
            canonical_gtins=[gtin.canonical], sku=None, mpn_of_gtin=None, title=None, title_words=[]
        )
    else:
        variants = gtin_variants(row.original_gtin)
        sku = (row.original_sku or "").strip()
        lookup = repository.CandidateLookup(
            canonical_gtins=sorted(variants),
            sku=sku or None,
            mpn_of_gtin=gtin.canonical,
            title=name or None,
            title_words=title_words(name),
        )
    found = repository.suggestion_candidates(
        session,
        vendor_id=row.vendor_id,
        lookup=lookup,
        limit=PER_LOOKUP,
        title_limit=TITLE_CANDIDATES,
    )
    remembered: dict[int, int] = {}
    if row.exception_type != ExceptionType.DUPLICATE_GTIN and gtin.key is not None:
        remembered = repository.remembered_elsewhere(
            session, vendor_id=row.vendor_id, gtin_key=gtin.key, limit=PER_LOOKUP
        )
    ids = sorted({product_id for product_id, _ in found} | set(remembered))
    products = {
        p.id: p for p in repository.products_by_ids(session, vendor_id=row.vendor_id, ids=ids)
    }
    suggestions: dict[int, Suggestion] = {}
    for product_id, via in found:
        product = products.get(product_id)
        if product is None:
            continue
        entry = suggestions.setdefault(product_id, Suggestion(product=product))
        if via == "gtin" and product.gtin_normalized in variants:
            entry.add(*variants[product.gtin_normalized])
        elif via == "sku":
            entry.add(SuggestionReason.SAME_SKU, WEIGHTS[SuggestionReason.SAME_SKU])
        elif via == "mpn":
            entry.add(SuggestionReason.SAME_MPN, WEIGHTS[SuggestionReason.SAME_MPN])
    for product_id, vendors in remembered.items():
        product = products.get(product_id)
        if product is None:
            continue
        entry = suggestions.setdefault(product_id, Suggestion(product=product))
        entry.add(
            SuggestionReason.REMEMBERED_ELSEWHERE, WEIGHTS[SuggestionReason.REMEMBERED_ELSEWHERE]
        )
        entry.remembered_by_vendors = vendors
    ranked = _ranked(suggestions.values(), name)
    return SuggestionsView(
        exception_id=row.id, exception_type=row.exception_type, suggestions=ranked[:limit]
    )


def _ranked(candidates: Iterable[Suggestion], name: str) -> list[Suggestion]:
    """Title evidence added, scores computed, best first; candidates without any reason (a
    title found by the search but too unlike the name) are left out."""
    kept: list[Suggestion] = []
    for entry in candidates:
        if name:
            similarity = round(title_similarity(name, entry.product.title), 3)
            entry.title_similarity = similarity
            if similarity >= TITLE_SIMILAR_MIN:
                entry.add(SuggestionReason.TITLE_SIMILAR, TITLE_WEIGHT * similarity)
        entry.finish()
        if entry.reasons:
            kept.append(entry)
    kept.sort(key=lambda s: (-s.score, -(s.title_similarity or 0.0), s.product.id))
    return kept


# --- GTIN variants ------------------------------------------------------------------------


def gtin_variants(raw: str | None) -> dict[str, tuple[SuggestionReason, float]]:
    """Canonical GTINs a mistyped or differently written ``raw`` may stand for, each with the
    reason and weight it would give (the strongest when several lead to one GTIN)."""
    gtin = normalize_gtin(raw)
    variants: dict[str, tuple[SuggestionReason, float]] = {}

    def put(candidate: str, reason: SuggestionReason, weight: float | None = None) -> None:
        canonical = canonical_gtin(candidate)
        if canonical is None:
            return
        chosen = (reason, WEIGHTS[reason] if weight is None else weight)
        if canonical not in variants or variants[canonical][1] < chosen[1]:
            variants[canonical] = chosen

    if gtin.status == "missing":
        return variants
    if gtin.canonical is not None:
        canonical = gtin.canonical
        # Every variant below gets its check digit computed, so it is valid and canonical as
        # it stands (14 digits; an all-zero body cannot arise from a valid GTIN's).
        # The same body at another packaging level (GTIN-14 indicator digit 0-9).
        other_form = (SuggestionReason.GTIN_OTHER_FORM, WEIGHTS[SuggestionReason.GTIN_OTHER_FORM])
        for indicator in "0123456789":
            if indicator != canonical[0]:
                variants[_with_check(indicator + canonical[1:-1])] = other_form
        # One body digit off, check digit recomputed.
        one_off = (SuggestionReason.GTIN_ONE_DIGIT_OFF, VALID_GTIN_ONE_DIGIT_OFF_WEIGHT)
        for position in range(1, CANONICAL_LENGTH - 1):
            for digit in "0123456789":
                if digit != canonical[position]:
                    body = canonical[:position] + digit + canonical[position + 1 : -1]
                    variants.setdefault(_with_check(body), one_off)
        variants[canonical] = (SuggestionReason.SAME_GTIN, WEIGHTS[SuggestionReason.SAME_GTIN])
        return variants
    assert raw is not None
    digits = ean.compact(raw)
    if not (digits.isascii() and digits.isdigit()):
        return variants
    length = len(digits)
    if length in (8, 12, 13, 14):
        put(_with_check(digits[:-1]), SuggestionReason.GTIN_CHECK_DIGIT_TYPO)
        for position in range(length - 1):
            for digit in "0123456789":
                if digit != digits[position]:
                    put(
                        digits[:position] + digit + digits[position + 1 :],
                        SuggestionReason.GTIN_ONE_DIGIT_OFF,
                    )
    for position in range(length - 1):
        if digits[position] != digits[position + 1]:
            swapped = (
                digits[:position] + digits[position + 1] + digits[position] + digits[position + 2 :]
            )
            put(swapped, SuggestionReason.GTIN_DIGITS_SWAPPED)
    if length + 1 in (8, 12, 13, 14):
        for position in range(length + 1):
            for digit in "0123456789":
                put(
                    digits[:position] + digit + digits[position:],
                    SuggestionReason.GTIN_ONE_DIGIT_OFF,
                )
    if length - 1 in (8, 12, 13, 14):
        for position in range(length):
            put(digits[:position] + digits[position + 1 :], SuggestionReason.GTIN_ONE_DIGIT_OFF)
    if length < CANONICAL_LENGTH:
        # Leading zeros lost (a UPC-A read as a number): the padded form.
        put(digits.zfill(CANONICAL_LENGTH), SuggestionReason.GTIN_OTHER_FORM)
    return variants


def _with_check(body: str) -> str:
    return body + ean.calc_check_digit(body)


# --- titles -------------------------------------------------------------------------------

_WORD = re.compile(r"\w+")


def _plain(text: str) -> str:
    """Case-folded, accents removed, one space between words."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORD.findall(stripped))


def title_words(name: str) -> list[str]:
    """The distinct words of a product name the title search looks for (two characters or
    more, at most `MAX_TITLE_WORDS`)."""
    words: list[str] = []
    for word in _plain(name).split():
        if len(word) >= 2 and word not in words:
            words.append(word)
    return words[:MAX_TITLE_WORDS]


def title_similarity(name: str, title: str) -> float:
    """0-1, the same on both databases: difflib's ratio of the plain texts, or of their words
    in sorted order when that is higher (word order differs between marketplace and catalog)."""
    a, b = _plain(name), _plain(title)
    if not a or not b:
        return 0.0
    direct = SequenceMatcher(None, a, b).ratio()
    by_words = SequenceMatcher(None, " ".join(sorted(a.split())), " ".join(sorted(b.split())))
    return max(direct, by_words.ratio())
