from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from ordergate.item_exceptions.suggestions import SuggestionReason
from ordergate.orders.models import ExceptionStatus, ExceptionType, OrderStatus
from ordergate.schemas import NON_BLANK, Flag, Id, Notes, Page, RequiredNotes, Schema, trim

# Checked as sent, then trimmed: the trimmed form is what is compared and echoed.
BulkGtin = Annotated[
    str,
    StringConstraints(min_length=1, max_length=50, pattern=NON_BLANK),
    AfterValidator(trim),
]


class ExceptionOut(Schema):
    id: int
    order_item_id: int
    vendor_id: int
    original_gtin: str | None
    original_product_name: str | None
    original_sku: str | None
    exception_type: ExceptionType
    status: ExceptionStatus
    resolved_product_id: int | None
    resolved_at: datetime | None
    resolved_by: int | None
    resolution_notes: str | None
    created_at: datetime
    updated_at: datetime
    order_id: int
    order_number: str
    order_date: datetime | None


class ExceptionList(Page):
    exceptions: list[ExceptionOut]


class ExceptionStats(Schema):
    pending: int
    resolved: int
    ignored: int
    total: int
    orders_with_exceptions: int = Field(
        description="Distinct orders with at least one blocking exception: pending or ignored, "
        "on a line that is not declined (the confirmation gate's rule)"
    )


class UnitOut(Schema):
    id: int
    external_unit_id: str
    state: str


class ExceptionOrderContext(Schema):
    id: int
    order_number: str
    order_date: datetime | None
    status: OrderStatus
    customer_name: str | None


class ExceptionItemContext(Schema):
    id: int
    product_id: int
    quantity: int
    unit_price_cents: int | None
    needs_product_match: bool
    units: list[UnitOut]


class CandidateProduct(Schema):
    id: int
    title: str
    sku: str | None
    gtin: str | None


class ExceptionDetail(ExceptionOut):
    order: ExceptionOrderContext
    item: ExceptionItemContext
    candidates: list[CandidateProduct] = Field(
        description="For duplicate_gtin: the vendor's active products with this GTIN; else empty"
    )


class ResolveRequest(BaseModel):
    product_id: Id
    notes: Notes | None = None
    remember: Flag = Field(
        default=False, description="Also map this GTIN to the product for future imports"
    )


class IgnoreRequest(BaseModel):
    notes: RequiredNotes = Field(
        description="Why the exception is set aside (required; not only whitespace)"
    )


class BulkResolveRequest(BaseModel):
    gtin: BulkGtin
    product_id: Id
    notes: Notes | None = None
    remember: Flag = False


class BulkResolveResponse(BaseModel):
    resolved_count: int
    gtin: str
    product_id: int


class GtinMappingOut(Schema):
    id: int
    vendor_id: int
    gtin_key: str
    product_id: int
    product_title: str
    product_sku: str | None
    created_by: int | None
    created_at: datetime


class GtinMappingList(Page):
    mappings: list[GtinMappingOut]


# -- merge point: suggestions --


class SuggestedProduct(Schema):
    id: int
    title: str
    sku: str | None
    gtin: str | None
    brand: str | None
    price_cents: int | None


class SuggestionOut(Schema):
    product: SuggestedProduct = Field(description="One of the exception's vendor's products")
    score: float = Field(ge=0, le=1, description="How likely this is the line's product, 0-1")
    reasons: list[SuggestionReason] = Field(description="Why it is suggested, strongest first")
    title_similarity: float | None = Field(
        description="0-1 similarity of the title to the line's product name (null without one)"
    )
    remembered_by_vendors: int | None = Field(
        description="With `remembered_elsewhere`: how many other vendors mapped this GTIN to "
        "the same article (never which, nor their products)"
    )


class SuggestionList(Schema):
    exception_id: int
    exception_type: ExceptionType
    suggestions: list[SuggestionOut] = Field(description="Best first; never applied by itself")


# -- merge point: actions --

# -- merge point: queue --

# -- merge point: history --

# -- merge point: deadlines --
