"""Parsing a feed without a database: prices, GTIN fields, row errors, file-level errors."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.catalog.errors import (
    FeedEmptyError,
    FeedEncodingError,
    FeedHeaderError,
    FeedMalformedError,
)
from ordergate.catalog.feed import (
    FeedProduct,
    FeedRowError,
    Price,
    PriceError,
    gtin_fields,
    parse_price,
    read_feed,
)
from tests.factories import tsv

HEADER = ["id", "title", "price", "gtin"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("19.99 EUR", Price(1999, "EUR")),
        ("19,99 EUR", Price(1999, "EUR")),
        ("19.99", Price(1999, None)),
        ("EUR 5", Price(500, "EUR")),
        ("0.005 eur", Price(1, "EUR")),
        ("0.004 EUR", Price(0, "EUR")),
        ("1.299,95 EUR", Price(129995, "EUR")),
        ("1,299.95 EUR", Price(129995, "EUR")),
        ("1.299.000 EUR", Price(129900000, "EUR")),
    ],
)
def test_price_parses_to_cents_half_up(raw: str, expected: Price) -> None:
    assert parse_price(raw) == expected


@pytest.mark.parametrize("raw", ["free", "19.99 EURO", "EUR 1 USD", "-5 EUR", "1.2.3,4,5", "1e5"])
def test_price_garbage_is_rejected(raw: str) -> None:
    with pytest.raises(PriceError):
        parse_price(raw)


@pytest.mark.parametrize("raw", ["30000000 EUR", "1" * 27, "9" * 60 + ".99"])
def test_price_above_integer_range_is_rejected(raw: str) -> None:
    # 27+ digits exceed Decimal's default precision: still a row error, never a crash.
    with pytest.raises(PriceError, match="too large"):
        parse_price(raw)


@pytest.mark.parametrize(
    ("raw", "canonical", "gtin_type"),
    [
        ("4006381333931", "04006381333931", "gtin13"),
        ("96385074", "00000096385074", "gtin8"),
        ("036000291452", "00036000291452", "gtin12"),
        ("04006381333931", "04006381333931", "gtin14"),
    ],
)
def test_valid_gtin_gets_canonical_form_and_type(raw: str, canonical: str, gtin_type: str) -> None:
    assert gtin_fields(raw) == {"gtin": raw, "gtin_normalized": canonical, "gtin_type": gtin_type}


def test_invalid_gtin_keeps_raw_without_canonical_form() -> None:
    assert gtin_fields("4006381333932") == {
        "gtin": "4006381333932",
        "gtin_normalized": None,
        "gtin_type": None,
    }


def _read(data: bytes) -> list[FeedProduct | FeedRowError]:
    return list(read_feed(io.BytesIO(data)))


def test_rows_are_numbered_like_a_spreadsheet_and_blank_lines_are_not_products() -> None:
    data = tsv(HEADER, ["a", "A", "", ""], [""], ["", "no id", "", ""], ["c", "C", "", ""])
    results = _read(data)
    assert [(type(r).__name__, r.row) for r in results] == [
        ("FeedProduct", 2),
        ("FeedRowError", 4),
        ("FeedProduct", 5),
    ]


def test_unknown_columns_go_to_attributes_and_g_prefix_is_understood() -> None:
    data = tsv(
        ["g:id", "g:title", "link", "availability", "condition"], ["a", "A", "u", "in stock", ""]
    )
    (result,) = _read(data)
    assert isinstance(result, FeedProduct)
    assert result.values["marketplace_product_id"] == "a"
    assert result.values["attributes"] == {"link": "u", "availability": "in stock"}


def test_quoted_field_with_tab_and_newline_is_one_value() -> None:
    data = b'id\ttitle\tdescription\na\tA\t"two\tparts\nand lines"\n'
    (result,) = _read(data)
    assert isinstance(result, FeedProduct)
    assert result.values["description"] == "two\tparts\nand lines"


def test_row_with_more_fields_than_header_is_a_row_error() -> None:
    (result,) = _read(tsv(["id", "title"], ["a", "A", "extra"]))
    assert result == FeedRowError(2, "3 fields but the header has 2")


def test_too_long_title_is_a_row_error() -> None:
    (result,) = _read(tsv(["id", "title"], ["a", "x" * 501]))
    assert result == FeedRowError(2, "title is longer than 500 characters")


def test_whitespace_only_file_is_empty() -> None:
    with pytest.raises(FeedEmptyError):
        _read(b"\n\r\n  \n")


def test_comma_separated_file_has_no_id_column() -> None:
    with pytest.raises(FeedHeaderError, match="id, title"):
        _read(b"id,title,price\na,A,1.00 EUR\n")


def test_field_beyond_the_csv_size_limit_is_malformed() -> None:
    with pytest.raises(FeedMalformedError, match="Row 2"):
        _read(b"id\ttitle\tdescription\na\tA\t" + b"x" * 200_000 + b"\n")


def test_latin1_bytes_are_not_utf8() -> None:
    with pytest.raises(FeedEncodingError):
        _read("id\ttitle\na\tCafé\n".encode("latin-1"))


@given(
    units=st.integers(0, 10**9), cents=st.integers(0, 99), currency=st.sampled_from(["EUR", "USD"])
)
def test_plain_prices_parse_like_the_general_rule(units: int, cents: int, currency: str) -> None:
    raw = f"{units}.{cents:02d} {currency}"
    expected = units * 100 + cents
    if expected > 2**31 - 1:
        with pytest.raises(PriceError, match="too large"):
            parse_price(raw)
    else:
        assert parse_price(raw) == Price(expected, currency)
        assert parse_price(f"{currency} {units}.{cents:02d}") == Price(expected, currency)
