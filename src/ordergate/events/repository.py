"""The audit trail: every state change of an order, item or exception writes an event.

Each event has one keyword-only constructor in the domain that causes it (`orders/events.py`,
`item_exceptions/events.py`), returning an `EventRow`; `record_events` writes many in one
statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypedDict

from sqlalchemy import insert
from sqlalchemy.orm import Session

from ordergate.db import utcnow
from ordergate.events.models import Event, EventAction, EventSubject


class EventRow(TypedDict):
    vendor_id: int | None
    actor_user_id: int | None  # None: the system (import, auto-match)
    subject_type: EventSubject
    subject_id: int
    action: EventAction
    before: dict[str, Any] | None
    after: dict[str, Any] | None


def record_events(session: Session, rows: Sequence[EventRow]) -> None:
    """Insert many events in one statement."""
    if not rows:
        return
    now = utcnow()
    session.execute(insert(Event), [{**row, "at": now} for row in rows])
