"""The errors of accounts, logins and vendor memberships (codes in docs/errors.md)."""

from __future__ import annotations

from ordergate.errors import (
    AppError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    ValidationFailedError,
)


class EmailTakenError(ConflictError):
    code = "EMAIL_TAKEN"

    def __init__(self, email: str, *, adding_member: bool = False) -> None:
        """`adding_member`: a password was given to add a member whom a user already is."""
        hint = "; add them without a password" if adding_member else ""
        super().__init__(f"A user with email '{email}' already exists{hint}")


class VendorChoiceRequiredError(AppError):
    status_code = 400
    code = "VENDOR_CODE_REQUIRED"

    def __init__(self, vendor_codes: list[str]) -> None:
        super().__init__(
            "You belong to several vendors; name one with vendor_code",
            details={"vendor_codes": vendor_codes},
        )


class NotAMemberError(PermissionDeniedError):
    """A login naming a vendor the user is not an (active) member of (code FORBIDDEN)."""

    def __init__(self, vendor_code: str) -> None:
        super().__init__(f"You are not a member of vendor '{vendor_code}'")


class UserNotFoundError(NotFoundError):
    code = "USER_NOT_FOUND"

    @classmethod
    def for_id(cls, user_id: int) -> UserNotFoundError:
        return cls(f"User {user_id} not found", details={"user_id": user_id})

    @classmethod
    def for_email(cls, email: str) -> UserNotFoundError:
        return cls(f"No user has email '{email}'")


class LastAdminError(ConflictError):
    code = "LAST_ADMIN"

    def __init__(self, user_id: int) -> None:
        super().__init__(
            f"User {user_id} is the last active admin; make another admin first",
            details={"user_id": user_id},
        )


class WrongCurrentPasswordError(AppError):
    status_code = 400
    code = "WRONG_CURRENT_PASSWORD"

    def __init__(self) -> None:
        super().__init__(
            "current_password is not your password", details={"field": "current_password"}
        )


class PasswordRequiredError(ValidationFailedError):
    code = "PASSWORD_REQUIRED"

    def __init__(self, email: str) -> None:
        super().__init__(
            f"password: no user has email '{email}'; give a password to create one",
            details={"field": "password"},
        )


class WeakPasswordError(AppError):
    status_code = 422
    code = "WEAK_PASSWORD"

    def __init__(self, field: str, reason: str, message: str) -> None:
        super().__init__(f"{field}: {message}", details={"field": field, "reason": reason})

    @classmethod
    def too_short(cls, field: str, *, min_length: int) -> WeakPasswordError:
        return cls(field, "too_short", f"use at least {min_length} characters")

    @classmethod
    def too_weak(cls, field: str, *, hint: str) -> WeakPasswordError:
        return cls(field, "too_weak", f"too easy to guess ({hint})")


class InvalidEmailError(AppError):
    status_code = 422
    code = "INVALID_EMAIL"

    def __init__(self, reason: str) -> None:
        super().__init__(f"email: {reason}", details={"field": "email"})


class TooManyLoginAttemptsError(AppError):
    status_code = 429
    code = "TOO_MANY_LOGIN_ATTEMPTS"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"Too many failed attempts; retry in {retry_after} seconds",
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


# --- vendor memberships ---------------------------------------------------------------------


OWNERS_ONLY = "Only the vendor's owners can do this; you are staff"


class OwnerRequiredError(PermissionDeniedError):
    code = "OWNER_REQUIRED"

    def __init__(self, message: str = OWNERS_ONLY) -> None:
        super().__init__(message)


class MemberNotFoundError(NotFoundError):
    code = "MEMBER_NOT_FOUND"

    def __init__(self, *, user_id: int, vendor_id: int, vendor_code: str) -> None:
        super().__init__(
            f"User {user_id} is not a member of vendor '{vendor_code}'",
            details={"user_id": user_id, "vendor_id": vendor_id},
        )


class AlreadyMemberError(ConflictError):
    code = "ALREADY_MEMBER"

    def __init__(self, *, user_id: int, vendor_id: int, vendor_code: str) -> None:
        super().__init__(
            f"User {user_id} is already a member of vendor '{vendor_code}'",
            details={"user_id": user_id, "vendor_id": vendor_id},
        )


class LastOwnerError(ConflictError):
    code = "LAST_OWNER"

    def __init__(self, *, user_id: int, vendor_id: int, vendor_code: str) -> None:
        super().__init__(
            f"Vendor '{vendor_code}' needs another owner before user {user_id} stops being one",
            details={"vendor_id": vendor_id, "user_id": user_id},
        )
