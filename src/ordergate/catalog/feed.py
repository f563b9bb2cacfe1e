"""Reading a Letzshop / Google-Shopping tab-separated product feed, one record at a time.

Pure parsing: no database. Each record becomes either a ``FeedProduct`` (ready to upsert, with
its warnings) or a ``FeedRowError`` naming its row, so one bad line never loses the good ones.
File-level problems (empty, not UTF-8, not tab-separated, broken quoting) raise
``FeedFormatError``; ``check_feed`` finds them in a first pass, so the import writes nothing.
An empty cell is ``None``: "not given", which an update never writes over a stored value.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import IO, Any

from stdnum import ean

from ordergate.catalog.errors import (
    FeedEmptyError,
    FeedEncodingError,
    FeedHeaderError,
    FeedMalformedError,
)
from ordergate.gtin import normalize_gtin

# Column -> (model field, max length); every other non-empty column goes into ``attributes``.
_TEXT_COLUMNS: dict[str, tuple[str, int | None]] = {
    "id": ("marketplace_product_id", 255),
    "title": ("title", 500),
    "description": ("description", None),
    "brand": ("brand", 255),
    "mpn": ("mpn", 100),
    "sku": ("sku", 100),
    "gtin": ("gtin", 50),
}
_REQUIRED_COLUMNS = ("id", "title")
_PRICE_COLUMN = "price"
_NUL = "\x00"
# The largest price an integer-cents column holds on every backend (PostgreSQL int4).
MAX_PRICE_CENTS = 2**31 - 1

_PRICE_RE = re.compile(
    r"^(?:(?P<pre>[A-Za-z]{3})\s*)?(?P<amount>[0-9][0-9.,\s]*?)\s*(?P<post>[A-Za-z]{3})?$"
)
_PLAIN_PRICE_RE = re.compile(r"^(?P<units>[0-9]{1,9})\.(?P<cents>[0-9]{2}) (?P<currency>[A-Z]{3})$")
_GTIN_TYPES = {8: "gtin8", 12: "gtin12", 13: "gtin13", 14: "gtin14", 10: "isbn10"}


@dataclass(frozen=True, slots=True)
class FeedProduct:
    row: int
    key: str  # the marketplace product id
    values: dict[str, Any]  # MarketplaceProduct columns, without marketplace and timestamps
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FeedRowError:
    row: int
    error: str


@dataclass(frozen=True, slots=True)
class FeedRowWarning:
    row: int
    warning: str


@dataclass(frozen=True, slots=True)
class Price:
    cents: int
    currency: str | None


class PriceError(ValueError):
    pass


def parse_price(raw: str) -> Price:
    """``19.99 EUR``, ``19,99 EUR``, ``EUR 19.99`` or ``19.99`` -> cents (half-up) and currency.

    When both ``.`` and ``,`` appear the last one is the decimal separator (``1.299,99``,
    ``1,299.99``); a separator that appears several times alone groups thousands.
    """
    plain = _PLAIN_PRICE_RE.match(raw)
    if plain is not None:  # the common "19.99 EUR", without the general path's regex work
        cents = int(plain["units"]) * 100 + int(plain["cents"])
        if cents > MAX_PRICE_CENTS:
            raise PriceError(f"price '{raw}' is too large")
        return Price(cents=cents, currency=plain["currency"])
    match = _PRICE_RE.match(raw.strip())
    if match is None or (match["pre"] and match["post"]):
        raise PriceError(f"price '{raw}' is not an amount with an optional currency code")
    amount = re.sub(r"\s", "", match["amount"])
    currency = (match["pre"] or match["post"] or "").upper() or None
    last_dot, last_comma = amount.rfind("."), amount.rfind(",")
    if last_dot >= 0 and last_comma >= 0:
        decimal_sep = "." if last_dot > last_comma else ","
        group_sep = "," if decimal_sep == "." else "."
        if amount.count(decimal_sep) > 1:
            raise PriceError(f"price '{raw}' has an ambiguous number format")
        amount = amount.replace(group_sep, "").replace(decimal_sep, ".")
    elif last_dot >= 0 or last_comma >= 0:
        sep = "." if last_dot >= 0 else ","
        amount = amount.replace(sep, "") if amount.count(sep) > 1 else amount.replace(sep, ".")
    try:
        value = Decimal(amount)
    except InvalidOperation as exc:
        raise PriceError(f"price '{raw}' is not a number") from exc
    # Checked before quantize, which fails outright past Decimal's 28-digit precision.
    if value * 100 > MAX_PRICE_CENTS:
        raise PriceError(f"price '{raw}' is too large")
    cents = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents > MAX_PRICE_CENTS:
        raise PriceError(f"price '{raw}' is too large")
    return Price(cents=cents, currency=currency)


def gtin_fields(raw: str | None) -> dict[str, str | None]:
    """The raw GTIN as given, its canonical 14-digit form and its type; both null when invalid."""
    gtin = normalize_gtin(raw)
    if gtin.canonical is None:
        return {"gtin": raw or None, "gtin_normalized": None, "gtin_type": None}
    raw = gtin.raw or ""
    # Plain digits need no clean-up (the common case, and hot in the import).
    compact = raw if raw.isascii() and raw.isdigit() else ean.compact(raw)
    return {
        "gtin": raw,
        "gtin_normalized": gtin.canonical,
        "gtin_type": _GTIN_TYPES.get(len(compact)),
    }


def _column_name(header: str) -> str:
    name = header.strip().lower()
    return name[2:] if name.startswith("g:") else name


def read_feed(stream: IO[bytes]) -> Iterator[FeedProduct | FeedRowError]:
    """Yield one result per non-blank record. Rows are numbered as a spreadsheet shows them
    (the header is row 1, blank lines keep their number), so an error points at the right line."""
    for row, columns, record in _records(stream):
        yield _parse_record(row, columns, record)


def check_feed(stream: IO[bytes]) -> int:
    """Read the whole file as a feed without parsing its rows: raise ``FeedFormatError`` for
    what would stop the import half-way, else return the number of records."""
    return sum(1 for _ in _records(stream))


def _records(stream: IO[bytes]) -> Iterator[tuple[int, list[str], list[str]]]:
    # utf-8-sig drops a byte-order mark; newline="" lets csv handle CRLF and quoted newlines.
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="strict", newline="")
    records = enumerate(csv.reader(text, dialect="excel-tab"), start=1)
    row = 0
    try:
        # `row` is read by the error handlers below, to say where reading stopped.
        for row, record in records:  # noqa: B007
            if "".join(record).strip():  # not a blank line
                columns = [_column_name(h) for h in record]
                _check_header(columns)
                break
        else:
            raise FeedEmptyError()
        for row, record in records:
            if "".join(record).strip():  # not a blank line
                yield row, columns, record
    except UnicodeDecodeError as exc:
        raise FeedEncodingError(row=row + 1) from exc
    except csv.Error as exc:
        raise FeedMalformedError(row=row + 1, reason=str(exc)) from exc
    finally:
        # The caller owns the binary stream: hand it back instead of closing it with the wrapper.
        text.detach()


def _check_header(columns: list[str]) -> None:
    if any(_NUL in c for c in columns):
        raise FeedHeaderError.nul()
    missing = [c for c in _REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise FeedHeaderError.missing(missing, found=columns)
    duplicates = sorted({c for c in columns if c and columns.count(c) > 1})
    if duplicates:
        raise FeedHeaderError.repeated(duplicates)


def _parse_record(row: int, columns: list[str], record: list[str]) -> FeedProduct | FeedRowError:
    if len(record) != len(columns):
        return FeedRowError(row, _field_count_error(len(columns), record))
    values: dict[str, Any] = {field: None for field, _ in _TEXT_COLUMNS.values()}
    attributes: dict[str, str] = {}
    price_raw: str | None = None
    for number, (column, raw) in enumerate(zip(columns, record, strict=True), start=1):
        if _NUL in raw:
            return FeedRowError(row, f"{column or f'column {number}'} contains a NUL character")
        value = raw.strip()
        if column in _TEXT_COLUMNS:
            field, max_length = _TEXT_COLUMNS[column]
            if max_length is not None and len(value) > max_length:
                return FeedRowError(row, f"{column} is longer than {max_length} characters")
            values[field] = value or None
        elif column == _PRICE_COLUMN:
            price_raw = value or None
        elif column and value:
            attributes[column] = value
    if values["marketplace_product_id"] is None:
        return FeedRowError(row, "id is missing")
    if values["title"] is None:
        return FeedRowError(row, "title is missing")
    values.update(gtin_fields(values["gtin"]))
    values["price_cents"], values["currency"] = None, None
    if price_raw is not None:
        try:
            price = parse_price(price_raw)
        except PriceError as exc:
            return FeedRowError(row, str(exc))
        values["price_cents"], values["currency"] = price.cents, price.currency
    values["attributes"] = attributes
    warnings: tuple[str, ...] = ()
    if values["gtin"] is not None and values["gtin_normalized"] is None:
        warnings = (
            f"gtin '{values['gtin']}' is not a valid GTIN-8/12/13/14 (length or check digit); "
            "it is not used for matching",
        )
    key = values["marketplace_product_id"]
    return FeedProduct(row=row, key=key, values=values, warnings=warnings)


def _field_count_error(expected: int, record: list[str]) -> str:
    message = f"{len(record)} fields but the header has {expected}"
    # Tabs or line breaks inside a value come only from quoting: most likely a stray quote.
    if any("\t" in field or "\n" in field for field in record):
        message += '; a field starting with a quote (") swallowed the tabs after it'
    return message
