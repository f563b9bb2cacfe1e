from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ordergate.catalog.service import MAX_COPY_IDS
from ordergate.schemas import Cents, Flag, Id, Schema, Text

MARKETPLACE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,49}$"


class ImportRowError(BaseModel):
    row: int = Field(description="Row in the file as a spreadsheet shows it (header = row 1)")
    error: str


class ImportResult(BaseModel):
    created: int
    updated: int
    failed: list[ImportRowError]
    total_rows: int = Field(description="Non-blank records after the header")


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


class MarketplaceProductList(BaseModel):
    marketplace_products: list[MarketplaceProductOut]
    total: int
    skip: int
    limit: int


class CopyToCatalogRequest(BaseModel):
    marketplace_product_ids: list[Id] = Field(
        min_length=1,
        max_length=MAX_COPY_IDS,
        description=f"Ids of marketplace_products rows (at most {MAX_COPY_IDS})",
    )


class CopyToCatalogResult(BaseModel):
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


class ProductCreated(BaseModel):
    product: ProductOut
    auto_matched: int = Field(description="Pending exceptions resolved by this product")


class ProductList(BaseModel):
    products: list[ProductOut]
    total: int
    skip: int
    limit: int
