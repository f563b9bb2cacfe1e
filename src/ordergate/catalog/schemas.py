from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, model_validator

from ordergate.catalog.models import MAX_COPY_IDS, ImportRunStatus
from ordergate.schemas import Cents, Flag, Id, Page, Schema, Text

MARKETPLACE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,49}$"


class ImportRowError(Schema):
    row: int = Field(description="Row in the file as a spreadsheet shows it (header = row 1)")
    error: str


class ImportRowWarning(Schema):
    row: int = Field(description="Row in the file as a spreadsheet shows it (header = row 1)")
    warning: str


class FieldChange(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: Any = Field(alias="from", description="Stored value")
    to: Any = Field(description="Value from the feed")

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, value: Any) -> Any:
        """A change as the import reports it: the pair (stored, new)."""
        if isinstance(value, tuple):
            stored, new = value
            return {"from": stored, "to": new}
        return value


class ImportChange(Schema):
    row: int
    id: str = Field(
        validation_alias=AliasChoices("id", "key"), description="The row's marketplace product id"
    )
    action: Literal["create", "update"]
    fields: dict[str, FieldChange] = Field(description="Changed columns of an update")


class ImportResult(Schema):
    run_id: int = Field(description="The run recorded for this import (see import-runs)")
    dry_run: bool = Field(description="Nothing was written; the counts say what would change")
    created: int
    updated: int = Field(description="Existing rows whose values changed")
    unchanged: int = Field(description="Existing rows the feed left as they were")
    failed: list[ImportRowError] = Field(description="The first row errors (see failed_count)")
    failed_count: int
    warnings: list[ImportRowWarning] = Field(
        description="The first warnings: rows imported with a value left unused (e.g. GTIN)"
    )
    warnings_count: int
    changes: list[ImportChange] = Field(
        description="A dry run's first changes (at most 100); empty for a real import"
    )
    total_rows: int = Field(description="Non-blank records after the header")


class ImportRunAccepted(BaseModel):
    run_id: int
    status: ImportRunStatus = Field(
        description="`running`; follow it at GET …/import-runs/{run_id}"
    )


class ImportRunSummary(Schema):
    id: int
    marketplace: str
    filename: str | None
    dry_run: bool
    status: ImportRunStatus = Field(
        description="`abandoned`: the job's process died (no heartbeat within the lease)"
    )
    rows_seen: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    rows_failed: int
    warnings_count: int
    error: str | None = Field(description="Why a failed run stopped (file-level error)")
    triggered_by: int | None
    started_at: datetime
    heartbeat_at: datetime | None
    finished_at: datetime | None


class ImportRunOut(ImportRunSummary):
    errors: list[ImportRowError] = Field(description="The first row errors (see rows_failed)")
    warnings: list[ImportRowWarning] = Field(description="The first warnings")


class ImportRunList(Page):
    runs: list[ImportRunSummary]


class MarketplaceProductOut(Schema):
    id: int
    marketplace: str
    marketplace_product_id: str
    title: str
    description: str | None
    brand: str | None
    gtin: str | None
    gtin_normalized: str | None
    gtin_type: str | None
    mpn: str | None
    sku: str | None
    price_cents: int | None
    currency: str | None
    attributes: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class MarketplaceProductList(Page):
    marketplace_products: list[MarketplaceProductOut]


class CopyToCatalogRequest(BaseModel):
    marketplace_product_ids: list[Id] = Field(
        min_length=1,
        max_length=MAX_COPY_IDS,
        description=f"Ids of marketplace_products rows (at most {MAX_COPY_IDS})",
    )


class CopyToCatalogResult(Schema):
    created: int
    skipped: int = Field(description="Already in the vendor's catalog")
    auto_matched: int = Field(description="Pending exceptions resolved by the new products")


class ProductCreate(BaseModel):
    title: Text = Field(min_length=1, max_length=500)
    gtin: Text | None = Field(None, max_length=50)
    sku: Text | None = Field(None, max_length=100)
    brand: Text | None = Field(None, max_length=255)
    price_cents: Cents | None = None
    currency: str = Field("EUR", pattern=r"^[A-Z]{3}$", max_length=3)
    is_active: Flag = True


class ProductOut(Schema):
    id: int
    vendor_id: int
    marketplace_product_id: int | None
    title: str
    sku: str | None
    gtin: str | None
    gtin_normalized: str | None
    gtin_type: str | None
    brand: str | None
    price_cents: int | None
    currency: str
    is_active: bool
    created_at: datetime
    updated_at: datetime


class ProductCreated(Schema):
    product: ProductOut
    auto_matched: int = Field(description="Pending exceptions resolved by this product")


class ProductList(Page):
    products: list[ProductOut]
