from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from ordergate.schemas import Schema, Text


class VendorCreate(BaseModel):
    code: str = Field(min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: Text = Field(min_length=1, max_length=255)


class VendorOut(Schema):
    id: int
    code: str
    name: str
    is_active: bool
    created_at: datetime


class VendorList(BaseModel):
    vendors: list[VendorOut]
    total: int
    skip: int
    limit: int
