"""Schemas and field types shared by every domain.

Every request field and parameter uses one of the types below, so the OpenAPI document states
what the app accepts: integers with both bounds (ids fit the databases' 32-bit columns), strings
with a maximum length and a pattern that refuses NUL (PostgreSQL cannot store it and SQLite's
full-text search cannot parse it), and strict booleans. See docs/limits.md.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Self

from fastapi import Query
from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_serializer,
)

from ordergate.db import PageRequest

INT32_MAX = 2**31 - 1
NOTES_MAX_LENGTH = 2_000
# Patterns, not validators, so schema-driven clients (schemathesis) know NUL is refused.
NO_NUL = r"^[^\x00]*$"
# Whitespace as Unicode White_Space, spelled out: `\s` means a different set to each engine
# that reads the pattern (pydantic's Rust regex, Python's re, the ECMA-262 regex of JSON Schema
# clients such as schemathesis, which would generate "\x85" as text).
WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)
WHITESPACE_CLASS = r"\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# At least one character that is not whitespace, checked on the text as sent (pydantic's
# strip_whitespace would strip first, so "\u00a0" met minLength 1 in the schema but not in the
# app). Required texts are trimmed of the same characters only after this check.
NON_BLANK = rf"^[^\x00]*[^\x00{WHITESPACE_CLASS}][^\x00]*$"


def trim(value: str) -> str:
    return value.strip(WHITESPACE)


def _json_integer(value: Any) -> Any:
    # pydantic's lax int takes `false` and "5"; JSON Schema's integer is a number with no
    # fraction (5.0 included, so strict mode would refuse schema-valid input).
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON integer")
    return value


# The bounds come first so they constrain the integer (and appear as minimum/maximum).
Id = Annotated[int, Field(ge=1, le=INT32_MAX), BeforeValidator(_json_integer)]
Cents = Annotated[int, Field(ge=0, le=INT32_MAX), BeforeValidator(_json_integer)]
# A JSON integer (no boolean, no numeric text), for bounded integers of request bodies.
JsonInteger = BeforeValidator(_json_integer)
# Path and query values arrive as text, so their integers are parsed from it.
IdParam = Annotated[int, Field(ge=1, le=INT32_MAX)]
Text = Annotated[str, StringConstraints(pattern=NO_NUL)]

Notes = Annotated[str, StringConstraints(max_length=NOTES_MAX_LENGTH, pattern=NO_NUL)]
RequiredNotes = Annotated[
    str,
    StringConstraints(min_length=1, max_length=NOTES_MAX_LENGTH, pattern=NON_BLANK),
    AfterValidator(trim),
]
Flag = Annotated[bool, Strict()]


def _query_bool(value: Any) -> Any:
    # Query values arrive as text; only the two spellings OpenAPI clients send are booleans
    # (pydantic would also take 1, "yes", "on", ...).
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


QueryFlag = Annotated[bool, BeforeValidator(_query_bool), Strict()]

_HTTP_URL: TypeAdapter[AnyHttpUrl] = TypeAdapter(AnyHttpUrl)


def _http_url(value: str) -> str:
    try:
        return str(_HTTP_URL.validate_python(value))
    except ValidationError as exc:
        raise ValueError("must be an http or https URL") from exc


# A URL kept as text: the URL type would percent-encode a NUL instead of refusing it.
HttpUrlText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=2083, pattern=r"^https?://[^\x00]+$"),
    AfterValidator(_http_url),
]

Skip = Annotated[int, Query(ge=0, le=INT32_MAX, description="Rows to skip")]
Limit = Annotated[int, Query(ge=1, le=200, description="Rows to return (max 200)")]


class Schema(BaseModel):
    model_config = ConfigDict(from_attributes=True)


_PAGE_COUNTS = ("total", "skip", "limit")


class Page(BaseModel):
    """A list envelope: a subclass adds its named list (`exceptions`, `orders`, ...) and the
    three counters follow it in the body, as the specification's lists have them."""

    total: int = Field(description="Rows matching the filters, on every page")
    skip: int
    limit: int

    # No return annotation on purpose: with one, pydantic documents the body as a free-form
    # object instead of the model's fields.
    @model_serializer(mode="wrap")
    def _counts_last(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if k not in _PAGE_COUNTS} | {
            k: data[k] for k in _PAGE_COUNTS
        }

    @classmethod
    def of(cls, rows: Any, total: int, page: PageRequest) -> Self:
        """The envelope of one page: `rows` go to the subclass's one list field."""
        (name,) = (n for n in cls.model_fields if n not in _PAGE_COUNTS)
        return cls.model_validate({name: rows, "total": total, **asdict(page)})


class ErrorDetail(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in {
        400: "Business rule violated",
        401: "Missing or invalid token",
        403: "Not allowed",
        404: "Not found",
        409: "Conflicts with existing data",
        413: "Request body too large",
        422: "Invalid request",
    }.items()
}
