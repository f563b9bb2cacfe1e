"""Rules for new passwords and emails."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from zxcvbn import zxcvbn

from ordergate.auth.errors import InvalidEmailError, WeakPasswordError

MIN_PASSWORD_LENGTH = 12
# zxcvbn scores 0-4; 3 is "safely unguessable: moderate protection from offline attacks".
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its matching is quadratic); the first 72 characters decide.
_SCORED_LENGTH = 72
# A local part this short ("al@…") appears in too many good passwords to be refused inside one.
_MIN_LOCAL_PART_TO_REFUSE = 4


def checked_email(email: str) -> str:
    """The email as stored (trimmed, lower-cased) once its syntax is valid; no DNS look-up, and
    the reserved `.test` domain is allowed for demos and tests."""
    candidate = email.strip()
    try:
        validate_email(candidate, check_deliverability=False, test_environment=True)
    except EmailNotValidError as exc:
        raise InvalidEmailError(str(exc)) from exc
    return candidate.lower()


def check_new_password(password: str, *, email: str, field: str) -> None:
    """Refuse a new password that is short, blank, holds NUL, contains the email or its local
    part, or that zxcvbn scores below MIN_PASSWORD_SCORE."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPasswordError.too_short(field, min_length=MIN_PASSWORD_LENGTH)
    if "\x00" in password:
        raise WeakPasswordError(field, "nul", "must not contain NUL characters")
    if not password.strip():
        raise WeakPasswordError(field, "blank", "must not be only whitespace")
    lowered, local_part = password.lower(), email.lower().split("@")[0]
    if email.lower() in lowered or (
        len(local_part) >= _MIN_LOCAL_PART_TO_REFUSE and local_part in lowered
    ):
        raise WeakPasswordError(field, "contains_email", "must not contain the email address")
    result = zxcvbn(password[:_SCORED_LENGTH], user_inputs=[email, local_part])
    if result["score"] < MIN_PASSWORD_SCORE:
        hint = result["feedback"]["warning"] or "add more unusual words or characters"
        raise WeakPasswordError.too_weak(field, hint=hint)
