from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AliasPath, BaseModel, Field

from ordergate.auth.policy import MIN_PASSWORD_LENGTH
from ordergate.schemas import NO_NUL, WHITESPACE_CLASS, Flag, Page, Schema, Text

# The shape the schema can state; email-validator checks the rest (422 INVALID_EMAIL).
_PART = rf"[^@\x00{WHITESPACE_CLASS}]+"
EMAIL_SHAPE = rf"^{_PART}@{_PART}\.{_PART}$"

# MemberRole's values (a test keeps them equal) as a Literal: pydantic's error then reads
# "Input should be 'owner' or 'staff'", as it always has.
Role = Literal["owner", "staff"]
NewPassword = Annotated[
    str,
    Field(
        pattern=NO_NUL,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=1024,
        description=f"At least {MIN_PASSWORD_LENGTH} characters, not only whitespace, no NUL, "
        "not containing the email, and not easy to guess (zxcvbn score 3 or more)",
    ),
]


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
    vendor_code: str = Field(validation_alias=AliasPath("vendor", "code"))
    vendor_name: str = Field(validation_alias=AliasPath("vendor", "name"))
    role: str


class UserOut(Schema):
    id: int
    email: str
    is_active: bool
    is_admin: bool
    created_at: datetime
    memberships: list[MembershipOut]


class MeResponse(Schema):
    user: UserOut
    vendor: MembershipOut | None = Field(description="The vendor this token acts for, if any")


class UserCreate(BaseModel):
    # Syntax checked by the service (email-validator, no DNS; `.test` allowed for demos).
    email: str = Field(max_length=320, pattern=EMAIL_SHAPE)
    password: NewPassword
    is_admin: Flag = False
    vendor_codes: list[Annotated[Text, Field(max_length=50)]] = Field(
        default_factory=list, max_length=100
    )
    role: Role = Field(default="staff", description="Ignored in a vendor without members yet")


class UserUpdate(BaseModel):
    is_active: Flag | None = Field(default=None, description="False: deactivate")
    is_admin: Flag | None = None


class PasswordChange(BaseModel):
    current_password: Text = Field(min_length=1, max_length=1024)
    new_password: NewPassword


class PasswordReset(BaseModel):
    new_password: NewPassword


class MembershipIn(BaseModel):
    role: Role


class MemberCreate(BaseModel):
    email: str = Field(max_length=320, pattern=EMAIL_SHAPE)
    role: Role = "staff"
    password: Text | None = Field(
        default=None,
        min_length=MIN_PASSWORD_LENGTH,
        max_length=1024,
        description="Only to create a new user; omit it to add an existing user by email",
    )


class MemberOut(Schema):
    """A membership with its user's email and state."""

    user_id: int
    email: str = Field(validation_alias=AliasPath("user", "email"))
    role: str
    is_active: bool = Field(validation_alias=AliasPath("user", "is_active"))
    created_at: datetime = Field(description="When the user joined the vendor")


class MemberList(Page):
    members: list[MemberOut]


class UserList(Page):
    users: list[UserOut]
