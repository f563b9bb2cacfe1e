from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ordergate.schemas import Page, Schema, Text

# Lower-case letters, digits and dashes: codes appear in URLs, logins and order numbers.
VENDOR_CODE_PATTERN = r"^[a-z0-9-]{2,32}$"


class VendorCreate(BaseModel):
    code: str = Field(min_length=2, max_length=32, pattern=VENDOR_CODE_PATTERN)
    name: Text = Field(min_length=1, max_length=255)


class VendorOut(Schema):
    id: int
    code: str
    name: str
    is_active: bool
    created_at: datetime


class VendorList(Page):
    vendors: list[VendorOut]
