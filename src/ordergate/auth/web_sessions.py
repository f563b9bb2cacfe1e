"""Dashboard logins (web sessions): start, find, choose the vendor worked in, end.

The browser holds a random token; the database keeps its SHA-256, the user, the chosen vendor
and the session's form token (CSRF). A session ends at logout, at `expires_at`, or when the
user's `token_version` moves on — the same revocation the API's bearer tokens obey.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ordergate.auth.errors import NotAMemberError
from ordergate.auth.models import User, WebSession
from ordergate.db import utcnow
from ordergate.vendors.models import Vendor


@dataclass(frozen=True, slots=True)
class StartedSession:
    token: str  # for the cookie; never stored
    record: WebSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def vendor_choices(session: Session, *, user: User) -> list[Vendor]:
    """The vendors the user may work in: every active vendor for an admin, else their active
    memberships; by name."""
    if user.is_admin:
        return list(
            session.scalars(select(Vendor).where(Vendor.is_active.is_(True)).order_by(Vendor.name))
        )
    vendors = [m.vendor for m in user.memberships if m.vendor.is_active]
    return sorted(vendors, key=lambda vendor: vendor.name)


def _first_vendor(session: Session, user: User) -> int | None:
    """Staff with one vendor work in it; admins start on every vendor; several: choose."""
    if user.is_admin:
        return None
    choices = vendor_choices(session, user=user)
    return choices[0].id if len(choices) == 1 else None


def start(session: Session, *, user: User, lifetime: timedelta) -> StartedSession:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    record = WebSession(
        token_hash=_hash(token),
        user_id=user.id,
        vendor_id=_first_vendor(session, user),
        csrf_token=secrets.token_urlsafe(32),
        token_version=user.token_version,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(record)
    session.flush()
    return StartedSession(token=token, record=record)


def find(session: Session, *, token: str, now: datetime | None = None) -> WebSession | None:
    """The live session of this cookie token, or None (unknown, expired or revoked)."""
    record = session.scalar(select(WebSession).where(WebSession.token_hash == _hash(token)))
    if record is None or record.expires_at <= (now or utcnow()):
        return None
    user = record.user
    if not user.is_active or user.token_version != record.token_version:
        return None
    return record


def choose_vendor(session: Session, *, record: WebSession, vendor_id: int | None) -> None:
    """Work in `vendor_id` (None: every vendor, admins only)."""
    user = record.user
    allowed = {vendor.id for vendor in vendor_choices(session, user=user)}
    if (vendor_id is None and not user.is_admin) or (
        vendor_id is not None and vendor_id not in allowed
    ):
        raise NotAMemberError(str(vendor_id) if vendor_id is not None else "all vendors")
    record.vendor_id = vendor_id
    session.flush()


def end(session: Session, *, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == _hash(token)))


def delete_expired(session: Session, *, now: datetime | None = None) -> int:
    result = session.execute(delete(WebSession).where(WebSession.expires_at <= (now or utcnow())))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
