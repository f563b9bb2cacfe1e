"""Password hashing (argon2), access tokens (JWT) and secret encryption (Fernet)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeGuard

import jwt
from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ordergate.db import utcnow
from ordergate.schemas import INT32_MAX

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both paths take the same time; made on first
# use, not at import, so commands that never log anyone in do not pay for it.
_dummy_hash: str | None = None
TOKEN_ALGORITHM = "HS256"


def use_cheap_password_hashing() -> None:
    """Argon2's cheapest parameters: for test suites only, where hashing dominates run time."""
    global _hasher, _dummy_hash
    _hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)
    _dummy_hash = None


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    global _dummy_hash
    if password_hash is None:
        _dummy_hash = _dummy_hash or _hasher.hash("ordergate-timing-equaliser")
    try:
        return _hasher.verify(password_hash or _dummy_hash or "", password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    vendor_id: int | None
    token_version: int


def create_access_token(
    secret: str, *, user_id: int, vendor_id: int | None, token_version: int, lifetime_minutes: int
) -> str:
    now = utcnow()
    payload = {
        "sub": str(user_id),
        "vendor_id": vendor_id,
        "ver": token_version,
        "iat": now,
        "exp": now + timedelta(minutes=lifetime_minutes),
    }
    return jwt.encode(payload, secret, algorithm=TOKEN_ALGORITHM)


def decode_access_token(secret: str, token: str) -> TokenClaims | None:
    """The token's claims, or None when it is invalid, expired or its claims are malformed."""
    try:
        payload = jwt.decode(
            token, secret, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp", "sub", "ver"]}
        )
    except jwt.PyJWTError:
        return None
    sub, vendor_id, version = payload["sub"], payload.get("vendor_id"), payload["ver"]
    digits = isinstance(sub, str) and sub.isascii() and sub.isdigit() and len(sub) <= 10
    user_id = int(sub) if digits else None
    if not (_in_range(user_id, 1) and (vendor_id is None or _in_range(vendor_id, 1))):
        return None
    if not _in_range(version, 0):
        return None
    return TokenClaims(user_id=user_id, vendor_id=vendor_id, token_version=version)


def _in_range(value: object, low: int) -> TypeGuard[int]:
    # Ids and token versions are 32-bit integer columns; a claim outside that range names no row.
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= INT32_MAX


class SecretBox:
    """Encrypts stored secrets (API keys) with a Fernet key derived from the app secret."""

    def __init__(self, secret_key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"ordergate:secretbox:v1"
        ).derive(secret_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str | None:
        """The plaintext, or None when the token was made with another secret key."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            return None
