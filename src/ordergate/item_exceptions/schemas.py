from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from ordergate.catalog.schemas import ProductOut
from ordergate.events.schemas import EventOut
from ordergate.item_exceptions.suggestions import SuggestionReason
from ordergate.orders.deadlines import DeadlineState
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
    confirm_by: datetime | None = Field(
        description="While this exception blocks its order and the order awaits confirmation: "
        "the order date plus the vendor's confirmation_deadline_hours; else null"
    )
    deadline_state: DeadlineState | None = Field(
        description="overdue (confirm_by passed), at_risk (less than 24 h left), on_track; "
        "null without confirm_by"
    )
    age_seconds: int = Field(description="Whole seconds since the exception was raised")


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
    at_risk: int = Field(
        description="Of those orders, awaiting confirmation with less than 24 h left before "
        "confirm_by"
    )
    overdue: int = Field(description="Of those orders, awaiting confirmation past confirm_by")
    by_type: dict[ExceptionType, dict[ExceptionStatus, int]] = Field(
        description="Exceptions per type and status (every type and status, zeros included)"
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
    events: list[EventOut] = Field(
        description="The exception's timeline, oldest first (as GET …/{exception_id}/events)"
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


BULK_SELECTION_MAX = 500


class GroupKeyKind(StrEnum):
    """What a group's `key` is: the lines' canonical GTIN, else the SKU, else the name."""

    GTIN = "gtin"
    SKU = "sku"
    NAME = "name"
    NONE = "none"  # no GTIN, SKU or name: one group per vendor, status and type


class ExceptionGroupOut(Schema):
    vendor_id: int
    key_kind: GroupKeyKind
    key: str = Field(description="The canonical GTIN (14 digits), the SKU or the name")
    gtin: str | None = Field(description="The canonical GTIN when the group is a GTIN's")
    sample_gtin: str | None = Field(description="The GTIN as the sample exception received it")
    sku: str | None = Field(description="The sample exception's SKU")
    product_name: str | None = Field(description="The sample exception's product name")
    sample_exception_id: int = Field(description="The group's lowest exception id")
    exception_type: ExceptionType
    status: ExceptionStatus
    lines: int = Field(description="Exceptions (one per order line) in the group")
    orders: int = Field(description="Distinct orders of those lines")
    units: int = Field(description="Sum of the lines' quantities")
    value_cents: int = Field(
        description="Value at risk: sum of quantity x unit price (a line without price: 0)"
    )
    oldest_order_date: datetime | None


class ExceptionGroupList(Page):
    groups: list[ExceptionGroupOut]


class BulkPreviewResponse(BaseModel):
    gtin: str
    canonical_gtin: str | None = Field(description="The GTIN-14 lines are compared in, if valid")
    exceptions: int = Field(description="Pending exceptions bulk-resolve would resolve")
    orders: int = Field(description="Distinct orders of those exceptions")
    confirmable_orders: int = Field(
        description="Orders awaiting confirmation that no exception would block afterwards"
    )


SelectedIds = Annotated[
    list[Id],
    Field(
        min_length=1,
        max_length=BULK_SELECTION_MAX,
        description=f"1 to {BULK_SELECTION_MAX} exception ids of the vendor (repeats count once)",
    ),
]


class BulkSelectionResolveRequest(BaseModel):
    exception_ids: SelectedIds
    product_id: Id
    notes: Notes | None = None


class BulkSelectionIgnoreRequest(BaseModel):
    exception_ids: SelectedIds
    notes: RequiredNotes = Field(description="Why the exceptions are set aside (required)")


class SelectionOutcome(StrEnum):
    RESOLVED = "resolved"
    IGNORED = "ignored"
    SKIPPED = "skipped"


class SelectionResult(Schema):
    exception_id: int
    result: SelectionOutcome
    reason: str | None = Field(
        description="Why it was skipped: already_resolved, already_ignored; else null"
    )


class BulkSelectionResponse(BaseModel):
    results: list[SelectionResult] = Field(description="One per distinct id, in request order")
    resolved_count: int
    ignored_count: int
    skipped_count: int


class KpiResolved(Schema):
    by_hand: int = Field(description="Resolved one by one (POST …/{id}/resolve)")
    bulk: int = Field(description="Resolved in bulk: by GTIN or by selection")
    auto_matched: int = Field(description="Matched by the system (catalog changes, sweeps)")
    created_from_exception: int = Field(description="Resolved to a product created from it")
    total: int


class KpiAutoMatchedByCause(Schema):
    catalog: int
    sweep: int


class KpiTimeToResolve(Schema):
    resolutions: int = Field(description="Resolutions in the window (resolved, auto_matched)")
    median_seconds: float | None = Field(
        description="Median of event time minus the exception's creation (linear "
        "interpolation, as PostgreSQL's percentile_cont); null without resolutions"
    )
    p90_seconds: float | None = Field(description="90th percentile, the same way")


class KpiOpenAging(Schema):
    under_1_day: int
    days_1_to_3: int = Field(description="One to three days old, both included")
    over_3_days: int
    total: int


class KpiFiguresOut(Schema):
    lines_imported: int = Field(description="Order lines created in the window")
    matched_at_import: int = Field(description="Of them, matched without an exception")
    match_rate: float | None = Field(description="matched_at_import / lines_imported")
    exceptions_raised: int
    exceptions_by_type: dict[ExceptionType, int]
    resolved: KpiResolved
    auto_matched_by_cause: KpiAutoMatchedByCause
    ignored: int
    reopened: int
    time_to_resolve: KpiTimeToResolve
    open_aging: KpiOpenAging = Field(
        description="Exceptions open now (pending or ignored) by age; independent of the window"
    )


class VendorKpisOut(KpiFiguresOut):
    vendor_id: int
    vendor_code: str


class KpiReportOut(BaseModel):
    start: datetime = Field(serialization_alias="from", description="Window start (included)")
    end: datetime = Field(serialization_alias="to", description="Window end (excluded)")
    now: datetime = Field(description="The moment open_aging is measured at")
    totals: KpiFiguresOut
    vendors: list[VendorKpisOut] | None = Field(
        description="Admins: one entry per vendor in scope, by id; null for a vendor's staff"
    )
