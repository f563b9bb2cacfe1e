"""The catalog's errors (codes in docs/errors.md)."""

from __future__ import annotations

from ordergate.errors import AppError, NotFoundError, ValidationFailedError

# How many missing ids an error lists; the count is always exact.
MAX_IDS_REPORTED = 100
# How many missing ids the message names.
_IDS_IN_MESSAGE = 20


class MarketplaceProductsNotFoundError(NotFoundError):
    code = "MARKETPLACE_PRODUCTS_NOT_FOUND"

    def __init__(self, missing: list[int]) -> None:
        shown = ", ".join(str(i) for i in missing[:_IDS_IN_MESSAGE])
        more = " ..." if len(missing) > _IDS_IN_MESSAGE else ""
        super().__init__(
            f"{len(missing)} marketplace product(s) not found: {shown}{more}",
            details={"missing_ids": missing[:MAX_IDS_REPORTED], "missing_count": len(missing)},
        )


class TooManyCopyIdsError(ValidationFailedError):
    """More distinct ids than one copy-to-catalog request takes (code VALIDATION_ERROR)."""

    def __init__(self, *, given: int, limit: int) -> None:
        super().__init__(
            f"At most {limit} marketplace products per request; got {given}",
            details={"field": "marketplace_product_ids", "max": limit},
        )


class InvalidGtinError(ValidationFailedError):
    code = "INVALID_GTIN"

    def __init__(self, gtin: str) -> None:
        super().__init__(
            f"gtin '{gtin}' is not a valid GTIN-8/12/13/14 (length or check digit)",
            details={"field": "gtin", "value": gtin},
        )


class CatalogImportRunNotFoundError(NotFoundError):
    code = "CATALOG_IMPORT_RUN_NOT_FOUND"

    def __init__(self, run_id: int) -> None:
        super().__init__(f"Catalog import run {run_id} not found")


# --- the feed file as a whole (row-level problems are reported per row instead) ------------


class FeedFormatError(AppError):
    """The file as a whole cannot be read as a product feed."""

    status_code = 400
    code = "CSV_INVALID"


class FeedEmptyError(FeedFormatError):
    code = "CSV_EMPTY"

    def __init__(self) -> None:
        super().__init__("The file is empty; expected a tab-separated product feed")


class FeedEncodingError(FeedFormatError):
    code = "CSV_NOT_UTF8"

    def __init__(self, *, row: int) -> None:
        super().__init__(
            f"The file is not UTF-8 text (undecodable bytes near row {row}); save it as UTF-8",
            details={"row": row},
        )


class FeedMalformedError(FeedFormatError):
    code = "CSV_MALFORMED"

    def __init__(self, *, row: int, reason: str) -> None:
        super().__init__(
            f"Row {row} cannot be read as tab-separated values: {reason}", details={"row": row}
        )


class FeedHeaderError(FeedFormatError):
    code = "CSV_HEADER_INVALID"

    @classmethod
    def nul(cls) -> FeedHeaderError:
        return cls("The header contains a NUL character")

    @classmethod
    def missing(cls, missing: list[str], *, found: list[str]) -> FeedHeaderError:
        return cls(
            f"The header lacks the column(s) {', '.join(missing)}; expected a tab-separated "
            "feed with at least 'id' and 'title'",
            details={"missing_columns": missing, "found_columns": found[:20]},
        )

    @classmethod
    def repeated(cls, duplicates: list[str]) -> FeedHeaderError:
        return cls(
            f"The header repeats the column(s) {', '.join(duplicates)}",
            details={"duplicate_columns": duplicates},
        )
