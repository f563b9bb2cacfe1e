from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from ordergate.schemas import JsonInteger, Page, Schema, Text

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
    confirmation_deadline_hours: int | None = Field(
        description="Hours after the order date within which a blocked order must be confirmed "
        "at the marketplace; null: no deadline"
    )


class VendorList(Page):
    vendors: list[VendorOut]


# One hour to one year (orders/deadlines.py reads it; the bounds are repeated there).
DeadlineHours = Annotated[int, Field(ge=1, le=8_760), JsonInteger]


class VendorSettingsOut(Schema):
    vendor_id: int = Field(validation_alias="id")
    confirmation_deadline_hours: int | None = Field(
        description="Hours after the order date within which an order blocked by exceptions "
        "must be confirmed at the marketplace (Letzshop declines orders left unconfirmed too "
        "long; the window is in its seller terms); null: no deadline"
    )


class VendorSettingsUpdate(BaseModel):
    confirmation_deadline_hours: DeadlineHours | None = Field(
        default=None,
        description="1 to 8760 hours, or null for no deadline; omitted: unchanged",
    )
