from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from ordergate.catalog.schemas import ProductOut
from ordergate.orders.models import ExceptionStatus, ExceptionType, OrderStatus
from ordergate.schemas import (
    NON_BLANK,
    Cents,
    Flag,
    Id,
    Notes,
    Page,
    RequiredNotes,
    Schema,
    Text,
    trim,
)

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

# -- merge point: actions --


class CreateProductRequest(BaseModel):
    """Every field optional: each defaults to the marketplace product with the line's GTIN,
    else to the line's snapshot (name, SKU, unit price)."""

    title: Text | None = Field(None, min_length=1, max_length=500)
    sku: Text | None = Field(None, max_length=100)
    brand: Text | None = Field(None, max_length=255)
    price_cents: Cents | None = None
    gtin: Text | None = Field(
        None,
        max_length=50,
        description="A corrected GTIN (required when the line's own is not valid: "
        "gtin_mismatch); by default the line's",
    )
    notes: Notes | None = None


class CreateProductResponse(Schema):
    product: ProductOut
    resolved_count: int = Field(
        description="Exceptions this request resolved: this one, the pending ones with the "
        "same canonical GTIN (auto-matched) and, for a corrected GTIN, those with the same "
        "raw GTIN"
    )
    auto_matched: int = Field(description="Of them, resolved by the catalog's auto-match")
    exception: ExceptionOut


class ReopenRequest(BaseModel):
    notes: RequiredNotes = Field(description="Why the exception is reopened (required)")


class RemovedMappingOut(Schema):
    id: int
    vendor_id: int
    gtin_key: str
    product_id: int


class ReopenResponse(ExceptionOut):
    mapping_removed: RemovedMappingOut | None = Field(
        description="The remembered GTIN mapping this reopen removed (it pointed the GTIN at the "
        "product of the undone resolution); null when there was none"
    )


# -- merge point: queue --

# -- merge point: history --

# -- merge point: deadlines --
