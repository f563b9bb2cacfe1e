from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from ordergate.schemas import WHITESPACE_CLASS, Flag, Schema, Text

_PART = rf"[^@\x00{WHITESPACE_CLASS}]+"
EMAIL_SHAPE = rf"^{_PART}@{_PART}\.{_PART}$"


class LoginRequest(BaseModel):
    email: Text = Field(min_length=1, max_length=320)
    password: Text = Field(min_length=1, max_length=1024)
    vendor_code: Text | None = Field(default=None, min_length=1, max_length=50)


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the token expires")


class MembershipOut(Schema):
    vendor_id: int
    vendor_code: str
    vendor_name: str
    role: str


class UserOut(Schema):
    id: int
    email: str
    is_active: bool
    is_admin: bool
    created_at: datetime
    memberships: list[MembershipOut]


class MeResponse(BaseModel):
    user: UserOut
    vendor: MembershipOut | None = Field(description="The vendor this token acts for, if any")


class UserCreate(BaseModel):
    # A light shape check; deliverability is the admin's business (demo uses .test domains).
    email: str = Field(max_length=320, pattern=EMAIL_SHAPE)
    password: Text = Field(min_length=8, max_length=1024)
    is_admin: Flag = False
    vendor_codes: list[Annotated[Text, Field(max_length=50)]] = Field(
        default_factory=list, max_length=100
    )
    role: Literal["owner", "staff"] = "staff"


class UserList(BaseModel):
    users: list[UserOut]
    total: int
    skip: int
    limit: int
