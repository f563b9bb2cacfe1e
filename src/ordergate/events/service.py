"""The audit trail: every state change of an order, item or exception writes an event."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.events.models import Event


def record_event(
    session: Session,
    *,
    vendor_id: int | None,
    actor_user_id: int | None,
    subject_type: str,
    subject_id: int,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    record_events(
        session,
        [
            {
                "vendor_id": vendor_id,
                "actor_user_id": actor_user_id,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "action": action,
                "before": before,
                "after": after,
            }
        ],
    )


def record_events(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many events in one statement (keys as in ``record_event``)."""
    if not rows:
        return
    now = utcnow()
    session.execute(
        insert(Event),
        [{"before": None, "after": None, "at": now, **row} for row in rows],
    )
